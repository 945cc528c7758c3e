"""COLO-TRIDE-H: our Hamming-space port of collapse-aware triplet decoupling (algorithms §4.5)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor

from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.defenses.base import DEFENSES, DefenseTask, ObjectiveFn
from robust_hashing.defenses.colo_tride_terms import (
    anp_loss,
    cap_loss,
    collapseness,
    full_eval,
    low_half,
    relaxed_hamming,
    weighted_mean,
)
from robust_hashing.ops import label_overlap

__all__ = ["ColoTride", "low_half", "relaxed_hamming", "weighted_mean"]


@DEFENSES.register("colo_tride")
class ColoTride(DefenseTask):
    """COLO-TRIDE-H: collapse-aware triplet decoupling, ported to Hamming space.

    Original: Tian, Lin, Zhao, Li, Shen, "Collapse-Aware Triplet Decoupling for
    Adversarially Robust Image Retrieval", ICML 2024, https://arxiv.org/abs/2312.07364
    (code: michaeltian108/CA-TRIDE). Threat model: L∞, ε = 8/255, white-box.

    **Ported from the original (spec §4.4):** the collapseness c = WM_λ(d_ap) − WM_λ(d_an)
    from λ-softmax weighted means; the gradual-hard miner (a uniformly drawn negative j
    with d_ap² < d_aj² and d_ap − d_aj + m_g(e) > 0, else a random negative) on clean
    embeddings; CAP (perturb positives and negatives, anchors clean, minimise ReLU(−c)) on
    even steps t and ANP (perturb anchors, minimise ReLU(c) + γ·ReLU(T − mean shift),
    γ = exp(−ReLU(−c)) recomputed without gradient, T = mean of the ⌊n/2⌋ smallest
    d(ã_i, n_i), recomputed at every inner iteration from the perturbed anchors *with* its
    gradient, as the official ``pnp.py``) on odd steps t; the inner loop (no random start,
    ``attack_steps`` = 16 steps of (1/255)·(e/E), early stop once the loss is below
    ``early_stop``); the miner, CAP and ANP with the network fully in eval mode (dropout and
    BatchNorm; the clean anchor, positive and negative codes they use come from an
    eval-mode forward), train mode restored for the outer loss; the outer triplet loss with
    the low-half gap term (always on); n = 28 triplets per step.

    **Ours (spec §4.5, Hamming port):** every distance, the miner's and the anchor shift
    included, is the relaxed normalised Hamming distance on h₁ = tanh(z) outputs; margins
    are halved (triplet 0.1, miner 0.1, gap offset 0.02) and λ doubled (20); the ANP anchor
    shift is mean d(h₁(ã), h₁(a)), which at ã = a is (K − ‖h₁(a)‖²)/(2K), i.e. ≈ 0 only for
    saturated (fine-tuned) outputs, not exactly 0 like the Euclidean shift; the outer loss
    adds the clean hashing loss: L_hash(h₁(x)) + η·(triplet + gap); T uses at least one
    triplet when n = 1 (the official ⌊1/2⌋ = 0 gives an empty mean).

    **Steps (ours, spec §4.5).** A step trains on exactly 2·``num_anchors`` rows (56, the
    size of the original's SPC-2 batches of 28 classes × 2, but multi-label rows chosen as
    below): ``num_anchors`` anchors, then one positive per anchor, in that order.

    * The anchors are the first ``num_anchors`` non-zero-label rows of the loader's batch
      (the loader shuffles, so these are random training rows); its other rows are not
      used in that step. The loader thus supplies the anchor pool and the number of steps;
      with a loader batch well above ``num_anchors`` an epoch uses only part of the
      training rows as anchors.
    * A batch with fewer non-zero-label rows (many zero-label rows, or an epoch's short
      last batch) is topped up with anchors drawn uniformly, without replacement, from the
      other non-zero-label training rows (with replacement only if too few exist), so
      every step has the full 2·``num_anchors`` rows.
    * Each positive is drawn uniformly among the training rows that share a label with its
      anchor, the anchor itself excluded unless it is its only such row.
    * Top-up anchors and positives are loaded from the data module's training dataset
      (training transform) inside the step; a row's bank index is its training-list row,
      checked against the index the dataset returns.
    * The hashing loss and the bank updates (``B``, ``Y``, ``U``) see exactly these rows;
      a training row drawn twice is written once. Negatives are mined among them (zero
      label overlap with the anchor); triplets without one are masked.
    * Step t is the trainer's ``global_step`` (optimizer steps), which runs on across
      epochs, is the same on every DDP process and is restored on resume; e is the
      0-based epoch and E the configured number of epochs. Under DDP every process builds
      its own step from its own loader batch.

    Args:
        wm_lambda: softmax temperature λ of the weighted means (swept over 5/10/20/40).
        eta: weight η of the adversarial triplet + gap loss.
        num_anchors: anchors per step (28); a step has 2·num_anchors rows.
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
        attack_eps: float = DEFAULT_EPS,
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

    def train_dataset(self) -> Any:
        """The training dataset (training transform): the data module's, else the loader's."""
        dm = getattr(self.trainer, "datamodule", None)
        dataset = dm.train if dm is not None and hasattr(dm, "train") else None
        if dataset is None:
            dataset = self.trainer.train_dataloader.dataset  # type: ignore[union-attr]
        return dataset

    def load_rows(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Images, labels and bank indices of the training rows ``rows``, on this device.

        Raises:
            ValueError: if the dataset's item ``r`` does not carry index ``r``, since the
                banks are indexed by training-list row.
        """
        dataset = self.train_dataset()
        wanted = [int(r) for r in rows.tolist()]
        items = [dataset[r] for r in wanted]
        got = [int(it[2]) for it in items]
        if got != wanted:
            raise ValueError(
                f"training dataset items {wanted} carry indices {got}; "
                f"{type(self).__name__} needs item r to be training-list row r"
            )
        xs = torch.stack([torch.as_tensor(it[0]) for it in items]).to(self.device)
        ys = torch.stack([torch.as_tensor(it[1]).float() for it in items]).to(self.device)
        return xs, ys, torch.tensor(wanted, dtype=torch.long, device=self.device)

    def draw_anchors(self, count: int, taken: Tensor) -> Tensor:
        """``count`` random non-zero-label training rows not in ``taken`` (CPU, long).

        Drawn without replacement; with replacement among all non-zero-label rows only when
        fewer than ``count`` rows are left.

        Raises:
            RuntimeError: if no training row has a label.
        """
        labelled = (self.Y.sum(1) > 0).cpu()
        if not labelled.any():
            raise RuntimeError(f"{type(self).__name__} needs training rows with labels")
        free = labelled.clone()
        free[taken.long().cpu()] = False
        if int(free.sum()) >= count:
            return torch.multinomial(free.float(), count, replacement=False)
        return torch.multinomial(labelled.float(), count, replacement=True)

    def draw_positives(self, y: Tensor, idx: Tensor) -> Tensor:
        """One random training row (CPU, long) sharing a label with each anchor.

        Uniform among the rows of ``Y`` that share a label with the anchor's ``y``; the
        anchor's own row ``idx`` only if it is the only one.
        """
        share = label_overlap(y, self.Y)
        others = share.clone()
        others[torch.arange(len(idx), device=share.device), idx.long().to(share.device)] = 0
        share = torch.where(others.sum(1, keepdim=True) > 0, others, share)
        return torch.multinomial(share.cpu(), 1).squeeze(1)

    def triplet_batch(self, x: Tensor, y: Tensor, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The step's rows from a loader batch: ``num_anchors`` anchors, then their positives.

        Returns images, float labels and bank indices of 2·``num_anchors`` rows (see the
        class docstring for how anchors and positives are chosen).
        """
        n = self.hparams["num_anchors"]
        y = y.float()
        rows = torch.nonzero(y.sum(1) > 0).squeeze(1)[:n]
        xa, ya, ia = x[rows], y[rows], idx[rows].long()
        if len(torch.unique(ia)) != len(ia):  # a loader batch never repeats a row
            raise ValueError(f"repeated rows in the loader batch: {ia.tolist()}")
        if len(rows) < n:  # top-up rows repeat only when the training set has too few
            xt, yt, it = self.load_rows(self.draw_anchors(n - len(rows), ia))
            xa, ya, ia = torch.cat([xa, xt]), torch.cat([ya, yt]), torch.cat([ia, it])
        xp, yp, ip = self.load_rows(self.draw_positives(ya, ia))
        return torch.cat([xa, xp]), torch.cat([ya, yp]), torch.cat([ia, ip])

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
        """No random start; steps of ``attack_step``·e/E; early stop below ``early_stop``.

        The network runs fully in eval mode (dropout off), its modes restored after.
        """
        hp = self.hparams
        x0 = x.detach()
        xa = x0.clone()
        step = hp["attack_step"] * ramp
        if step <= 0:
            return xa
        with full_eval(self.model):
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
        return collapseness(d_ap, d_an, self.hparams["wm_lambda"])

    def cap(self, xp: Tensor, xn: Tensor, ua: Tensor, ramp: float) -> Tensor:
        """Candidate perturbation: move p and n toward (and not past) collapse.

        ``ua``: the clean anchors' eval-mode relaxed codes.
        """
        n, lam = len(xp), self.hparams["wm_lambda"]
        return self.ramp_pgd(torch.cat([xp, xn]), lambda h: cap_loss(h[:n], h[n:], ua, lam), ramp)

    def anp(self, xa: Tensor, ua: Tensor, up: Tensor, un: Tensor, ramp: float) -> Tensor:
        """Anchor perturbation: reverse collapse while shifting the anchor by at least T.

        ``ua``, ``up``, ``un``: eval-mode relaxed codes of the clean anchors, positives and
        negatives; T is recomputed from the perturbed anchors at every iteration.
        """
        lam = self.hparams["wm_lambda"]
        return self.ramp_pgd(xa, lambda h: anp_loss(h, up, un, ua, lam), ramp)

    # -- the step ------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Hashing loss + CAP/ANP-perturbed triplet loss on the step's anchors and positives."""
        hp = self.hparams
        x, y, idx = self.triplet_batch(*batch)
        m = len(x)
        n = m // 2
        _, u = self.model(x)
        # Banks first (gathered across DDP processes, repeated rows written once), then the
        # loss against them. Not clean_step: the loss's forward would rewrite U with this
        # process's rows only, undoing the gathered write of a row another process also drew.
        self.update_banks(u, y, idx)
        loss_hash = self.hash_loss.compute(u, y)
        with torch.no_grad(), full_eval(self.model):  # the miner's and the inner loops' codes
            ue = self.model(x)[1]
        anchors = torch.arange(n, device=u.device)
        neg, valid = self.mine(ue, y, anchors, anchors + n)
        a_rows, p_rows, n_rows = anchors[valid], anchors[valid] + n, neg[valid]
        loss_adv = u.new_zeros(())
        if len(a_rows) > 0:
            ha, hp_, hn = u[a_rows], u[p_rows], u[n_rows]
            ramp = self.epoch_ramp()
            if ramp > 0 and self.global_step % 2 == 0:  # CAP: database side
                adv = self.cap(x[p_rows], x[n_rows], ue[a_rows], ramp)
                hp_, hn = self.model(adv)[1].split(len(a_rows))
            elif ramp > 0:  # ANP: query side
                adv = self.anp(x[a_rows], ue[a_rows], ue[p_rows], ue[n_rows], ramp)
                ha = self.model(adv)[1]
            d_ap, d_an = relaxed_hamming(ha, hp_), relaxed_hamming(ha, hn)
            triplet = torch.relu(d_ap - d_an + hp["margin"]).mean()
            gap = torch.relu(low_half(d_ap) - low_half(d_an) + hp["gap_offset"])
            loss_adv = triplet + hp["gap_weight"] * gap
            self.log("collapseness", self.collapseness(d_ap, d_an).detach(), batch_size=m)
        loss = loss_hash + hp["eta"] * loss_adv
        self.log_terms(loss, m, loss_hash=loss_hash, loss_adv=loss_adv)
        return loss
