"""THA: targeted attack towards a learned prototype code (Wang et al., SIGIR 2021; §5.5).

A :class:`~robust_hashing.models.prototype.PrototypeNet` P maps a target label y_t to a
relaxed code; it is trained (hash model frozen) with the circle loss of
:func:`~robust_hashing.models.prototype.prototype_loss` against the attacked model's
training sign bank, on batches of 32 labels drawn from the training pool of
:func:`training_pool`, 100 epochs × 300 steps, Adam 1e-4 (0.5, 0.999), ×0.1 at 50%/75%.

Training pool: both official codes (the original THA and SAAT's port) draw from every
unique database label vector, the all-zero one included when some database row has no
label. ``pool_zero=True`` (default) matches them; ``pool_zero=False`` draws only from the
unique non-zero labels (``context.target_pool``). The attack's target labels themselves
always follow the shared rule (spec §5.1: non-zero, no overlap with the query).

The trained net is cached per attacked checkpoint (``context.model_key``) under
``context.cache_dir`` and reloaded by later runs.

Attack: minimise −mean(h_α(x′) ⊙ sgn P(y_t)) by sign-PGD, step 1/255, 100 iterations,
δ₀ = 0. Schedule: ``anneal=True`` (default) uses A10, as SAAT's port, the source of our
reference numbers (SAAT Table I); ``anneal=False`` keeps α = 1 throughout, as the original
THA code (xunguangwang/Targeted-Attack-and-Defense-for-Deep-Hashing ``attack.py``).

Theory code: sgn P(y_t).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from robust_hashing.attacks.base import ATTACKS, AttackContext, cache_path
from robust_hashing.attacks.pgd import SignPGDAttack
from robust_hashing.io import torch_save_atomic
from robust_hashing.models.prototype import PrototypeNet, train_prototype_net
from robust_hashing.ops import sign


def training_pool(context: AttackContext, *, include_zero: bool = True) -> Tensor:
    """Labels a target-label network (THA's P, ProS-GAN's PrototypeNet) is trained on.

    ``context.target_pool`` (unique non-zero database labels), plus the all-zero vector
    when ``include_zero`` and some database row has no label: the official codes draw from
    ``unique(database_labels)``, which holds it then.
    """
    assert context.target_pool is not None
    pool = context.target_pool.float()
    has_zero_row = bool((context.db_labels.sum(dim=1) == 0).any())
    has_zero_pool = bool((pool.sum(dim=1) == 0).any())
    if include_zero and has_zero_row and not has_zero_pool:
        pool = torch.cat([pool.new_zeros(1, pool.shape[1]), pool])
    return pool


@ATTACKS.register("tha")
class THA(SignPGDAttack):
    """Targeted prototype attack.

    Args:
        model, context, targeted, eps, seed, steps, step: see :class:`SignPGDAttack`.
        random_start: False (δ₀ = 0).
        proto_epochs: PrototypeNet epochs (100).
        proto_steps: steps per epoch (300).
        proto_batch: label batch size (32).
        proto_lr: Adam learning rate (1e-4).
        faithful_triu: keep only j > i pairs in the circle loss, as the official code.
        anneal: A10 schedule (True, SAAT's port) or α = 1 throughout (False, original THA).
        pool_zero: train P on the all-zero label too when the database has one (True, as
            both official codes).
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("targeted",)
    quick: ClassVar[dict[str, Any]] = {"steps": 12, "proto_epochs": 2, "proto_steps": 25}

    def __init__(
        self,
        *args: Any,
        targeted: bool = True,
        random_start: bool = False,
        proto_epochs: int = 100,
        proto_steps: int = 300,
        proto_batch: int = 32,
        proto_lr: float = 1e-4,
        faithful_triu: bool = False,
        anneal: bool = True,
        pool_zero: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, targeted=targeted, random_start=random_start, **kwargs)
        self.proto_hp: dict[str, Any] = {
            "epochs": proto_epochs,
            "steps_per_epoch": proto_steps,
            "batch_size": proto_batch,
            "lr": proto_lr,
            "seed": self.seed,
            "triu": faithful_triu,
        }
        self.anneal, self.pool_zero = anneal, pool_zero
        self.prototype: PrototypeNet | None = None
        self.requires_context()

    def prepare(self) -> None:
        """Load the cached PrototypeNet of this model, or train (and cache) it."""
        if self.prototype is not None:
            return
        ctx = self.requires_context()
        path = cache_path(ctx, "tha", bits=ctx.bits, zero=self.pool_zero, **self.proto_hp)
        if path is not None and path.exists():
            net = PrototypeNet(ctx.num_classes, ctx.bits)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            self.prototype = net.to(self.device).eval()
            return
        pool = training_pool(ctx, include_zero=self.pool_zero)
        net = train_prototype_net(ctx.train_codes, ctx.train_labels, pool, **self.proto_hp)
        if path is not None:
            torch_save_atomic({k: v.cpu() for k, v in net.state_dict().items()}, path)
        self.prototype = net.eval()

    def guide(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """Prototype codes sgn P(y_t)."""
        if targets is None:
            raise ValueError(f"attack {self.name!r} needs target labels")
        self.prepare()
        assert self.prototype is not None
        with torch.no_grad():
            return sign(self.prototype(targets.to(images)))

    def alpha(self, t: int, total: int) -> float:
        """A10 (``anneal``, SAAT's port) or α = 1 (original THA)."""
        return super().alpha(t, total) if self.anneal else 1.0

    def loss(self, h: Tensor, guide: Tensor) -> Tensor:
        """−mean(h_α ⊙ sgn P(y_t))."""
        return -(h * guide).mean()

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """Theory code sgn P(y_t)."""
        return self.guide(images, labels, None if targets is None else targets.float())
