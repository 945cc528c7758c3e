"""Shared helpers of the performance workloads: arguments, interleaved timing, records.

Every workload script times, in the same process and interleaved round by round, a
baseline written to the reference code's recipe and our production path, then writes one
record into ``benchmark/perf/results.json`` (replacing the record of the same workload,
device and size). A record holds: ``workload``, ``device``, ``torch``, ``batch``,
``baseline`` and ``ours`` (best seconds over the rounds), ``unit`` ("s"), ``ratio``
(baseline / ours), ``max_abs_diff`` (of the figure both compute), and context fields
(``size``, ``figure``, ``rounds``, ``threads``, ``load_average``, ``date``, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results.json"


def parser(description: str, *, rounds: int = 2) -> argparse.ArgumentParser:
    """The options every workload takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--full", action="store_true", help="the full (paper) sizes")
    p.add_argument("--rounds", type=int, default=rounds, help="baseline/ours rounds (best kept)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results file to update")
    p.add_argument("--dry-run", action="store_true", help="print the record, do not write it")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    """Apply ``--threads``, check ``--device`` and return it."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch sees no CUDA device")
    return device


def device_name(device: torch.device) -> str:
    """GPU name, or CPU model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} cores)"


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timing boundaries)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(
    fns: dict[str, Callable[[], Any]], rounds: int, device: torch.device
) -> tuple[dict[str, float], dict[str, Any]]:
    """Run every function once per round, in turn; best seconds and last value of each.

    Interleaving keeps a shared machine's load changes from favouring either side.
    """
    best = {name: float("inf") for name in fns}
    values: dict[str, Any] = {}
    for r in range(rounds):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            values[name] = fn()
            sync(device)
            seconds = time.perf_counter() - start
            best[name] = min(best[name], seconds)
            print(f"  round {r + 1}/{rounds} {name:>9}: {seconds:9.3f} s", flush=True)
    return best, values


def record(
    args: argparse.Namespace,
    device: torch.device,
    workload: str,
    *,
    batch: int,
    baseline: float | None,
    ours: float,
    max_abs_diff: float | None,
    **extra: Any,
) -> dict[str, Any]:
    """Build the record, print it, and (unless ``--dry-run``) write it into ``--out``."""
    rec: dict[str, Any] = {
        "workload": workload,
        "device": device_name(device),
        "torch": torch.__version__,
        "batch": batch,
        "baseline": None if baseline is None else round(baseline, 4),
        "ours": round(ours, 4),
        "unit": "s",
        "ratio": None if baseline is None else round(baseline / ours, 2),
        "max_abs_diff": max_abs_diff,
        "size": "full" if args.full else "cpu",
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        **extra,
    }
    print(json.dumps(rec, indent=1))
    if not args.dry_run:
        update(args.out, rec)
    return rec


def update(path: Path, rec: dict[str, Any]) -> None:
    """Replace the record of the same workload, device and size in ``path`` (or add it)."""
    records: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
    key = (rec["workload"], rec["device"], rec["size"])
    records = [r for r in records if (r["workload"], r["device"], r.get("size")) != key]
    records.append(rec)
    records.sort(key=lambda r: (r["workload"], r["device"], r.get("size", "")))
    path.write_text(json.dumps(records, indent=1) + "\n")
