"""``robust-hashing prepare {flickr25k,nuswide,coco} --raw RAW [--out OUT] ...``.

Builds the list files of protocol §2 from a raw download and prints a summary (row counts,
unique images, all-zero label rows per split). Exit code 0 on success, 1 when the download is
malformed or cannot give the requested splits (the one-line reason goes to stderr), 2 on a
usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robust_hashing.datasets.prepare import coco, flickr25k, nuswide
from robust_hashing.datasets.prepare.common import PreparedLists, PrepareError
from robust_hashing.errors import int_at_least

DESCRIPTION = """\
Build train/test/database list files (both the two-file {split}_img.txt + {split}_label.txt
format and the one-file {split}.txt format) plus classes.txt from a raw dataset download.
Paths in the lists are relative to the dataset root, so --out normally stays the raw root.
"""

RAW_LAYOUTS = {
    "flickr25k": (
        "MIRFLICKR-25K, 38 labels",
        "RAW/mirflickr/im<id>.jpg and RAW/mirflickr25k_annotations_v080/<concept>.txt",
        flickr25k.DEFAULT_QUERY,
        flickr25k.DEFAULT_TRAIN,
        "train rows are drawn with replacement from the database",
    ),
    "nuswide": (
        "NUS-WIDE, 21 most frequent concepts",
        "RAW/ImageList/Imagelist.txt and RAW/Groundtruth/AllLabels/Labels_<concept>.txt",
        nuswide.DEFAULT_QUERY,
        nuswide.DEFAULT_TRAIN,
        "query/train are totals, drawn evenly per concept (multiples of --num-classes)",
    ),
    "coco": (
        "MS-COCO 2014 train+val, 80 categories",
        "RAW/annotations/instances_{train,val}2014.json",
        coco.DEFAULT_QUERY,
        coco.DEFAULT_TRAIN,
        "train images are drawn without replacement from the database",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The ``prepare`` argument parser, one sub-command per dataset."""
    parser = argparse.ArgumentParser(prog="robust-hashing prepare", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="dataset", required=True, metavar="{flickr25k,nuswide,coco}")
    for name, (title, layout, query, train, note) in RAW_LAYOUTS.items():
        p = sub.add_parser(name, help=title, description=f"{title}. Expects {layout}; {note}.")
        p.add_argument("--raw", type=Path, required=True, help="root of the raw download")
        p.add_argument("--out", type=Path, default=None, help="output folder (default: --raw)")
        p.add_argument(
            "--seed", type=int_at_least(0), default=0, help="split sampling seed (default: 0)"
        )
        p.add_argument(
            "--query", type=int_at_least(1), default=query, help=f"query images ({query})"
        )
        p.add_argument("--train", type=int_at_least(1), default=train, help=f"train rows ({train})")
        if name == "nuswide":
            p.add_argument(
                "--num-classes",
                type=int_at_least(1),
                default=nuswide.DEFAULT_NUM_CLASSES,
                help="keep this many most frequent concepts (default: 21)",
            )
            p.add_argument(
                "--path-style",
                choices=("flickr", "images"),
                default="flickr",
                help="write Flickr/<folder>/<name>.jpg (default) or images/<name>.jpg",
            )
    return parser


def run(args: argparse.Namespace) -> PreparedLists:
    """Run the preparer selected by parsed ``args``."""
    common = {"query": args.query, "train": args.train, "seed": args.seed}
    if args.dataset == "flickr25k":
        return flickr25k.prepare_flickr25k(args.raw, args.out, **common)
    if args.dataset == "nuswide":
        return nuswide.prepare_nuswide(
            args.raw,
            args.out,
            num_classes=args.num_classes,
            path_style=args.path_style,
            **common,
        )
    return coco.prepare_coco(args.raw, args.out, **common)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, write the lists and print a summary; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        lists = run(args)
    except PrepareError as err:
        print(f"robust-hashing prepare {args.dataset}: error: {err}", file=sys.stderr)
        return 1
    out = args.raw if args.out is None else args.out
    print(f"{args.dataset}: wrote classes.txt and train/test/database lists to {out}")
    print(lists.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
