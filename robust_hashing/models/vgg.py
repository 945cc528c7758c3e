"""VGG-11 (configuration A, no batch norm) feature extractor in torchvision layout → 4096."""

from __future__ import annotations

from torch import Tensor, nn

from robust_hashing.models.alexnet import HEAD_PREFIXES
from robust_hashing.models.backbones import BACKBONES, load_local_weights

#: Channels of the 3×3 convolutions, "M" = 2×2 max-pool (VGG configuration A).
VGG11_CONFIG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", *(512, 512, "M") * 2)


class VGGFeatures(nn.Module):
    """VGG without batch norm and without its last FC layer (algorithms §1).

    3×3 convolutions per ``config`` → 7×7 adaptive average pool → 25088 → FC 4096 → ReLU →
    Dropout → FC 4096 → ReLU → Dropout. Names match torchvision's ``vgg11``
    (``features.0.weight`` … ``classifier.3.bias``).

    Args:
        config: layer configuration (default VGG-11).
        dropout: dropout probability in the classifier.
    """

    def __init__(self, config: tuple[int | str, ...] = VGG11_CONFIG, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        # skip_init: the big layers are re-initialised below, so skip PyTorch's default init
        self.classifier = nn.Sequential(
            nn.utils.skip_init(nn.Linear, channels * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.utils.skip_init(nn.Linear, 4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Map normalised images (B×3×H×W, H, W ≥ 32) to B×4096 features."""
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@BACKBONES.register("vgg11")
def vgg11(weights: str | None = None) -> tuple[nn.Module, int]:
    """VGG-11 (no BN) backbone → 4096; ``weights`` is a local torchvision checkpoint."""
    net = VGGFeatures()
    load_local_weights(net, weights, skip=HEAD_PREFIXES)
    return net, 4096
