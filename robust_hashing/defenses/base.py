"""Shared machinery of every adversarial-training defense (algorithms §0, §4).

:class:`DefenseTask` is a :class:`~robust_hashing.tasks.HashingTask` (same network, hashing
loss, validation mAP, optimiser and per-iteration LR schedule) with what the defenses of §4
have in common:

* fine-tuning from the ``model.*`` weights of a clean hashing checkpoint;
* the training-set banks: the sign-code bank ``B`` (N×K, ±1) used for semantic guide codes,
  the label bank ``Y`` (N×C), and the hashing loss's own continuous bank ``U`` — all
  filled from the clean model (eval mode, evaluation transform) at the start of ``fit``
  and refreshed batch by batch with the current model's outputs;
* bank consistency under DDP: every bank write is all-gathered, so all processes hold
  identical banks;
* the inner attack :meth:`DefenseTask.inner_pgd` (BatchNorm in eval mode, dropout as in
  training, parameter gradients discarded).

A new defense subclasses it and overrides only ``training_step``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import Tensor, nn

from robust_hashing.attacks.pgd import pgd
from robust_hashing.constants import DEFAULT_EPS, DEFENSE_GROUP
from robust_hashing.ops import sign
from robust_hashing.registry import Registry
from robust_hashing.tasks.checkpoint import (
    check_same_victim,
    load_model_weights,
    read_checkpoint,
)
from robust_hashing.tasks.encode import merge_by_index
from robust_hashing.tasks.hashing import HashingTask

ObjectiveFn = Callable[[Tensor], Tensor]
"""``objective(h) -> scalar`` on the relaxed outputs h₁(x + δ), to be **minimised**."""


class DefenseTask(HashingTask, ABC):
    """Base LightningModule of the adversarial-training defenses.

    Every argument of :class:`~robust_hashing.tasks.HashingTask` (backbone, bits, loss,
    optimiser, schedule, ...) is accepted as a keyword and forwarded.

    Args:
        clean_checkpoint: Lightning checkpoint of a clean hashing task whose ``model.*``
            weights are loaded at construction (``None``: train from the initialisation,
            meant for tests).
        attack_eps: L∞ budget ε of the inner attack (pixels in [0, 1]).
        attack_step: step size of the inner attack.
        attack_steps: number of inner attack iterations.
        **kwargs: arguments of :class:`~robust_hashing.tasks.HashingTask`.

    Attributes:
        B: N×K sign-code bank (±1 float buffer), indexed by training-list row.
        Y: N×C label bank (float buffer).
        quick: reduced settings of the CPU ``quick`` benchmark profile, applied by the
            runner: ``init_args`` overrides (e.g. fewer inner-attack steps) and the Trainer
            keys ``max_epochs``, ``max_steps``, ``limit_train_batches``.
    """

    quick: ClassVar[dict[str, Any]] = {"attack_steps": 3, "limit_train_batches": 0.5}
    trains: ClassVar[bool] = True
    """False only for ``none``: the runner then uses the clean checkpoint unchanged."""
    init_u_from_signs: ClassVar[bool] = False
    """Initialise ``U`` with the sign codes (SAAT) instead of the relaxed outputs."""
    in_all: ClassVar[bool] = True
    """Whether ``defenses: all`` includes it (see :func:`robust_hashing.defenses.grid_defenses`);
    False for a sanity baseline (``noise_aug``), trained only when named."""

    B: Tensor
    Y: Tensor

    def __init__(
        self,
        clean_checkpoint: str | None = None,
        attack_eps: float = DEFAULT_EPS,
        attack_step: float = 2 / 255,
        attack_steps: int = 7,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if attack_eps < 0 or attack_step <= 0 or attack_steps < 0:
            raise ValueError(
                f"invalid inner attack: eps={attack_eps}, step={attack_step}, steps={attack_steps}"
            )
        hp = self.hparams
        self.register_buffer("B", torch.ones(hp["num_train"], hp["bits"]))
        self.register_buffer("Y", torch.zeros(hp["num_train"], hp["num_classes"]))
        if clean_checkpoint is not None:
            self.load_clean_weights(clean_checkpoint)

    # -- clean start ----------------------------------------------------------------------
    def load_clean_weights(self, checkpoint: str | Path) -> None:
        """Copy the ``model.*`` weights of a clean task checkpoint into ``self.model``.

        Raises:
            FileNotFoundError: if the file does not exist.
            CheckpointError: (a ``ValueError``) if it is not a readable hashing-task
                checkpoint or its backbone / bits / loss / class count / weights differ.
        """
        path = Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"clean checkpoint not found: {path}")
        ckpt = read_checkpoint(path)
        check_same_victim(ckpt, self.hparams, path)  # same victim, same data
        load_model_weights(self.model, ckpt, path, backbone=self.hparams["backbone"])

    # -- banks ------------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Fill ``B``, ``Y`` and the loss's ``U`` from the current (clean) model."""
        codes, relaxed, labels = self._encode_training_set()
        if len(codes) != len(self.B):
            raise ValueError(f"train_eval loader has {len(codes)} rows, num_train={len(self.B)}")
        self.B.copy_(codes)
        self.Y.copy_(labels)
        loss = self.hash_loss
        if getattr(loss, "uses_bank", False):
            loss.U.copy_(codes if self.init_u_from_signs else relaxed)
            loss.Y.copy_(labels)

    @torch.no_grad()
    def _encode_training_set(self) -> tuple[Tensor, Tensor, Tensor]:
        """Sign codes, relaxed codes h₁ and labels of the training set (eval mode, ordered)."""
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "train_eval_dataloader"):
            raise RuntimeError(
                f"{type(self).__name__} needs a data module with train_eval_dataloader() "
                "to initialise its code banks"
            )
        was_training = self.model.training
        self.model.eval()
        parts = []
        for x, y, idx in dm.train_eval_dataloader():
            z, h = self.model(x.to(self.device))
            parts.append((torch.cat([sign(z), h], 1).cpu(), y.float().cpu(), idx.cpu()))
        self.model.train(was_training)
        both, labels = merge_by_index(parts)
        k = self.hparams["bits"]
        dev = self.device
        return both[:, :k].to(dev), both[:, k:].to(dev), labels.to(dev)

    @torch.no_grad()
    def update_banks(self, u: Tensor, labels: Tensor, index: Tensor) -> None:
        """Write one batch of relaxed outputs into every process's banks.

        ``B[idx] ← sgn(u)`` (see :meth:`sign_bank_rows`), ``Y[idx] ← y`` and (bank losses)
        ``U[idx] ← u``, for the rows of all DDP processes (gathered first), so the banks stay
        identical across ranks. A training row that occurs more than once among the gathered
        rows is written once, with its last occurrence (rank order, then batch order), so the
        result does not depend on how a device resolves repeated indices.
        """
        u, labels, index = gather_rows(u.detach().float(), labels.float(), index.long())
        keep = last_occurrences(index)
        if keep is not None:
            u, labels, index = u[keep], labels[keep], index[keep]
        self.B[index] = self.sign_bank_rows(u).to(self.B)
        self.Y[index] = labels.to(self.Y)
        self.hash_loss.update_bank(u, labels, index)

    def sign_bank_rows(self, u: Tensor) -> Tensor:
        """What a batch's relaxed outputs ``u`` write into the sign bank ``B``: ``sgn(u)``."""
        return sign(u)

    # -- shared pieces of the training objectives ------------------------------------------
    def clean_step(self, x: Tensor, y: Tensor, idx: Tensor) -> tuple[Tensor, Tensor]:
        """Relaxed outputs ``u = h₁(x)`` (train mode) and the hashing loss, banks updated."""
        _, u = self.model(x)
        self.update_banks(u, y, idx)
        return u, self.hash_loss(u, y.float(), idx)

    @staticmethod
    def label_mask(y: Tensor) -> Tensor:
        """m×1 float mask: 0 for all-zero label rows, whose adversarial term is masked."""
        return (y.float().sum(1, keepdim=True) > 0).float()

    @contextmanager
    def attack_mode(self) -> Iterator[None]:
        """Run the network with BatchNorm in eval mode and dropout as it is (spec §0)."""
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        modes = [m.training for m in norms]
        for m in norms:
            m.eval()
        try:
            yield
        finally:
            for m, mode in zip(norms, modes, strict=True):
                m.train(mode)

    def inner_pgd(
        self,
        x: Tensor,
        objective: ObjectiveFn,
        *,
        steps: int | None = None,
        step: float | None = None,
        eps: float | None = None,
        random_start: bool = True,
    ) -> Tensor:
        """Training-time PGD: minimise ``objective(h₁(x + δ))`` over ‖δ‖∞ ≤ ε (α = 1).

        Defaults come from ``attack_eps``, ``attack_step`` and ``attack_steps``. Only δ
        receives gradients; the returned images are detached.
        """
        hp = self.hparams
        with self.attack_mode():
            return pgd(
                x,
                lambda xa, _t: objective(self.model(xa)[1]),
                eps=hp["attack_eps"] if eps is None else eps,
                step=hp["attack_step"] if step is None else step,
                steps=hp["attack_steps"] if steps is None else steps,
                random_start=random_start,
            )

    def log_terms(self, total: Tensor, batch_size: int, **terms: Tensor) -> None:
        """Log ``train_loss`` and each named term (progress bar on)."""
        self.log("train_loss", total, prog_bar=True, on_step=True, on_epoch=True,
                 batch_size=batch_size)  # fmt: skip
        for name, value in terms.items():
            self.log(name, value, prog_bar=True, on_step=True, on_epoch=False,
                     batch_size=batch_size)  # fmt: skip

    @abstractmethod
    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        """One defense step on ``(x, y, idx)``; returns the loss to minimise."""


DEFENSES: Registry[type[DefenseTask]] = Registry(
    "defense", base=DefenseTask, entry_point_group=DEFENSE_GROUP
)
"""The defenses by name; a built-in registers with ``@DEFENSES.register("name")``."""


def last_occurrences(index: Tensor) -> Tensor | None:
    """Boolean mask of the last occurrence of each value of ``index``; ``None`` if all differ.

    Example:
        >>> last_occurrences(torch.tensor([3, 1, 3, 2])).tolist()
        [False, True, True, True]
        >>> last_occurrences(torch.tensor([0, 2, 1])) is None
        True
    """
    uniq, inverse = torch.unique(index, return_inverse=True)
    if len(uniq) == len(index):
        return None
    order = torch.arange(len(index), device=index.device)
    last = torch.full((len(uniq),), -1, dtype=order.dtype, device=index.device)
    last = last.scatter_reduce(0, inverse, order, reduce="amax")
    keep = torch.zeros(len(index), dtype=torch.bool, device=index.device)
    keep[last] = True
    return keep


def gather_rows(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Concatenate row-aligned tensors from all DDP processes (unequal row counts allowed).

    Outside DDP the inputs are returned unchanged. Works with gloo (CPU) and NCCL (GPU):
    row counts are exchanged first, rows are padded to the largest count, gathered with
    ``all_gather`` and trimmed, so every process gets the same rows in rank order.
    """
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return tensors
    world = dist.get_world_size()
    first = tensors[0]
    count = torch.tensor([first.shape[0]], device=first.device, dtype=torch.long)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    top = max(sizes)
    out = []
    for t in tensors:
        pad = t.new_zeros((top - t.shape[0], *t.shape[1:]))
        buf = [torch.empty_like(torch.cat([t, pad])) for _ in range(world)]
        dist.all_gather(buf, torch.cat([t, pad]).contiguous())
        out.append(torch.cat([b[:n] for b, n in zip(buf, sizes, strict=True)]))
    return tuple(out)
