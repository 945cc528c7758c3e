#!/usr/bin/env python3
"""Generate the fake MIRFLICKR-25K download (real raw layout) and its list files.

Run from this folder: ``python data.py``. Writes ``mirflickr/im1.jpg ... im40.jpg``, the
annotation folder ``mirflickr25k_annotations_v080/`` with all 38 concept files (some empty,
some images without any label), then runs the preparer so that this folder also holds
``classes.txt`` and the train/test/database lists in both formats.
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from robust_hashing.datasets.prepare.flickr25k import POTENTIAL, RELEVANT, prepare_flickr25k

NUM_IMAGES = 40
HEIGHT, WIDTH = 40, 48
EMPTY_CONCEPTS = ("baby_r1", "dog_r1", "night_r1", "food")
UNLABELLED_IDS = (5, 17, 33)  # 1-based ids listed in no concept file
PREPARE_KWARGS = {"query": 8, "train": 12, "seed": 0}
ROOT = Path(__file__).resolve().parent


def write_jpeg(path: Path) -> None:
    """A 2x2 grid of random colours, upscaled to HEIGHT x WIDTH."""
    cells = np.random.randint(0, 256, size=(2, 2, 3), dtype=np.uint8)
    pixels = cells.repeat(HEIGHT // 2, axis=0).repeat(WIDTH // 2, axis=1)
    Image.fromarray(pixels).save(path, quality=85)


def md5(paths: list[Path]) -> str:
    digest = hashlib.md5()
    for path in sorted(paths):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    np.random.seed(0)
    images = ROOT / "mirflickr"
    annotations = ROOT / "mirflickr25k_annotations_v080"
    for folder in (images, annotations):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    for image_id in range(1, NUM_IMAGES + 1):
        write_jpeg(images / f"im{image_id}.jpg")

    masks = {c: np.random.rand(NUM_IMAGES) < np.random.uniform(0.1, 0.4) for c in POTENTIAL}
    for concept in RELEVANT:  # "relevant" annotations are a subset of the potential ones
        masks[concept] = masks[concept[: -len("_r1")]] & (np.random.rand(NUM_IMAGES) < 0.6)
    for concept, mask in masks.items():
        mask[[i - 1 for i in UNLABELLED_IDS]] = False
        if concept in EMPTY_CONCEPTS:
            mask[:] = False
        newline = "\r\n" if concept == "sky" else "\n"  # one file with Windows line endings
        text = "".join(f"{i + 1}{newline}" for i in np.flatnonzero(mask))
        (annotations / f"{concept}.txt").write_bytes(text.encode())
    (annotations / "README.txt").write_text("Fake MIRFLICKR-25K annotations for tests.\n")

    prepare_flickr25k(ROOT, **PREPARE_KWARGS)
    lists = sorted(ROOT.glob("*.txt"))
    print(f"mirflickr: {md5(list(images.iterdir()))}")
    print(f"annotations: {md5(list(annotations.iterdir()))}")
    for path in lists:
        print(f"{path.name}: {md5([path])}")


if __name__ == "__main__":
    main()
