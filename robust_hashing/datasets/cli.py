"""``robust-hashing data {build,verify,info}``: manage the embedded default dataset."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from robust_hashing.datasets.embedded import (
    CLASS_NAMES,
    build_embedded,
    default_root,
    relevance_fraction,
    verify_embedded,
)
from robust_hashing.datasets.lists import DatasetError, HashingListDataset

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
Build, verify or describe the embedded default dataset: 64×64 RGB multi-label mosaics of
Animal-MNIST silhouettes (10 classes; 1,000 queries, 5,000 train rows contained in the
10,000-row database), written in the two-file list layout of the real datasets.
Default folder: $ROBUST_HASHING_CACHE/embedded-v1-seed{SEED}
($ROBUST_HASHING_CACHE defaults to ~/.cache/robust_hashing)."""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``robust-hashing data``."""
    parser = argparse.ArgumentParser(
        prog="robust-hashing data",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{build,verify,info}")
    helps = {
        "build": "build the folder if it is absent, otherwise verify it",
        "verify": "check every file against MANIFEST.json",
        "info": "print split sizes, label-cardinality histogram and relevance fraction",
    }
    for name, text in helps.items():
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--root", type=Path, default=None, help="data folder (default: cache)")
        command.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    return parser


def _info(root: Path) -> None:
    manifest = verify_embedded(root, check_images=False)
    print(f"root: {root}")
    print(f"version: {manifest['version']}  seed: {manifest['seed']}")
    print(f"classes: {', '.join(CLASS_NAMES)}")
    splits = {
        name: HashingListDataset(root, split, len(CLASS_NAMES), list_format="two_file")
        for name, split in (("query", "test"), ("train", "train"), ("database", "database"))
    }
    for name, dataset in splits.items():
        cardinality = dataset.labels.sum(dim=1).long()
        histogram = {int(k): int((cardinality == k).sum()) for k in cardinality.unique()}
        shown = "  ".join(f"{k} label(s): {v}" for k, v in sorted(histogram.items()))
        print(f"{name:<9} {len(dataset):>6} rows  {shown}")
    fraction = relevance_fraction(splits["query"].labels, splits["database"].labels)
    print(f"relevance fraction (query × database pairs sharing a label): {fraction:.4f}")


def main(argv: list[str] | None = None) -> int:
    """Run ``robust-hashing data``; returns the exit code (1 on a data error)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    root = args.root if args.root is not None else default_root(args.seed)
    try:
        if args.command == "build":
            existed = root.exists()
            start = time.perf_counter()
            build_embedded(root, seed=args.seed)
            action = "verified" if existed else "built"
            print(f"{action} {root} in {time.perf_counter() - start:.1f} s")
        elif args.command == "verify":
            verify_embedded(root)
            print(f"ok: {root}")
        else:
            _info(root)
    except DatasetError as err:
        print(f"robust-hashing data {args.command}: {err}", file=sys.stderr)
        return 1
    return 0
