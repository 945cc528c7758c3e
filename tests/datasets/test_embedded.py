import io
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robust_hashing.datasets import embedded
from robust_hashing.datasets.embedded import (
    CLASS_NAMES,
    RestrictedUnpickler,
    build_embedded,
    default_root,
    generate_embedded,
    load_silhouettes,
    relevance_fraction,
    verify_embedded,
)
from robust_hashing.datasets.lists import DatasetError, HashingListDataset

SIZES = (30, 40, 80)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_embedded(tmp_path_factory.mktemp("emb") / "data", seed=3, sizes=SIZES)


@pytest.fixture
def copy_of_built(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "copy"))


class _Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_arbitrary_globals() -> None:
    payload = pickle.dumps(_Evil())
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle global"):
        RestrictedUnpickler(io.BytesIO(payload)).load()
    with pytest.raises(pickle.UnpicklingError):
        RestrictedUnpickler(io.BytesIO(pickle.dumps(print))).load()


def test_unpickler_accepts_numpy_arrays() -> None:
    array = np.arange(12, dtype=np.int64).reshape(3, 4)
    out = RestrictedUnpickler(io.BytesIO(pickle.dumps(array, protocol=4))).load()
    np.testing.assert_array_equal(out, array)


def test_source_sha_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "animal_label_version_3.gz"
    monkeypatch.setitem(embedded._SOURCE_SHA256, name, "0" * 64)
    with pytest.raises(DatasetError, match=f"{name}: sha256 mismatch"):
        embedded._read_source(name)


def test_silhouettes_shape_and_classes() -> None:
    images, classes = load_silhouettes()
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(classes).tolist() == [1000] * 10
    assert len(CLASS_NAMES) == 10


def test_generate_is_seeded() -> None:
    a = generate_embedded(5, (4, 3, 6))
    b = generate_embedded(5, (4, 3, 6))
    c = generate_embedded(6, (4, 3, 6))
    for split in ("query", "database"):
        for x, y in zip(a[split], b[split], strict=True):
            np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a["query"][0], c["query"][0])
    with pytest.raises(ValueError, match="train <= database"):
        generate_embedded(0, (4, 7, 6))


def test_mosaic_content_matches_labels() -> None:
    data = generate_embedded(1, (50, 10, 50))
    images, labels, sources = data["query"]
    assert images.shape == (50, 64, 64, 3) and images.dtype == np.uint8
    _, classes = load_silhouettes()
    card = labels.sum(1)
    assert card.min() >= 1 and card.max() <= 3 and len(set(card.tolist())) == 3
    for row in range(50):
        used = sources[row][sources[row] >= 0]
        assert len(used) == card[row]
        assert sorted(classes[used].tolist()) == np.flatnonzero(labels[row]).tolist()
    # genuinely RGB: channels differ
    assert np.abs(images[..., 0].astype(int) - images[..., 1]).mean() > 5


def _split(root: Path, split: str) -> HashingListDataset:
    return HashingListDataset(root, split, 10, list_format="two_file")


def test_build_layout_and_splits(built: Path) -> None:
    for name in ("train", "test", "database"):
        assert (built / f"{name}_img.txt").is_file() and (built / f"{name}_label.txt").is_file()
    query, train, db = _split(built, "test"), _split(built, "train"), _split(built, "database")
    assert (len(query), len(train), len(db)) == SIZES
    assert train.paths == db.paths[: SIZES[1]]
    assert torch.equal(train.labels, db.labels[: SIZES[1]])
    assert not set(query.paths) & set(db.paths)
    for ds in (query, db):
        card = ds.labels.sum(1)
        assert card.min() >= 1 and card.max() <= 3
    image, label, index = db[7]
    assert image.shape == (3, 64, 64) and index == 7 and label.sum() >= 1


def test_query_and_database_sources_disjoint(built: Path) -> None:
    def sources(name: str) -> set[int]:
        text = (built / f"{name}_source.txt").read_text().split()
        return {int(t) for t in text}

    q, d = sources("test"), sources("database")
    assert q and d and not q & d
    _, classes = load_silhouettes()
    rows = (built / "test_source.txt").read_text().splitlines()
    labels = _split(built, "test").labels
    for row, label in zip(rows, labels, strict=True):
        got = sorted(classes[[int(t) for t in row.split()]].tolist())
        assert got == torch.nonzero(label).flatten().tolist()


def test_rebuild_verifies_and_checks_seed(built: Path) -> None:
    before = (built / "MANIFEST.json").stat().st_mtime_ns
    assert build_embedded(built, seed=3, sizes=SIZES) == built
    assert build_embedded(built, seed=3) == built  # sizes=None accepts the folder's sizes
    assert (built / "MANIFEST.json").stat().st_mtime_ns == before
    with pytest.raises(DatasetError, match="built with"):
        build_embedded(built, seed=4)
    with pytest.raises(DatasetError, match="built with"):
        build_embedded(built, seed=3, sizes=(1, 1, 1))


def test_verify_detects_list_tampering(copy_of_built: Path) -> None:
    verify_embedded(copy_of_built)
    path = copy_of_built / "database_label.txt"
    path.write_text(path.read_text().replace("1", "0", 1))
    with pytest.raises(DatasetError, match=r"database_label\.txt: sha256 differs"):
        verify_embedded(copy_of_built)


def test_verify_detects_image_tampering(copy_of_built: Path) -> None:
    target = copy_of_built / "images/query/00004.png"
    target.write_bytes(target.read_bytes() + b"\0")
    verify_embedded(copy_of_built, check_images=False)
    with pytest.raises(DatasetError, match=r"images/query/00004\.png: missing or sha256 differs"):
        verify_embedded(copy_of_built)
    target.unlink()
    with pytest.raises(DatasetError, match=r"00004\.png"):
        build_embedded(copy_of_built, seed=3)


def test_verify_missing_manifest(copy_of_built: Path) -> None:
    (copy_of_built / "MANIFEST.json").unlink()
    with pytest.raises(DatasetError, match=r"MANIFEST\.json: not found"):
        verify_embedded(copy_of_built)


def test_verify_non_utf8_manifest(copy_of_built: Path) -> None:
    (copy_of_built / "MANIFEST.json").write_bytes(b'{"files": "\xff"}')
    with pytest.raises(DatasetError, match=r"MANIFEST\.json: unreadable manifest \(.*0xff"):
        verify_embedded(copy_of_built)


def test_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(folder: Path, *args: object) -> None:
        (folder / "partial.txt").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded, "_write_folder", boom)
    with pytest.raises(KeyboardInterrupt):
        build_embedded(tmp_path / "data", sizes=(2, 2, 2))
    assert list(tmp_path.iterdir()) == []


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ROBUST_HASHING_CACHE", str(tmp_path))
    assert default_root(7) == tmp_path / "embedded-v1-seed7"
    monkeypatch.delenv("ROBUST_HASHING_CACHE")
    assert default_root() == Path.home() / ".cache" / "robust_hashing" / "embedded-v1-seed0"


def test_relevance_fraction() -> None:
    q = torch.tensor([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    db = torch.tensor([[1, 1, 0], [0, 0, 1]])
    assert relevance_fraction(q, db) == pytest.approx(3 / 6)
    assert relevance_fraction(q.numpy(), db.numpy()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes"):
        relevance_fraction(q, db[:, :2])


@pytest.mark.slow
def test_full_size_build(tmp_path: Path) -> None:
    root = build_embedded(tmp_path / "full", seed=0)
    query, db = _split(root, "test"), _split(root, "database")
    assert (len(query), len(_split(root, "train")), len(db)) == (1000, 5000, 10000)
    assert 0.15 <= relevance_fraction(query.labels, db.labels) <= 0.5
