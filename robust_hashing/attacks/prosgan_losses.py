"""Losses of ProS-GAN (algorithms §5.6), with the official code's scalings.

* Stage 1 (label PrototypeNet): DPSH likelihood of θ = p_tᵀB/2 against the training bank
  (mean over the m×N pairs) + MSE(ŷ, y_t) + Σ(sgn p_t − p_t)² / (10⁴·m).
* Stage 2, generator: λ_rec·MSE(x′, x) **on images mapped to [−1, 1]** (the official
  generator works in [−1, 1], so this is 4× the MSE in [0, 1]) + 5·(1 − mean(h₁(x′) ⊙ sgn
  p_t)) + LSGAN(D(x′) → [y_t, real]).
* Stage 2, discriminator: ½[LSGAN(D(x) → [y, real]) + LSGAN(D(x′) → [y_t, fake])].

LSGAN is the mean squared error against the target vector [label, real/fake flag]; the flag
is ``REAL`` = 0 for real images and ``FAKE`` = 1 for generated ones, as written in the
official ``GANLoss`` (target_real_label=0.0, target_fake_label=1.0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robust_hashing.ops import label_overlap, sign

REAL, FAKE = 0.0, 1.0
HASH_WEIGHT = 5.0


def to_signed(images: Tensor) -> Tensor:
    """Images in [0, 1] mapped to [−1, 1] (the official generator's pixel range)."""
    return images * 2 - 1


def reconstruction_loss(adv: Tensor, images: Tensor) -> Tensor:
    """MSE(x′, x) on images mapped to [−1, 1], i.e. 4× the MSE in [0, 1]."""
    return F.mse_loss(to_signed(adv), to_signed(images))


def lsgan_loss(scores: Tensor, labels: Tensor, flag: float) -> Tensor:
    """MSE between discriminator scores (m×(C+1)) and the targets [labels, ``flag``]."""
    target = torch.cat([labels.float(), labels.new_full((len(labels), 1), flag)], dim=1)
    return F.mse_loss(scores, target.to(scores))


def prototype_stage1_loss(
    codes: Tensor, predicted: Tensor, labels: Tensor, bank: Tensor, bank_labels: Tensor
) -> Tensor:
    """Stage-1 loss for relaxed codes p (m×K) and label predictions ŷ (m×C) of labels y.

    DPSH likelihood of θ = pᵀB/2 (mean over the m×N pairs) + MSE(ŷ, y) + the quantisation
    term Σ(sgn p − p)² / (10⁴·m) (official scaling: a sum over bits, not a mean).
    """
    theta = codes @ bank.t() / 2
    sim = label_overlap(labels, bank_labels)
    lik = (F.softplus(-theta.abs()) + theta.clamp_min(0) - sim * theta).mean()
    quant = (sign(codes.detach()) - codes).pow(2).sum() / (1e4 * len(codes))
    return lik + F.mse_loss(predicted, labels.float()) + quant


def generator_loss(
    adv: Tensor,
    images: Tensor,
    relaxed: Tensor,
    target_codes: Tensor,
    scores: Tensor,
    target_labels: Tensor,
    rec_weight: float,
) -> Tensor:
    """L_G for adversarial images x′ of ``images`` (both in [0, 1]).

    Args:
        adv: x′ (m×3×H×W).
        images: x.
        relaxed: h₁(x′) of the attacked model (m×K).
        target_codes: sgn p_t (m×K).
        scores: D(x′) (m×(C+1)).
        target_labels: y_t (m×C).
        rec_weight: λ_rec.
    """
    hashing = 1 - (relaxed * target_codes).mean()
    return (
        rec_weight * reconstruction_loss(adv, images)
        + HASH_WEIGHT * hashing
        + lsgan_loss(scores, target_labels, REAL)
    )


def discriminator_loss(
    disc: nn.Module, images: Tensor, labels: Tensor, fake: Tensor, target_labels: Tensor
) -> Tensor:
    """L_D = ½[LSGAN(D(x) → [y, real]) + LSGAN(D(x′) → [y_t, fake])] (``fake`` detached)."""
    return 0.5 * (
        lsgan_loss(disc(images), labels, REAL) + lsgan_loss(disc(fake), target_labels, FAKE)
    )
