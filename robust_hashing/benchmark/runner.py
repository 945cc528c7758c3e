"""Fill a grid: plan the cells, run the missing ones in worker processes, publish the results.

Cells already finished in the cache are reused. Every other cell runs in its own process
(:mod:`robust_hashing.benchmark.executors`) as soon as its dependencies are done, at most
one per slot (a GPU, or a CPU worker); a failed cell is recorded, the cells that depend on
it are skipped, and everything else goes on. At the end the finished attack cells are
written as leaderboard JSONs, the leaderboard is rendered and the failures are listed.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from robust_hashing.benchmark.cache import ArtefactCache, write_json_atomic
from robust_hashing.benchmark.catalog import Catalog
from robust_hashing.benchmark.cells import Cell, plan, skipped_victims
from robust_hashing.benchmark.executors import Executor
from robust_hashing.benchmark.grid import Grid, GridError
from robust_hashing.benchmark.progress import Progress, last_error_line
from robust_hashing.benchmark.spec import CellSpec, Runtime


@dataclass
class RunOptions:
    """How to run a grid (everything that does not change the results)."""

    cache_dir: Path = Path(".cache/benchmark")
    leaderboard_dir: Path | None = None
    gpus: list[int] = field(default_factory=list)  # GPU ids; empty = CPU
    workers: int = 1  # parallel CPU workers when ``gpus`` is empty
    per_gpu: int = 1  # cells that share one GPU at a time (one process each)
    plugins: list[str] = field(default_factory=list)
    only: str | None = None
    dry_run: bool = False
    steps: str | None = None  # module providing STEPS (tests); default: benchmark.steps
    entry_points: bool = True
    batch: bool = True  # attack cells of one defended model share a worker process
    rehash: bool = False  # read every image again for the data keys (``--rehash``)
    poll_seconds: float = 0.5


@dataclass
class RunSummary:
    """Outcome of :func:`run_grid`."""

    status: dict[str, str]
    failures: dict[str, str]
    frame: Any = None  # leaderboard DataFrame (None on a dry run)
    cells: list[Cell] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 if any cell failed, else 0."""
        return 1 if self.failures else 0


def _runtime(grid: Grid, opts: RunOptions, devices: int) -> Runtime:
    accelerator = grid.trainer["accelerator"]
    return Runtime(
        seed=grid.seed,
        accelerator="gpu" if opts.gpus else ("cpu" if accelerator == "auto" else accelerator),
        devices=devices,
        strategy=grid.trainer.get("strategy") if devices > 1 else None,
        plugins=tuple(opts.plugins),
        entry_points=opts.entry_points,
        steps=opts.steps,
        cache_root=opts.cache_dir,
        wandb_project=grid.wandb.get("project", "robust_hashing"),
        top_k=grid.top_k,
    )


class Scheduler:
    """Runs the cells of a plan with an executor, respecting dependencies and slots.

    With ``RunOptions.batch`` the ready attack cells of one defended model share a worker
    process (saving the interpreter and library start-up per cell): a Python exception
    still fails only its own cell, and if the whole process dies (OOM, segfault) its
    unfinished cells are re-queued one process each, so the culprit is isolated.
    """

    def __init__(self, cells: list[Cell], grid: Grid, opts: RunOptions, executor: Executor) -> None:
        self.cells, self.grid, self.opts, self.executor = cells, grid, opts, executor
        self.by_id = {c.id: c for c in cells}
        self.cache = ArtefactCache(opts.cache_dir)
        self.status: dict[str, str] = {}
        self.failures: dict[str, str] = {}
        self.single: set[str] = set()  # cells that must run alone (after a crashed batch)
        # one slot per running process: each GPU id ``per_gpu`` times, spread over the GPUs
        # first (g0, g1, g0, g1, ...); on a CPU, one negative id per worker
        self.free = (
            [g for _ in range(max(opts.per_gpu, 1)) for g in opts.gpus]
            if opts.gpus
            else list(range(-max(opts.workers, 1), 0))
        )

    def _spec(self, cell: Cell, gpus: list[int]) -> dict[str, Any]:
        """Write the cell's ``cell.json`` (the worker's input); returns its content."""
        devices = len(gpus) if self.opts.gpus else 1
        upstream = {self.by_id[d].kind: self.by_id[d].dir for d in cell.deps}
        spec = CellSpec(cell, upstream, _runtime(self.grid, self.opts, devices)).to_json()
        cell.dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(cell.dir / "cell.json", spec)
        return spec

    def _claim(self, cell: Cell) -> list[int] | None:
        """Take the slots ``cell`` needs, None if not free yet.

        A cell gets one CPU slot, or ``cell.devices`` slots on as many different GPUs.
        """
        want = min(cell.devices, len(self.opts.gpus)) if self.opts.gpus else 1
        claimed = list(dict.fromkeys(self.free))[:want]  # distinct ids, in slot order
        if len(claimed) < want:
            return None
        for slot in claimed:
            self.free.remove(slot)
        return claimed

    def _unit(self, cell: Cell, ready: list[Cell]) -> list[Cell]:
        if not self.opts.batch or cell.kind != "attack" or cell.id in self.single:
            return [cell]
        return [c for c in ready if c.deps == cell.deps and c.id not in self.single]

    def _launch(self, unit: list[Cell], slots: list[int]) -> Any:
        gpus = slots if self.opts.gpus else []
        specs = [self._spec(c, gpus) for c in unit]
        path = unit[0].dir / ("batch.json" if len(unit) > 1 else "cell.json")
        if len(unit) > 1:
            write_json_atomic(path, {"cells": specs})
        return self.executor.launch(path, unit[0].dir / "worker.log", gpus, len(slots))

    def _finish(
        self, unit: list[Cell], code: int, seconds: float, progress: Progress
    ) -> list[Cell]:
        """Record a finished unit; returns the cells to re-queue."""
        requeue = []
        for cell in unit:
            if self.cache.is_done(cell.kind, cell.key):
                self.status[cell.id] = "done"
                progress.done += 1
                done = self.cache.read_done(cell.kind, cell.key)
                progress.line("done", cell.id, done.get("seconds", seconds))
                for warning in done.get("warnings", []):  # e.g. an attack that flipped no bit
                    print(f"    warning: {warning}", file=progress.stream, flush=True)
            elif len(unit) > 1 and code not in (0, 1):
                self.single.add(cell.id)
                self.status[cell.id] = "pending"
                requeue.append(cell)
            else:
                self.status[cell.id] = "failed"
                progress.failed += 1
                error = cell.dir / "error.log"
                log = error if error.is_file() else unit[0].dir / "worker.log"
                cause = last_error_line(log)
                self.failures[cell.id] = (
                    f"exit status {code}{': ' + cause if cause else ''}; log: {log}"
                )
                progress.line("FAILED", cell.id, seconds)
        return requeue

    def run(self, progress: Progress) -> None:
        """Run every pending cell; fills :attr:`status` and :attr:`failures`."""
        pending = []
        for cell in self.cells:
            cached = self.cache.is_done(cell.kind, cell.key)
            self.status[cell.id] = "cached" if cached else "pending"
            if not cached:
                pending.append(cell)
        progress.done = len(self.cells) - len(pending)
        running: dict[int, tuple[Any, list[Cell], list[int], float]] = {}
        try:
            while pending or running:
                for cell in list(pending):
                    if cell not in pending:
                        continue  # already launched in a batch
                    states = [self.status[d] for d in cell.deps]
                    if any(s in ("failed", "skipped") for s in states):
                        pending.remove(cell)
                        self.status[cell.id] = "skipped"
                        self.failures[cell.id] = f"skipped: depends on failed {cell.deps[0]}"
                        progress.skipped += 1
                        progress.line("skipped", cell.id)
                        continue
                    if not all(s in ("done", "cached") for s in states):
                        continue
                    slots = self._claim(cell)
                    if slots is None:
                        break  # keep dependency order: wait for a free slot
                    unit = self._unit(cell, pending)
                    for member in unit:
                        pending.remove(member)
                        self.status[member.id] = "running"
                        progress.running += 1
                        progress.line("start", member.id)
                    running[id(unit)] = (
                        self._launch(unit, slots),
                        unit,
                        slots,
                        time.perf_counter(),
                    )
                for key, (handle, unit, slots, start) in list(running.items()):
                    code = self.executor.poll(handle)
                    if code is None:
                        continue
                    del running[key]
                    self.free.extend(slots)
                    progress.running -= len(unit)
                    pending[:0] = self._finish(unit, code, time.perf_counter() - start, progress)
                if running:
                    time.sleep(self.opts.poll_seconds)
        finally:  # interrupted (Ctrl-C, SIGTERM): stop the workers; finished cells stay cached
            for handle, *_ in running.values():
                self.executor.cancel(handle)


def publish(cells: list[Cell], grid: Grid, opts: RunOptions, leaderboard_dir: Path) -> Any:
    """Write the leaderboard JSON of every finished attack cell, then render CSV/HTML.

    A finished sweep cell's transfer figures and robustness curve go into the records of
    its defended model's attack cells (:func:`~robust_hashing.benchmark.summary.cell_result`);
    a finished ranking cell's record goes to ``ranking/`` (its own column group).

    Returns:
        The leaderboard frame, or None when the folder holds no result yet (a run of only
        training cells, e.g. ``--only 'clean/*'``).
    """
    from robust_hashing.benchmark.ranking_plan import ranking_record
    from robust_hashing.benchmark.summary import cell_result
    from robust_hashing.leaderboard import dump_result, write_leaderboard
    from robust_hashing.leaderboard.ranking import RANKING_DIR, dump_ranking_result

    cache = ArtefactCache(opts.cache_dir)
    sweeps = {  # defense cell id -> its finished sweep's result (transfer, curve)
        cell.deps[0]: cache.read_done(cell.kind, cell.key)["result"]
        for cell in cells
        if cell.kind == "sweep" and cache.is_done(cell.kind, cell.key)
    }
    for cell in cells:
        if cell.kind == "attack" and cache.is_done(cell.kind, cell.key):
            payload = cache.read_done(cell.kind, cell.key)
            record = cell_result(cell, payload, grid, sweeps.get(cell.deps[0]))
            dump_result(record, leaderboard_dir / "results")
        elif cell.kind == "ranking" and cache.is_done(cell.kind, cell.key):
            ranking = ranking_record(cell, cache.read_done(cell.kind, cell.key), grid)
            dump_ranking_result(ranking, leaderboard_dir / RANKING_DIR)
    if not (leaderboard_dir / "results").is_dir():
        return None
    return write_leaderboard(leaderboard_dir)


def run_grid(
    grid: Grid,
    opts: RunOptions,
    executor: Executor,
    catalog: Catalog,
    stream: TextIO | None = None,
) -> RunSummary:
    """Plan, run and publish ``grid`` (plugins must already be imported in this process)."""
    out = stream or sys.stdout
    cells = plan(grid, ArtefactCache(opts.cache_dir, rehash=opts.rehash), catalog, only=opts.only)
    cache = ArtefactCache(opts.cache_dir)
    skipped = skipped_victims(grid, catalog)
    for line in skipped:
        print(f"skipped {line}", file=out)
    if not cells:  # e.g. CSQ at 48 bits only: nothing would run and no board be written
        why = f": {skipped[0]}" if skipped else ""
        raise GridError(f"{grid.source}: the grid plans no cell{why}")
    if opts.dry_run:
        status = {c.id: "cached" if cache.is_done(c.kind, c.key) else "to run" for c in cells}
        for cell in cells:
            print(f"{status[cell.id]:<7} {cell.key}  {cell.id}", file=out)
        print(f"{len(cells)} cells, {sum(s == 'to run' for s in status.values())} to run", file=out)
        return RunSummary(status, {}, None, cells)
    scheduler = Scheduler(cells, grid, opts, executor)
    start = time.perf_counter()
    cached = sum(cache.is_done(c.kind, c.key) for c in cells)
    to_run = len(cells) - cached
    print(f"{len(cells)} cells: {cached} cached, {to_run} to run", file=out, flush=True)
    scheduler.run(Progress(len(cells), out))
    leaderboard_dir = opts.leaderboard_dir or Path("leaderboard")
    frame = publish(cells, grid, opts, leaderboard_dir)
    where = leaderboard_dir if frame is not None else "not written (no attack cell finished)"
    reused = f"{sum(s == 'cached' for s in scheduler.status.values())} of {len(cells)} cached"
    took = time.perf_counter() - start
    print(f"\nfinished in {took:.1f}s ({reused}); leaderboard: {where}", file=out)
    write_json_atomic(
        opts.cache_dir / "last_run.json",
        {"status": scheduler.status, "failures": scheduler.failures},
    )
    if scheduler.failures:
        print(f"\n{len(scheduler.failures)} cell(s) did not finish:", file=out)
        for cell_id, why in sorted(scheduler.failures.items()):
            print(f"  {cell_id}: {why}", file=out)
    return RunSummary(scheduler.status, scheduler.failures, frame, cells)


def load_status(cache_dir: Path) -> dict[str, Any]:
    """Status of the last run recorded under ``cache_dir`` (empty if none)."""
    path = Path(cache_dir) / "last_run.json"
    return json.loads(path.read_text()) if path.is_file() else {}
