from __future__ import annotations

import json
from pathlib import Path

from robust_hashing.benchmark.cache import (
    ArtefactCache,
    code_version,
    config_hash,
    git_commit,
    write_json_atomic,
)


def test_key_depends_on_everything_that_determines_the_artefact(tmp_path: Path) -> None:
    cache = ArtefactCache(tmp_path)
    key = cache.key("attack", {"a": 1, "b": [1, 2]}, ["up1"], 0)
    assert key == cache.key("attack", {"b": [1, 2], "a": 1}, ["up1"], 0)  # order-free
    assert key != cache.key("attack", {"a": 2, "b": [1, 2]}, ["up1"], 0)
    assert key != cache.key("attack", {"a": 1, "b": [1, 2]}, ["up2"], 0)
    assert key != cache.key("attack", {"a": 1, "b": [1, 2]}, ["up1"], 1)
    assert key != cache.key("defense", {"a": 1, "b": [1, 2]}, ["up1"], 0)
    assert len(key) == 16 and config_hash({"x": 1}) == config_hash({"x": 1})
    assert set(code_version()) == {"package", "source"}
    assert git_commit()


def test_done_marker_is_atomic_and_last(tmp_path: Path) -> None:
    cache = ArtefactCache(tmp_path)
    folder = cache.path("clean", "abc")
    assert not cache.is_done("clean", "abc")
    folder.mkdir(parents=True)
    (folder / "model.ckpt").write_text("weights")
    assert not cache.is_done("clean", "abc")  # files without the marker = interrupted
    ArtefactCache.mark_done(folder, {"seconds": 1.5})
    assert cache.is_done("clean", "abc")
    assert cache.read_done("clean", "abc") == {"seconds": 1.5}
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_write_json_atomic_replaces(tmp_path: Path) -> None:
    path = tmp_path / "x" / "f.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
