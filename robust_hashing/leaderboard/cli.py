"""``robust-hashing leaderboard {render,validate}``.

* ``render [--dir leaderboard] [--check]``: rebuild ``leaderboard.csv`` and ``leaderboard.html``
  from ``<dir>/results``; with ``--check`` write nothing and exit 1 if the CSV is stale (CI).
* ``validate [--dir leaderboard]``: load every result JSON and report the first schema error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robust_hashing.leaderboard.render import check_leaderboard, write_leaderboard
from robust_hashing.leaderboard.schema import SchemaError, load_results


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``leaderboard`` command."""
    parser = argparse.ArgumentParser(prog="robust-hashing leaderboard", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    render = sub.add_parser("render", help="rebuild leaderboard.csv / .html from the JSONs")
    render.add_argument("--dir", default="leaderboard", type=Path, help="leaderboard folder")
    render.add_argument("--title", default=None, help="HTML title (default: from the folder name)")
    render.add_argument("--check", action="store_true", help="fail if the CSV is out of date")
    validate = sub.add_parser("validate", help="validate every result JSON")
    validate.add_argument("--dir", default="leaderboard", type=Path, help="leaderboard folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.action == "validate":
            results = load_results(args.dir / "results")
            print(f"{len(results)} result files valid under {args.dir / 'results'}")
            return 0
        if args.check:
            problem = check_leaderboard(args.dir)
            if problem:
                print(problem, file=sys.stderr)
                return 1
            print(f"{args.dir / 'leaderboard.csv'} is up to date")
            return 0
        frame = write_leaderboard(args.dir, title=args.title)
    except SchemaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.dir / 'leaderboard.csv'} and leaderboard.html ({len(frame)} rows)")
    return 0
