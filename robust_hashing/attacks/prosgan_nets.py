"""Networks of ProS-GAN (algorithms §5.6): label PrototypeNet, generator, discriminator.

The PrototypeNet, the discriminator and the generator's encoder/decoder default to the
widths of the official code (xunguangwang/ProS-GAN); every width and block count is an
argument, and the CPU ``quick`` profile of :class:`~robust_hashing.attacks.prosgan.ProSGAN`
shrinks them. **The label conditioning and the output head of** :class:`Generator` **are
ours, not the official ones** (listed below); the official ones are in
:mod:`robust_hashing.attacks.prosgan_official_gen` (``ProSGAN(gen_arch="official")``).

As in the official code:

* :class:`LabelPrototypeNet`: f_t = Linear(C, 4096) → ReLU → Linear(4096, 512), with no
  activation on f_t; p_t = tanh(Linear(512, K)); ŷ = sigmoid(Linear(512, C)).
* :class:`Generator` encoder/decoder widths: a 7×7 convolution to 64 channels, two 4×4 stride-2
  convolutions to 128 and 256, 3 residual blocks (two bias-free 3×3 convolutions with
  InstanceNorm) in the encoder and 3 in the decoder, then two bias-free 4×4 transposed
  convolutions back to 128 and 64 channels; InstanceNorm (not affine) + ReLU after each
  resampling convolution.
* :class:`Discriminator`: 5 spectral-norm 4×4 stride-2 convolutions, 64 → 128 → 256 → 512 →
  1024 channels, each followed by LeakyReLU(0.01), then a bias-free convolution to C + 1
  outputs (label vector, real/fake) whose kernel covers the remaining spatial extent
  (7×7 on 224-pixel images). It sees images mapped to [−1, 1].

Ours (not official):

* Label conditioning (the spec's "spatially tiled f_t"): f_t is projected by
  Linear(512, ``label_ch`` = 16) and tiled over the image, then concatenated with x in
  [−1, 1]. Because the InstanceNorm after the first convolution cancels a spatially
  constant input almost everywhere, f_t is also projected by Linear(512, ``ch``) to a
  per-channel shift added to the stem after that norm (before its ReLU). The official code
  instead decodes f_t with its own upsampling label encoder into a 3-channel map fixed to
  224×224 pixels.
* Output stage: the decoder ends in a 7×7 convolution to 3 channels + tanh; this is
  concatenated with x and a 3×3 convolution adds a residual to x, clamped to [−1, 1]. The
  official code instead concatenates the 64-channel decoder output with x and applies a
  3×3 convolution + tanh that is the adversarial image. Decoder outputs of inputs whose
  sides are not multiples of 4 are resized back bilinearly.
* Small inputs: on images with fewer than 2^layers pixels per side, a discriminator
  convolution whose input is already 1 pixel wide along an axis is padded by 2 instead
  of 1 along that axis, so its output stays 1 pixel wide, and the final kernel is 1 along
  it. On larger images the discriminator is the official one, with final kernel
  ⌊side / 2^layers⌋ (official: image_size / 2^layers).

Stage 1 (the label PrototypeNet) is trained by :func:`train_label_prototype`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from robust_hashing.attacks.prosgan_losses import prototype_stage1_loss


class LabelPrototypeNet(nn.Module):
    """y_t → (feature f_t, relaxed code p_t ∈ (−1, 1)^K, label prediction ŷ ∈ (0, 1)^C).

    Args:
        num_classes: C.
        bits: K.
        hidden: width of the hidden layer (4096).
        feature: width of f_t (512).
    """

    def __init__(self, num_classes: int, bits: int, hidden: int = 4096, feature: int = 512) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(num_classes, hidden), nn.ReLU(True), nn.Linear(hidden, feature)
        )
        self.code = nn.Linear(feature, bits)
        self.classifier = nn.Linear(feature, num_classes)

    def forward(self, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return ``(f_t, p_t, ŷ)`` for m×C labels."""
        f = self.body(labels.float())
        return f, torch.tanh(self.code(f)), torch.sigmoid(self.classifier(f))


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1, bias=False),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.Conv2d(ch, ch, 3, padding=1, bias=False),
            nn.InstanceNorm2d(ch),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout), nn.ReLU(True)]


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
        nn.InstanceNorm2d(cout),
        nn.ReLU(True),
    ]


class Generator(nn.Module):
    """x ∈ [0, 1] and a label feature f_t → adversarial x′ ∈ [0, 1] (unbounded; ours).

    Encoder/decoder widths are the official ones; the label conditioning and the output
    head (a residual added to x) are ours, not the official code's (see the module notes and
    :class:`~robust_hashing.attacks.prosgan_official_gen.OfficialGenerator`).

    The tiled f_t is constant over the image, so the InstanceNorm after the first convolution
    would cancel it everywhere but at the borders. Ours: f_t is also projected to a
    per-channel shift added after that norm, so the label conditions the whole image.

    Args:
        feature: width of f_t (512).
        label_ch: channels f_t is projected to before spatial tiling (16, ours).
        ch: width of the first encoder layer; the encoder widens to 2·ch and 4·ch (64).
        enc_blocks: residual blocks at the end of the encoder (3).
        dec_blocks: residual blocks at the start of the decoder (3).
    """

    def __init__(
        self,
        feature: int = 512,
        label_ch: int = 16,
        ch: int = 64,
        enc_blocks: int = 3,
        dec_blocks: int = 3,
    ) -> None:
        super().__init__()
        self.label = nn.Linear(feature, label_ch)
        self.stem = nn.Sequential(nn.Conv2d(3 + label_ch, ch, 7, padding=3), nn.InstanceNorm2d(ch))
        self.label_shift = nn.Linear(feature, ch)
        self.encoder = nn.Sequential(
            *_down(ch, 2 * ch),
            *_down(2 * ch, 4 * ch),
            *[_ResBlock(4 * ch) for _ in range(enc_blocks)],
        )
        self.decoder = nn.Sequential(
            *[_ResBlock(4 * ch) for _ in range(dec_blocks)],
            *_up(4 * ch, 2 * ch),
            *_up(2 * ch, ch),
            nn.Conv2d(ch, 3, 7, padding=3),
            nn.Tanh(),
        )
        self.final = nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, images: Tensor, feature: Tensor) -> Tensor:
        """Adversarial images for ``images`` (B×3×H×W) and target features (B×F)."""
        x = images * 2 - 1
        tiled = self.label(feature)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        stem = self.stem(torch.cat([x, tiled], dim=1))
        stem = F.relu(stem + self.label_shift(feature)[:, :, None, None])
        out = self.decoder(self.encoder(stem))
        if out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        adv = (x + self.final(torch.cat([out, x], dim=1))).clamp(-1, 1)
        return (adv + 1) / 2


class Discriminator(nn.Module):
    """LSGAN discriminator predicting [label vector, real/fake] (C + 1 outputs) from an image.

    Args:
        num_classes: C.
        image_size: side (or ``(height, width)``) of the images it will see (224).
        ch: width of the first convolution, doubled by every further one (64).
        layers: number of spectral-norm stride-2 convolutions (5).
    """

    def __init__(
        self,
        num_classes: int,
        image_size: int | tuple[int, int] = 224,
        ch: int = 64,
        layers: int = 5,
    ) -> None:
        super().__init__()
        h, w = image_size if isinstance(image_size, tuple) else (image_size, image_size)
        convs: list[nn.Module] = []
        cin, cout = 3, ch
        for _ in range(layers):
            pad = (1 if h >= 2 else 2, 1 if w >= 2 else 2)  # 1-pixel inputs stay 1 pixel wide
            convs += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, pad)), nn.LeakyReLU(0.01)]
            h, w = max(1, h // 2), max(1, w // 2)
            cin, cout = cout, 2 * cout
        self.features = nn.Sequential(*convs)
        self.head = nn.Conv2d(cin, num_classes + 1, (h, w), bias=False)

    def forward(self, images: Tensor) -> Tensor:
        """Scores (B×(C+1)) for images in [0, 1] of the size given at construction."""
        out = self.head(self.features(images * 2 - 1))
        if out.shape[-2:] != (1, 1):
            raise ValueError(f"discriminator built for another image size, got {images.shape}")
        return out.flatten(1)


def train_label_prototype(
    proto: LabelPrototypeNet,
    context: Any,
    steps: int,
    lr: float,
    generator: torch.Generator,
    pool: Tensor | None = None,
    batch_size: int = 64,
) -> None:
    """ProS-GAN stage 1: fit ``proto`` to the attacked model's training sign bank (in place).

    As the official code: each step draws ``batch_size`` (64) labels uniformly, with
    replacement, from ``pool`` (default ``context.target_pool``) and minimises

        mean_ij[log(1 + e^θ_ij) − s_ij·θ_ij] + MSE(ŷ, y_t) + Σ(sgn p_t − p_t)² / (10⁴·m),

    θ = p_tᵀB/2 against the training bank B, s_ij = 1[y_tᵢᵀy_j > 0], m the batch size; Adam
    (``lr``, betas (0.5, 0.999)), learning rate ×0.1 after 50 % and after 75 % of ``steps``.
    """
    pool = context.target_pool if pool is None else pool
    codes, labels = context.train_codes, context.train_labels
    opt = torch.optim.Adam(proto.parameters(), lr=lr, betas=(0.5, 0.999))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [steps // 2, steps * 3 // 4], gamma=0.1)
    proto.train()
    for _ in range(steps):
        y = pool[torch.randint(len(pool), (batch_size,), generator=generator).to(pool.device)]
        _, p, y_hat = proto(y)
        loss = prototype_stage1_loss(p, y_hat, y, codes, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    proto.eval()
