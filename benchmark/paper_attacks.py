"""Attack every model of a finished grid run with the papers' attack settings.

The quick profile attacks with reduced iterations; this script re-attacks the same
checkpoints (clean and defended, found through the runner's cache) with each attack's
published defaults, on the first N queries, and prints one row per defense:

    .venv/bin/python benchmark/paper_attacks.py --grid benchmark/paper_cpu.yaml \
        --attacks mainstay,hag --max-queries 100

``--grid`` picks the defended models of that grid (the cache may hold several grids'
models); without it every finished defense cell in the cache is attacked.

Banks and database codes come from the cache (encoded once by the grid run).
"""

import argparse
import json
import time
from pathlib import Path

import lightning as L

from robust_hashing.attacks import get_attack
from robust_hashing.attacks.context import build_context
from robust_hashing.attacks.evaluation import AttackEvaluation
from robust_hashing.attacks.targets import load_or_draw_targets
from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.cells import RegistryCatalog, plan
from robust_hashing.benchmark.grid import load_grid
from robust_hashing.datamodules import get_datamodule
from robust_hashing.tasks import load_hash_net


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
        metavar="ATTACK.KEY=INT",
        help="override a paper default, e.g. hag.steps=500",
    )
    p.add_argument("--defenses", default=None, help="comma-separated subset (default: all)")
    p.add_argument("--out", type=Path, default=None, help="write all reports as JSON")
    args = p.parse_args()
    overrides: dict[str, dict[str, int]] = {}
    for item in args.hp:
        key, value = item.split("=", 1)
        name, hp = key.split(".", 1)
        overrides.setdefault(name, {})[hp] = int(value)
    jobs = [(a.split(":")[0], a.endswith(":targeted")) for a in args.attacks.split(",")]
    L.seed_everything(0, workers=True)
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    rows, reports = [], []
    wanted = None if args.defenses is None else set(args.defenses.split(","))
    for cell in defended_models(args.cache_dir, args.grid):
        if wanted is not None and cell["meta"]["defense"] not in wanted:
            continue
        defense_dir = args.cache_dir / "defense" / cell["key"]
        spec = json.loads((defense_dir / "cell.json").read_text())
        data = spec["runtime"]["dataset"]
        dm = get_datamodule(data["name"], **data["kwargs"])
        ckpt = Path(cell["result"]["checkpoint"])
        if not ckpt.is_file():  # recorded relative to the runner's working directory
            ckpt = args.cache_dir / Path(*ckpt.parts[-3:])
        model = load_hash_net(ckpt)
        context = build_context(
            model,
            dm,
            trainer=trainer,
            cache_dir=defense_dir / "context",
            model_key=defense_dir.name,
            dataset=data["name"],
        )
        targets_path = args.cache_dir / "targets" / f"{spec['runtime']['dataset_id']}.pt"
        row = [cell["meta"]["defense"]]
        for name, targeted in jobs:
            attack = get_attack(name, model, context, targeted=targeted, **overrides.get(name, {}))
            targets = (
                load_or_draw_targets(targets_path, dm.labels("query"), context.db_labels)
                if targeted
                else None
            )
            ev = AttackEvaluation(attack, context=context, targets=targets, top_k=args.top_k)
            start = time.perf_counter()
            trainer.test(ev, dataloaders=dm.query_dataloader(args.max_queries), verbose=False)
            rep = dict(ev.report, defense=row[0], seconds_total=time.perf_counter() - start)
            reports.append(rep)
            if args.out:  # after every attack, so an interrupted run keeps what finished
                args.out.write_text(json.dumps(reports, indent=2, default=float))
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
