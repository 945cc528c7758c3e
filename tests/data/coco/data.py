#!/usr/bin/env python3
"""Generate the fake MS-COCO 2014 download (real raw layout) and its list files.

Run from this folder: ``python data.py``. Writes 26 images under ``train2014/`` and 14 under
``val2014/``, ``annotations/instances_{train,val}2014.json`` with six categories of
non-contiguous ids (listed out of order) and some images without any annotation, then runs
the preparer so that this folder also holds ``classes.txt`` and the train/test/database lists
in both formats.
"""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from robust_hashing.datasets.prepare.coco import prepare_coco

NUM_IMAGES = {"train2014": 26, "val2014": 14}
UNANNOTATED = {"train2014": 3, "val2014": 2}
HEIGHT, WIDTH = 40, 48
CATEGORIES = [  # (id, name, supercategory), deliberately not in id order
    (18, "dog", "animal"),
    (1, "person", "person"),
    (90, "toothbrush", "indoor"),
    (3, "car", "vehicle"),
    (62, "chair", "furniture"),
    (44, "bottle", "kitchen"),
]
PREPARE_KWARGS = {"query": 6, "train": 10, "seed": 0}
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


def make_part(part: str, image_ids: list[int], next_ann_id: int) -> dict:
    """Images, annotations and categories of one instances file (images listed shuffled)."""
    images, annotations = [], []
    for position, image_id in enumerate(image_ids):
        file_name = f"COCO_{part}_{image_id:012d}.jpg"
        write_jpeg(ROOT / part / file_name)
        images.append({"license": 1, "file_name": file_name, "height": HEIGHT,
                       "width": WIDTH, "id": image_id})  # fmt: skip
        if position < UNANNOTATED[part]:
            continue  # no instance annotations: the preparer must drop this image
        for _ in range(np.random.randint(1, 5)):  # repeats of a category are allowed
            category = CATEGORIES[np.random.randint(len(CATEGORIES))][0]
            annotations.append({"id": next_ann_id, "image_id": image_id,
                                "category_id": category, "iscrowd": 0, "area": 100.0,
                                "bbox": [1.0, 2.0, 10.0, 10.0], "segmentation": []})  # fmt: skip
            next_ann_id += 1
    order = np.random.permutation(len(images))
    return {
        "info": {"description": "fake COCO 2014 for tests"},
        "licenses": [{"id": 1, "name": "test"}],
        "images": [images[i] for i in order],
        "annotations": annotations,
        "categories": [{"supercategory": s, "id": i, "name": n} for i, n, s in CATEGORIES],
    }


def main() -> None:
    np.random.seed(0)
    for name in ("annotations", *NUM_IMAGES):
        shutil.rmtree(ROOT / name, ignore_errors=True)
        (ROOT / name).mkdir()
    all_ids = np.random.choice(600_000, size=sum(NUM_IMAGES.values()), replace=False)
    start, next_ann_id = 0, 1
    for part, count in NUM_IMAGES.items():
        ids = [int(i) for i in all_ids[start : start + count]]
        start += count
        data = make_part(part, ids, next_ann_id)
        next_ann_id += len(data["annotations"])
        (ROOT / "annotations" / f"instances_{part}.json").write_text(json.dumps(data))

    prepare_coco(ROOT, **PREPARE_KWARGS)
    for name in ("annotations", *NUM_IMAGES):
        print(f"{name}: {md5(list((ROOT / name).iterdir()))}")
    for path in sorted(ROOT.glob("*.txt")):
        print(f"{path.name}: {md5([path])}")


if __name__ == "__main__":
    main()
