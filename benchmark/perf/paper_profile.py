"""paper_profile: wall seconds of the whole ``paper`` profile on one GPU.

    python benchmark/perf/paper_profile.py --device cuda [--per-gpu 4] [--cache-dir DIR]

Runs ``robust-hashing benchmark --grid benchmark/paper.yaml --devices auto --per-gpu N``
(the board goes to ``leaderboard/``, as with ``make gpu-figures``) and records its wall
seconds as ``ours``. There is no same-run baseline: the reference code has no runner, and
the earlier estimate of the profile (about an hour of one H200, from its first 9 of 244
cells) is kept in the record as ``estimate_before``. On the CPU it only prints that it is
skipped: the profile is a GPU workload.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    p = common.parser(__doc__, rounds=1)
    p.add_argument("--per-gpu", type=int, default=4, help="cells sharing one GPU (default 4)")
    p.add_argument("--cache-dir", default="gpu-figures/cache", help="runner cache")
    p.add_argument("--grid", default="benchmark/paper.yaml")
    args = p.parse_args()
    if args.device == "cpu":
        print("paper_profile: skipped on the CPU (a GPU workload: pass --device cuda)")
        return
    device = common.setup(args)
    exe = Path(sys.executable).with_name("robust-hashing")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "robust_hashing"]
    cmd += ["benchmark", "--grid", args.grid, "--devices", "auto",
            "--per-gpu", str(args.per_gpu), "--cache-dir", args.cache_dir]  # fmt: skip
    print(" ".join(cmd), flush=True)
    start = time.perf_counter()
    status = subprocess.call(cmd, cwd=ROOT)
    seconds = time.perf_counter() - start
    common.record(
        args,
        device,
        "paper_profile",
        batch=0,
        baseline=None,
        ours=seconds,
        max_abs_diff=None,
        figure="none (wall seconds of the grid)",
        command=" ".join(cmd),
        exit_status=status,
        estimate_before=3600,
    )
    sys.exit(status)


if __name__ == "__main__":
    main()
