"""ATRDH: adversarial training against targeted prototype attacks (algorithms §4.3)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from robust_hashing.defenses import register_defense
from robust_hashing.defenses.base import DefenseTask
from robust_hashing.models.prototype import PrototypeNet, prototype_loss
from robust_hashing.ops import label_overlap, sign


@register_defense("atrdh")
class ATRDH(DefenseTask):
    """ATRDH: the defense of "Targeted Attack and Defense for Deep Hashing".

    Wang, Zhang, Lu, Xu, SIGIR 2021 (code: xunguangwang/Targeted-Attack-and-Defense-for-
    Deep-Hashing); SAAT's port (xandery-geek/SAAT) is the reference. Threat model: L∞,
    ε = 8/255, targeted (prototype codes), white-box.

    Per batch ``(x, y, idx)`` (spec §4.3):

    1. u = h₁(x); B[idx] ← sgn u, U[idx] ← u (the refresh of the sign bank);
    2. one Adam step of the PrototypeNet P on the THA circle loss against B, with random
       target labels (drawn from a generator seeded by ``prototype_seed`` and the global
       step, so P stays identical on every DDP process);
    3. y_t drawn uniformly from the unique non-zero database label vectors (overlap with
       y allowed, official behaviour);
    4. x_a = PGD-7 (2/255, random start, α = 1) minimising −mean(h₁(x_a) ⊙ sgn P(y_t));
    5. loss = L_hash(u) + κ·mean_{i,j}((u_a,iᵀU_j/K − S_ij)²), masked on all-zero label rows.

    ``U`` is initialised from the clean model's outputs (ours; the port starts at zero).
    P's learning rate follows the main schedule (×0.1 at 50% and 75%).

    Args:
        kappa: weight κ of the adversarial pairwise term (SAAT port: 2; original: 1).
        prototype_lr: Adam learning rate of P.
        prototype_seed: seed of P's initialisation and of its label batches.
        optimizer: published: Adam.
        lr: published: 1e-4.
        betas: published: (0.5, 0.999).
        weight_decay: published: none.
        lr_milestones: published: ×0.1 at 50% and 75% of all iterations.
        attack_eps: inner PGD budget (8/255).
        attack_step: inner PGD step (2/255).
        attack_steps: inner PGD iterations (7).
        **kwargs: further :class:`~robust_hashing.defenses.base.DefenseTask` /
            :class:`~robust_hashing.tasks.HashingTask` arguments.

    Example:
        >>> task = ATRDH(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> task.hparams.kappa
        2.0
    """

    quick: ClassVar[dict[str, Any]] = {"attack_steps": 3, "limit_train_batches": 0.5}

    def __init__(
        self,
        kappa: float = 2.0,
        prototype_lr: float = 1e-4,
        prototype_seed: int = 0,
        optimizer: Literal["sgd", "adam"] = "adam",
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        weight_decay: float = 0.0,
        lr_milestones: tuple[float, ...] = (0.5, 0.75),
        attack_eps: float = 8 / 255,
        attack_step: float = 2 / 255,
        attack_steps: int = 7,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            optimizer=optimizer,
            lr=lr,
            betas=betas,
            weight_decay=weight_decay,
            lr_milestones=lr_milestones,
            attack_eps=attack_eps,
            attack_step=attack_step,
            attack_steps=attack_steps,
            **kwargs,
        )
        hp = self.hparams
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(prototype_seed)
            self.prototype = PrototypeNet(hp["num_classes"], hp["bits"])
        # Outside the main optimiser and outside DDP's gradient buckets: P is stepped here.
        self.prototype.requires_grad_(False)
        self._proto_opt: torch.optim.Optimizer | None = None
        self._proto_opt_state: dict[str, Any] | None = None
        self._targets: Tensor | None = None

    def on_fit_start(self) -> None:
        """Fill the banks, build P's optimiser and the target-label pool."""
        super().on_fit_start()
        self._proto_opt = torch.optim.Adam(
            self.prototype.parameters(), lr=self.hparams["prototype_lr"], betas=(0.5, 0.999)
        )
        if self._proto_opt_state is not None:
            self._proto_opt.load_state_dict(self._proto_opt_state)
        dm = getattr(self.trainer, "datamodule", None)
        pool = self.Y if dm is None or not hasattr(dm, "labels") else dm.labels("database")
        pool = torch.unique(pool.float().cpu(), dim=0)
        pool = pool[pool.sum(1) > 0]
        if len(pool) == 0:
            raise ValueError("ATRDH: no non-zero database label vector to draw targets from")
        self._targets = pool.to(self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store P's optimiser state next to the Lightning state."""
        if self._proto_opt is not None:
            checkpoint["atrdh_prototype_optimizer"] = self._proto_opt.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore P's optimiser state (applied at the start of ``fit``)."""
        self._proto_opt_state = checkpoint.get("atrdh_prototype_optimizer")

    def prototype_step(self, m: int) -> Tensor:
        """One Adam step of P on m random target labels; returns the THA loss."""
        assert self._proto_opt is not None and self._targets is not None
        gen = torch.Generator().manual_seed(
            self.hparams["prototype_seed"] * 7919 + self.global_step
        )
        yt = self._targets[torch.randint(len(self._targets), (m,), generator=gen).to(self.device)]
        params = list(self.prototype.parameters())
        with torch.enable_grad():
            self.prototype.requires_grad_(True)
            try:
                loss = prototype_loss(self.prototype(yt), yt, self.B, self.Y)
                grads = torch.autograd.grad(loss, params)
            finally:
                self.prototype.requires_grad_(False)
        opts = self.optimizers()
        main = opts[0] if isinstance(opts, list) else opts
        scale = main.param_groups[0]["lr"] / self.hparams["lr"]  # follow the main schedule
        for group in self._proto_opt.param_groups:
            group["lr"] = self.hparams["prototype_lr"] * scale
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        self._proto_opt.step()
        self._proto_opt.zero_grad(set_to_none=True)
        return loss.detach()

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Targeted-prototype min-max step on one batch ``(x, y, idx)``."""
        x, y, idx = batch
        _, loss_hash = self.clean_step(x, y, idx)
        loss_proto = self.prototype_step(len(x))
        assert self._targets is not None
        pick = torch.randint(len(self._targets), (len(x),)).to(self.device)
        with torch.no_grad():
            target = sign(self.prototype(self._targets[pick]))
        xa = self.inner_pgd(x, lambda h: -(h * target).mean())
        _, ua = self.model(xa)
        bank = self.hash_loss.U if getattr(self.hash_loss, "uses_bank", False) else self.B
        s = 2 * label_overlap(y.float(), self.Y) - 1
        pair = (ua @ bank.t() / self.hparams["bits"] - s) ** 2
        loss_adv = (pair * self.label_mask(y)).mean()
        loss = loss_hash + self.hparams["kappa"] * loss_adv
        self.log_terms(loss, len(x), loss_hash=loss_hash, loss_adv=loss_adv,
                       loss_proto=loss_proto)  # fmt: skip
        return loss
