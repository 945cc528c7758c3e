from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from robust_hashing.datasets.lists import (
    DatasetError,
    HashingListDataset,
    count_rows,
    resolve_list_format,
)
from robust_hashing.datasets.transforms import eval_transform

C = 5


def _write_dataset(root: Path, n: int = 6, seed: int = 0, fmt: str = "both") -> np.ndarray:
    """Write n tiny images and train/test/database lists; return the label matrix."""
    rng = np.random.default_rng(seed)
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    labels = (rng.random((n, C)) < 0.4).astype(int)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, size=(10 + i, 12, 3), dtype=np.uint8)
        path = f"imgs/im{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(arr).save(root / path)
        paths.append(path)
    for split in ("train", "test", "database"):
        rows = [" ".join(map(str, r)) for r in labels]
        if fmt in ("both", "two_file"):
            (root / f"{split}_img.txt").write_text("\n".join(paths) + "\n")
            (root / f"{split}_label.txt").write_text("\n".join(rows) + "\n")
        if fmt in ("both", "one_file"):
            lines = [f"{p} {r}" for p, r in zip(paths, rows, strict=True)]
            (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return labels


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
def test_reads_both_formats(tmp_path: Path, fmt: str) -> None:
    labels = _write_dataset(tmp_path, fmt=fmt)
    ds = HashingListDataset(tmp_path, "database", C, list_format="auto")
    assert ds.list_format == fmt
    assert len(ds) == 6
    assert torch.equal(ds.labels, torch.tensor(labels, dtype=torch.float32))
    image, label, index = ds[3]
    assert image.shape == (3, 13, 12) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert torch.equal(label, ds.labels[3]) and index == 3
    _, _, last = ds[-1]
    assert last == 5
    with pytest.raises(IndexError):
        ds[6]
    assert count_rows(tmp_path, "train", fmt) == 6


def test_formats_agree_and_png_roundtrip(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    a = HashingListDataset(tmp_path, "test", C, list_format="two_file")
    b = HashingListDataset(tmp_path, "test", C, list_format="one_file")
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a[1][0], b[1][0])
    expected = np.asarray(Image.open(tmp_path / "imgs/im1.png").convert("RGB"))
    np.testing.assert_allclose(a[1][0].permute(1, 2, 0).numpy() * 255, expected, atol=1e-4)


def test_auto_prefers_two_file(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    assert resolve_list_format(tmp_path, "train") == "two_file"
    (tmp_path / "train_img.txt").unlink()
    assert resolve_list_format(tmp_path, "train") == "one_file"


def test_transform_and_with_transform(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    ds = HashingListDataset(tmp_path, "train", C, transform=eval_transform(8, 6))
    assert ds[0][0].shape == (3, 6, 6)
    plain = ds.with_transform(None)
    assert plain[0][0].shape == (3, 10, 12)
    assert plain.labels is ds.labels and ds[0][0].shape == (3, 6, 6)


def test_cache_images(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    ds = HashingListDataset(tmp_path, "train", C, cache_images=True)
    first = ds[2][0]
    (tmp_path / "imgs/im2.jpg").write_bytes(b"garbage")  # cached: not re-read
    assert torch.equal(ds[2][0], first)
    assert set(ds._cache) == {2}
    uncached = HashingListDataset(tmp_path, "train", C)
    with pytest.raises(DatasetError, match=r"train_img\.txt:3: cannot read image"):
        uncached[2]


def test_deduplicated_keeps_first_rows_in_order(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    img = (tmp_path / "train_img.txt").read_text().splitlines()
    lab = (tmp_path / "train_label.txt").read_text().splitlines()
    other = " ".join("1" if v == "0" else "0" for v in lab[1].split())  # same path, new labels
    order = [0, 1, 1, 2, 0, 3]
    (tmp_path / "train_img.txt").write_text("\n".join([*(img[i] for i in order), img[1]]))
    (tmp_path / "train_label.txt").write_text("\n".join([*(lab[i] for i in order), other]))
    ds = HashingListDataset(tmp_path, "train", C, cache_images=True)
    ds[1]
    unique = ds.deduplicated()
    assert len(ds) == 7 and len(unique) == 5  # rows 2 and 4 repeat rows 1 and 0
    assert unique.paths == [img[0], img[1], img[2], img[3], img[1]]
    assert torch.equal(unique.labels, ds.labels[[0, 1, 3, 5, 6]])
    assert unique._sources[2].endswith("train_img.txt:4")
    assert unique._cache == {} and set(ds._cache) == {1}  # renumbered rows: fresh cache
    assert [index for *_, index in unique] == [0, 1, 2, 3, 4]
    assert torch.equal(unique[3][0], ds[5][0])
    assert len(unique.deduplicated()) == 5


def _error(root: Path, split: str = "train", fmt: str = "auto", num_classes: int = C) -> str:
    with pytest.raises(DatasetError) as info:
        HashingListDataset(root, split, num_classes, list_format=fmt)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_list_file(tmp_path: Path) -> None:
    _write_dataset(tmp_path, fmt="two_file")
    (tmp_path / "train_label.txt").unlink()
    assert "train_label.txt: list file not found" in _error(tmp_path)
    assert "train.txt: list file not found" in _error(tmp_path, fmt="one_file")
    for name in ("test_img.txt", "test_label.txt"):
        (tmp_path / name).unlink()
    msg = _error(tmp_path, split="test")
    assert "no list file for split 'test'" in msg and "test_img.txt" in msg


def test_unknown_split_and_bad_num_classes(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    assert "unknown split 'val'" in _error(tmp_path, split="val")
    assert "num_classes must be a positive int" in _error(tmp_path, num_classes=0)


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
def test_missing_image_named_with_line(tmp_path: Path, fmt: str) -> None:
    _write_dataset(tmp_path)
    (tmp_path / "imgs/im3.png").unlink()
    (tmp_path / "imgs/im4.jpg").unlink()
    list_file = "train_img.txt" if fmt == "two_file" else "train.txt"
    msg = _error(tmp_path, fmt=fmt)
    assert f"{list_file}:4: image file not found" in msg
    assert "im3.png" in msg and "(and 1 more missing)" in msg


def test_unreadable_image_at_load(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    (tmp_path / "imgs/im1.png").write_bytes(b"not an image")
    ds = HashingListDataset(tmp_path, "database", C, list_format="one_file")
    with pytest.raises(DatasetError, match=r"database\.txt:2: cannot read image .*im1\.png"):
        ds[1]


def test_line_counts_differ(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    path = tmp_path / "train_label.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    msg = _error(tmp_path)
    assert "train_img.txt has 6 lines but" in msg and "train_label.txt has 5" in msg


@pytest.mark.parametrize(("bad", "needle"), [("2", "'2'"), ("x", "'x'"), ("-1", "'-1'")])
def test_label_values_not_binary(tmp_path: Path, bad: str, needle: str) -> None:
    _write_dataset(tmp_path)
    path = tmp_path / "test_label.txt"
    lines = path.read_text().splitlines()
    lines[2] = " ".join([bad, *lines[2].split()[1:]])
    path.write_text("\n".join(lines) + "\n")
    msg = _error(tmp_path, split="test")
    assert "test_label.txt:3: label values must be 0 or 1" in msg and needle in msg
    one = tmp_path / "test.txt"
    lines = one.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0] + f" {bad}"
    one.write_text("\n".join(lines) + "\n")
    assert "test.txt:5: label values must be 0 or 1" in _error(tmp_path, "test", "one_file")


def test_float_zero_one_labels_accepted(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    path = tmp_path / "train_label.txt"
    path.write_text(path.read_text().replace("1", "1.0"))
    ds = HashingListDataset(tmp_path, "train", C)
    assert set(ds.labels.unique().tolist()) <= {0.0, 1.0}


def test_wrong_number_of_classes(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    assert "train_label.txt:1: expected 4 label values, got 5" in _error(tmp_path, num_classes=4)
    one = tmp_path / "database.txt"
    lines = one.read_text().splitlines()
    lines[5] += " 0"
    one.write_text("\n".join(lines) + "\n")
    assert "database.txt:6: expected 5 label values, got 6" in _error(
        tmp_path, "database", "one_file"
    )


def test_empty_split_and_blank_lines(tmp_path: Path) -> None:
    _write_dataset(tmp_path)
    (tmp_path / "train_img.txt").write_text("\n\n")
    (tmp_path / "train_label.txt").write_text("")
    assert "train_img.txt: split 'train' is empty" in _error(tmp_path)
    (tmp_path / "test.txt").write_text("")
    assert "test.txt: split 'test' is empty" in _error(tmp_path, "test", "one_file")
    one = tmp_path / "database.txt"
    lines = one.read_text().splitlines()
    one.write_text("\n".join([*lines[:2], "   ", *lines[2:]]) + "\n\n")
    assert "database.txt:3: empty line" in _error(tmp_path, "database", "one_file")


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
def test_non_utf8_list_file_names_file_and_line(tmp_path: Path, fmt: str) -> None:
    _write_dataset(tmp_path, fmt=fmt)
    name = "test_img.txt" if fmt == "two_file" else "test.txt"
    lines = (tmp_path / name).read_bytes().splitlines(keepends=True)
    lines[2] = b"imgs/caf\xe9.jpg" + lines[2][lines[2].index(b".") + 4 :]  # Latin-1 é
    (tmp_path / name).write_bytes(b"".join(lines))
    with pytest.raises(DatasetError, match=rf"{name}:3: not UTF-8 text \(byte 0xe9 at offset"):
        HashingListDataset(tmp_path, "test", C)
    with pytest.raises(DatasetError, match=rf"{name}:3: not UTF-8 text"):
        count_rows(tmp_path, "test")


def test_one_file_paths_may_contain_spaces(tmp_path: Path) -> None:
    labels = _write_dataset(tmp_path, fmt="one_file")
    (tmp_path / "my imgs").mkdir()
    (tmp_path / "imgs" / "im0.jpg").rename(tmp_path / "my imgs" / "im 0.jpg")
    lines = (tmp_path / "test.txt").read_text().splitlines()
    lines[0] = lines[0].replace("imgs/im0.jpg", "my imgs/im 0.jpg")
    (tmp_path / "test.txt").write_text("\n".join(lines) + "\n")
    ds = HashingListDataset(tmp_path, "test", C, list_format="one_file")
    assert ds.paths[0] == "my imgs/im 0.jpg"
    assert torch.equal(ds.labels, torch.tensor(labels, dtype=torch.float32))


@pytest.mark.parametrize("fmt", ["two_file", "one_file"])
def test_a_byte_order_mark_is_ignored(tmp_path: Path, fmt: str) -> None:
    labels = _write_dataset(tmp_path, fmt=fmt)
    for name in ("test_img.txt", "test_label.txt", "test.txt"):
        if (tmp_path / name).is_file():
            (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (tmp_path / name).read_bytes())
    ds = HashingListDataset(tmp_path, "test", C, list_format=fmt)
    assert ds.paths[0] == "imgs/im0.jpg"
    assert torch.equal(ds.labels, torch.tensor(labels, dtype=torch.float32))
