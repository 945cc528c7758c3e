import numpy as np
import pytest
import torch
from PIL import Image

from robust_hashing.datasets.transforms import (
    CenterCrop,
    Compose,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ToTensor,
    eval_transform,
    native_transform,
    to_tensor,
    train_transform,
)


def _image(w: int, h: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return Image.fromarray(arr).convert(mode)


def test_to_tensor_values_and_layout() -> None:
    arr = np.zeros((2, 3, 3), dtype=np.uint8)
    arr[0, 1] = (255, 0, 51)
    t = to_tensor(Image.fromarray(arr))
    assert t.shape == (3, 2, 3) and t.dtype == torch.float32
    assert torch.allclose(t[:, 0, 1], torch.tensor([1.0, 0.0, 0.2]))
    assert t.sum() == pytest.approx(1.2)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_to_tensor_converts_to_rgb(mode: str) -> None:
    t = to_tensor(_image(5, 4, mode=mode))
    assert t.shape == (3, 4, 5)
    assert 0.0 <= t.min() and t.max() <= 1.0


@pytest.mark.parametrize(
    ("w", "h", "expected"), [(40, 20, (80, 40)), (20, 50, (40, 100)), (40, 40, (40, 40))]
)
def test_resize_shorter_side(w: int, h: int, expected: tuple[int, int]) -> None:
    side = min(expected)
    assert Resize(side)(_image(w, h)).size == expected


def test_center_crop_takes_middle() -> None:
    img = _image(10, 8)
    out = CenterCrop(4)(img)
    assert out.size == (4, 4)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img)[2:6, 3:7])


def test_crop_too_small_raises() -> None:
    with pytest.raises(ValueError, match=r"CenterCrop\(9\).*8×8"):
        CenterCrop(9)(_image(8, 8))
    with pytest.raises(ValueError, match="positive int"):
        RandomCrop(0)


def test_random_crop_is_a_window_and_seeded() -> None:
    img = _image(12, 12)
    full = np.asarray(img)
    torch.manual_seed(0)
    a = [np.asarray(RandomCrop(5)(img)) for _ in range(20)]
    torch.manual_seed(0)
    b = [np.asarray(RandomCrop(5)(img)) for _ in range(20)]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    windows = {(i, j) for i in range(8) for j in range(8)}
    found = set()
    for crop in a:
        hits = [(i, j) for i, j in windows if np.array_equal(full[i : i + 5, j : j + 5], crop)]
        assert len(hits) == 1
        found.add(hits[0])
    assert len(found) > 5


def test_flip_probability() -> None:
    img = _image(6, 3)
    assert RandomHorizontalFlip(0.0)(img) is img
    flipped = np.asarray(RandomHorizontalFlip(1.0)(img))
    np.testing.assert_array_equal(flipped, np.asarray(img)[:, ::-1])
    torch.manual_seed(1)
    n = sum(RandomHorizontalFlip(0.5)(img) is not img for _ in range(400))
    assert 150 < n < 250
    with pytest.raises(ValueError, match="p must be"):
        RandomHorizontalFlip(1.5)


def test_pipelines_shapes_and_no_normalisation() -> None:
    img = _image(300, 260)
    e = eval_transform()(img)
    assert e.shape == (3, 224, 224)
    assert 0.0 <= e.min() and e.max() <= 1.0
    torch.manual_seed(0)
    t = train_transform(36, 32, random=True, flip=True)(img)
    assert t.shape == (3, 32, 32)
    assert eval_transform(36, 32)(img).shape == (3, 32, 32)
    # the default training transform is `ref`'s: Resize → CenterCrop, no flip
    ref = eval_transform(36, 32)(img)
    assert repr(train_transform(36, 32)) == "Compose([Resize(36), CenterCrop(32), ToTensor()])"
    assert all(torch.equal(train_transform(36, 32)(img), ref) for _ in range(8))
    # centre crop + flip = centre crop up to a flip
    torch.manual_seed(0)
    flipped = [train_transform(36, 32, flip=True)(img) for _ in range(12)]
    assert all(torch.equal(c, ref) or torch.equal(c, ref.flip(-1)) for c in flipped)
    assert {torch.equal(c, ref) for c in flipped} == {True, False}
    assert repr(train_transform(36, 32, random=True, flip=True)) == (
        "Compose([Resize(36), RandomCrop(32), RandomHorizontalFlip(p=0.5), ToTensor()])"
    )
    n = native_transform()(_image(64, 64))
    assert n.shape == (3, 64, 64)
    assert torch.equal(n, to_tensor(_image(64, 64)))
    assert "RandomHorizontalFlip" in repr(native_transform(flip=True))


def test_compose_order() -> None:
    pipeline = Compose([Resize(8), CenterCrop(4), ToTensor()])
    assert pipeline(_image(16, 10)).shape == (3, 4, 4)
    assert repr(pipeline) == "Compose([Resize(8), CenterCrop(4), ToTensor()])"
