"""Image transforms in PIL + torch (no torchvision).

Every pipeline ends with :class:`ToTensor`, which yields an RGB float tensor C×H×W in
[0, 1]. Nothing here normalises: mean/std normalisation lives inside the hash model so
that ε is always measured in [0, 1] pixel units (protocol §2, style item 6).

Random transforms draw from torch's global generator, so Lightning's per-worker seeding
(``seed_everything(..., workers=True)``) makes them reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

__all__ = [
    "CenterCrop",
    "Compose",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Resize",
    "ToTensor",
    "eval_transform",
    "native_transform",
    "to_tensor",
    "train_transform",
]


def to_tensor(image: Image.Image) -> torch.Tensor:
    """Convert a PIL image to an RGB float tensor C×H×W in [0, 1].

    Args:
        image: any PIL image; grey, palette and RGBA images are converted to RGB.

    Returns:
        A ``float32`` tensor of shape ``(3, H, W)``.
    """
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def _check_size(size: int, name: str) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"{name}: size must be a positive int, got {size!r}")
    return size


class ToTensor:
    """Callable wrapper of :func:`to_tensor`, the last step of every pipeline."""

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Return ``to_tensor(image)``."""
        return to_tensor(image)

    def __repr__(self) -> str:
        return "ToTensor()"


class Resize:
    """Resize so that the shorter side equals ``shorter_side``, keeping the aspect ratio.

    Args:
        shorter_side: target length of the shorter side, in pixels.
    """

    def __init__(self, shorter_side: int) -> None:
        self.shorter_side = _check_size(shorter_side, "Resize")

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return the resized image (unchanged if already at size)."""
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        if short == self.shorter_side:
            return image
        new_long = int(self.shorter_side * long / short)
        size = (self.shorter_side, new_long) if w <= h else (new_long, self.shorter_side)
        return image.resize(size, Image.Resampling.BILINEAR)

    def __repr__(self) -> str:
        return f"Resize({self.shorter_side})"


class _Crop:
    def __init__(self, size: int) -> None:
        self.size = _check_size(size, type(self).__name__)

    def _room(self, image: Image.Image) -> tuple[int, int]:
        w, h = image.size
        if w < self.size or h < self.size:
            raise ValueError(
                f"{type(self).__name__}({self.size}): image of size {w}×{h} is smaller than "
                "the crop; resize it first"
            )
        return w - self.size, h - self.size

    def _crop(self, image: Image.Image, left: int, top: int) -> Image.Image:
        return image.crop((left, top, left + self.size, top + self.size))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size})"


class CenterCrop(_Crop):
    """Crop the central ``size``×``size`` square (offsets rounded as torchvision does)."""

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return the central crop."""
        dx, dy = self._room(image)
        return self._crop(image, round(dx / 2), round(dy / 2))


class RandomCrop(_Crop):
    """Crop a ``size``×``size`` square at a uniformly random position."""

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return a random crop."""
        dx, dy = self._room(image)
        left = int(torch.randint(dx + 1, ()).item())
        top = int(torch.randint(dy + 1, ()).item())
        return self._crop(image, left, top)


class RandomHorizontalFlip:
    """Mirror the image left–right with probability ``p``.

    Args:
        p: flip probability in [0, 1].
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, image: Image.Image) -> Image.Image:
        """Return the image, mirrored with probability ``p``."""
        if torch.rand(()).item() < self.p:
            return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Apply callables in order.

    Args:
        transforms: the steps; each takes the previous step's output.
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Any) -> Any:
        """Apply every step in order."""
        for step in self.transforms:
            image = step(image)
        return image

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


def eval_transform(resize: int = 256, crop: int = 224) -> Compose:
    """Evaluation pipeline of protocol §2: Resize(shorter side) → CenterCrop → tensor."""
    return Compose([Resize(resize), CenterCrop(crop), ToTensor()])


def train_transform(
    resize: int = 256, crop: int = 224, random: bool = False, flip: bool = False
) -> Compose:
    """Training pipeline: Resize → crop → optional random horizontal flip → tensor.

    The defaults give the `ref` training transform (Resize 256 → CenterCrop 224,
    algorithms §2); ``random=True, flip=True`` gives `cgat-native`'s (Resize 256 →
    RandomCrop 224 → flip).

    Args:
        resize: shorter-side length after resizing.
        crop: side of the square crop.
        random: random crop if true, centre crop otherwise.
        flip: append a random horizontal flip (p = 0.5) after the crop.
    """
    cropper: CenterCrop | RandomCrop = RandomCrop(crop) if random else CenterCrop(crop)
    steps: list[Callable[[Any], Any]] = [Resize(resize), cropper]
    if flip:
        steps.append(RandomHorizontalFlip(0.5))
    return Compose([*steps, ToTensor()])


def native_transform(flip: bool = False) -> Compose:
    """Native-size pipeline for the embedded data: optional flip, then tensor.

    Args:
        flip: add a random horizontal flip (training augmentation).
    """
    steps: list[Callable[[Any], Any]] = [RandomHorizontalFlip(0.5)] if flip else []
    return Compose([*steps, ToTensor()])
