"""The clean model's key covers the images' content, not only the list files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import ClassVar

import yaml

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.cli import main as benchmark_main
from robust_hashing.benchmark.data_key import image_digest, listed_images

from .conftest import FakeCatalog, make_grid

DATA = Path(__file__).parents[1] / "data" / "flickr25k"


class ListCatalog(FakeCatalog):
    DATASETS: ClassVar[list[str]] = ["flickr25k"]

    def datasets(self) -> list[str]:
        return self.DATASETS


def copy_data(tmp_path: Path, name: str = "flickr") -> Path:
    root = tmp_path / name
    shutil.copytree(DATA, root)
    return root


def clean_key(root: Path, cache: Path, rehash: bool = False) -> str:
    grid = make_grid(datasets=[{"name": "flickr25k", "kwargs": {"root": str(root)}}],
                     defenses=["none"], attacks=["weak"])  # fmt: skip
    cells = plan(grid, ArtefactCache(cache, rehash=rehash), ListCatalog())
    return next(c.key for c in cells if c.kind == "clean")


def edit_in_place(image: Path, keep_stamp: bool) -> None:
    """Change one byte near the end of ``image`` (a JPEG's size stays the same)."""
    stat = image.stat()
    data = bytearray(image.read_bytes())
    data[-3] ^= 0xFF
    image.write_bytes(bytes(data))
    if keep_stamp:
        os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_the_lists_name_the_images(tmp_path: Path) -> None:
    images = listed_images(copy_data(tmp_path))
    assert images and all(name.startswith("mirflickr/im") for name in images)
    assert len(images) == len(set(images))


def test_an_edited_image_gives_a_new_key(tmp_path: Path) -> None:
    root, cache = copy_data(tmp_path), tmp_path / "cache"
    key = clean_key(root, cache)
    assert key == clean_key(root, cache)  # stable
    assert key == clean_key(copy_data(tmp_path, "elsewhere"), cache)  # where it lives is not hashed
    image = root / listed_images(root)[5]
    edit_in_place(image, keep_stamp=False)
    assert clean_key(root, cache) != key
    image.unlink()  # a missing image changes the key too
    assert len({key, clean_key(root, cache)}) == 2


def test_rehash_sees_an_edit_that_kept_size_and_time(tmp_path: Path) -> None:
    root, cache = copy_data(tmp_path), tmp_path / "cache"
    clean_key(root, cache)
    assert not cache.exists()  # planning alone creates no cache folder
    cache.mkdir()
    key = clean_key(root, cache)
    assert list((cache / "data").glob("*.json"))  # the memo of per-image digests
    edit_in_place(root / listed_images(root)[0], keep_stamp=True)
    assert clean_key(root, cache) == key  # trusted by size and modification time
    rehashed = clean_key(root, cache, rehash=True)
    assert rehashed != key
    assert clean_key(root, cache) == rehashed  # the memo now holds the new content


def test_image_digest_without_a_memo_reads_the_content(tmp_path: Path) -> None:
    root = copy_data(tmp_path)
    digest = image_digest(root)
    edit_in_place(root / listed_images(root)[3], keep_stamp=True)
    assert image_digest(root) != digest
    assert image_digest(tmp_path / "nowhere") == "missing"


def test_benchmark_rehash_option(tmp_path: Path, capsys) -> None:
    root = copy_data(tmp_path)
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({
        "datasets": [{"name": "flickr25k", "kwargs": {"root": str(root)}}], "bits": [32],
        "victim": {"method": "dpsh", "backbone": "small_cnn"}, "defenses": ["none"],
        "attacks": ["hag"],
    }))  # fmt: skip
    (tmp_path / "cache").mkdir()
    args = ["--grid", str(grid), "--cache-dir", str(tmp_path / "cache"), "--dry-run"]

    def clean_line() -> str:
        assert benchmark_main(args) == 0
        return next(ln for ln in capsys.readouterr().out.splitlines() if "clean/" in ln)

    first = clean_line()
    edit_in_place(root / listed_images(root)[0], keep_stamp=True)
    assert clean_line() == first
    args.append("--rehash")
    assert clean_line() != first
