#!/usr/bin/env python3
"""Generate the fake NUS-WIDE download (real raw layout) and its list files.

Run from this folder: ``python data.py``. Writes 64 images under ``Flickr/<folder>/``, the
Windows-style ``ImageList/Imagelist.txt`` and ``Groundtruth/AllLabels/Labels_<c>.txt`` for 25
concepts with fixed positive counts (so the top-21 selection, including a tie broken by name,
is exercised), then runs the preparer so that this folder also holds ``classes.txt`` and the
train/test/database lists in both formats.
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from robust_hashing.datasets.prepare.nuswide import prepare_nuswide

NUM_IMAGES = 64
HEIGHT, WIDTH = 40, 48
FOLDERS = ("actor", "beach", "cityscape", "dog", "sunset")
# Positive count per concept. Ranks 20-22 tie at 8 (rocks, snow, tattoo): "tattoo" loses on
# name. "zebra" is frequent and kept, "window" and "earthquake" are rare and dropped.
COUNTS = {
    "sky": 30, "clouds": 26, "person": 24, "water": 22, "animal": 20, "zebra": 19,
    "grass": 18, "buildings": 17, "ocean": 16, "plants": 15, "tree": 14, "beach": 13,
    "lake": 12, "mountain": 12, "flowers": 11, "road": 10, "reflection": 10, "sunset": 9,
    "vehicle": 9, "rocks": 8, "snow": 8, "tattoo": 8, "window": 6, "earthquake": 2,
    "whales": 0,
}  # fmt: skip
DROPPED = 4  # images (the last ones) carrying none of the 21 kept concepts
SELECTED = sorted(sorted(COUNTS, key=lambda c: (-COUNTS[c], c))[:21])
PREPARE_KWARGS = {"query": 21, "train": 21, "num_classes": 21, "seed": 0}
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
    for name in ("Flickr", "ImageList", "Groundtruth"):
        shutil.rmtree(ROOT / name, ignore_errors=True)
    lines = []
    for index in range(NUM_IMAGES):
        folder = FOLDERS[np.random.randint(len(FOLDERS))]
        name = f"{index + 1:04d}_{np.random.randint(10**8, 10**9)}.jpg"
        (ROOT / "Flickr" / folder).mkdir(parents=True, exist_ok=True)
        write_jpeg(ROOT / "Flickr" / folder / name)
        lines.append(f"C:\\ImageData\\Flickr\\{folder}\\{name}\r\n")
    (ROOT / "ImageList").mkdir()
    (ROOT / "ImageList" / "Imagelist.txt").write_bytes("".join(lines).encode())

    labels_dir = ROOT / "Groundtruth" / "AllLabels"
    labels_dir.mkdir(parents=True)
    for concept, count in COUNTS.items():
        pool = NUM_IMAGES - DROPPED if concept in SELECTED else NUM_IMAGES
        column = np.zeros(NUM_IMAGES, dtype=int)
        column[np.random.choice(pool, size=count, replace=False)] = 1
        text = "".join(f"{v}\n" for v in column)
        (labels_dir / f"Labels_{concept}.txt").write_text(text)

    prepare_nuswide(ROOT, **PREPARE_KWARGS)
    print(f"Flickr: {md5(list((ROOT / 'Flickr').rglob('*.jpg')))}")
    print(f"ImageList: {md5([ROOT / 'ImageList' / 'Imagelist.txt'])}")
    print(f"Groundtruth: {md5(list(labels_dir.iterdir()))}")
    for path in sorted(ROOT.glob("*.txt")):
        print(f"{path.name}: {md5([path])}")


if __name__ == "__main__":
    main()
