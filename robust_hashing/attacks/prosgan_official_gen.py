"""The official ProS-GAN generator (xunguangwang/ProS-GAN ``model/module.py``), re-written.

Selected by ``ProSGAN(gen_arch="official")``; the default generator
(:class:`~robust_hashing.attacks.prosgan_nets.Generator`) differs from it in the label
conditioning and the output head. As in the official code:

* :class:`LabelEncoder`: f_t → Linear(F, nf·g·g) → ReLU → reshaped to nf×g×g → four
  bias-free 4×4 stride-2 transposed convolutions (nf → nf/2 → … → nf/16), each followed by
  InstanceNorm (not affine) + ReLU → a bias-free 3×3 convolution to 3 channels. With the
  official nf = 128 and g = 14 this is a 3×224×224 label map.
* The label map is concatenated with x in [−1, 1] (6 channels) → 7×7 convolution to ``ch``
  + InstanceNorm + ReLU → the encoder and decoder of the default generator (same widths and
  residual blocks) → concatenated with x → a bias-free 3×3 convolution to 3 channels + tanh,
  which **is** x′ in [−1, 1] (no residual connection to x).

Ours: the seed grid g is an argument (14 gives the official 224-pixel map); on images of
another size the label map (and a decoder output whose size differs from the image's) is
resized bilinearly to the image size. x′ is returned mapped back to [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robust_hashing.attacks.prosgan_nets import _down, _ResBlock, _up


class LabelEncoder(nn.Module):
    """f_t (B×F) → a 3-channel label map of 16·``grid`` pixels per side.

    Args:
        feature: width of f_t (512).
        width: channels of the seed map, halved by each of the four upsamplings (128).
        grid: side of the seed map (14: 224-pixel maps).
    """

    def __init__(self, feature: int = 512, width: int = 128, grid: int = 14) -> None:
        super().__init__()
        if width % 16 or width < 16:
            raise ValueError(f"label encoder width must be a multiple of 16, got {width}")
        self.width, self.grid = width, grid
        self.fc = nn.Sequential(nn.Linear(feature, width * grid * grid), nn.ReLU(True))
        layers: list[nn.Module] = []
        cin = width
        for _ in range(4):
            layers += _up(cin, cin // 2)
            cin //= 2
        layers.append(nn.Conv2d(cin, 3, 3, padding=1, bias=False))
        self.transform = nn.Sequential(*layers)

    def forward(self, feature: Tensor) -> Tensor:
        """Label maps (B×3×16g×16g)."""
        seed = self.fc(feature).view(len(feature), self.width, self.grid, self.grid)
        out: Tensor = self.transform(seed)
        return out


class OfficialGenerator(nn.Module):
    """x ∈ [0, 1] and f_t → x′ ∈ [0, 1], with the official label encoder and output head.

    Args:
        feature: width of f_t (512).
        label_width: seed-map width of the label encoder (128).
        ch: width of the first encoder layer; the encoder widens to 2·ch and 4·ch (64).
        enc_blocks: residual blocks at the end of the encoder (3).
        dec_blocks: residual blocks at the start of the decoder (3).
        label_grid: side of the label encoder's seed map (14: 224-pixel label maps).
    """

    def __init__(
        self,
        feature: int = 512,
        label_width: int = 128,
        ch: int = 64,
        enc_blocks: int = 3,
        dec_blocks: int = 3,
        label_grid: int = 14,
    ) -> None:
        super().__init__()
        self.label_encoder = LabelEncoder(feature, label_width, label_grid)
        self.stem = nn.Sequential(
            nn.Conv2d(6, ch, 7, padding=3), nn.InstanceNorm2d(ch), nn.ReLU(True)
        )
        self.encoder = nn.Sequential(
            *_down(ch, 2 * ch),
            *_down(2 * ch, 4 * ch),
            *[_ResBlock(4 * ch) for _ in range(enc_blocks)],
        )
        self.decoder = nn.Sequential(
            *[_ResBlock(4 * ch) for _ in range(dec_blocks)],
            *_up(4 * ch, 2 * ch),
            *_up(2 * ch, ch),
        )
        self.head = nn.Sequential(nn.Conv2d(ch + 3, 3, 3, padding=1, bias=False), nn.Tanh())

    def forward(self, images: Tensor, feature: Tensor) -> Tensor:
        """Adversarial images for ``images`` (B×3×H×W) and target features (B×F)."""
        x = images * 2 - 1
        size = x.shape[-2:]
        label = self.label_encoder(feature)
        if label.shape[-2:] != size:
            label = F.interpolate(label, size=size, mode="bilinear", align_corners=False)
        out = self.decoder(self.encoder(self.stem(torch.cat([label, x], dim=1))))
        if out.shape[-2:] != size:
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        adv: Tensor = self.head(torch.cat([out, x], dim=1))
        return (adv + 1) / 2
