"""Tests for robust_hashing.datasets.prepare (raw downloads → list files)."""

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from robust_hashing.datasets.prepare import (
    SPLITS,
    PreparedLists,
    PrepareError,
    SplitLists,
    prepare_coco,
    prepare_flickr25k,
    prepare_nuswide,
    write_lists,
)
from robust_hashing.datasets.prepare.cli import main as prepare_main
from robust_hashing.main import main as robust_hashing_main

DATA = Path(__file__).resolve().parents[1] / "data"
PREPARERS = {"flickr25k": prepare_flickr25k, "nuswide": prepare_nuswide, "coco": prepare_coco}
FLICKR_CLASSES = [
    "animals", "baby", "bird", "car", "clouds", "dog", "female", "flower", "food", "indoor",
    "lake", "male", "night", "people", "plant_life", "portrait", "river", "sea", "sky",
    "structures", "sunset", "transport", "tree", "water", "baby_r1", "bird_r1", "car_r1",
    "clouds_r1", "dog_r1", "female_r1", "flower_r1", "male_r1", "night_r1", "people_r1",
    "portrait_r1", "river_r1", "sea_r1", "tree_r1",
]  # fmt: skip


def fixture_module(name: str) -> ModuleType:
    """Import tests/data/<name>/data.py without running its generator."""
    spec = importlib.util.spec_from_file_location(f"fixture_{name}", DATA / name / "data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_two_file(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    paths = (root / f"{split}_img.txt").read_text().splitlines()
    rows = [line.split() for line in (root / f"{split}_label.txt").read_text().splitlines()]
    return paths, np.array(rows, dtype=int).reshape(len(rows), -1)


def read_one_file(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    lines = [line.split() for line in (root / f"{split}.txt").read_text().splitlines()]
    return [x[0] for x in lines], np.array([x[1:] for x in lines], dtype=int)


def copy_raw(name: str, tmp_path: Path) -> Path:
    raw = tmp_path / name
    shutil.copytree(DATA / name, raw, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return raw


def run_fixture(name: str, out: Path, **overrides: object) -> PreparedLists:
    kwargs = {**fixture_module(name).PREPARE_KWARGS, **overrides}
    return PREPARERS[name](DATA / name, out, **kwargs)  # type: ignore[operator]


# --------------------------------------------------------------------------- all datasets


@pytest.mark.parametrize("name", sorted(PREPARERS))
def test_committed_lists_match_fresh_run(name: str, tmp_path: Path) -> None:
    run_fixture(name, tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == 1 + 3 * len(SPLITS)  # classes.txt + 3 files per split
    for file_name in written:
        fresh = (tmp_path / file_name).read_bytes()
        assert fresh == (DATA / name / file_name).read_bytes(), f"{name}/{file_name} drifted"


@pytest.mark.parametrize("name", sorted(PREPARERS))
def test_formats_agree_and_splits_are_consistent(name: str, tmp_path: Path) -> None:
    lists = run_fixture(name, tmp_path)
    num_classes = len((tmp_path / "classes.txt").read_text().splitlines())
    split_paths = {}
    for split in SPLITS:
        paths, labels = read_two_file(tmp_path, split)
        one_paths, one_labels = read_one_file(tmp_path, split)
        assert paths == one_paths == lists.splits[split].paths
        np.testing.assert_array_equal(labels, one_labels)
        np.testing.assert_array_equal(labels, lists.splits[split].labels)
        assert labels.shape == (len(paths), num_classes)
        assert set(np.unique(labels)) <= {0, 1}
        assert all((DATA / name / p).is_file() for p in paths)  # relative to the root
        split_paths[split] = paths
    kwargs = fixture_module(name).PREPARE_KWARGS
    assert len(split_paths["test"]) == kwargs["query"]
    assert len(split_paths["train"]) == kwargs["train"]
    query, database = set(split_paths["test"]), set(split_paths["database"])
    assert not query & database
    assert set(split_paths["train"]) <= database
    assert len(database) == len(split_paths["database"])  # no duplicate database rows
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


@pytest.mark.parametrize("name", sorted(PREPARERS))
def test_seed_changes_splits_but_not_data(name: str, tmp_path: Path) -> None:
    a = run_fixture(name, tmp_path / "a", seed=0)
    b = run_fixture(name, tmp_path / "b", seed=1)
    assert a.splits["test"].paths != b.splits["test"].paths
    everything = [sorted(x.splits["test"].paths + x.splits["database"].paths) for x in (a, b)]
    assert everything[0] == everything[1]


# --------------------------------------------------------------------------- FLICKR-25K


def flickr_raw_labels(image_id: int) -> set[str]:
    folder = DATA / "flickr25k" / "mirflickr25k_annotations_v080"
    return {c for c in FLICKR_CLASSES if str(image_id) in (folder / f"{c}.txt").read_text().split()}


def test_flickr_splits_duplicates_and_labels(tmp_path: Path) -> None:
    lists = prepare_flickr25k(DATA / "flickr25k", tmp_path, query=10, train=15, seed=3)
    assert (tmp_path / "classes.txt").read_text().split() == FLICKR_CLASSES
    train, test, database = (lists.splits[s] for s in ("train", "test", "database"))
    assert (len(train.paths), len(test.paths), len(database.paths)) == (15, 10, 30)
    assert len(set(train.paths)) < len(train.paths)  # sampled with replacement
    assert sorted(test.paths + database.paths) == sorted(
        f"mirflickr/im{i}.jpg" for i in range(1, 41)
    )
    rows = {p: r for s in (test, database) for p, r in zip(s.paths, s.labels, strict=True)}
    for image_id in (1, 2, 5, 17, 26, 33, 40):
        expected = flickr_raw_labels(image_id)
        got = {FLICKR_CLASSES[c] for c in np.flatnonzero(rows[f"mirflickr/im{image_id}.jpg"])}
        assert got == expected
    for image_id in (5, 17, 33):  # listed in no concept file: kept, with an all-zero row
        assert not rows[f"mirflickr/im{image_id}.jpg"].any()
    zero_images = sum(not flickr_raw_labels(i) for i in range(1, 41))
    assert test.zero_rows + database.zero_rows == zero_images >= 3
    assert "all-zero label rows" in lists.summary()


def test_flickr_errors(tmp_path: Path) -> None:
    raw = copy_raw("flickr25k", tmp_path)
    annotations = raw / "mirflickr25k_annotations_v080"
    with pytest.raises(PrepareError, match="query=40 is too large"):
        prepare_flickr25k(raw, query=40, train=5)
    (annotations / "sea.txt").write_text("3\nseven\n")
    with pytest.raises(PrepareError, match=r"sea\.txt:2: expected an image id, got 'seven'"):
        prepare_flickr25k(raw, query=8, train=12)
    (annotations / "sea.txt").write_text("41\n")
    with pytest.raises(PrepareError, match=r"sea\.txt:1: image id 41 has no mirflickr/im41\.jpg"):
        prepare_flickr25k(raw, query=8, train=12)
    (annotations / "sea.txt").unlink()
    with pytest.raises(PrepareError, match=r"missing annotation file for 'sea'.*sea\.txt"):
        prepare_flickr25k(raw, query=8, train=12)
    shutil.rmtree(annotations)
    with pytest.raises(PrepareError, match="missing MIRFLICKR annotation folder"):
        prepare_flickr25k(raw, query=8, train=12)
    assert (raw / "test_label.txt").read_text() != ""  # earlier lists left untouched


# --------------------------------------------------------------------------- NUS-WIDE


def test_nuswide_top21_selection_and_labels(tmp_path: Path) -> None:
    fixture = fixture_module("nuswide")
    lists = run_fixture("nuswide", tmp_path)
    raw_dir = DATA / "nuswide" / "Groundtruth" / "AllLabels"
    raw = {p.stem[len("Labels_") :]: np.loadtxt(p, dtype=int) for p in raw_dir.glob("*.txt")}
    assert {c: int(v.sum()) for c, v in raw.items()} == fixture.COUNTS
    dropped = {"tattoo", "window", "earthquake", "whales"}  # tattoo ties with snow at 8
    assert lists.classes == sorted(set(fixture.COUNTS) - dropped)
    assert (tmp_path / "classes.txt").read_text().split() == lists.classes
    image_list = (DATA / "nuswide" / "ImageList" / "Imagelist.txt").read_text().splitlines()
    rows = {
        p: r
        for s in ("test", "database")
        for p, r in zip(lists.splits[s].paths, lists.splits[s].labels, strict=True)
    }
    assert len(rows) == 60  # the last 4 images carry none of the 21 concepts
    for index in (0, 1, 30, 59):
        folder, name = image_list[index].split("\\")[-2:]
        expected = [int(raw[c][index]) for c in lists.classes]
        assert rows[f"Flickr/{folder}/{name}"].tolist() == expected
    for index in range(60, 64):
        assert not any(p.endswith(image_list[index].split("\\")[-1]) for p in rows)
    for split in ("test", "train"):  # at least one image per concept, 21 images in all
        labels = lists.splits[split].labels
        assert labels.shape == (21, 21) and (labels.sum(axis=0) >= 1).all()


def test_nuswide_images_path_style(tmp_path: Path) -> None:
    lists = run_fixture("nuswide", tmp_path, path_style="images")
    default = run_fixture("nuswide", tmp_path / "default")
    for split in SPLITS:
        paths = lists.splits[split].paths
        assert paths == [f"images/{p.rsplit('/', 1)[1]}" for p in default.splits[split].paths]


def test_nuswide_errors(tmp_path: Path) -> None:
    raw = copy_raw("nuswide", tmp_path)
    with pytest.raises(PrepareError, match="query=20 must be a multiple of num_classes=21"):
        prepare_nuswide(raw, query=20, train=21)
    with pytest.raises(PrepareError, match="query=63 is too large: only 60 usable images"):
        prepare_nuswide(raw, query=63, train=21)
    with pytest.raises(PrepareError, match="train=42 is too large: the database holds only 39"):
        prepare_nuswide(raw, query=21, train=42)
    with pytest.raises(PrepareError, match="cannot draw 1 query images for concept 'whales'"):
        prepare_nuswide(raw, query=25, train=25, num_classes=25)
    with pytest.raises(PrepareError, match="need 26 concepts but found only 25"):
        prepare_nuswide(raw, query=26, train=26, num_classes=26)
    sky = raw / "Groundtruth" / "AllLabels" / "Labels_sky.txt"
    values = sky.read_text().splitlines()
    sky.write_text("\n".join(values[:-1]) + "\n")
    with pytest.raises(
        PrepareError, match=r"Labels_sky\.txt has 63 label lines but .*Imagelist\.txt lists 64"
    ):
        prepare_nuswide(raw, query=21, train=21)
    sky.write_text("\n".join([*values[:9], "2", *values[10:]]) + "\n")
    with pytest.raises(PrepareError, match=r"Labels_sky\.txt:10: expected 0 or 1, got '2'"):
        prepare_nuswide(raw, query=21, train=21)
    (raw / "ImageList" / "Imagelist.txt").unlink()
    with pytest.raises(PrepareError, match="missing NUS-WIDE image list"):
        prepare_nuswide(raw, query=21, train=21)


# --------------------------------------------------------------------------- MS-COCO


COCO_MISSING_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}  # gaps in the real 1..90 ids


def test_coco_category_order_and_labels(tmp_path: Path) -> None:
    lists = run_fixture("coco", tmp_path)
    fixture = fixture_module("coco")
    ids = [category_id for category_id, _, _ in fixture.CATEGORIES]
    assert ids == sorted(set(range(1, 91)) - COCO_MISSING_IDS) and len(ids) == 80
    assert lists.classes == [name for _, name, _ in fixture.CATEGORIES]  # ascending id order
    assert lists.classes[:3] == ["person", "bicycle", "car"]
    assert lists.classes[-1] == "toothbrush" and len(set(lists.classes)) == 80
    assert (tmp_path / "classes.txt").read_text().splitlines() == lists.classes
    column = {category_id: i for i, category_id in enumerate(ids)}
    expected, unannotated, used = {}, set(), set()
    for part in ("train2014", "val2014"):
        data = json.loads((DATA / "coco" / "annotations" / f"instances_{part}.json").read_text())
        listed = [c["id"] for c in data["categories"]]
        assert sorted(listed) == ids and listed != ids  # all 80, listed out of id order
        used |= {a["category_id"] for a in data["annotations"]}
        for image in data["images"]:
            cats = {
                column[a["category_id"]]
                for a in data["annotations"]
                if a["image_id"] == image["id"]
            }
            path = f"{part}/{image['file_name']}"
            (expected.__setitem__(path, cats) if cats else unannotated.add(path))
    rows = {
        p: r
        for s in ("test", "database")
        for p, r in zip(lists.splits[s].paths, lists.splits[s].labels, strict=True)
    }
    assert len(unannotated) == 5 and not unannotated & set(rows)
    assert set(rows) == set(expected)
    assert all(set(np.flatnonzero(rows[p])) == cats for p, cats in expected.items())
    assert used == set(fixture.USED) and len(used) < 80  # only a handful of categories used
    labels = np.concatenate([lists.splits[s].labels for s in SPLITS])
    assert labels.shape[1] == 80
    assert set(np.flatnonzero(labels.any(axis=0))) <= {column[c] for c in used}
    database = lists.splits["database"].paths
    assert database == sorted(database, key=lambda p: (not p.startswith("train"), p))


def test_coco_errors(tmp_path: Path) -> None:
    raw = copy_raw("coco", tmp_path)
    with pytest.raises(PrepareError, match="train=30 is too large: the database holds only 29"):
        prepare_coco(raw, query=6, train=30)
    val = raw / "annotations" / "instances_val2014.json"
    data = json.loads(val.read_text())
    data["annotations"][0]["category_id"] = 12  # one of the gaps in the real COCO ids
    val.write_text(json.dumps(data))
    with pytest.raises(
        PrepareError, match=r"instances_val2014\.json: annotation \d+ has unknown category_id 12"
    ):
        prepare_coco(raw, query=6, train=10)
    data["categories"] = data["categories"][1:]
    val.write_text(json.dumps(data))
    with pytest.raises(PrepareError, match="categories differ"):
        prepare_coco(raw, query=6, train=10)
    val.write_text("{")
    with pytest.raises(PrepareError, match=r"instances_val2014\.json:1: invalid JSON"):
        prepare_coco(raw, query=6, train=10)
    val.unlink()
    with pytest.raises(
        PrepareError, match=r"missing COCO annotation file: .*instances_val2014\.json"
    ):
        prepare_coco(raw, query=6, train=10)


# --------------------------------------------------------------------------- writer and CLI


def test_write_lists_is_all_or_nothing(tmp_path: Path) -> None:
    good = SplitLists(["a.jpg"], np.array([[1, 0]], dtype=np.uint8))
    bad = SplitLists(["b c.jpg"], np.array([[0, 1]], dtype=np.uint8))
    with pytest.raises(PrepareError, match=r"'b c\.jpg' is empty or contains whitespace"):
        write_lists(
            tmp_path, PreparedLists(["x", "y"], {"train": good, "test": good, "database": bad})
        )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(PrepareError, match="1 paths but a label matrix of shape"):
        SplitLists(["a.jpg"], np.zeros((2, 2), dtype=np.uint8))


def test_cli_prepare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = DATA / "coco"
    argv = ["coco", "--raw", str(raw), "--out", str(tmp_path), "--query", "6", "--train", "10"]
    assert robust_hashing_main(["prepare", *argv]) == 0
    out = capsys.readouterr().out
    assert "test" in out and "all-zero label rows" in out and "dropped (no category): 5" in out
    assert (tmp_path / "train.txt").read_bytes() == (raw / "train.txt").read_bytes()
    assert prepare_main(["coco", "--raw", str(raw), "--out", str(tmp_path), "--train", "99"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("robust-hashing prepare coco: error: query=5000 is too large")
    assert "\n" not in err
    with pytest.raises(SystemExit) as exc:
        prepare_main(["nuswide", "--help"])
    assert exc.value.code == 0
    assert "--path-style" in capsys.readouterr().out


def _one_error_line(capsys: pytest.CaptureFixture[str], dataset: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err
    assert err.startswith(f"robust-hashing prepare {dataset}: error: ")
    return err


def test_cli_non_utf8_raw_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = copy_raw("nuswide", tmp_path)
    image_list = raw / "ImageList" / "Imagelist.txt"
    lines = image_list.read_bytes().splitlines(keepends=True)
    image_list.write_bytes(
        b"".join([*lines[:4], b"C:\\ImageData\\actor\\\xff\xfe.jpg\r\n", *lines[5:]])
    )
    argv = ["--raw", str(raw), "--out", str(tmp_path / "out"), "--query", "21", "--train", "21"]
    assert prepare_main(["nuswide", *argv]) == 1
    assert f"{image_list}:5: not UTF-8 text (byte 0xff" in _one_error_line(capsys, "nuswide")
    label_file = raw / "Groundtruth" / "AllLabels" / "Labels_sky.txt"
    image_list.write_bytes(b"".join(lines))
    label_file.write_bytes(label_file.read_bytes().replace(b"1", b"\xb9", 1))
    assert prepare_main(["nuswide", *argv]) == 1
    assert f"{label_file}:" in _one_error_line(capsys, "nuswide")

    coco = copy_raw("coco", tmp_path)
    val = coco / "annotations" / "instances_val2014.json"
    val.write_bytes(val.read_bytes().replace(b'"images"', b'"images\xe9"', 1))
    argv = ["--raw", str(coco), "--out", str(tmp_path / "out"), "--query", "6", "--train", "10"]
    assert prepare_main(["coco", *argv]) == 1
    assert f"{val}:1: not UTF-8 text (byte 0xe9" in _one_error_line(capsys, "coco")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--num-classes", "0", "argument --num-classes: must be at least 1, got 0"),
        ("--query", "0", "argument --query: must be at least 1, got 0"),
        ("--train", "-3", "argument --train: must be at least 1, got -3"),
        ("--seed", "-1", "argument --seed: must be at least 0, got -1"),
        ("--query", "ten", "argument --query: expected an integer, got 'ten'"),
    ],
)
def test_cli_numeric_arguments_are_checked_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    argv = ["nuswide", "--raw", str(DATA / "nuswide"), "--out", str(tmp_path), option, value]
    with pytest.raises(SystemExit) as exc:
        prepare_main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"robust-hashing prepare nuswide: error: {expected}"
    assert not list(tmp_path.iterdir())
    with pytest.raises(PrepareError, match="num_classes must be at least 1, got 0"):
        prepare_nuswide(DATA / "nuswide", tmp_path, query=21, train=21, num_classes=0)
