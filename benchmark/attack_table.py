"""The clean-model attack table: what each attack does to one model, as markdown and a chart.

Reads the reports that ``benchmark/paper_attacks.py --out`` writes (a list, or a dict with
a ``reports`` list, as in ``docs/results/``), one row per (defense, attack, mode):

    python benchmark/attack_table.py docs/results/clean_model_attacks_paper_cpu_amd_epyc.json \
        --check --plot attacks.png

Untargeted rows give mAP (lower = stronger attack) and its relative drop; targeted rows give
t-mAP (higher = stronger) and its ratio to the clean t-mAP. ``--check`` applies the attack
suite's acceptance rule to every published attack (every untargeted attack lowers mAP by at
least 40 %, every targeted one at least doubles t-mAP; our ``prosgan_clip`` variant is listed
but not judged) and exits 1 if one fails.
"""

import argparse
import json
from pathlib import Path

OURS = {"prosgan_clip"}  # variants of ours: shown, not judged by --check
MIN_DROP, MIN_RATIO = 0.40, 2.0


def load(paths: list[Path]) -> list[dict]:
    """Every report of the given files, in file order."""
    reports: list[dict] = []
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise SystemExit(f"{path}: cannot read reports: {err}") from None
        if isinstance(data, dict):
            data = data.get("reports")
        if not isinstance(data, list) or not all(
            isinstance(r, dict) and {"attack", "mode"} <= r.keys() for r in data
        ):
            raise SystemExit(f"{path}: expected paper_attacks.py reports (a list, or 'reports')")
        reports += data
    return reports


def rows(reports: list[dict]) -> list[dict]:
    """One row per report: figures, change, verdict (None for variants of ours)."""
    out = []
    for r in reports:
        targeted = r["mode"] == "targeted"
        key = "tmap" if targeted else "map"
        clean, adv = r[f"clean_{key}"], r[f"adv_{key}"]
        if targeted:
            change = adv / clean if clean else float("inf")
            ok = change >= MIN_RATIO
        else:
            change = 1 - adv / clean if clean else 0.0
            ok = change >= MIN_DROP
        seconds = r.get("seconds_total", r.get("seconds"))
        out.append({
            "defense": r.get("defense", ""), "attack": r["attack"], "mode": r["mode"],
            "clean": clean, "adv": adv, "se": r.get(f"adv_{key}_se"), "change": change,
            "theory": r.get("theory"), "asr": r.get("asr"), "linf": r.get("linf"),
            "rmse": r.get("rmse"), "bounded": r.get("bounded", True), "seconds": seconds,
            "ok": None if r["attack"] in OURS else ok,
        })  # fmt: skip
    return out


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def markdown(table: list[dict]) -> str:
    """The rows as a markdown table, untargeted first, strongest first within each mode."""
    head = (
        "| defense | attack | mode | clean | attacked (± se) | change | theory | ASR | L∞ | RMSE"
        " | seconds | rule |\n|" + "---|" * 12
    )
    lines = [head]
    order = sorted(table, key=lambda r: (r["mode"] == "targeted", r["defense"],
                                         r["adv"] if r["mode"] == "untargeted" else -r["adv"]))  # fmt: skip
    for r in order:
        change = f"×{r['change']:.2f}" if r["mode"] == "targeted" else f"−{100 * r['change']:.0f} %"
        rule = {None: "(ours)", True: "pass", False: "FAIL"}[r["ok"]]
        se = f" ± {r['se']:.3f}" if r["se"] is not None else ""
        name = r["attack"] + ("" if r["bounded"] else " (unbounded)")
        lines.append(
            f"| {r['defense']} | {name} | {r['mode']} | {r['clean']:.3f} | {r['adv']:.3f}{se} | "
            f"{change} | {_num(r['theory'])} | {_num(r['asr'], '.2f')} | {_num(r['linf'])} | "
            f"{_num(r['rmse'])} | {_num(r['seconds'], '.0f')} | {rule} |"
        )
    return "\n".join(lines)


def plot(table: list[dict], path: Path) -> None:
    """Two panels (untargeted mAP, targeted t-mAP): clean, attacked and theory per attack."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, mode, label in ((axes[0], "untargeted", "mAP"), (axes[1], "targeted", "t-mAP")):
        part = sorted((r for r in table if r["mode"] == mode),
                      key=lambda r: r["adv"] if mode == "untargeted" else -r["adv"])  # fmt: skip
        names = [r["attack"] + ("" if r["defense"] in ("", "none") else f"\n({r['defense']})")
                 for r in part]  # fmt: skip
        x = range(len(part))
        ax.bar([i - 0.2 for i in x], [r["clean"] for r in part], 0.4, color="#bbb", label="clean")
        ax.bar([i + 0.2 for i in x], [r["adv"] for r in part], 0.4, color="#4c78a8",
               yerr=[r["se"] or 0 for r in part], capsize=2, label="attacked")  # fmt: skip
        theory = [(i, r["theory"]) for i, r in zip(x, part, strict=True) if r["theory"] is not None]
        if theory:
            ax.scatter([i + 0.2 for i, _ in theory], [t for _, t in theory], marker="_", s=200,
                       color="#d62728", zorder=3, label="theory bound")  # fmt: skip
        ax.set_xticks(list(x), names, rotation=30, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(
            f"{mode}: {label} ({'lower' if mode == 'untargeted' else 'higher'} = stronger)"
        )
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", type=Path, nargs="+", help="paper_attacks.py --out JSON files")
    p.add_argument("--check", action="store_true",
                   help=f"exit 1 unless every published attack meets the rule (untargeted: "
                   f"mAP −{100 * MIN_DROP:.0f} %%; targeted: t-mAP ×{MIN_RATIO:g})")  # fmt: skip
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="also draw the table")
    args = p.parse_args()
    table = rows(load(args.reports))
    print(markdown(table))
    if args.plot:
        plot(table, args.plot)
        print(f"wrote {args.plot}")
    failed = [r for r in table if r["ok"] is False]
    if args.check:
        judged = sum(r["ok"] is not None for r in table)
        print(f"rule: {judged - len(failed)} of {judged} published attacks pass")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
