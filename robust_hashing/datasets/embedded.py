"""The embedded default dataset: multi-label RGB mosaics of Animal-MNIST silhouettes.

Source: the two data files of the ``animal-mnist==0.4`` wheel (10,000 grey 28×28
silhouettes, 1,000 per class, MIT licence). The package itself is never imported (its
loader needs TensorFlow): the gzip pickles are located through ``importlib.metadata``,
checked against pinned sha256 digests and decoded with :class:`RestrictedUnpickler`.

Class indices follow the order of the package's README, which is alphabetical
(``CLASS_NAMES``); the silhouettes agree (index 5 has a trunk, index 6 a long neck).

Each 64×64 RGB image holds 1–3 silhouettes of distinct classes in distinct cells of a 2×2
grid (jitter 0–4 px, random mirror), each tinted with its own random colour on a random
background of the opposite brightness; the label is the multi-hot set of those classes.
Per class, 20% of the silhouettes feed the queries and 80% the database, so no query shares
a source silhouette with the database. ``train`` is the first rows of ``database``. The
result is written in the two-file list layout of the real datasets, plus ``MANIFEST.json``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import importlib.metadata
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from robust_hashing.datasets.lists import DatasetError

__all__ = [
    "CLASS_NAMES",
    "DEFAULT_SIZES",
    "RestrictedUnpickler",
    "build_embedded",
    "default_root",
    "generate_embedded",
    "load_silhouettes",
    "relevance_fraction",
    "verify_embedded",
]

VERSION = "embedded-v1"
CLASS_NAMES = (
    "bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra",
)  # fmt: skip
DEFAULT_SIZES = (1000, 5000, 10000)  # query, train, database
IMAGE, CELL, SIL, QUERY_POOL_FRACTION, _CHUNK = 64, 32, 28, 0.2, 500
_SOURCE_DIR = "animal_mnist/data/Animal_MNIST"
_SOURCE_SHA256 = {
    "animal_data_version_3.gz": "68a30346781a0984f839463a4615d2decb899d1ce65091bb92586311754a34ce",
    "animal_label_version_3.gz": "dec8dba7c469830989fbab46825021a08a38470753a512f27ada847eced97b57",
}
_LIST_FILES = (
    "train_img.txt", "train_label.txt", "test_img.txt", "test_label.txt",
    "database_img.txt", "database_label.txt", "test_source.txt", "database_source.txt",
    "classes.txt", "images.sha256",
)  # fmt: skip


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that reconstructs numpy arrays and refuses every other global."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }  # fmt: skip

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}")
        if module == "numpy":
            return getattr(np, name)
        try:
            multiarray = importlib.import_module("numpy._core.multiarray")
        except ImportError:  # numpy < 2
            multiarray = importlib.import_module("numpy.core.multiarray")
        return getattr(multiarray, name)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_source(name: str) -> np.ndarray:
    try:
        dist = importlib.metadata.distribution("animal-mnist")
    except importlib.metadata.PackageNotFoundError:
        raise DatasetError(
            "the embedded data needs the animal-mnist wheel: "
            "pip install --no-deps animal-mnist==0.4"
        ) from None
    path = Path(str(dist.locate_file(f"{_SOURCE_DIR}/{name}")))
    if not path.is_file():
        raise DatasetError(f"{path}: animal-mnist data file not found")
    raw = path.read_bytes()
    if _sha256(raw) != _SOURCE_SHA256[name]:
        raise DatasetError(f"{path}: sha256 mismatch (expected {_SOURCE_SHA256[name]})")
    array = RestrictedUnpickler(io.BytesIO(gzip.decompress(raw))).load()
    if not isinstance(array, np.ndarray):
        raise DatasetError(f"{path}: expected a numpy array, got {type(array).__name__}")
    return array


@lru_cache(maxsize=1)
def load_silhouettes() -> tuple[np.ndarray, np.ndarray]:
    """Return the verified Animal-MNIST silhouettes (10000×28×28 uint8) and class indices."""
    images = _read_source("animal_data_version_3.gz")
    classes = _read_source("animal_label_version_3.gz")
    if images.shape[1:] != (SIL, SIL) or classes.shape != images.shape[:1]:
        raise DatasetError(f"animal-mnist: unexpected shapes {images.shape}, {classes.shape}")
    images.setflags(write=False)
    classes.setflags(write=False)
    return images, classes.astype(np.int64)


def default_root(seed: int = 0) -> Path:
    """``$ROBUST_HASHING_CACHE/embedded-v1-seed{seed}`` (cache defaults to ~/.cache/robust_hashing)."""
    cache = os.environ.get("ROBUST_HASHING_CACHE") or Path.home() / ".cache" / "robust_hashing"
    return Path(cache) / f"{VERSION}-seed{seed}"


def _paint(
    alpha: np.ndarray,
    present: np.ndarray,
    offsets: np.ndarray,
    background: np.ndarray,
    ink: np.ndarray,
) -> np.ndarray:
    """Alpha-blend up to 3 silhouettes per image onto flat backgrounds; returns uint8 m×64×64×3."""
    canvas = np.empty((len(alpha), IMAGE, IMAGE, 3), dtype=np.float32)
    canvas[:] = background[:, None, None, :]
    for slot in range(3):  # one slice assignment per distinct offset
        for key in np.unique(offsets[present[:, slot], slot]):
            idx = np.flatnonzero(present[:, slot] & (offsets[:, slot] == key))
            r, c = divmod(int(key), IMAGE)
            a = alpha[idx, slot, :, :, None]
            window = canvas[idx, r : r + SIL, c : c + SIL]
            canvas[idx, r : r + SIL, c : c + SIL] = (
                window * (1 - a) + ink[idx, slot, None, None] * a
            )
    canvas *= 255.0
    np.rint(canvas, out=canvas)
    return np.clip(canvas, 0, 255, out=canvas).astype(np.uint8)


def _mosaics(
    rng: np.random.Generator, n: int, pools: np.ndarray, sil: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose ``n`` mosaics from ``pools`` (classes × per-class silhouette indices)."""
    num_classes, per_class = pools.shape
    count = rng.integers(1, 4, size=n)
    present = np.arange(3)[None, :] < count[:, None]  # n×3 used slots
    classes = np.argsort(rng.random((n, num_classes)), axis=1)[:, :3]
    cells = np.argsort(rng.random((n, 4)), axis=1)[:, :3]
    jitter = rng.integers(0, CELL - SIL + 1, size=(n, 3, 2))
    sources = pools[classes, rng.integers(0, per_class, size=(n, 3))]
    mirror = rng.random((n, 3)) < 0.5
    dark = rng.random(n) < 0.5
    background = np.where(
        dark[:, None], rng.uniform(0.0, 0.35, (n, 3)), rng.uniform(0.65, 1, (n, 3))
    )
    ink = np.where(
        dark[:, None, None], rng.uniform(0.6, 1, (n, 3, 3)), rng.uniform(0, 0.4, (n, 3, 3))
    )

    offsets = (cells // 2) * CELL * IMAGE + (cells % 2) * CELL  # top-left as row * IMAGE + col
    offsets = offsets + jitter[..., 0] * IMAGE + jitter[..., 1]
    images = np.empty((n, IMAGE, IMAGE, 3), dtype=np.uint8)
    for lo in range(0, n, _CHUNK):  # chunks keep the float canvas small (and fast)
        part = slice(lo, lo + _CHUNK)
        alpha = sil[sources[part]].astype(np.float32) / 255.0  # m×3×28×28
        alpha = np.where(mirror[part, :, None, None], alpha[..., ::-1], alpha)
        images[part] = _paint(alpha, present[part], offsets[part], background[part], ink[part])
    labels = np.zeros((n, num_classes), dtype=np.uint8)
    rows_n = np.repeat(np.arange(n)[:, None], 3, axis=1)
    labels[rows_n[present], classes[present]] = 1
    return images, labels, np.where(present, sources, -1)


def generate_embedded(seed: int = 0, sizes: tuple[int, int, int] = DEFAULT_SIZES) -> dict[str, Any]:
    """Generate the embedded splits in memory (no disk I/O).

    Args:
        seed: seed of the ``numpy.random.Generator`` that drives every choice.
        sizes: ``(query, train, database)`` row counts; ``train <= database``.

    Returns:
        ``{"query"|"database": (images n×64×64×3 uint8, labels n×10 uint8, sources n×3 int)}``
        where ``sources`` holds silhouette indices (−1 for an empty slot); train is the
        first ``sizes[1]`` database rows.
    """
    n_query, n_train, n_db = (int(s) for s in sizes)
    if min(n_query, n_train, n_db) < 1 or n_train > n_db:
        raise ValueError(f"embedded: need 1 <= train <= database and query >= 1, got sizes={sizes}")
    sil, classes = load_silhouettes()
    rng = np.random.default_rng(seed)
    per_class = np.stack([rng.permutation(np.flatnonzero(classes == c)) for c in range(10)])
    cut = round(per_class.shape[1] * QUERY_POOL_FRACTION)
    return {
        "query": _mosaics(rng, n_query, per_class[:, :cut], sil),
        "database": _mosaics(rng, n_db, per_class[:, cut:], sil),
    }


def _write_text(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _write_folder(folder: Path, data: dict[str, Any], seed: int, sizes: tuple[int, ...]) -> None:
    digests: list[str] = []
    paths: dict[str, list[str]] = {}
    for split, (images, labels, sources) in data.items():
        (folder / "images" / split).mkdir(parents=True)
        paths[split] = [f"images/{split}/{i:05d}.png" for i in range(len(images))]
        for rel, image in zip(paths[split], images, strict=True):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
            (folder / rel).write_bytes(buffer.getvalue())
            digests.append(f"{_sha256(buffer.getvalue())}  {rel}")
        name = "test" if split == "query" else "database"
        _write_text(folder / f"{name}_img.txt", paths[split])
        _write_text(folder / f"{name}_label.txt", [" ".join(map(str, r)) for r in labels])
        _write_text(
            folder / f"{name}_source.txt", [" ".join(str(s) for s in r if s >= 0) for r in sources]
        )
    _write_text(folder / "train_img.txt", paths["database"][: sizes[1]])
    _write_text(
        folder / "train_label.txt", [" ".join(map(str, r)) for r in data["database"][1][: sizes[1]]]
    )
    _write_text(folder / "classes.txt", list(CLASS_NAMES))
    _write_text(folder / "images.sha256", digests)
    manifest = {
        "version": VERSION,
        "seed": seed,
        "sizes": dict(zip(("query", "train", "database"), sizes, strict=True)),
        "source": {"package": "animal-mnist==0.4", "sha256": _SOURCE_SHA256},
        "files": {name: _sha256((folder / name).read_bytes()) for name in _LIST_FILES},
        "images": {"count": len(digests), "digest": _sha256("\n".join(digests).encode())},
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def verify_embedded(root: str | Path, check_images: bool = True) -> dict[str, Any]:
    """Check an embedded data folder against its ``MANIFEST.json``.

    Args:
        root: the folder written by :func:`build_embedded`.
        check_images: also hash every PNG (about a second for the full build).

    Returns:
        The parsed manifest.

    Raises:
        DatasetError: naming the first missing or mismatching file.
    """
    root = Path(root)
    manifest_path = root / "MANIFEST.json"
    if not manifest_path.is_file():
        raise DatasetError(f"{manifest_path}: not found; {root} is not an embedded data folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files, images = manifest["files"], manifest["images"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise DatasetError(f"{manifest_path}: unreadable manifest ({err})") from None
    hint = f"; delete {root} to rebuild it"
    for name, expected in files.items():
        path = root / name
        if not path.is_file():
            raise DatasetError(f"{path}: missing{hint}")
        if _sha256(path.read_bytes()) != expected:
            raise DatasetError(f"{path}: sha256 differs from MANIFEST.json{hint}")
    digests = (root / "images.sha256").read_text(encoding="utf-8").splitlines()
    if len(digests) != images["count"] or _sha256("\n".join(digests).encode()) != images["digest"]:
        raise DatasetError(
            f"{root / 'images.sha256'}: image digest differs from MANIFEST.json{hint}"
        )
    if check_images:
        for line in digests:
            expected, rel = line.split("  ", 1)
            path = root / rel
            if not path.is_file() or _sha256(path.read_bytes()) != expected:
                raise DatasetError(f"{path}: missing or sha256 differs from images.sha256{hint}")
    return dict(manifest)


def build_embedded(
    root: str | Path | None = None,
    seed: int = 0,
    sizes: tuple[int, int, int] | None = None,
    check_images: bool = True,
) -> Path:
    """Materialise the embedded data in the two-file list layout (or verify an existing one).

    The folder is written under a temporary name next to ``root`` and renamed into place, so
    an interrupted build leaves nothing half-written. An existing folder is verified, never
    rebuilt; delete it to rebuild.

    Args:
        root: target folder; defaults to :func:`default_root` for ``seed``.
        seed: generator seed.
        sizes: ``(query, train, database)`` row counts (smaller sizes are for tests); None
            builds :data:`DEFAULT_SIZES` and accepts any sizes in an existing folder.
        check_images: hash every image when verifying an existing folder.

    Returns:
        The folder path.

    Raises:
        DatasetError: when an existing folder fails verification or was built with another
            seed or other sizes.
    """
    root = Path(root) if root is not None else default_root(seed)
    wanted: dict[str, Any] = {"seed": seed}
    if sizes is not None:
        sizes = (int(sizes[0]), int(sizes[1]), int(sizes[2]))
        wanted["sizes"] = dict(zip(("query", "train", "database"), sizes, strict=True))
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
        try:
            todo = sizes or DEFAULT_SIZES
            started = time.perf_counter()
            print(f"building the embedded data in {root} (first use only)", file=sys.stderr)
            _write_folder(tmp, generate_embedded(seed, todo), seed, todo)
            os.replace(tmp, root)
            took = time.perf_counter() - started
            print(f"built the embedded data in {took:.1f} s", file=sys.stderr, flush=True)
        except OSError:
            if not root.exists():  # not a lost race with a concurrent build
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    manifest = verify_embedded(root, check_images=check_images)
    got = {key: manifest.get(key) for key in wanted}
    if got != wanted:
        raise DatasetError(f"{root / 'MANIFEST.json'}: built with {got}, requested {wanted}")
    return root


def relevance_fraction(
    query_labels: torch.Tensor | np.ndarray, db_labels: torch.Tensor | np.ndarray
) -> float:
    """Fraction of (query, database) pairs sharing at least one label (protocol §3)."""
    query = torch.as_tensor(np.asarray(query_labels), dtype=torch.float32)
    db = torch.as_tensor(np.asarray(db_labels), dtype=torch.float32)
    if query.ndim != 2 or db.ndim != 2 or query.shape[1] != db.shape[1]:
        raise ValueError(f"relevance_fraction: shapes {tuple(query.shape)} and {tuple(db.shape)}")
    hits = sum(int(((chunk @ db.T) > 0).sum()) for chunk in query.split(256))
    return hits / float(query.shape[0] * db.shape[0])
