"""``robust-hashing leaderboard {render,validate}``.

* ``render [--dir leaderboard] [--check] [--markdown README.md]``: rebuild ``leaderboard.csv``
  and ``leaderboard.html`` from ``<dir>/results`` and the markdown tables generated from them
  (:mod:`robust_hashing.leaderboard.readme`); with ``--check`` write nothing and exit 1 if any
  is stale (CI).
* ``validate [--dir leaderboard]``: load every result JSON and report the first schema error.
* ``compare REFERENCE RERUN [--tol T] [--se K]``: does a re-run reproduce a board
  (:mod:`robust_hashing.leaderboard.compare`); exit 1 if not.

``--dir`` is a leaderboard folder (one holding ``results/``) or a folder of them, such as the
top-level ``leaderboard/`` with one folder per profile: every leaderboard folder among
``--dir`` and its direct sub-folders is processed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robust_hashing.errors import int_at_least, non_negative
from robust_hashing.leaderboard.compare import (
    DEFAULT_SE,
    DEFAULT_TOL,
    compare_boards,
    comparison_figure,
    comparison_text,
)
from robust_hashing.leaderboard.readme import sync_markdown
from robust_hashing.leaderboard.render import check_leaderboard, write_leaderboard
from robust_hashing.leaderboard.schema import SchemaError, load_results

DESCRIPTION = """\
Validate and render the leaderboard.

  render [--dir DIR] [--check]  rebuild leaderboard.csv and leaderboard.html from DIR/results,
                                and the tables of README.md (--markdown) generated from them;
                                with --check write nothing and exit 1 if any is stale (CI)
  validate [--dir DIR]          load every result JSON and report the first schema error
  compare REFERENCE RERUN       does RERUN reproduce REFERENCE? per cell, figure and clean
                                mAP within max(--tol, --se x standard error), and the same
                                order of defenses in every group; exit 1 if not

DIR is a leaderboard folder (holding results/) or a folder of them such as leaderboard/,
which holds one folder per profile (quick/, paper-cpu/): then every sub-folder with a
results/ folder is processed (DIR itself too if it has one).
"""
DIR_HELP = "leaderboard folder, or a folder of leaderboard folders (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``leaderboard`` command."""
    parser = argparse.ArgumentParser(
        prog="robust-hashing leaderboard",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True)
    render = sub.add_parser("render", help="rebuild leaderboard.csv / .html from the JSONs")
    render.add_argument("--dir", default=Path("leaderboard"), type=Path, help=DIR_HELP)
    render.add_argument("--title", default=None,
                        help="HTML title of one leaderboard (default: from the folder name)")  # fmt: skip
    render.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the CSV, HTML or a markdown table is out of date")  # fmt: skip
    render.add_argument("--markdown", type=Path, default=None, metavar="MD",
                        help="markdown file whose '<!-- leaderboard: DIR -->' blocks are "
                        "generated from the boards rendered (default: README.md if present)")  # fmt: skip
    validate = sub.add_parser("validate", help="validate every result JSON")
    validate.add_argument("--dir", default=Path("leaderboard"), type=Path, help=DIR_HELP)
    compare = sub.add_parser(
        "compare",
        help="does a re-run reproduce a board?",
        description="Match the cells of two boards and check that RERUN reproduces REFERENCE: "
        "every figure and clean mAP within max(--tol, --se x the standard error over the "
        "queries), no reference cell missing, the same order of defenses in every group. "
        "Exit 0 if so, 1 if not.",
    )
    compare.add_argument("reference", type=Path, help="leaderboard folder (or its results/)")
    compare.add_argument("rerun", type=Path, help="leaderboard folder (or its results/)")
    compare.add_argument("--tol", type=non_negative, default=DEFAULT_TOL,
                         help="absolute tolerance (default: %(default)s)")  # fmt: skip
    compare.add_argument("--se", type=non_negative, default=DEFAULT_SE,
                         help="tolerance in standard errors of the figure, where the "
                         "cells record one (default: %(default)s)")  # fmt: skip
    compare.add_argument("--plot", type=Path, default=None, metavar="PNG",
                         help="also draw re-run against reference figures, with each "
                         "cell's allowed difference, to this PNG")  # fmt: skip
    compare.add_argument("--show", type=int_at_least(0), default=10,
                         help="list at most this many cells per kind (default: %(default)s)")  # fmt: skip
    return parser


def results_folder(path: Path) -> Path:
    """``path/results`` if ``path`` is a leaderboard folder, else ``path`` itself."""
    return path / "results" if (path / "results").is_dir() else path


def _compare(args: argparse.Namespace) -> int:
    try:
        reference = load_results(results_folder(args.reference))
        rerun = load_results(results_folder(args.rerun))
        if not reference:
            raise SchemaError(f"{results_folder(args.reference)}: no result files to compare")
        cmp = compare_boards(reference, rerun)
    except SchemaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(comparison_text(cmp, args.tol, args.se, show=args.show))
    if args.plot is not None:
        print(f"wrote {comparison_figure(cmp, args.tol, args.se, args.plot)}")
    return 0 if cmp.reproduced(args.tol, args.se) else 1


def leaderboard_folders(root: Path) -> list[Path]:
    """``root`` if it holds ``results/``, then its direct sub-folders that hold one.

    Raises:
        SchemaError: if neither ``root`` nor any sub-folder holds ``results/``.
    """
    if not root.is_dir():
        raise SchemaError(f"{root}: no such folder")
    folders = [root] if (root / "results").is_dir() else []
    folders += sorted(
        p for p in root.iterdir() if p.is_dir() and p.name != "results" and (p / "results").is_dir()
    )
    if not folders:
        raise SchemaError(
            f"{root}: no results folder, and no sub-folder with one (run the benchmark first)"
        )
    return folders


def _markdown(args: argparse.Namespace) -> Path | None:
    """The markdown file whose leaderboard blocks ``render`` keeps current, if any."""
    if args.markdown is not None:
        if not args.markdown.is_file():
            raise SchemaError(f"{args.markdown}: no such markdown file (--markdown)")
        return Path(args.markdown)
    default = Path("README.md")
    return default if default.is_file() else None


def _one(action: str, folder: Path, args: argparse.Namespace) -> int:
    """Run ``action`` on one leaderboard folder; returns its exit status."""
    if action == "validate":
        results = load_results(folder / "results")
        print(f"{len(results)} result files valid under {folder / 'results'}")
        from robust_hashing.leaderboard.ranking import RANKING_DIR, load_ranking_results

        ranking = load_ranking_results(folder / RANKING_DIR)
        if ranking:
            print(f"{len(ranking)} ranking records valid under {folder / RANKING_DIR}")
        return 0
    if not any(p.is_file() for p in (folder / "results").rglob("*.json")):
        print(f"error: {folder / 'results'}: no result files to render (run the benchmark "
              "first)", file=sys.stderr)  # fmt: skip
        return 1
    markdown = _markdown(args)
    if args.check:
        problem = check_leaderboard(folder)
        if not problem and markdown is not None:
            problem = sync_markdown(markdown, check=True, boards=[folder])
        if problem:
            print(problem, file=sys.stderr)
            return 1
        print(f"{folder / 'leaderboard.csv'} and leaderboard.html are up to date")
        return 0
    frame = write_leaderboard(folder, title=args.title)
    print(f"wrote {folder / 'leaderboard.csv'} and leaderboard.html ({len(frame)} rows)")
    if markdown is not None and (message := sync_markdown(markdown, boards=[folder])):
        print(message)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (1 if a folder is invalid or stale)."""
    args = build_parser().parse_args(argv)
    if args.action == "compare":
        return _compare(args)
    try:
        folders = leaderboard_folders(args.dir)
    except SchemaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if folders != [args.dir]:
        if getattr(args, "title", None):
            print(f"error: --title applies to one leaderboard; {args.dir} holds "
                  f"{len(folders)}: pass --dir with one of them", file=sys.stderr)  # fmt: skip
            return 2
        subs = ", ".join(f.name for f in folders if f != args.dir)
        if args.dir in folders:
            print(f"{args.dir}: its own leaderboard, then those of its sub-folders: {subs}")
        else:
            print(f"{args.dir} has no results/ of its own; its leaderboard folders: {subs}")
    status = 0
    for folder in folders:
        try:
            status = max(status, _one(args.action, folder, args))
        except SchemaError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
    return status
