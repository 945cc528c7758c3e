"""ATRDH: adversarial training against targeted prototype attacks (algorithms §4.3)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.defenses.base import DEFENSES, DefenseTask
from robust_hashing.models.prototype import PrototypeNet, prototype_loss
from robust_hashing.ops import label_overlap, sign


@DEFENSES.register("atrdh")
class ATRDH(DefenseTask):
    """ATRDH: the defense of "Targeted Attack and Defense for Deep Hashing".

    Wang, Zhang, Lu, Xu, SIGIR 2021 (code: xunguangwang/Targeted-Attack-and-Defense-for-
    Deep-Hashing); SAAT's port (xandery-geek/SAAT) is the reference. Threat model: L∞,
    ε = 8/255, targeted (prototype codes), white-box.

    Per batch ``(x, y, idx)`` (spec §4.3):

    1. u = h₁(x); B[idx] ← sgn u, U[idx] ← u (the refresh of the sign bank);
    2. one Adam step of the PrototypeNet P on the THA circle loss against B, with target
       labels y_t drawn uniformly from the unique database label vectors (overlap with y
       allowed; the all-zero vector included when a database row has no label), as the
       official code (``pool_zero=False``: non-zero vectors only), from a generator seeded
       by ``prototype_seed`` and the global step, so P stays identical on every DDP
       process;
    3. x_a = PGD-7 (2/255, random start, α = 1) minimising −mean(h₁(x_a) ⊙ t), with the
       target codes t chosen by ``pgd_target``:

       * ``"trained"`` (default, official): t = sgn P(y_t) for the labels of step 2, from
         P's outputs *before* its Adam step (the official code reuses the codes of P's
         training forward);
       * ``"fresh"`` (our first port): new labels drawn from the pool, coded by P *after*
         its step;
    4. loss = L_hash(u) + κ·mean_{i,j}((u_a,iᵀU_j/K − S_ij)²), masked on all-zero label rows.

    ``U`` is initialised from the clean model's outputs (ours; the port starts at zero).
    P's learning rate follows the main schedule (×0.1 at 50% and 75%). P's circle loss
    uses all pairs; ``faithful_triu`` keeps only the j > i pairs, as the official code.

    Args:
        kappa: weight κ of the adversarial pairwise term (SAAT port: 2; original: 1).
        prototype_lr: Adam learning rate of P.
        prototype_seed: seed of P's initialisation and of its label batches.
        pgd_target: ``"trained"`` (official, default) or ``"fresh"`` target codes (above).
        pool_zero: keep the all-zero label vector in the target pool when the database has
            one (True, as the official ``unique``; the name of THA's option).
        faithful_triu: P's circle loss on the j > i pairs only (official); default all pairs.
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
        pgd_target: Literal["trained", "fresh"] = "trained",
        pool_zero: bool = True,
        faithful_triu: bool = False,
        optimizer: Literal["sgd", "adam"] = "adam",
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        weight_decay: float = 0.0,
        lr_milestones: tuple[float, ...] = (0.5, 0.75),
        attack_eps: float = DEFAULT_EPS,
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
        if pgd_target not in ("trained", "fresh"):
            raise ValueError(f"pgd_target must be 'trained' or 'fresh', got {pgd_target!r}")
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
        if not self.hparams["pool_zero"]:
            pool = pool[pool.sum(1) > 0]
        if len(pool) == 0:
            raise ValueError("ATRDH: no database label vector to draw targets from")
        self._targets = pool.to(self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store P's optimiser state next to the Lightning state."""
        if self._proto_opt is not None:
            checkpoint["atrdh_prototype_optimizer"] = self._proto_opt.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore P's optimiser state (applied at the start of ``fit``)."""
        self._proto_opt_state = checkpoint.get("atrdh_prototype_optimizer")

    def prototype_step(self, m: int) -> tuple[Tensor, Tensor]:
        """One Adam step of P on m random target labels.

        Returns:
            The THA loss and sgn P(y_t) of the step's labels, from P *before* the step.
        """
        assert self._proto_opt is not None and self._targets is not None
        gen = torch.Generator().manual_seed(
            self.hparams["prototype_seed"] * 7919 + self.global_step
        )
        yt = self._targets[torch.randint(len(self._targets), (m,), generator=gen).to(self.device)]
        params = list(self.prototype.parameters())
        with torch.enable_grad():
            self.prototype.requires_grad_(True)
            try:
                codes = self.prototype(yt)
                triu = self.hparams["faithful_triu"]
                loss = prototype_loss(codes, yt, self.B, self.Y, triu=triu)
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
        return loss.detach(), sign(codes.detach())

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Targeted-prototype min-max step on one batch ``(x, y, idx)``."""
        x, y, idx = batch
        _, loss_hash = self.clean_step(x, y, idx)
        loss_proto, target = self.prototype_step(len(x))
        if self.hparams["pgd_target"] == "fresh":
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
