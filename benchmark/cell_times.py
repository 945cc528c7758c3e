"""Seconds per cell of a run, side by side with a baseline run (e.g. GPU against CPU).

Each side is one or more sources, merged by cell id
(``attack/<dataset>-<bits>bit-<method>-<backbone>/<defense>/<attack>[-targeted]``,
``defense/…/<defense>``, ``clean/…``):

- a runner cache root (``.cache/benchmark``): every finished cell's ``done.json``
  (clean and defense training, attack cells); ``--grid`` keeps only that grid's cells;
- a leaderboard folder (``leaderboard/paper-cpu``): attack cells, from each result's
  provenance;
- a ``benchmark/paper_attacks.py --out`` file (the list of reports it writes, or that list
  wrapped as ``{"reports": [...]}`` with the run's notes, as in ``docs/results``);
- a seconds table written by this script's ``--out`` (``{"cells": {id: seconds}}``).

    .venv/bin/python benchmark/cell_times.py --run gpu-figures/cache \\
        --grid benchmark/paper_cpu.yaml --baseline leaderboard/paper-cpu \\
        --baseline docs/results/paper_cpu_training_cpu.json

The table gives both sides' seconds and the speed-up (baseline / run) of every cell found
on both sides, then the totals over those common cells.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _from_cache(root: Path, keys: set[str] | None) -> tuple[dict[str, float], set[str]]:
    seconds, devices = {}, set()
    for done in sorted(root.glob("*/*/done.json")):
        cell = json.loads(done.read_text())
        if keys is None or cell["key"] in keys:
            seconds[cell["id"]] = float(cell["seconds"])
            devices.add(cell.get("environment", {}).get("device", "?"))
    return seconds, devices


def _from_leaderboard(folder: Path) -> tuple[dict[str, float], set[str]]:
    from robust_hashing.benchmark.cells import attack_cell_id, victim_id
    from robust_hashing.leaderboard import load_results

    seconds, devices = {}, set()
    for r in load_results(folder / "results"):
        defense_id = f"defense/{victim_id(r.dataset, r.bits, r.method, r.backbone)}/{r.defense}"
        seconds[attack_cell_id(defense_id, r.attack, r.mode)] = r.provenance.seconds
        devices.add(r.provenance.device)
    return seconds, devices


def _report_seconds(report: dict) -> float:
    """Wall seconds of a report: the script's own clock, or a grid row's provenance."""
    if "seconds_total" in report:
        return float(report["seconds_total"])
    return float(report["provenance"]["seconds"])


def _from_file(path: Path) -> tuple[dict[str, float], set[str]]:
    data = json.loads(path.read_text())
    if isinstance(data, list):  # paper_attacks.py --out as written, before any wrapping
        data = {"reports": data}
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a 'cells' table or paper_attacks 'reports'")
    device = {str(data.get("device", "?"))}
    if "cells" in data:
        return {k: float(v) for k, v in data["cells"].items()}, device
    if "reports" in data:
        missing = [r.get("attack") for r in data["reports"] if "cell_id" not in r]
        if missing:
            raise SystemExit(f"{path}: reports without 'cell_id' ({missing[0]}, ...)")
        return {r["cell_id"]: _report_seconds(r) for r in data["reports"]}, device
    raise SystemExit(f"{path}: expected a 'cells' table or paper_attacks 'reports'")


def grid_keys(grid: Path) -> set[str]:
    """Cache keys of every cell of ``grid`` (as the runner plans them with this code)."""
    from robust_hashing.benchmark.cache import ArtefactCache
    from robust_hashing.benchmark.catalog import RegistryCatalog
    from robust_hashing.benchmark.cells import plan
    from robust_hashing.benchmark.grid import load_grid

    cache = ArtefactCache(Path(".cache/benchmark"))  # keys do not depend on the cache root
    return {c.key for c in plan(load_grid(grid), cache, RegistryCatalog())}


def load(sources: list[Path], keys: set[str] | None) -> tuple[dict[str, float], set[str]]:
    """Merged ``{cell id: seconds}`` and the devices named by ``sources``.

    ``keys`` (see :func:`grid_keys`) restricts cache sources to those cells.
    """
    seconds: dict[str, float] = {}
    devices: set[str] = set()
    for src in sources:
        if src.is_dir() and (src / "results").is_dir():
            part, dev = _from_leaderboard(src)
        elif src.is_dir():
            part, dev = _from_cache(src, keys)
        elif src.is_file():
            part, dev = _from_file(src)
        else:
            raise SystemExit(f"{src}: no such file or folder")
        seconds.update(part)
        devices |= dev
    return seconds, devices


def table(run: dict[str, float], base: dict[str, float]) -> list[str]:
    """Markdown rows: cell, baseline s, run s, speed-up; then the totals of common cells."""
    lines = ["| cell | baseline (s) | run (s) | speed-up |", "|---|---|---|---|"]
    common = sorted(set(run) & set(base))
    for cell in sorted(set(run) | set(base)):
        b, r = base.get(cell), run.get(cell)
        ratio = f"{b / r:.1f}×" if b is not None and r else "–"
        fb = "–" if b is None else f"{b:.1f}"
        fr = "–" if r is None else f"{r:.1f}"
        lines.append(f"| {cell} | {fb} | {fr} | {ratio} |")
    if common:
        tb, tr = sum(base[c] for c in common), sum(run[c] for c in common)
        lines.append(f"| **{len(common)} common cells** | {tb:.0f} | {tr:.0f} | {tb / tr:.1f}× |")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, action="append", required=True, help="source (repeat)")
    p.add_argument("--baseline", type=Path, action="append", default=[], help="source (repeat)")
    p.add_argument("--grid", type=Path, default=None, help="keep only this grid's cache cells")
    p.add_argument("--out", type=Path, default=None, help="save the run's seconds table")
    args = p.parse_args(argv)
    keys = None if args.grid is None else grid_keys(args.grid)
    run, run_dev = load(args.run, keys)
    base, base_dev = load(args.baseline, keys) if args.baseline else ({}, set())
    if not run:
        where = ", ".join(map(str, args.run))
        if args.grid is not None:  # keys include the code version: another commit's cells differ
            raise SystemExit(f"no finished cell of {args.grid} (as this code plans it) in {where}")
        raise SystemExit(f"no finished cell found in {where}")
    print(f"run: {', '.join(sorted(run_dev))}")
    if args.baseline:
        print(f"baseline: {', '.join(sorted(base_dev))}")
    print("\n".join(table(run, base)))
    if args.out:
        from robust_hashing.io import write_json_atomic

        write_json_atomic(args.out, {"device": ", ".join(sorted(run_dev)), "cells": run})


if __name__ == "__main__":
    main()
