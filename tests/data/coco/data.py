#!/usr/bin/env python3
"""Generate the fake MS-COCO 2014 download (real raw layout) and its list files.

Run from this folder: ``python data.py``. Writes 26 images under ``train2014/`` and 14 under
``val2014/`` and ``annotations/instances_{train,val}2014.json``. Like the real files, both list
all 80 COCO categories with their real, non-contiguous ids (1..90 without 12, 26, 29, 30, 45,
66, 68, 69, 71, 83), here listed in name order rather than id order; the annotations use only
the six ``USED`` categories and some images have no annotation at all. It then runs the
preparer so that this folder also holds ``classes.txt`` (80 names, in id order) and the
train/test/database lists in both formats (80 label columns).
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
CATEGORIES = [  # (id, name, supercategory) of the 80 real COCO categories, in id order
    (1, "person", "person"), (2, "bicycle", "vehicle"), (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"), (5, "airplane", "vehicle"), (6, "bus", "vehicle"),
    (7, "train", "vehicle"), (8, "truck", "vehicle"), (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"), (11, "fire hydrant", "outdoor"),
    (13, "stop sign", "outdoor"), (14, "parking meter", "outdoor"), (15, "bench", "outdoor"),
    (16, "bird", "animal"), (17, "cat", "animal"), (18, "dog", "animal"),
    (19, "horse", "animal"), (20, "sheep", "animal"), (21, "cow", "animal"),
    (22, "elephant", "animal"), (23, "bear", "animal"), (24, "zebra", "animal"),
    (25, "giraffe", "animal"), (27, "backpack", "accessory"), (28, "umbrella", "accessory"),
    (31, "handbag", "accessory"), (32, "tie", "accessory"), (33, "suitcase", "accessory"),
    (34, "frisbee", "sports"), (35, "skis", "sports"), (36, "snowboard", "sports"),
    (37, "sports ball", "sports"), (38, "kite", "sports"), (39, "baseball bat", "sports"),
    (40, "baseball glove", "sports"), (41, "skateboard", "sports"),
    (42, "surfboard", "sports"), (43, "tennis racket", "sports"), (44, "bottle", "kitchen"),
    (46, "wine glass", "kitchen"), (47, "cup", "kitchen"), (48, "fork", "kitchen"),
    (49, "knife", "kitchen"), (50, "spoon", "kitchen"), (51, "bowl", "kitchen"),
    (52, "banana", "food"), (53, "apple", "food"), (54, "sandwich", "food"),
    (55, "orange", "food"), (56, "broccoli", "food"), (57, "carrot", "food"),
    (58, "hot dog", "food"), (59, "pizza", "food"), (60, "donut", "food"),
    (61, "cake", "food"), (62, "chair", "furniture"), (63, "couch", "furniture"),
    (64, "potted plant", "furniture"), (65, "bed", "furniture"),
    (67, "dining table", "furniture"), (70, "toilet", "furniture"),
    (72, "tv", "electronic"), (73, "laptop", "electronic"), (74, "mouse", "electronic"),
    (75, "remote", "electronic"), (76, "keyboard", "electronic"),
    (77, "cell phone", "electronic"), (78, "microwave", "appliance"),
    (79, "oven", "appliance"), (80, "toaster", "appliance"), (81, "sink", "appliance"),
    (82, "refrigerator", "appliance"), (84, "book", "indoor"), (85, "clock", "indoor"),
    (86, "vase", "indoor"), (87, "scissors", "indoor"), (88, "teddy bear", "indoor"),
    (89, "hair drier", "indoor"), (90, "toothbrush", "indoor"),
]  # fmt: skip
USED = [18, 1, 90, 3, 62, 44]  # the only category ids that the annotations use
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
            category = USED[np.random.randint(len(USED))]
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
        "categories": [  # listed in name order, not id order, to exercise the sorting
            {"supercategory": s, "id": i, "name": n}
            for i, n, s in sorted(CATEGORIES, key=lambda c: c[1])
        ],
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
