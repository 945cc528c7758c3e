"""Atomic writes: a failed write keeps the previous file; new files get the usual mode."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

import robust_hashing.io as rio
from robust_hashing.io import unwritable_reason, write_json_atomic, write_text_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_files_get_umask_permissions_not_the_temp_files(tmp_path: Path, umask_022) -> None:
    path = tmp_path / "result.json"
    write_json_atomic(path, {"a": 1})
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o044 == 0o044  # group and others may read, as for any new file
    assert mode == 0o644
    os.umask(0o077)
    write_text_atomic(path, "private\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a stricter umask is respected


def test_disk_full_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "leaderboard" / "result.json"
    write_json_atomic(path, {"figure": 0.5})
    before = path.read_bytes()

    def half_then_full(self: Path, text: str, *args: object, **kwargs: object) -> int:
        with open(self, "w") as handle:  # part of the data reaches the temporary file
            handle.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(OSError) as caught:
        write_json_atomic(path, {"figure": 0.25, "more": list(range(100))})
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == before and json.loads(path.read_text()) == {"figure": 0.5}
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.json"]  # no temp left


def test_disk_full_at_the_flush_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "done.json"
    write_text_atomic(path, "old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rio.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(path, "new\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["done.json"]


def test_unwritable_reason_creates_nothing(tmp_path: Path) -> None:
    assert unwritable_reason(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists()
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert (
        unwritable_reason(blocker / "out")
        == f"cannot create {blocker / 'out'}: {blocker} is not a folder"
    )
    assert unwritable_reason(blocker) == f"{blocker} is not a folder"
    assert unwritable_reason(tmp_path, folder=False) == f"{tmp_path} is a folder"
    assert unwritable_reason(blocker / "report.json", folder=False) is not None
    assert unwritable_reason(tmp_path / "report.json", folder=False) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_unwritable_reason_of_a_read_only_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert unwritable_reason(locked / "cache") == (
            f"{locked} is not writable (needed for {locked / 'cache'})"
        )
    finally:
        locked.chmod(0o755)
