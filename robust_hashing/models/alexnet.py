"""AlexNet feature extractor (torchvision layout) ending at the second FC + ReLU → 4096."""

from __future__ import annotations

from torch import Tensor, nn

from robust_hashing.models.backbones import BACKBONES, load_local_weights

#: Checkpoint prefixes that belong to the ImageNet classifier head, not the backbone.
HEAD_PREFIXES = ("classifier.6", "fc.")


class AlexNetFeatures(nn.Module):
    """AlexNet without its last FC layer (algorithms §1).

    conv 64@11×11/4, pool, 192@5×5, pool, 384@3×3, 256@3×3, 256@3×3, pool → 6×6 adaptive
    average pool → 9216 → Dropout → FC 4096 → ReLU → Dropout → FC 4096 → ReLU.

    Attribute and index names match torchvision's ``alexnet`` so its ImageNet state dict
    loads directly (``features.0.weight`` … ``classifier.4.bias``).
    """

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Map normalised images (B×3×H×W, H, W ≥ 63) to B×4096 features."""
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@BACKBONES.register("alexnet")
def alexnet(weights: str | None = None) -> tuple[nn.Module, int]:
    """AlexNet backbone → 4096; ``weights`` is a local torchvision ImageNet checkpoint."""
    net = AlexNetFeatures()
    load_local_weights(net, weights, skip=HEAD_PREFIXES)
    return net, 4096
