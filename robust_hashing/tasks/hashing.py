"""Clean deep-hashing training as a LightningModule (the victim every defense starts from)."""

from __future__ import annotations

from typing import Any, Literal

import lightning as L
import torch
import torch.distributed as dist
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from robust_hashing.losses import get_loss
from robust_hashing.metrics import average_precision_per_query, map_from_ap
from robust_hashing.models import HashNet, create_hash_net
from robust_hashing.tasks.encode import merge_by_index
from robust_hashing.tasks.guards import TrainingGuard, chance_level, chance_warning


class HashingTask(L.LightningModule):
    """Train a hash network with a hashing loss; validate with mAP@top_k on query vs database.

    The validation loaders are ``[query, database]`` (see
    :meth:`robust_hashing.datamodules.HashingDataModule.val_dataloader`); codes from every
    process are gathered and de-duplicated by dataset index before the metric, so the
    logged ``val_map`` is exact under DDP. Training stops with one line on a non-finite
    loss or weights (:class:`~robust_hashing.tasks.guards.TrainingGuard`), and a final
    ``val_map`` at chance level is warned about.

    Args:
        backbone: registered backbone name (``small_cnn``, ``alexnet``, ``vgg11``, ``resnet18``).
        bits: code length K.
        loss: registered hashing loss (``dph``, ``dpsh``, ``dpsh_saat``, ``hashnet``, ``csq``).
        loss_hparams: extra keyword arguments of the loss.
        weights: local ImageNet checkpoint for the backbone (torchvision key names).
        num_train: training-set size (linked from the data module by the CLI).
        num_classes: number of labels (linked from the data module by the CLI).
        optimizer: ``sgd`` or ``adam``.
        lr: learning rate.
        momentum: SGD momentum.
        weight_decay: L2 weight decay.
        betas: Adam betas.
        lr_milestones: fractions of all training steps at which the LR is multiplied by
            ``lr_gamma`` (stepped every iteration).
        lr_gamma: LR decay factor.
        top_k: cut-off of the validation mAP (``None`` = full database).
    """

    monitor = "val_map"
    mode = "max"

    def __init__(
        self,
        backbone: str = "small_cnn",
        bits: int = 32,
        loss: str = "dpsh",
        loss_hparams: dict[str, Any] | None = None,
        weights: str | None = None,
        num_train: int = 0,
        num_classes: int = 0,
        optimizer: Literal["sgd", "adam"] = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        lr_milestones: tuple[float, ...] = (0.33, 0.66),
        lr_gamma: float = 0.1,
        top_k: int | None = 1000,
    ) -> None:
        super().__init__()
        if num_train <= 0 or num_classes <= 0:
            raise ValueError(
                f"num_train and num_classes must be positive (got {num_train}, {num_classes}); "
                "the CLI links them from the data module"
            )
        self.save_hyperparameters()
        self.model: HashNet = create_hash_net(backbone, bits, weights=weights)
        self.hash_loss = get_loss(
            loss, bits=bits, num_train=num_train, num_classes=num_classes, **(loss_hparams or {})
        )
        self._val_parts: dict[int, list[tuple[Tensor, Tensor, Tensor]]] = {0: [], 1: []}
        self._chance: float | None = None
        self._last_val_map: tuple[float, float] | None = None  # (val_map, chance level)

    def configure_callbacks(self) -> list[L.Callback]:
        """The guard against non-finite losses and weights (and for plain checkpoints)."""
        return [TrainingGuard()]

    def forward(self, x: Tensor, alpha: float = 1.0) -> tuple[Tensor, Tensor]:
        """Delegate to the hash network: ``(z, tanh(alpha z))``."""
        return self.model(x, alpha)

    # -- training -------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Clean hashing loss on one batch ``(x, y, idx)``.

        The relaxed codes are u = tanh(α·z) with α = ``hash_loss.train_scale(global_step)``:
        1 for every loss but HashNet, whose scale grows on a schedule (algorithms §2).
        Validation and prediction use the binary codes sgn(z), and :meth:`forward` α = 1.
        """
        x, y, idx = batch
        _, u = self.model(x, self.hash_loss.train_scale(self.global_step))
        loss = self.hash_loss(u, y.float(), idx)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x))
        return loss

    def configure_optimizers(self) -> Any:
        """SGD or Adam with a step-wise multi-step LR schedule (fractions of all steps)."""
        hp: Any = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        opt: torch.optim.Optimizer
        if hp.optimizer == "sgd":
            opt = torch.optim.SGD(
                params, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay
            )
        else:
            opt = torch.optim.Adam(params, lr=hp.lr, betas=hp.betas, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        milestones = sorted({max(1, int(f * total)) for f in hp.lr_milestones})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=hp.lr_gamma)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # -- validation: mAP@k of query codes against database codes ---------------------------
    def on_validation_epoch_start(self) -> None:
        """Forget the codes of the previous validation run."""
        self._val_parts = {0: [], 1: []}

    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Encode a query (loader 0) or database (loader 1) batch."""
        x, y, idx = batch
        self._val_parts[dataloader_idx].append(
            (self.model.encode(x).cpu(), y.float().cpu(), idx.cpu())
        )

    def on_validation_epoch_end(self) -> None:
        """Gather every process's codes; log ``val_map`` and ``val_map_hits`` (mAP@top_k).

        ``val_map`` is convention (a), every query counted; ``val_map_hits`` convention (b),
        the queries with a relevant item in their top k only (protocol §5).
        """
        if not self._val_parts[0] or not self._val_parts[1]:
            return
        q_codes, q_labels = merge_by_index(_gather(self._val_parts[0]))
        d_codes, d_labels = merge_by_index(_gather(self._val_parts[1]))
        ap = average_precision_per_query(
            q_codes, d_codes, q_labels, d_labels, top_k=self.hparams["top_k"]
        )
        value = map_from_ap(ap)
        self.log("val_map", value, prog_bar=True, sync_dist=False, rank_zero_only=False)
        hits = map_from_ap(ap, hit_only=True)
        self.log("val_map_hits", hits, sync_dist=False, rank_zero_only=False)
        self._val_parts = {0: [], 1: []}
        if self._trainer is None or not self.trainer.sanity_checking:
            if self._chance is None:
                self._chance = chance_level(q_labels, d_labels)
            self._last_val_map = (float(value), self._chance)

    def on_fit_end(self) -> None:
        """Warn when the last validation mAP is no better than a random ranking."""
        message = chance_warning(*self._last_val_map) if self._last_val_map else None
        if message is not None:
            rank_zero_warn(f"{type(self).__name__}: validation {message}")

    # -- prediction: codes with their dataset index ----------------------------------------
    def predict_step(
        self, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, Tensor]:
        """Return ``{"codes", "labels", "index"}`` for a batch."""
        x, y, idx = batch
        return {"codes": self.model.encode(x), "labels": y, "index": idx}


def _gather(parts: list[tuple[Tensor, Tensor, Tensor]]) -> list[tuple[Tensor, Tensor, Tensor]]:
    """All processes' shards (unequal sizes allowed); the local list outside DDP."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        gathered: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, parts)
        return [p for shard in gathered for p in shard]
    return parts
