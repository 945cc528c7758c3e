"""benchmark/attack_table.py: the clean-model attack table, its acceptance rule and chart."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmark" / "attack_table.py"
spec = importlib.util.spec_from_file_location("attack_table", SCRIPT)
assert spec is not None and spec.loader is not None
attack_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(attack_table)


def report(attack: str, mode: str, clean: float, adv: float, **kw) -> dict:
    key = "tmap" if mode == "targeted" else "map"
    return {"attack": attack, "mode": mode, "defense": "none", f"clean_{key}": clean,
            f"adv_{key}": adv, "theory": 0.1, "asr": 0.5, "linf": 8 / 255, "rmse": 0.02,
            "seconds": 3.0, **kw}  # fmt: skip


def test_rule_thresholds_and_our_variants() -> None:
    table = attack_table.rows([
        report("hag", "untargeted", 0.80, 0.48),  # −40 %: passes, just
        report("sdha", "untargeted", 0.80, 0.49),  # −38.75 %: fails
        report("p2p", "targeted", 0.30, 0.60),  # ×2: passes, just
        report("dhta", "targeted", 0.30, 0.59),  # ×1.97: fails
        report("prosgan_clip", "targeted", 0.30, 0.31),  # ours: not judged
    ])  # fmt: skip
    assert [r["ok"] for r in table] == [True, False, True, False, None]
    lines = attack_table.markdown(table).splitlines()
    assert lines[2].startswith("| none | hag | untargeted | 0.800 | 0.480 | −40 % |")
    assert lines[3].split(" | ")[-1] == "FAIL |"  # sdha, the weaker untargeted attack
    assert lines[4].startswith("| none | p2p | targeted | 0.300 | 0.600 | ×2.00 |")
    assert lines[-1].endswith("| (ours) |")


def test_committed_table_passes_the_rule(tmp_path: Path) -> None:
    """Issue 4's rule holds on the committed clean-model reports; --plot writes a PNG."""
    files = sorted((ROOT / "docs" / "results").glob("clean_model_attacks_paper_cpu*.json"))
    assert files
    png = tmp_path / "t.png"
    for path in files:
        argv = [sys.executable, str(SCRIPT), str(path), "--check", "--plot", str(png)]
        done = subprocess.run(argv, check=False, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[-1].endswith("published attacks pass")
        assert png.read_bytes()[:4] == b"\x89PNG"
    reports = attack_table.load(files[:1])
    assert {r["attack"] for r in reports} >= {"hag", "mainstay", "cgat_pgd", "sdha", "dhta",
                                              "p2p", "tha", "prosgan"}  # fmt: skip
    json.dumps(attack_table.rows(reports))  # plain data


def test_help_names_the_rule() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    assert "mAP −40 %; targeted: t-mAP ×2" in " ".join(done.stdout.split())


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for text in ('{"cells": {}}', "not json", "[1, 2]"):
        bad.write_text(text)
        done = subprocess.run([sys.executable, str(SCRIPT), str(bad)], check=False,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 1 and "Traceback" not in done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith(f"{bad}: ")
