"""ResNet-18 feature extractor in torchvision layout, global average pool → 512."""

from __future__ import annotations

from torch import Tensor, nn

from robust_hashing.models.alexnet import HEAD_PREFIXES
from robust_hashing.models.backbones import BACKBONES, load_local_weights


class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers with an identity (or 1×1 conv–BN downsample) shortcut.

    Args:
        cin: input channels.
        cout: output channels.
        stride: stride of the first convolution and of the shortcut.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        """Residual block output relu(F(x) + shortcut(x))."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNet18Features(nn.Module):
    """ResNet-18 without its FC layer (algorithms §1).

    conv 7×7/2 64, BN, ReLU, max-pool 3×3/2; four stages of two BasicBlocks (64/128/256/512
    channels, strides 1/2/2/2); global average pool → 512. Names match torchvision's
    ``resnet18`` (``conv1.weight``, ``layer1.0.bn1.running_mean``, …).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        widths, strides = (64, 128, 256, 512), (1, 2, 2, 2)
        cin = 64
        for i, (width, stride) in enumerate(zip(widths, strides, strict=True), start=1):
            self.add_module(
                f"layer{i}", nn.Sequential(BasicBlock(cin, width, stride), BasicBlock(width, width))
            )
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Map normalised images (B×3×H×W) to B×512 features."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.avgpool(x).flatten(1)


@BACKBONES.register("resnet18")
def resnet18(weights: str | None = None) -> tuple[nn.Module, int]:
    """ResNet-18 backbone → 512; ``weights`` is a local torchvision ImageNet checkpoint."""
    net = ResNet18Features()
    load_local_weights(net, weights, skip=HEAD_PREFIXES)
    return net, 512
