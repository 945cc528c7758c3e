"""SAAT: semantic-aware adversarial training with mainstay codes (algorithms §4.2)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from robust_hashing.codes import mainstay_codes
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.defenses.base import DEFENSES, DefenseTask
from robust_hashing.ops import sign


@DEFENSES.register("saat")
class SAAT(DefenseTask):
    """SAAT: Semantic-Aware Adversarial Training for Reliable Deep Hashing Retrieval.

    Yuan, Zhang, Wang, Wu, IEEE TIFS 18, 2023, https://arxiv.org/abs/2310.14637
    (code: xandery-geek/SAAT). Threat model: L∞, ε = 8/255, untargeted, white-box.

    The CgAT loop (spec §4.2) with the DMFL mainstay code b′(y) as the single guide of
    both the inner attack and the outer alignment, plus a quantisation term on the
    adversarial outputs:

    1. b′ from the sign bank before the batch; x_a = PGD-7 (2/255, random start, α = 1)
       minimising the plain loss mean(h₁(x_a) ⊙ b′);
    2. u = h₁(x), u_a = h₁(x_a); B[idx] ← sgn u, U[idx] ← u; b′ recomputed;
    3. loss = L_hash(u) − λ·mean(u_a ⊙ b′) + μ·mean((u_a − sgn u_a)²).

    ``U`` starts as a copy of ``B`` (SAAT code) and is overwritten with continuous outputs
    as training visits the rows. All-zero label rows get no guide code (spec, ours: SAAT's
    code uses sgn(−mean B)); both adversarial terms are masked on them.

    **Bank aliasing (spec §3).** The official script makes the mainstay bank and a bank
    loss's continuous bank one tensor, filled with the clean sign codes. A step writes
    sgn(u) into the batch rows, recomputes b′, and only then lets the hashing loss write u
    into the same rows. With ``faithful_alias=True`` this is reproduced: the b′ computed
    before the batch sees the relaxed outputs u of every row visited so far; the recomputed
    b′ sees sgn(u) on this batch's rows and u on the rows of earlier batches; after the
    recomputation ``B`` is set to the loss's ``U``, so the two banks stay identical (with a
    loss without a bank, such as CSQ, the official code has nothing to alias and ``B`` keeps
    the signs). By default (``faithful_alias=False``) ``B`` only ever holds ±1 codes, as the
    paper describes the mainstay bank.

    Args:
        lam: weight λ of the alignment term.
        mu: weight μ of the adversarial quantisation term.
        faithful_alias: reproduce the official code's storage sharing between ``B`` and the
            loss's ``U`` (visited rows of ``B`` hold tanh values); default: a pure sign bank.
        optimizer: published: SGD.
        lr: published: 0.05.
        momentum: published: 0 (no momentum).
        weight_decay: published: 1e-5.
        lr_milestones: published: ×0.1 at 50% and 75% of all iterations.
        attack_eps: inner PGD budget (8/255).
        attack_step: inner PGD step (2/255).
        attack_steps: inner PGD iterations (7).
        **kwargs: further :class:`~robust_hashing.defenses.base.DefenseTask` /
            :class:`~robust_hashing.tasks.HashingTask` arguments.

    Example:
        >>> task = SAAT(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> (task.hparams.lam, task.hparams.mu, task.hparams.faithful_alias)
        (1.0, 0.0001, False)
    """

    quick: ClassVar[dict[str, Any]] = {"attack_steps": 3, "limit_train_batches": 0.5}
    init_u_from_signs: ClassVar[bool] = True

    def __init__(
        self,
        lam: float = 1.0,
        mu: float = 1e-4,
        faithful_alias: bool = False,
        optimizer: Literal["sgd", "adam"] = "sgd",
        lr: float = 0.05,
        momentum: float = 0.0,
        weight_decay: float = 1e-5,
        lr_milestones: tuple[float, ...] = (0.5, 0.75),
        attack_eps: float = DEFAULT_EPS,
        attack_step: float = 2 / 255,
        attack_steps: int = 7,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            lr_milestones=lr_milestones,
            attack_eps=attack_eps,
            attack_step=attack_step,
            attack_steps=attack_steps,
            **kwargs,
        )

    def guide_codes(self, y: Tensor) -> Tensor:
        """Mainstay codes b′(y) from the current sign bank, zero on all-zero label rows."""
        return mainstay_codes(y.float(), self.B, self.Y) * self.label_mask(y)

    @torch.no_grad()
    def alias_banks(self) -> None:
        """With ``faithful_alias`` and a bank loss: the loss's write of u lands in ``B``.

        ``B`` ← ``U``. Both banks start from the same sign codes and receive the same rows
        (all DDP processes' rows, gathered), so this is the official shared tensor after
        the hashing loss's write of this step.
        """
        if self.hparams["faithful_alias"] and getattr(self.hash_loss, "uses_bank", False):
            self.B.copy_(self.hash_loss.U)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Mainstay-guided min-max step on one batch ``(x, y, idx)``."""
        x, y, idx = batch
        guide = self.guide_codes(y)
        xa = self.inner_pgd(x, lambda h: (h * guide).mean())
        _, loss_hash = self.clean_step(x, y, idx)
        _, ua = self.model(xa)
        guide = self.guide_codes(y)  # batch rows: sgn(u), as the official recomputation
        self.alias_banks()
        mask = self.label_mask(y)
        loss_align = -(ua * guide).mean()
        loss_quant = ((ua - sign(ua.detach())) ** 2 * mask).mean()
        hp = self.hparams
        loss_adv = hp["lam"] * loss_align + hp["mu"] * loss_quant
        loss = loss_hash + loss_adv
        self.log_terms(loss, len(x), loss_hash=loss_hash, loss_adv=loss_adv, loss_quant=loss_quant)
        return loss
