"""Faults a run must survive: a corrupt ``done.json``, non-finite figures, out of memory,
a full disk while publishing."""

from __future__ import annotations

import errno
import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from robust_hashing.benchmark.cache import DONE, ArtefactCache
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.executors import InlineExecutor
from robust_hashing.benchmark.faults import is_out_of_memory
from robust_hashing.benchmark.runner import run_grid

from .conftest import FakeCatalog, make_grid

FAULT_STEPS = str(Path(__file__).with_name("fault_steps.py"))
PREFIX = "attack/fake-16bit-dpsh-test_cnn/none/"


def _attack(name: str) -> type:
    return type(name, (), {"supported_modes": ("untargeted",), "quick": {}})


class FaultCatalog(FakeCatalog):
    ATTACKS: ClassVar[dict[str, type]] = {
        **FakeCatalog.ATTACKS,
        **{n: _attack(n) for n in ("nan", "flat", "oom_once", "oom_always")},
    }


@pytest.fixture
def fault_options(options):
    return replace(options, steps=FAULT_STEPS)


def calls(cache_dir: Path) -> list[str]:
    path = cache_dir / "calls.jsonl"
    return [json.loads(ln)["id"] for ln in path.read_text().splitlines()] if path.is_file() else []


def attack_failures(summary) -> list[str]:
    """Failed attack cells (the cells that depend on them are skipped, not failed)."""
    return [k for k in summary.failures if k.startswith("attack/")]


@pytest.mark.parametrize("content", ["", '{"id": "attack/x", "result": {"clean_m', "[1, 2]\n"])
def test_a_corrupt_done_json_is_not_done(catalog, options, content: str) -> None:
    grid = make_grid(defenses=["none"], attacks=["weak"])
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    cells = plan(grid, ArtefactCache(options.cache_dir), catalog)
    victim = next(c for c in cells if c.kind == "attack")
    (victim.dir / DONE).write_text(content)  # truncated by a copy, an outside tool, a full disk
    cache = ArtefactCache(options.cache_dir)
    assert not cache.is_done(victim.kind, victim.key)
    with pytest.raises(FileNotFoundError, match="missing or unreadable"):
        cache.read_done(victim.kind, victim.key)
    out = io.StringIO()
    summary = run_grid(grid, replace(options, dry_run=True), InlineExecutor(), catalog, stream=out)
    assert summary.status[victim.id] == "to run"  # the dry run and the run agree
    assert f"to run  {victim.key}  {victim.id}" in out.getvalue()
    before = len(calls(options.cache_dir))
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert summary.exit_code == 0 and summary.status[victim.id] == "done"
    assert calls(options.cache_dir)[before:] == [victim.id]
    assert cache.read_done(victim.kind, victim.key)["id"] == victim.id


def test_non_finite_attack_figures_fail_the_cell_and_are_never_cached(fault_options) -> None:
    catalog = FaultCatalog()
    grid = make_grid(defenses=["none"], attacks=["weak", "nan"])
    summary = run_grid(grid, fault_options, InlineExecutor(), catalog, stream=io.StringIO())
    assert summary.exit_code == 1 and attack_failures(summary) == [PREFIX + "nan"]
    why = summary.failures[PREFIX + "nan"]
    assert "FloatingPointError: attack 'nan' gave non-finite figures (linf=nan, l2=inf;" in why
    cells = {c.id: c for c in plan(grid, ArtefactCache(fault_options.cache_dir), catalog)}
    assert not (cells[PREFIX + "nan"].dir / DONE).exists()
    results = fault_options.leaderboard_dir / "results"
    assert "nan" not in " ".join(p.name for p in results.rglob("*.json"))
    again = run_grid(grid, fault_options, InlineExecutor(), catalog, stream=io.StringIO())
    assert again.status[PREFIX + "nan"] == "failed"  # tried again, not taken from the cache


def test_an_attack_that_flips_no_bit_is_a_warning(fault_options) -> None:
    out = io.StringIO()
    grid = make_grid(defenses=["none"], attacks=["flat"])
    summary = run_grid(grid, fault_options, InlineExecutor(), FaultCatalog(), stream=out)
    assert summary.exit_code == 0
    cell = next(c for c in plan(grid, ArtefactCache(fault_options.cache_dir), FaultCatalog())
                if c.kind == "attack")  # fmt: skip
    done = json.loads((cell.dir / DONE).read_text())
    n = f"{done['result']['n_queries']:g}"
    warning = f"attack 'flat' changed no bit of any query's code (bit_flip 0 over {n} queries)"
    assert f"    warning: {warning}: check its hyper-parameters" in out.getvalue()
    assert done["warnings"] == [f"{warning}: check its hyper-parameters"]


def test_out_of_memory_retries_with_half_the_attack_batch(fault_options) -> None:
    grid = make_grid(
        datasets=[{"name": "fake", "kwargs": {"n": 1, "eval_batch_size": 16}}],
        defenses=["none"], attacks=["oom_once", "oom_always"],
    )  # fmt: skip
    summary = run_grid(grid, fault_options, InlineExecutor(), FaultCatalog(), stream=io.StringIO())
    assert summary.status[PREFIX + "oom_once"] == "done"
    cells = {c.id: c for c in plan(grid, ArtefactCache(fault_options.cache_dir), FaultCatalog())}
    done = json.loads((cells[PREFIX + "oom_once"].dir / DONE).read_text())
    assert done["result"]["batch"] == 8  # ran with half of 16
    assert done["warnings"][0].startswith("out of memory with attack batch 16 (CUDA out of memory")
    assert calls(fault_options.cache_dir).count(PREFIX + "oom_once") == 2
    # out of CPU memory at 16 and again at 8: the cell fails, nothing cached
    assert summary.status[PREFIX + "oom_always"] == "failed"
    assert attack_failures(summary) == [PREFIX + "oom_always"]
    assert (
        "out of memory with attack batch 16 and again with 8: [enforce fail"
        in (summary.failures[PREFIX + "oom_always"])
    )
    assert calls(fault_options.cache_dir).count(PREFIX + "oom_always") == 2
    assert not (cells[PREFIX + "oom_always"].dir / DONE).exists()


def test_out_of_memory_is_recognised() -> None:
    import torch

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory."))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))  # not a resource error


def test_a_full_disk_while_publishing_keeps_the_previous_board(catalog, options, monkeypatch):
    from robust_hashing import io as rio

    grid = make_grid(defenses=["none", "good"], attacks=["weak"])
    run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    board = options.leaderboard_dir

    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(board)): p.read_bytes() for p in board.rglob("*") if p.is_file()}

    before = snapshot()
    grid = make_grid(defenses=["none", "good"], attacks=["weak", "strong"])
    real = rio._flush_to_disk

    def full_disk(path: Path) -> None:
        if path.parent.is_relative_to(board):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path)

    monkeypatch.setattr(rio, "_flush_to_disk", full_disk)
    with pytest.raises(OSError) as caught:
        run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert caught.value.errno == errno.ENOSPC
    assert snapshot() == before  # no partial result, no temporary file, old board intact
    monkeypatch.undo()
    summary = run_grid(grid, options, InlineExecutor(), catalog, stream=io.StringIO())
    assert summary.exit_code == 0 and set(summary.status.values()) <= {"cached", "done"}
