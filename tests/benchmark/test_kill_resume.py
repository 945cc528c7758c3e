"""Real fault injection: the runner SIGKILLed at random moments, then restarted, until done.

The runner runs in its own process (forked, so that each start costs milliseconds instead
of an interpreter and torch start-up) as the leader of its own process group, with the
instant fake steps; the test kills the whole group with SIGKILL at seeded random moments,
and at chosen points: while a ``done.json`` (a cache write), a result JSON or the
leaderboard CSV is being written (between the temporary file and the rename, and halfway
through the temporary file). After every kill it checks that no file under its final name
is partial, and after every restart that no finished cell ran again. The final board and
every result JSON must be byte-identical to those of an uninterrupted run.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sys
import time
import types
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import pytest

from robust_hashing.benchmark import worker
from robust_hashing.benchmark.cache import DONE, git_commit, read_marker, source_digest
from robust_hashing.benchmark.executors import Executor, InlineExecutor, LocalExecutor
from robust_hashing.benchmark.runner import RunOptions, run_grid

from .conftest import FakeCatalog, make_grid

FAULT_STEPS = str(Path(__file__).with_name("fault_steps.py"))
SEED = 21
RANDOM_KILLS = 20
# (file name, phase): stop there, and the test kills the runner; "rename" = the temporary
# file is complete but not yet renamed, "half" = half of the temporary file is written
PAUSES = [
    (DONE, "rename"),
    (DONE, "half"),
    ("leaderboard.csv", "rename"),
    ("leaderboard.csv", "half"),
    ("result", "rename"),
    ("result", "half"),
]
MARKER = "paused"

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("fork and process groups", allow_module_level=True)


def _pause_hooks(root: Path, name: str, phase: str, skip: int) -> None:
    """Stop this (child) process at atomic write number ``skip + 1`` of ``name``, in ``phase``."""
    seen = [0]

    def matches(final: Path) -> bool:
        if name == "result":  # a leaderboard result JSON
            hit = final.suffix == ".json" and "results" in final.parts
        else:
            hit = final.name == name
        seen[0] += hit
        return hit and seen[0] > skip

    def stop(where: Path) -> NoReturn:
        (root / MARKER).write_text(str(where))
        while True:
            time.sleep(1)

    if phase == "rename":
        real_replace = os.replace

        def pausing_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if matches(Path(dst)):
                stop(Path(dst))
            real_replace(src, dst, *args, **kwargs)

        os.replace = pausing_replace  # type: ignore[assignment]
    else:
        real_write = Path.write_text

        def pausing_write(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
            # a temporary file of the atomic writes: .<final name>.<random>.tmp
            temporary = self.name.startswith(".") and self.name.endswith(".tmp")
            if temporary and matches(self.parent / self.name[1:].rsplit(".", 2)[0]):
                real_write(self, text[: len(text) // 2], *args, **kwargs)
                stop(self)
            return real_write(self, text, *args, **kwargs)

        Path.write_text = pausing_write  # type: ignore[method-assign]


def _child(
    opts: RunOptions, root: Path, pause: tuple[str, str, int] | None, executor: Executor
) -> NoReturn:
    """Body of the forked runner: its own process group, then the grid; never returns."""
    code = 3
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        # a cell's wall time is the one figure two runs never share: pin it
        worker.time = types.SimpleNamespace(perf_counter=lambda: 0.0)  # type: ignore[assignment]
        if pause is not None:
            _pause_hooks(root, *pause)
        with open(os.devnull, "w") as out:
            code = run_grid(make_grid(), opts, executor, FakeCatalog(), stream=out).exit_code
    finally:
        os._exit(code)


def _start(
    opts: RunOptions,
    root: Path,
    pause: tuple[str, str, int] | None = None,
    executor: Executor | None = None,
) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(opts, root, pause, executor or InlineExecutor())
    while True:  # the child makes itself a group leader; wait until it has
        try:
            if os.getpgid(pid) == pid:
                return pid
        except ProcessLookupError:
            return pid
        time.sleep(0.001)


def _kill_group(pid: int) -> bool:
    """SIGKILL the runner's process group; True if it was still running."""
    finished, _ = os.waitpid(pid, os.WNOHANG)
    if finished:
        return False
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return True


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _warm_up(opts: RunOptions) -> None:
    """Run the grid once in this process before any fork.

    The forked runners then start with every module imported (a start costs milliseconds),
    and with the code digest and commit of the keys fixed, so that files edited meanwhile
    do not move the keys between restarts.
    """
    git_commit(), source_digest()
    summary = run_grid(make_grid(), opts, InlineExecutor(), FakeCatalog(), stream=io.StringIO())
    assert summary.exit_code == 0, summary.failures


def _calls(cache: Path) -> list[str]:
    path = cache / "calls.jsonl"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [json.loads(line)["id"] for line in lines]


def _done_cells(cache: Path) -> dict[str, dict[str, Any]]:
    """Every ``done.json`` under its final name, by cell id; each must be complete."""
    out = {}
    for path in cache.glob(f"*/*/{DONE}"):
        data = read_marker(path)
        assert data is not None, f"partial {path} under its final name"
        out[data["id"]] = data
    return out


def _board(folder: Path) -> dict[str, bytes]:
    """The leaderboard CSV and result JSONs under their final names (no temporary files)."""
    files = [folder / "leaderboard.csv", *sorted((folder / "results").rglob("*.json"))]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files if p.is_file()}


def test_sigkill_at_random_moments_then_resume_gives_the_same_board(tmp_path: Path) -> None:
    rng = random.Random(SEED)

    def options(name: str) -> RunOptions:
        return RunOptions(cache_dir=tmp_path / name / "cache",
                          leaderboard_dir=tmp_path / name / "board", steps=FAULT_STEPS,
                          entry_points=False, poll_seconds=0.01)  # fmt: skip

    _warm_up(options("warm-up"))
    ref = options("reference")
    start = time.perf_counter()
    assert _wait(_start(ref, tmp_path)) == 0
    expected = time.perf_counter() - start  # how long a run takes from the current state
    reference = _board(ref.leaderboard_dir)
    ref_done = _done_cells(ref.cache_dir)
    assert "leaderboard.csv" in reference and len(reference) > 10
    assert sorted(_calls(ref.cache_dir)) == sorted(ref_done)  # each cell ran once

    opts = options("killed")
    schedule: list[tuple[str, str, int] | None] = [None] * RANDOM_KILLS
    for name, phase in PAUSES:  # the chosen points at seeded places among the random kills
        if name != DONE:
            skip = rng.randrange(3) if name == "result" else 0  # one board per run
            schedule.insert(rng.randrange(len(schedule) + 1), (name, phase, skip))
    # a cache write needs cells still to run: those two come first, each at a seeded cell
    schedule[:0] = [(DONE, phase, rng.randrange(4)) for name, phase in PAUSES if name == DONE]
    kills = paused = attempts = 0
    while schedule:
        attempts += 1
        assert attempts < 200, "the runner never got far enough to be killed"
        pause = schedule[0]
        done_before = set(_done_cells(opts.cache_dir))
        n_calls = len(_calls(opts.cache_dir))
        marker = tmp_path / MARKER
        marker.unlink(missing_ok=True)
        begin = time.perf_counter()
        pid = _start(opts, tmp_path, pause)
        if pause is None:
            # the first half of the random kills within a fifth of a run: they land among
            # the cells; the others anywhere in a run (once all cells are done, in publishing)
            early = kills - paused < RANDOM_KILLS // 2
            time.sleep(rng.uniform(0, expected / 5 if early else expected))
            killed = _kill_group(pid)
            if not killed:  # it finished first: later runs start from a fuller cache
                expected = time.perf_counter() - begin
        else:
            deadline = time.perf_counter() + 20
            while not marker.exists() and time.perf_counter() < deadline:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pytest.fail(f"the runner finished without reaching {pause}")
                time.sleep(0.002)
            assert marker.exists(), f"the runner never reached {pause}"
            killed = _kill_group(pid)
            assert killed
            paused += 1
        if killed:
            kills += 1
            schedule.pop(0)
        # no partial file under its final name; what is there equals the reference
        done = _done_cells(opts.cache_dir)
        for cell_id, data in done.items():
            result = json.dumps(data["result"], sort_keys=True).replace("/killed/", "/reference/")
            assert result == json.dumps(ref_done[cell_id]["result"], sort_keys=True), cell_id
        for name, content in _board(opts.leaderboard_dir).items():
            assert content == reference[name], f"{name} differs after a kill"
        # no cell that had finished before this start ran again
        again = set(_calls(opts.cache_dir)[n_calls:]) & done_before
        assert not again, f"finished cells recomputed: {sorted(again)}"
    assert kills == RANDOM_KILLS + len(PAUSES) and paused == len(PAUSES)
    done_before = set(_done_cells(opts.cache_dir))
    n_calls = len(_calls(opts.cache_dir))
    assert _wait(_start(opts, tmp_path)) == 0  # the last restart runs to the end
    assert not set(_calls(opts.cache_dir)[n_calls:]) & done_before
    assert _board(opts.leaderboard_dir) == reference  # byte-identical CSV and result JSONs
    assert set(_done_cells(opts.cache_dir)) == set(ref_done)
    leftovers = [p.name for p in opts.leaderboard_dir.rglob("*.tmp")]
    assert all(name.startswith(".") for name in leftovers)  # never read as a result


def test_a_plain_restart_after_completion_recomputes_nothing(tmp_path: Path) -> None:
    opts = RunOptions(cache_dir=tmp_path / "cache", leaderboard_dir=tmp_path / "board",
                      steps=FAULT_STEPS, entry_points=False, poll_seconds=0.01)  # fmt: skip
    _warm_up(replace(opts, cache_dir=tmp_path / "warm", leaderboard_dir=tmp_path / "warm-board"))
    assert _wait(_start(opts, tmp_path)) == 0
    first, n_calls = _board(opts.leaderboard_dir), len(_calls(opts.cache_dir))
    assert _wait(_start(replace(opts), tmp_path)) == 0
    assert len(_calls(opts.cache_dir)) == n_calls and _board(opts.leaderboard_dir) == first


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of the process group ``pgid``, from ``/proc``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # pid (comm) state ppid pgrp ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_killing_the_group_stops_its_worker_processes_too(tmp_path: Path) -> None:
    """With worker subprocesses, the SIGKILL of the group leaves no worker finishing a cell."""
    opts = RunOptions(cache_dir=tmp_path / "cache", leaderboard_dir=tmp_path / "board",
                      steps=FAULT_STEPS, entry_points=False, poll_seconds=0.01)  # fmt: skip
    _warm_up(replace(opts, cache_dir=tmp_path / "warm", leaderboard_dir=tmp_path / "warm-board"))
    run_grid(make_grid(), replace(opts, only="defense/*"), InlineExecutor(), FakeCatalog(),
             stream=io.StringIO())  # fmt: skip
    done_before, n_calls = set(_done_cells(opts.cache_dir)), len(_calls(opts.cache_dir))
    pid = _start(opts, tmp_path, executor=LocalExecutor())
    deadline = time.perf_counter() + 20
    while not [p for p in _group_members(pid) if p != pid]:  # a worker process has started
        assert time.perf_counter() < deadline and not os.waitpid(pid, os.WNOHANG)[0]
        time.sleep(0.01)
    assert _kill_group(pid)
    deadline = time.perf_counter() + 5
    while _group_members(pid):  # the workers die with the runner
        assert time.perf_counter() < deadline, f"workers outlived the runner: {_group_members(pid)}"
        time.sleep(0.01)
    assert set(_done_cells(opts.cache_dir)) == done_before
    assert len(_calls(opts.cache_dir)) == n_calls
    assert _wait(_start(opts, tmp_path)) == 0  # the restart finishes the grid
    assert not set(_calls(opts.cache_dir)[n_calls:]) & done_before
    assert (opts.leaderboard_dir / "leaderboard.csv").is_file()
