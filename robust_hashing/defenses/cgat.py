"""CgAT: center-guided adversarial training (algorithms §4.1)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from torch import Tensor

from robust_hashing.codes import center_codes
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.defenses.base import DEFENSES, DefenseTask


@DEFENSES.register("cgat")
class CgAT(DefenseTask):
    """CgAT: Center-Guided Adversarial Training for Deep Hashing-Based Retrieval.

    Wang, Lin, Li, WWW 2023, https://arxiv.org/abs/2204.10779 (code: xunguangwang/CgAT).
    Threat model: L∞, ε = 8/255, untargeted, white-box.

    Per batch ``(x, y, idx)`` (spec §4.1):

    1. center codes ĉ = b̂(y) from the sign bank *before* this batch;
    2. x_a = PGD-7 (step 2/255, random start, α = 1) minimising mean(h₁(x_a) ⊙ ĉ);
    3. u = h₁(x), u_a = h₁(x_a); B[idx] ← sgn u (u with ``faithful_alias``), U[idx] ← u;
    4. ĉ recomputed from the updated bank;
    5. loss = L_hash(u) − λ·mean(u_a ⊙ ĉ), the adversarial term zeroed on all-zero label
       rows (the official all-zero center code has the same effect).

    **Bank aliasing (spec §4.1 quirk).** In the official code the sign bank, the continuous
    bank and the hashing loss's bank are one tensor, filled with the clean sign codes; the
    step writes sgn(u) and then u into the same rows, so visited rows end up holding the
    tanh values, and every center code computed after the write (this step's recomputed
    one included) is computed from them. By default
    (``faithful_alias=False``) we keep two banks: ``B`` holds sgn(u) and the loss's ``U``
    holds u, starting from the clean model's relaxed outputs. ``faithful_alias=True``
    reproduces the aliasing: every visited row of ``B`` holds u (not sgn u), and a bank
    loss's ``U`` starts as a copy of the sign codes, so ``B`` and ``U`` stay identical as
    in the official code (with a loss without a bank, such as CSQ, only ``B`` is affected).

    Args:
        lam: weight λ of the adversarial alignment term.
        jaccard: weight positives by label Jaccard similarity (ablation; default indicator).
        faithful_alias: reproduce the official code's aliased sign/continuous bank (the
            sign bank's visited rows hold tanh values); default: two separate banks.
        optimizer: published: SGD.
        lr: published: 0.01.
        momentum: published: 0.9.
        weight_decay: published: 5e-4.
        lr_milestones: published: ×0.1 at 50% and 75% of all iterations.
        attack_eps: inner PGD budget (8/255).
        attack_step: inner PGD step (2/255).
        attack_steps: inner PGD iterations (7).
        **kwargs: further :class:`~robust_hashing.defenses.base.DefenseTask` /
            :class:`~robust_hashing.tasks.HashingTask` arguments (``clean_checkpoint``,
            ``backbone``, ``bits``, ``loss``, ...).

    Example:
        >>> task = CgAT(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> task.hparams.lam
        1.0
    """

    quick: ClassVar[dict[str, Any]] = {"attack_steps": 3, "limit_train_batches": 0.5}

    def __init__(
        self,
        lam: float = 1.0,
        jaccard: bool = False,
        faithful_alias: bool = False,
        optimizer: Literal["sgd", "adam"] = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
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

    def on_fit_start(self) -> None:
        """Fill the banks; with ``faithful_alias`` a bank loss's ``U`` starts as ``B``."""
        super().on_fit_start()
        if self.hparams["faithful_alias"] and getattr(self.hash_loss, "uses_bank", False):
            self.hash_loss.U.copy_(self.B)

    def sign_bank_rows(self, u: Tensor) -> Tensor:
        """sgn(u); with ``faithful_alias`` the relaxed outputs u themselves (aliased banks)."""
        return u if self.hparams["faithful_alias"] else super().sign_bank_rows(u)

    def guide_codes(self, y: Tensor) -> Tensor:
        """Center codes b̂(y) from the current sign bank, zero on all-zero label rows."""
        codes = center_codes(y.float(), self.B, self.Y, jaccard=self.hparams["jaccard"])
        return codes * self.label_mask(y)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Center-guided min-max step on one batch ``(x, y, idx)``."""
        x, y, idx = batch
        c = self.guide_codes(y)
        xa = self.inner_pgd(x, lambda h: (h * c).mean())
        _, loss_hash = self.clean_step(x, y, idx)
        _, ua = self.model(xa)
        c = self.guide_codes(y)
        loss_adv = -(ua * c).mean()
        loss = loss_hash + self.hparams["lam"] * loss_adv
        self.log_terms(loss, len(x), loss_hash=loss_hash, loss_adv=loss_adv)
        return loss
