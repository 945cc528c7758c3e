"""Print benchmark/perf/results.json as a markdown table (for docs/results/performance.md).

python benchmark/perf/table.py [results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import RESULTS


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    records = json.loads(path.read_text())
    print("| workload | size | device | batch | baseline s | ours s | ratio | stable-sort "
          "baseline s (ratio) | max abs diff | load avg |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        stable = "–"
        if r.get("baseline_stable") is not None:
            stable = f"{fmt(r['baseline_stable'])} ({fmt(r['ratio_stable'])}×)"
        cells = [r["workload"], r.get("size", ""), r["device"], r["batch"], fmt(r["baseline"]),
                 fmt(r["ours"]), f"{fmt(r['ratio'])}×", stable, fmt(r["max_abs_diff"]),
                 fmt(r.get("load_average"))]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
