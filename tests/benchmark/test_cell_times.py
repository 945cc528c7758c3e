"""benchmark/cell_times.py: seconds per cell from every source, and the speed-up table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("cell_times", ROOT / "benchmark" / "cell_times.py")
assert spec is not None and spec.loader is not None
cell_times = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cell_times)


def _done(root: Path, kind: str, key: str, cell_id: str, seconds: float) -> None:
    folder = root / kind / key
    folder.mkdir(parents=True)
    payload = {"id": cell_id, "key": key, "seconds": seconds,
               "environment": {"device": "cuda (Fake GPU)"}}  # fmt: skip
    (folder / "done.json").write_text(json.dumps(payload))


def test_committed_leaderboard_and_reports_agree_on_shared_cells() -> None:
    board, devices = cell_times.load([ROOT / "docs" / "results" / "paper-cpu-v1"], None)
    assert len(board) == 15 and devices == {"cpu (x86_64, 2 cores)"}
    reports, _ = cell_times.load([ROOT / "docs/results/clean_model_attacks_paper_cpu.json"], None)
    shared = set(board) & set(reports)
    assert {c.rsplit("/", 1)[1] for c in shared} == {"mainstay", "hag", "dhta-targeted"}
    assert all(board[c] == reports[c] for c in shared)


def test_cache_source_table_and_out(tmp_path: Path, capsys) -> None:
    victim = "embedded-32bit-dpsh-small_cnn"
    _done(tmp_path / "cache", "defense", "k1", f"defense/{victim}/cgat", 66.0)
    _done(tmp_path / "cache", "attack", "k2", f"attack/{victim}/cgat/hag", 40.0)
    base = ROOT / "docs/results/paper_cpu_training_cpu.json"
    out = tmp_path / "gpu.json"
    cell_times.main(["--run", str(tmp_path / "cache"), "--baseline", str(base),
                     "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert "run: cuda (Fake GPU)" in text
    assert f"| defense/{victim}/cgat | 660.0 | 66.0 | 10.0× |" in text
    assert f"| attack/{victim}/cgat/hag | – | 40.0 | – |" in text
    assert "| **1 common cells** | 660 | 66 | 10.0× |" in text
    saved = json.loads(out.read_text())
    assert saved["cells"][f"defense/{victim}/cgat"] == 66.0
    assert cell_times.load([out], None)[0] == saved["cells"]  # --out is itself a source


def test_paper_attacks_out_as_written_is_a_source(tmp_path: Path) -> None:
    committed = json.loads((ROOT / "docs/results/clean_model_attacks_paper_cpu.json").read_text())
    raw = tmp_path / "attacks_gpu.json"  # paper_attacks.py --out writes the bare list
    raw.write_text(json.dumps(committed["reports"]))
    seconds, devices = cell_times.load([raw], None)
    wrapped, _ = cell_times.load([ROOT / "docs/results/clean_model_attacks_paper_cpu.json"], None)
    assert seconds == wrapped and devices == {"?"}


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no such file"):
        cell_times.load([tmp_path / "missing"], None)
    bad = tmp_path / "bad.json"
    for text in ("{}", "3"):
        bad.write_text(text)
        with pytest.raises(SystemExit, match="expected a 'cells' table"):
            cell_times.load([bad], None)
