"""The attack contract (torchattacks style): a plain object, ``attack(images, labels, targets)``.

Every attack is a :class:`HashAttack` subclass registered in :data:`ATTACKS`
(``@ATTACKS.register("name")``).
It receives the (frozen) :class:`~robust_hashing.models.HashNet` and an
:class:`AttackContext` holding everything an adaptive white-box attack recomputes from the
attacked model (algorithms §5): the training sign bank, the database codes and the pool
of target labels. The base ``__call__`` puts the model in eval mode (and restores its mode,
even on error), checks the arguments and projects the result onto [0, 1] and the ε-ball
(onto [0, 1] only for an attack declared ``bounded = False``, such as ProS-GAN as published).
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.constants import ATTACK_GROUP, DEFAULT_EPS
from robust_hashing.models import HashNet
from robust_hashing.ops import anneal_a10
from robust_hashing.registry import Registry


def unique_target_pool(db_labels: Tensor) -> Tensor:
    """Unique non-zero database label vectors (the target pool of spec §5.1), sorted."""
    labels = db_labels.float()
    labels = labels[labels.sum(dim=1) > 0]
    return torch.unique(labels, dim=0)


@dataclass
class AttackContext:
    """What an adaptive attack recomputes from the attacked model (algorithms §5, protocol §7).

    Attributes:
        train_codes: N×K ±1 sign bank of the attacked model on the training split (eval mode).
        train_labels: N×C training labels.
        db_codes: D×K ±1 database codes of the attacked model.
        db_labels: D×C database labels.
        num_classes: C.
        bits: K.
        cache_dir: where trained attack networks (THA, ProS-GAN) are cached; None: no disk cache.
        model_key: identifies the attacked checkpoint in cache file names.
        train_loader: DataLoader yielding ``(x, y, idx)`` training images (ProS-GAN only:
            it draws its own batches from this loader's dataset).
        target_pool: unique non-zero database label vectors; derived from ``db_labels`` if None.
        dataset: dataset name (ProS-GAN uses λ_rec = 100 on ``flickr25k``, 50 elsewhere).
    """

    train_codes: Tensor
    train_labels: Tensor
    db_codes: Tensor
    db_labels: Tensor
    num_classes: int
    bits: int
    cache_dir: Path | None = None
    model_key: str = ""
    train_loader: Iterable[Any] | None = None
    target_pool: Tensor | None = None
    dataset: str = ""

    def __post_init__(self) -> None:
        if self.train_codes.shape[1] != self.bits or self.db_codes.shape[1] != self.bits:
            raise ValueError(f"bank codes must have {self.bits} bits")
        if self.train_labels.shape[1] != self.num_classes:
            raise ValueError(f"train labels must have {self.num_classes} classes")
        if self.target_pool is None:
            self.target_pool = unique_target_pool(self.db_labels)
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    def to(self, device: torch.device | str) -> AttackContext:
        """Copy with every tensor on ``device`` (float, cloned: safe for autograd)."""
        moved = {
            f.name: getattr(self, f.name).float().to(device).clone()
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return dataclasses.replace(self, **moved)


class HashAttack(ABC):
    """Base class of all attacks on hash models.

    Class attributes:
        name: registry name (set by ``@ATTACKS.register``).
        supported_modes: subset of ``("untargeted", "targeted")``.
        quick: hyper-parameter overrides of the ``quick`` profile (fewer iterations /
            shorter training of attack networks, for smoke runs and CI).
        bounded: whether the result lies in the ε-ball (False only for ProS-GAN).
        in_all: whether ``attacks: all`` includes it (see
            :func:`robust_hashing.attacks.grid_attacks`); False for a sanity baseline
            (``noise``), run only when named.

    Args:
        model: the attacked hash network (its parameters are never updated).
        context: banks and database of the attacked model (needed by most attacks).
        targeted: run the targeted variant.
        eps: L∞ budget in [0, 1] pixel units.
        seed: seed of every random draw of the attack.
    """

    name: ClassVar[str] = ""
    supported_modes: ClassVar[tuple[str, ...]] = ("untargeted",)
    quick: ClassVar[dict[str, Any]] = {}
    bounded: ClassVar[bool] = True
    in_all: ClassVar[bool] = True

    def __init__(
        self,
        model: HashNet,
        context: AttackContext | None = None,
        *,
        targeted: bool = False,
        eps: float = DEFAULT_EPS,
        seed: int = 0,
    ) -> None:
        mode = "targeted" if targeted else "untargeted"
        if mode not in self.supported_modes:
            raise ValueError(
                f"attack {self.name or type(self).__name__!r} does not support {mode} mode; "
                f"supported: {', '.join(self.supported_modes)}"
            )
        self.model = model
        self.context = context
        self.targeted = targeted
        self.eps = eps
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self._ctx_cache: tuple[torch.device, AttackContext] | None = None

    @property
    def mode(self) -> str:
        """``"targeted"`` or ``"untargeted"``."""
        return "targeted" if self.targeted else "untargeted"

    @property
    def device(self) -> torch.device:
        """Device of the attacked model."""
        return next(self.model.parameters()).device

    def requires_context(self) -> AttackContext:
        """The context, moved to the model's device.

        Raises:
            ValueError: if the attack was built without a context.
        """
        if self.context is None:
            raise ValueError(
                f"attack {self.name!r} needs an AttackContext (training sign bank, database "
                "codes, target pool); build one with robust_hashing.attacks.build_context"
            )
        if self._ctx_cache is None or self._ctx_cache[0] != self.device:
            self._ctx_cache = (self.device, self.context.to(self.device))
        return self._ctx_cache[1]

    def __call__(self, images: Tensor, labels: Tensor, targets: Tensor | None = None) -> Tensor:
        """Adversarial versions of ``images`` (B×3×H×W in [0, 1]).

        Args:
            images: clean query images.
            labels: B×C true labels.
            targets: B×C target labels; required in targeted mode, refused otherwise.
        """
        if self.targeted and targets is None:
            raise ValueError(f"attack {self.name!r} is targeted: pass target labels")
        if not self.targeted and targets is not None:
            raise ValueError(f"attack {self.name!r} is untargeted: do not pass target labels")
        images = images.detach()
        was_training = self.model.training
        self.model.eval()
        try:
            adv = self.forward(images, labels.float(), None if targets is None else targets.float())
        finally:
            self.model.train(was_training)
        adv = adv.detach()
        if self.bounded:
            adv = torch.min(torch.max(adv, images - self.eps), images + self.eps)
        return adv.clamp(0, 1)

    @abstractmethod
    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Compute the adversarial images (model already in eval mode)."""

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """Codes a perfect attack with this guide would reach (spec §5.9), or None."""
        return None

    def prepare(self) -> None:
        """Train or load the attack's own networks (THA, ProS-GAN); a no-op by default.

        Called once before the first batch by the evaluation task so that the attack time
        excludes training; attacks also call it lazily themselves.
        """
        return

    def alpha(self, t: int, total: int) -> float:
        """Tanh scale at iteration ``t`` (A10 schedule, algorithms §0)."""
        return anneal_a10(t, total)


ATTACKS: Registry[type[HashAttack]] = Registry(
    "attack", base=HashAttack, entry_point_group=ATTACK_GROUP, name_attr="name"
)
"""The attacks by name; a built-in registers with ``@ATTACKS.register("name")`` (sets ``name``)."""


def cache_path(context: AttackContext, prefix: str, **hp: Any) -> Path | None:
    """File caching a network trained against ``context``'s model, or None if not cacheable.

    The name joins ``prefix``, the context's ``model_key`` and the hyper-parameters that
    shape the network, so quick and full runs never share a file. Needs both
    ``cache_dir`` and ``model_key``.
    """
    if context.cache_dir is None or not context.model_key:
        return None
    key = re.sub(r"[^A-Za-z0-9_.=-]", "_", context.model_key)
    tag = "-".join(f"{k}={v}" for k, v in sorted(hp.items()))
    return Path(context.cache_dir) / f"{prefix}-{key}-{tag}.pt"
