"""ProS-GAN: a generator crafting targeted adversarial images in one pass (§5.6).

Stage 1 trains a :class:`LabelPrototypeNet` (y_t → f_t, p_t, ŷ) against the attacked
model's training sign bank (:func:`~robust_hashing.attacks.prosgan_nets.train_label_prototype`):
DPSH likelihood (θ = p_tᵀB/2) + MSE(ŷ, y_t) + Σ(sgn p_t − p_t)²/(10⁴·m), Adam 1e-4 with
betas (0.5, 0.999), LR ×0.1 after 50 % and 75 % of the steps, batches of 64 labels. Stage 2
trains the generator G(x, f_t) with an LSGAN discriminator D on the training images, Adam
1e-4 (0.5, 0.999), batches of 24, constant LR for ``gan_epochs`` then linear decay for
``decay_epochs``; on every third batch of an epoch (the first, fourth, …) D is updated
first, on the batch's x′ detached, then G is updated against the updated D:

    L_G = λ_rec·MSE(x′, x)[−1, 1] + 5·(1 − mean(h₁(x′) ⊙ sgn p_t)) + LSGAN(D(x′) → [y_t, real])
    L_D = ½[LSGAN(D(x) → [y, real]) + LSGAN(D(x′) → [y_t, fake])]

The reconstruction MSE is taken on images mapped to [−1, 1], as the official code does
(4× the MSE in [0, 1]); LSGAN flags are real = 0, fake = 1, as written there
(:mod:`robust_hashing.attacks.prosgan_losses`). λ_rec = 100 on FLICKR-25K and 50 elsewhere.

Label pools (official: every unique database label vector): stage-1 and stage-2 target
labels are drawn from ``context.target_pool`` (unique non-zero database labels) plus the
all-zero vector when some database row has no label and ``pool_zero`` is True (default,
as the official code); ``pool_zero=False`` keeps only the non-zero labels.

Architecture: the label PrototypeNet, the discriminator and the generator's encoder/decoder
widths are the official ones (xunguangwang/ProS-GAN). **Two parts of our default generator
are not** (``gen_arch="ours"``): how f_t enters the generator (a tiled linear projection
plus a per-channel shift, instead of the official upsampling label encoder) and the output
head (a residual added to x, instead of a convolution + tanh that outputs x′ directly).
``gen_arch="official"`` builds the official label encoder and head instead. Details in
:mod:`robust_hashing.attacks.prosgan_nets`; the ``quick`` profile shrinks the generator and
discriminator (ours).

Stage-2 batches: 24 rows as in the spec; how they are drawn is ours: a shuffled loader of
``batch_size`` rows over the dataset of ``context.train_loader`` (same images, training
transform and workers), its shuffling seeded by ``seed``; ``gan_batches`` optionally caps
the batches per epoch.

Both networks are cached per attacked model. ``prosgan`` is **unbounded** as published
(report it with its RMSE); ``prosgan_clip`` (ours) projects onto the 8/255 ball. Theory
code: sgn p_t (ours).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset

from robust_hashing.attacks.base import ATTACKS, AttackContext, HashAttack, cache_path
from robust_hashing.attacks.prosgan_losses import discriminator_loss, generator_loss
from robust_hashing.attacks.prosgan_nets import (
    Discriminator,
    Generator,
    LabelPrototypeNet,
    train_label_prototype,
)
from robust_hashing.attacks.prosgan_official_gen import OfficialGenerator
from robust_hashing.attacks.tha import training_pool
from robust_hashing.constants import DEFAULT_EPS
from robust_hashing.io import torch_save_atomic
from robust_hashing.models import HashNet
from robust_hashing.ops import sign

GEN_ARCHS = ("ours", "official")


@ATTACKS.register("prosgan")
class ProSGAN(HashAttack):
    """Targeted generative attack (unbounded).

    Args:
        model, context, targeted, eps, seed: see :class:`HashAttack` (``eps`` only bounds
            ``prosgan_clip``).
        proto_epochs, proto_steps: stage-1 schedule (100 × 300).
        gan_epochs, decay_epochs: stage-2 schedule (50 + 50 epochs over the training set).
        gan_batches: cap on batches per stage-2 epoch (None: the whole training set).
        batch_size: stage-2 batch size (24).
        rec_weight: λ_rec (None: 100 on ``flickr25k``, else 50).
        lr: Adam learning rate of every network (1e-4).
        proto_hidden, proto_feature: label PrototypeNet widths (4096, 512; f_t has
            ``proto_feature`` entries).
        gen_ch, gen_enc_blocks, gen_dec_blocks: generator base width and residual blocks in
            its encoder and decoder (64, 3, 3: widths 64 → 128 → 256).
        label_ch: ``gen_arch="ours"``: channels of the tiled label projection (None: 16,
            ours); ``"official"``: width of the label encoder's seed map (None: 128).
        gen_arch: ``"ours"`` (default) or ``"official"`` label encoder and output head.
        label_grid: ``gen_arch="official"``: side of the label encoder's seed map (14: the
            official 224-pixel label map; resized to other image sizes).
        pool_zero: also draw the all-zero label when the database has one (official).
        disc_ch, disc_layers: discriminator base width and spectral-norm convolutions
            (64, 5: widths 64 → 1024).

    The ``quick`` profile (CPU smoke runs, ours) trains briefly and shrinks the networks:
    generator widths 32 → 64 → 128 with one residual block in the encoder and one in the
    decoder, discriminator with 3 spectral-norm convolutions 32 → 128; the label
    PrototypeNet keeps its official widths.
    """

    supported_modes: ClassVar[tuple[str, ...]] = ("targeted",)
    bounded: ClassVar[bool] = False
    quick: ClassVar[dict[str, Any]] = {
        "proto_epochs": 1,
        "proto_steps": 25,
        "gan_epochs": 1,
        "decay_epochs": 0,
        "gan_batches": 2,
        "gen_ch": 32,
        "gen_enc_blocks": 1,
        "gen_dec_blocks": 1,
        "disc_ch": 32,
        "disc_layers": 3,
    }

    def __init__(
        self,
        model: HashNet,
        context: AttackContext | None = None,
        *,
        targeted: bool = True,
        eps: float = DEFAULT_EPS,
        seed: int = 0,
        proto_epochs: int = 100,
        proto_steps: int = 300,
        gan_epochs: int = 50,
        decay_epochs: int = 50,
        gan_batches: int | None = None,
        batch_size: int = 24,
        rec_weight: float | None = None,
        lr: float = 1e-4,
        proto_hidden: int = 4096,
        proto_feature: int = 512,
        gen_ch: int = 64,
        gen_enc_blocks: int = 3,
        gen_dec_blocks: int = 3,
        label_ch: int | None = None,
        disc_ch: int = 64,
        disc_layers: int = 5,
        gen_arch: str = "ours",
        label_grid: int = 14,
        pool_zero: bool = True,
    ) -> None:
        super().__init__(model, context, targeted=targeted, eps=eps, seed=seed)
        ctx = self.requires_context()
        if rec_weight is None:
            rec_weight = 100.0 if ctx.dataset == "flickr25k" else 50.0
        if gen_arch not in GEN_ARCHS:
            raise ValueError(f"gen_arch must be one of {GEN_ARCHS}, got {gen_arch!r}")
        if label_ch is None:
            label_ch = 16 if gen_arch == "ours" else 128
        self.hp: dict[str, Any] = {
            "pe": proto_epochs,
            "ps": proto_steps,
            "ge": gan_epochs,
            "de": decay_epochs,
            "gb": gan_batches,
            "bs": batch_size,
            "rec": rec_weight,
            "lr": lr,
            "seed": seed,
            "ph": proto_hidden,
            "pf": proto_feature,
            "gc": gen_ch,
            "geb": gen_enc_blocks,
            "gdb": gen_dec_blocks,
            "lc": label_ch,
            "dc": disc_ch,
            "dl": disc_layers,
            "ga": gen_arch,
            "lg": label_grid,
            "pz": pool_zero,
        }
        self.disc_hp = {"ch": disc_ch, "layers": disc_layers}
        self.proto = LabelPrototypeNet(ctx.num_classes, ctx.bits, proto_hidden, proto_feature)
        widths = (proto_feature, label_ch, gen_ch, gen_enc_blocks, gen_dec_blocks)
        self.gen: Generator | OfficialGenerator = (
            Generator(*widths) if gen_arch == "ours" else OfficialGenerator(*widths, label_grid)
        )
        self.ready = False

    def discriminator(self, image_size: int | tuple[int, int]) -> Discriminator:
        """A fresh stage-2 discriminator for images of ``image_size``."""
        return Discriminator(self.requires_context().num_classes, image_size, **self.disc_hp)

    def stage2_loader(self) -> DataLoader:
        """Stage-2 batches: ``batch_size`` shuffled rows of ``context.train_loader``'s dataset.

        Same dataset (images and training transform), workers and collate function as the
        context's loader; the shuffling (and the workers' seeds) follow ``seed``.
        """
        loader = self.requires_context().train_loader
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
            raise TypeError(
                f"attack {self.name!r} needs context.train_loader to be a DataLoader over a "
                "map-style dataset of training images"
            )
        return DataLoader(
            loader.dataset,
            batch_size=self.hp["bs"],
            shuffle=True,
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
            persistent_workers=loader.num_workers > 0,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def prepare(self) -> None:
        """Load both networks from the cache, or train and cache them."""
        if self.ready:
            return
        ctx = self.requires_context()
        path = cache_path(ctx, "prosgan", bits=ctx.bits, **self.hp)
        self.proto.to(self.device)
        self.gen.to(self.device)
        if path is not None and path.exists():
            state = torch.load(path, map_location=self.device, weights_only=True)
            self.proto.load_state_dict(state["proto"])
            self.gen.load_state_dict(state["gen"])
        else:
            was_training = self.model.training
            try:
                self.model.eval()
                with torch.random.fork_rng(devices=[]), torch.enable_grad():
                    torch.manual_seed(self.seed)
                    self._train(ctx)
            finally:
                self.model.train(was_training)
            if path is not None:
                torch_save_atomic(
                    {"proto": self.proto.state_dict(), "gen": self.gen.state_dict()}, path
                )
        self.proto.eval()
        self.gen.eval()
        self.ready = True

    def _train(self, ctx: AttackContext) -> None:
        if ctx.train_loader is None:
            raise ValueError(f"attack {self.name!r} needs context.train_loader (training images)")
        hp, dev = self.hp, self.device
        pool = training_pool(ctx, include_zero=hp["pz"]).to(dev)
        draw = torch.Generator().manual_seed(self.seed)
        train_label_prototype(self.proto, ctx, hp["pe"] * hp["ps"], hp["lr"], draw, pool=pool)
        self.proto.eval()
        batches = self.stage2_loader()
        height, width = batches.dataset[0][0].shape[-2:]
        disc = self.discriminator((int(height), int(width))).to(dev)
        opt_g = torch.optim.Adam(self.gen.parameters(), lr=hp["lr"], betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(disc.parameters(), lr=hp["lr"], betas=(0.5, 0.999))
        decay = lambda e: 1.0 - max(0, e + 1 - hp["ge"]) / (hp["de"] + 1)
        scheds = [torch.optim.lr_scheduler.LambdaLR(o, decay) for o in (opt_g, opt_d)]
        for _ in range(hp["ge"] + hp["de"]):  # stage 2: generator and discriminator
            for b, (x, y, _) in enumerate(batches):
                if hp["gb"] is not None and b >= hp["gb"]:
                    break
                x, y = x.to(dev), y.float().to(dev)
                y_t = pool[torch.randint(len(pool), (len(x),), generator=draw).to(dev)]
                with torch.no_grad():
                    f_t, p_t, _ = self.proto(y_t)
                adv = self.gen(x, f_t)
                if b % 3 == 0:  # D first, on every third batch of the epoch (official order)
                    loss_d = discriminator_loss(disc, x, y, adv.detach(), y_t)
                    opt_d.zero_grad(set_to_none=True)
                    loss_d.backward()
                    opt_d.step()
                h = self.model(adv)[1]
                loss_g = generator_loss(adv, x, h, sign(p_t), disc(adv), y_t, hp["rec"])
                grads = torch.autograd.grad(loss_g, list(self.gen.parameters()))
                for prm, g in zip(self.gen.parameters(), grads, strict=True):
                    prm.grad = g
                opt_g.step()
            for s in scheds:
                s.step()

    def forward(self, images: Tensor, labels: Tensor, targets: Tensor | None) -> Tensor:
        """One generator pass conditioned on the target labels."""
        assert targets is not None
        self.prepare()
        with torch.no_grad():
            return self.gen(images, self.proto(targets.to(images))[0])

    def theory_codes(
        self, images: Tensor, labels: Tensor, targets: Tensor | None = None
    ) -> Tensor | None:
        """Theory code sgn p_t."""
        assert targets is not None
        self.prepare()
        with torch.no_grad():
            return sign(self.proto(targets.float().to(images))[1])


@ATTACKS.register("prosgan_clip")
class ProSGANClip(ProSGAN):
    """ProS-GAN projected onto the ε-ball (ours; flagged ε-clipped in reports)."""

    bounded: ClassVar[bool] = True
