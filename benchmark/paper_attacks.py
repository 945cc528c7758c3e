"""Attack every model of a finished grid run with the papers' attack settings.

The quick profile attacks with reduced iterations; this script re-attacks the same
checkpoints (clean and defended, found through the runner's cache) with each attack's
published defaults, on the first N queries, and prints one row per defense:

    .venv/bin/python benchmark/paper_attacks.py --grid benchmark/paper_cpu.yaml \
        --attacks mainstay,hag --max-queries 100

``--grid`` picks the defended models of that grid (the cache may hold several grids'
models); without it every finished defense cell in the cache is attacked.

Each attack runs through the runner's own attack step (``steps.run_attack``) on a spec
built from the defense cell; banks, database codes and target labels come from the cache.
"""

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.catalog import RegistryCatalog
from robust_hashing.benchmark.cell_types import AttackConfig, AttackInfo, Cell
from robust_hashing.benchmark.cells import attack_cell_id, plan
from robust_hashing.benchmark.grid import load_grid
from robust_hashing.benchmark.spec import CellSpec
from robust_hashing.benchmark.steps import run_attack
from robust_hashing.effective_hp import resolved_hp
from robust_hashing.errors import key_value
from robust_hashing.io import write_json_atomic


def defended_models(cache_dir: Path, grid: Path | None = None) -> list[dict]:
    """``done.json`` payloads of the finished defense cells, sorted by defense name.

    With ``grid``, only the defense cells of that grid's plan (same keys as the runner's).
    """
    keys = None
    if grid is not None:
        cells = plan(load_grid(grid), ArtefactCache(cache_dir), RegistryCatalog())
        keys = {c.key for c in cells if c.kind == "defense"}
    done = [json.loads(p.read_text()) for p in cache_dir.glob("defense/*/done.json")]
    done = [c for c in done if keys is None or c["key"] in keys]
    if keys is not None and not done:
        raise SystemExit(f"{grid}: no finished defense cell in {cache_dir}; run the grid first")
    return sorted(done, key=lambda c: c["meta"]["defense"])


def attack_spec(defense_dir: Path, cache_dir: Path, out_dir: Path, config: dict) -> CellSpec:
    """The spec of an attack cell on the model of ``defense_dir`` (for ``steps.run_attack``)."""
    defense = CellSpec.from_json(json.loads((defense_dir / "cell.json").read_text()))
    cls = RegistryCatalog().attack_class(config["attack"])
    attack = AttackInfo(
        config["attack"], config["mode"], resolved_hp(cls, config["hp"]),
        bool(getattr(cls, "bounded", True)),
    )  # fmt: skip
    settings = AttackConfig(config["hp"], config["top_k"], config["max_queries"], code="")
    cell = Cell("", out_dir, defense.cell.victim, settings, defense.cell.defense, attack)
    runtime = replace(
        defense.runtime,
        accelerator="auto",  # the GPU when there is one, whatever trained the model
        devices=1,
        strategy=None,
        cache_root=cache_dir,
    )
    return CellSpec(cell, {"defense": defense_dir}, runtime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache-dir", type=Path, default=Path(".cache/benchmark"))
    p.add_argument("--grid", type=Path, default=None, help="attack only this grid's models")
    p.add_argument("--attacks", default="mainstay,hag", help="comma-separated; NAME:targeted")
    p.add_argument("--max-queries", type=int, default=100)
    p.add_argument("--top-k", type=int, default=1000)
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        type=key_value("hag.steps=500"),
        metavar="ATTACK.KEY=VALUE",
        help="override a paper default, e.g. hag.steps=500",
    )
    p.add_argument("--defenses", default=None, help="comma-separated subset (default: all)")
    p.add_argument("--out", type=Path, default=None, help="write all reports as JSON")
    args = p.parse_args()
    overrides: dict[str, dict[str, object]] = {}
    for key, value in args.hp:
        name, _, hp = key.partition(".")
        if not (name and hp):
            p.error(f"--hp {key}={value}: expected ATTACK.KEY=VALUE, e.g. hag.steps=500")
        overrides.setdefault(name, {})[hp] = value
    jobs = [(a.split(":")[0], a.endswith(":targeted")) for a in args.attacks.split(",")]
    rows, reports = [], []
    wanted = None if args.defenses is None else set(args.defenses.split(","))
    for cell in defended_models(args.cache_dir, args.grid):
        if wanted is not None and cell["meta"]["defense"] not in wanted:
            continue
        defense_dir = args.cache_dir / "defense" / cell["key"]
        row = [cell["meta"]["defense"]]
        for name, targeted in jobs:
            config = {
                "attack": name,
                "mode": "targeted" if targeted else "untargeted",
                "hp": overrides.get(name, {}),
                "max_queries": args.max_queries,
                "top_k": args.top_k,
            }
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as out_dir:
                report = run_attack(
                    attack_spec(defense_dir, args.cache_dir, Path(out_dir), config), []
                )
            rep = dict(
                report,
                defense=row[0],
                cell_id=attack_cell_id(cell["id"], name, config["mode"]),
                seconds_total=time.perf_counter() - start,
            )
            reports.append(rep)
            if args.out:  # after every attack, so an interrupted run keeps what finished
                write_json_atomic(args.out, reports)
            key = "tmap" if targeted else "map"
            print(
                f"{row[0]} {name}{'-targeted' if targeted else ''}: clean {rep[f'clean_{key}']:.4f}"
                f" attacked {rep[f'adv_{key}']:.4f} theory {rep['theory']:.4f}"
                f" ({rep['seconds_total']:.0f}s)",
                flush=True,
            )
            if len(row) == 1:
                row.append(f"{rep[f'clean_{key}']:.4f}")
            row.append(f"{rep[f'adv_{key}']:.4f} ({rep['seconds_total']:.0f}s)")
        rows.append(row)
        print(" | ".join(row), flush=True)
    head = ["defense", "clean"] + [f"{n}{'-targeted' if t else ''}" for n, t in jobs]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
