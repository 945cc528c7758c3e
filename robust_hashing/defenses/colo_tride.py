"""COLO-TRIDE-H: our Hamming-space port of collapse-aware triplet decoupling (algorithms §4.5)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from robust_hashing.defenses import register_defense
from robust_hashing.defenses.base import DefenseTask, ObjectiveFn
from robust_hashing.ops import label_overlap


def relaxed_hamming(u: Tensor, v: Tensor) -> Tensor:
    """Row-wise normalised relaxed Hamming distance (K − uᵀv)/(2K) ∈ [0, 1]."""
    k = u.shape[1]
    return (k - (u * v).sum(1)) / (2 * k)


def weighted_mean(d: Tensor, lam: float) -> Tensor:
    """WM_λ(d) = Σ softmax(λd)_i·d_i (stable: the softmax subtracts max d)."""
    return (torch.softmax(lam * d, 0) * d).sum()


def low_half(d: Tensor) -> Tensor:
    """Mean of the smaller half (at least one element) of a vector."""
    return d.sort().values[: max(1, len(d) // 2)].mean()


@register_defense("colo_tride")
class ColoTride(DefenseTask):
    """COLO-TRIDE-H: collapse-aware triplet decoupling, ported to Hamming space.

    Original: Tian, Lin, Zhao, Li, Shen, "Collapse-Aware Triplet Decoupling for
    Adversarially Robust Image Retrieval", ICML 2024, https://arxiv.org/abs/2312.07364
    (code: michaeltian108/CA-TRIDE). Threat model: L∞, ε = 8/255, white-box.

    **Ported from the original (spec §4.4):** the collapseness c = WM_λ(d_ap) − WM_λ(d_an)
    from λ-softmax weighted means; the gradual-hard miner (a uniformly drawn negative j
    with d_ap² < d_aj² and d_ap − d_aj + m_g(e) > 0, else a random negative) on clean
    embeddings; CAP (perturb positives and negatives, anchors clean, minimise ReLU(−c)) and
    ANP (perturb anchors, minimise ReLU(c) + γ·ReLU(T − mean shift), γ = exp(−ReLU(−c))
    recomputed without gradient, T = mean of the ⌊n/2⌋ smallest clean d_an) alternating
    per batch; the inner loop (no random start, ``attack_steps`` = 16 steps of
    (1/255)·(e/E), early stop once the loss is below ``early_stop``); the outer triplet loss
    with the low-half gap term (always on).

    **Ours (spec §4.5, Hamming port):** every distance, the miner's and the anchor shift
    included, is the relaxed normalised Hamming distance on h₁ = tanh(z) outputs; margins
    are halved (triplet 0.1, miner 0.1, gap offset 0.02) and λ doubled (20); the ANP anchor
    shift is mean d(h₁(ã), h₁(a)), which at ã = a is (K − ‖h₁(a)‖²)/(2K), i.e. ≈ 0 only for
    saturated (fine-tuned) outputs, not exactly 0 like the Euclidean shift; the outer loss
    adds the clean hashing loss: L_hash(h₁(x)) + η·(triplet + gap). Batches: the anchors
    are the first ``num_anchors`` (28) non-zero-label rows of the regular training batch;
    each is paired with a random training row sharing a label, whose image is loaded from
    the data module's training dataset (training transform) inside the step. The hashing
    loss and the bank updates see the regular batch plus these positives; negatives are
    mined among all of those rows with zero label overlap with the anchor, and triplets
    without one are masked. Step parity is the batch index; e is the epoch, E the
    configured number of epochs. BatchNorm runs in eval mode during the attack.

    Args:
        wm_lambda: softmax temperature λ of the weighted means (swept over 5/10/20/40).
        eta: weight η of the adversarial triplet + gap loss.
        num_anchors: anchors per batch (28; limited by the batch's non-zero-label rows).
        margin: triplet margin.
        miner_margin: scale of the miner margin m_g(e) = margin·(1 − e/(2E))².
        gap_offset: offset of the low-half gap term.
        gap_weight: weight of the low-half gap term.
        early_stop: the inner loop stops once its loss is below this.
        optimizer: as CgAT: SGD.
        lr: as CgAT: 0.01.
        momentum: as CgAT: 0.9.
        weight_decay: as CgAT: 5e-4.
        lr_milestones: as CgAT: ×0.1 at 50% and 75% of all iterations.
        attack_eps: inner budget (8/255).
        attack_step: inner step at e/E = 1 (1/255; scaled by e/E).
        attack_steps: inner iterations (16).
        **kwargs: further :class:`~robust_hashing.defenses.base.DefenseTask` /
            :class:`~robust_hashing.tasks.HashingTask` arguments.

    Example:
        >>> task = ColoTride(backbone="test_cnn", bits=16, num_train=32, num_classes=5)
        >>> task.hparams.wm_lambda
        20.0
    """

    quick: ClassVar[dict[str, Any]] = {"attack_steps": 4, "limit_train_batches": 0.5}

    def __init__(
        self,
        wm_lambda: float = 20.0,
        eta: float = 1.0,
        num_anchors: int = 28,
        margin: float = 0.1,
        miner_margin: float = 0.1,
        gap_offset: float = 0.02,
        gap_weight: float = 0.5,
        early_stop: float = 1e-5,
        optimizer: Literal["sgd", "adam"] = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        lr_milestones: tuple[float, ...] = (0.5, 0.75),
        attack_eps: float = 8 / 255,
        attack_step: float = 1 / 255,
        attack_steps: int = 16,
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
        if num_anchors < 1:
            raise ValueError(f"num_anchors must be >= 1, got {num_anchors}")

    # -- schedule, batch building, mining ------------------------------------------------
    def epoch_ramp(self) -> float:
        """e/E: the 0-based epoch over the configured number of epochs, in [0, 1]."""
        trainer = self.trainer
        total = trainer.max_epochs
        if total is None or total < 1:
            steps = trainer.estimated_stepping_batches
            per_epoch = max(1, int(trainer.num_training_batches))
            total = max(1, math.ceil(steps / per_epoch)) if math.isfinite(steps) else 1
        return min(1.0, self.current_epoch / total)

    def draw_positives(self, y: Tensor, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Images, labels and rows of random training rows sharing a label with each anchor."""
        share = label_overlap(y, self.Y)
        others = share.clone()
        others[torch.arange(len(idx), device=share.device), idx.long().to(share.device)] = 0
        share = torch.where(others.sum(1, keepdim=True) > 0, others, share)
        rows = torch.multinomial(share.cpu(), 1).squeeze(1)
        dm = getattr(self.trainer, "datamodule", None)
        dataset = dm.train if dm is not None and hasattr(dm, "train") else None
        if dataset is None:
            dataset = self.trainer.train_dataloader.dataset  # type: ignore[union-attr]
        items = [dataset[int(r)] for r in rows]
        xp = torch.stack([torch.as_tensor(it[0]) for it in items]).to(self.device)
        yp = torch.stack([torch.as_tensor(it[1]).float() for it in items]).to(self.device)
        ip = torch.tensor([int(it[2]) for it in items], device=self.device)
        return xp, yp, ip

    @torch.no_grad()
    def mine(self, u: Tensor, y: Tensor, a: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
        """Gradual-hard negatives (rows of ``u``) for anchors ``a`` and positives ``p``.

        Returns the negative row per triplet and the mask of triplets that have one.
        """
        d_ap = relaxed_hamming(u[a], u[p])
        k = u.shape[1]
        d_aj = (k - u[a] @ u.t()) / (2 * k)
        cand = label_overlap(y[a], y) == 0
        m_g = self.hparams["miner_margin"] * (1 - self.epoch_ramp() / 2) ** 2
        d_ap = d_ap.unsqueeze(1)
        hard = cand & (d_ap**2 < d_aj**2) & (d_ap - d_aj + m_g > 0)
        keys = torch.rand(d_aj.shape).to(u) + 2 * hard.float() + 2 * cand.float()
        keys = torch.where(cand, keys, torch.full_like(keys, -1.0))
        return keys.argmax(1), cand.any(1)

    # -- inner maximisation ----------------------------------------------------------------
    def ramp_pgd(self, x: Tensor, objective: ObjectiveFn, ramp: float) -> Tensor:
        """No random start; steps of ``attack_step``·e/E; early stop below ``early_stop``."""
        hp = self.hparams
        x0 = x.detach()
        xa = x0.clone()
        step = hp["attack_step"] * ramp
        if step <= 0:
            return xa
        with self.attack_mode():
            for _ in range(hp["attack_steps"]):
                xa.requires_grad_(True)
                with torch.enable_grad():
                    loss = objective(self.model(xa)[1])
                    if float(loss.detach()) < hp["early_stop"]:
                        break
                    (grad,) = torch.autograd.grad(loss, xa)
                with torch.no_grad():
                    xa = xa - step * grad.sign()
                    xa = torch.min(torch.max(xa, x0 - hp["attack_eps"]), x0 + hp["attack_eps"])
                    xa = xa.clamp(0, 1)
        return xa.detach()

    def collapseness(self, d_ap: Tensor, d_an: Tensor) -> Tensor:
        """Collapseness c = WM_λ(d_ap) − WM_λ(d_an); c ≥ 0 means the batch has collapsed."""
        lam = self.hparams["wm_lambda"]
        return weighted_mean(d_ap, lam) - weighted_mean(d_an, lam)

    def cap(self, xp: Tensor, xn: Tensor, ua: Tensor, ramp: float) -> Tensor:
        """Candidate perturbation: move p and n toward (and not past) collapse."""
        n = len(xp)

        def objective(h: Tensor) -> Tensor:
            c = self.collapseness(relaxed_hamming(ua, h[:n]), relaxed_hamming(ua, h[n:]))
            return torch.relu(-c)

        return self.ramp_pgd(torch.cat([xp, xn]), objective, ramp)

    def anp(self, xa: Tensor, ua: Tensor, up: Tensor, un: Tensor, ramp: float) -> Tensor:
        """Anchor perturbation: reverse collapse while shifting the anchor by at least T."""
        d_an = relaxed_hamming(ua, un)
        threshold = low_half(d_an)

        def objective(h: Tensor) -> Tensor:
            c = self.collapseness(relaxed_hamming(h, up), relaxed_hamming(h, un))
            gamma = torch.exp(-torch.relu(-c.detach()))
            shift = relaxed_hamming(h, ua).mean()
            return torch.relu(c) + gamma * torch.relu(threshold - shift)

        return self.ramp_pgd(xa, objective, ramp)

    # -- the step ------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Hashing loss + CAP/ANP-perturbed triplet loss on ``(x, y, idx)`` plus positives."""
        x, y, idx = batch
        hp = self.hparams
        anchors = torch.nonzero(y.float().sum(1) > 0).squeeze(1)[: hp["num_anchors"]]
        m, n = len(x), len(anchors)
        if n > 0:
            xp, yp, ip = self.draw_positives(y[anchors].float(), idx[anchors])
            x, y, idx = torch.cat([x, xp]), torch.cat([y.float(), yp]), torch.cat([idx, ip])
        u, loss_hash = self.clean_step(x, y, idx)
        pos = torch.arange(m, m + n, device=self.device)
        neg, valid = self.mine(u.detach(), y.float(), anchors, pos)
        a_rows, p_rows, n_rows = anchors[valid], pos[valid], neg[valid]
        loss_adv = u.new_zeros(())
        if len(a_rows) > 0:
            ha, hp_, hn = u[a_rows], u[p_rows], u[n_rows]
            ramp = self.epoch_ramp()
            if ramp > 0 and batch_idx % 2 == 0:  # CAP: database side
                adv = self.cap(x[p_rows], x[n_rows], ha.detach(), ramp)
                hp_, hn = self.model(adv)[1].split(len(a_rows))
            elif ramp > 0:  # ANP: query side
                adv = self.anp(x[a_rows], ha.detach(), hp_.detach(), hn.detach(), ramp)
                ha = self.model(adv)[1]
            d_ap, d_an = relaxed_hamming(ha, hp_), relaxed_hamming(ha, hn)
            triplet = torch.relu(d_ap - d_an + hp["margin"]).mean()
            gap = torch.relu(low_half(d_ap) - low_half(d_an) + hp["gap_offset"])
            loss_adv = triplet + hp["gap_weight"] * gap
            self.log("collapseness", self.collapseness(d_ap, d_an).detach(), batch_size=m)
        loss = loss_hash + hp["eta"] * loss_adv
        self.log_terms(loss, m, loss_hash=loss_hash, loss_adv=loss_adv)
        return loss
