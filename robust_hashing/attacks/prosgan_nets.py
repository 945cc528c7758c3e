"""Networks of ProS-GAN (algorithms §5.6): label PrototypeNet, generator, discriminator.

Compact versions of the published architecture (xunguangwang/ProS-GAN): the same
structure (label feature tiled over the image → encoder → residual blocks → tanh decoder
→ concatenated with the input → final residual convolution), with fewer channels and
blocks by default so that per-model training stays affordable; widths are arguments.
Stage 1 (the label PrototypeNet) is trained by :func:`train_label_prototype`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robust_hashing.ops import label_overlap, sign


class LabelPrototypeNet(nn.Module):
    """y_t → (feature f_t, relaxed code p_t ∈ (−1, 1)^K, label prediction ŷ ∈ (0, 1)^C)."""

    def __init__(self, num_classes: int, bits: int, hidden: int = 4096, feature: int = 512) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(num_classes, hidden), nn.ReLU(True), nn.Linear(hidden, feature), nn.ReLU(True)
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
            nn.Conv2d(ch, ch, 3, padding=1),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.Conv2d(ch, ch, 3, padding=1),
            nn.InstanceNorm2d(ch),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout), nn.ReLU(True)]


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.InstanceNorm2d(cout), nn.ReLU(True)]


class Generator(nn.Module):
    """x ∈ [0, 1] and a label feature f_t → adversarial x′ ∈ [0, 1] (unbounded).

    Args:
        feature: width of f_t.
        label_ch: channels the feature is projected to before spatial tiling.
        ch: base width of the encoder/decoder.
        blocks: number of residual blocks.
    """

    def __init__(
        self, feature: int = 512, label_ch: int = 16, ch: int = 32, blocks: int = 2
    ) -> None:
        super().__init__()
        self.label = nn.Linear(feature, label_ch)
        self.encoder = nn.Sequential(
            nn.Conv2d(3 + label_ch, ch, 7, padding=3),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            *_down(ch, 2 * ch),
            *_down(2 * ch, 4 * ch),
            *[_ResBlock(4 * ch) for _ in range(blocks)],
        )
        self.decoder = nn.Sequential(
            *_up(4 * ch, 2 * ch), *_up(2 * ch, ch), nn.Conv2d(ch, 3, 7, padding=3), nn.Tanh()
        )
        self.final = nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, images: Tensor, feature: Tensor) -> Tensor:
        """Adversarial images for ``images`` (B×3×H×W) and target features (B×F)."""
        x = images * 2 - 1
        tiled = self.label(feature)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        out = self.decoder(self.encoder(torch.cat([x, tiled], dim=1)))
        if out.shape[-2:] != x.shape[-2:]:
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        adv = (x + self.final(torch.cat([out, x], dim=1))).clamp(-1, 1)
        return (adv + 1) / 2


class Discriminator(nn.Module):
    """LSGAN discriminator predicting [label vector, real/fake] (C + 1 outputs) from an image."""

    def __init__(self, num_classes: int, ch: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in (ch, 2 * ch, 4 * ch):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(cin, num_classes + 1)

    def forward(self, images: Tensor) -> Tensor:
        """Scores (B×(C+1)) for images in [0, 1]."""
        return self.head(self.features(images * 2 - 1))


def train_label_prototype(
    proto: LabelPrototypeNet, context: Any, steps: int, lr: float, generator: torch.Generator
) -> None:
    """ProS-GAN stage 1: fit ``proto`` to the attacked model's training sign bank (in place).

    Each step draws 64 labels from ``context.target_pool`` and minimises the DPSH-style
    likelihood of θ = p_tᵀB/2 against label overlap with the training rows, plus
    MSE(ŷ, y_t) and 1e-4 × the mean quantisation error (Adam, learning rate ``lr``).
    """
    pool, codes, labels = context.target_pool, context.train_codes, context.train_labels
    opt = torch.optim.Adam(proto.parameters(), lr=lr)
    proto.train()
    for _ in range(steps):
        y = pool[torch.randint(len(pool), (64,), generator=generator).to(pool.device)]
        _, p, y_hat = proto(y)
        theta = p @ codes.t() / 2
        sim = label_overlap(y, labels)
        lik = (F.softplus(-theta.abs()) + theta.clamp_min(0) - sim * theta).mean()
        loss = lik + F.mse_loss(y_hat, y) + 1e-4 * (p - sign(p.detach())).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    proto.eval()
