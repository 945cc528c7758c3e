from __future__ import annotations

import re
from pathlib import Path

import pytest

from robust_hashing.benchmark.grid import GridError, load_grid, parse_grid

ROOT = Path(__file__).resolve().parents[2]
BASE = {"datasets": ["embedded"], "bits": [32], "defenses": "all", "attacks": "all"}


@pytest.mark.parametrize("name", ["quick", "paper"])
def test_shipped_grids_are_valid(name: str) -> None:
    grid = load_grid(ROOT / "benchmark" / f"{name}.yaml")
    assert grid.profile == name
    assert grid.datasets[0].name == "embedded"
    assert grid.bits == ((32,) if name == "quick" else (16, 32, 48, 64))
    assert grid.attacks is None and grid.defenses is None  # every registered one, plugins too
    assert grid.leaderboard_dir == ("leaderboard/quick" if name == "quick" else "leaderboard")


def test_smoke_grid_plans_a_plugin_on_the_fixture(monkeypatch) -> None:
    from robust_hashing.benchmark.cache import ArtefactCache
    from robust_hashing.benchmark.catalog import RegistryCatalog
    from robust_hashing.benchmark.cells import plan
    from robust_hashing.plugins import import_plugin

    monkeypatch.chdir(ROOT)  # its paths are relative to the repository root
    import_plugin(str(ROOT / "benchmark" / "examples" / "plugin_defense.py"))
    grid = load_grid(ROOT / "benchmark" / "examples" / "smoke.yaml")
    cells = plan(
        grid, ArtefactCache(ROOT / ".cache" / "unused"), RegistryCatalog(), only="example_noise"
    )
    assert [c.kind for c in cells[:2]] == ["clean", "defense"] and len(cells) > 3
    others = [c for c in cells[1:] if "example_noise" not in c.id]
    # its sweep (transfer, robustness curve) also needs the undefended model's attacks
    assert all(c.id.split("/")[2] == "none" for c in others)
    assert any(c.kind == "sweep" and c.id.endswith("/example_noise") for c in cells)
    assert Path(grid.datasets[0].kwargs["root"], "train.txt").is_file()


def test_entries_accept_names_and_mappings() -> None:
    grid = parse_grid({**BASE, "defenses": ["none", {"name": "cgat", "hp": {"lam": 2.0}}],
                       "attacks": ["hag", {"name": "dhta", "mode": "targeted"}]})  # fmt: skip
    assert [d.name for d in grid.defenses] == ["none", "cgat"]
    assert grid.defenses[1].hp == {"lam": 2.0}
    assert grid.attacks[0].mode is None and grid.attacks[1].mode == "targeted"
    assert grid.trainer["clean_epochs"] == 20 and grid.top_k == 5000
    variant = parse_grid({**BASE, "defenses": [
        "cgat", {"name": "cgat", "alias": "cgat_lam2", "hp": {"lam": 2.0}}]})  # fmt: skip
    assert [(d.name, d.id, d.hp) for d in variant.defenses] == [
        ("cgat", "cgat", {}), ("cgat", "cgat_lam2", {"lam": 2.0})]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"profile": "fast"}, "'profile'"),
        ({"bits": [32, -1]}, "'bits[1]'"),
        ({"attacks": [{"name": "hag", "mode": "sideways"}]}, "'attacks[0].mode'"),
        ({"defenses": [{"name": ""}]}, "'defenses[0].name'"),
        ({"datasets": []}, "'datasets'"),
        ({"colour": 1}, "'colour'"),
        ({"trainer": {"clean_epochs": 0}}, "'trainer.clean_epochs'"),
        ({"trainer": {"gpus": 2}}, "'trainer.gpus'"),
        ({"victim": {"method": 3}}, "'victim.method'"),
        ({"attacks": []}, "'attacks'"),
    ],
)
def test_errors_name_the_key(change: dict, key: str) -> None:
    with pytest.raises(GridError, match=re.escape(f"g.yaml: key {key}")):
        parse_grid({**BASE, **change}, "g.yaml")


def test_missing_required_key_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="key 'attacks': missing required key"):
        parse_grid({k: v for k, v in BASE.items() if k != "attacks"}, "g.yaml")
    with pytest.raises(GridError, match="grid file not found"):
        load_grid(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [\n")
    with pytest.raises(GridError, match="not valid YAML"):
        load_grid(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trainer": {"devices": "zero"}},
         "key 'trainer.devices': expected a positive integer or 'auto', got 'zero'"),
        ({"trainer": {"devices": 0}}, "key 'trainer.devices'"),
        ({"trainer": {"accelerator": "tpu_nonsense"}}, "key 'trainer.accelerator': expected one of"),
        ({"seed": -1}, "key 'seed': expected an integer in [0, 4294967295], got -1"),
        ({"datasets": ["embedded", {"name": "embedded", "kwargs": {"seed": 1}}]},
         "key 'datasets[1].name': dataset 'embedded' is listed twice"),
        ({"bits": [32, 16, 32]}, "key 'bits[2]': 32 is listed twice"),
        ({"defenses": ["none", {"name": "none"}]}, "key 'defenses[1].name': defense 'none' is listed twice"),
        ({"defenses": ["cgat", {"name": "cgat", "alias": "cgat"}]},
         "key 'defenses[1].alias': defense 'cgat' is listed twice"),
        ({"defenses": [{"name": "cgat", "alias": "a/b"}]}, "key 'defenses[0].alias': not a valid"),
        ({"attacks": [{"name": "hag", "alias": "h2"}]}, "key 'attacks[0]': unknown keys ['alias']"),
        ({"attacks": ["hag", {"name": "hag", "mode": "untargeted"}]},
         "key 'attacks[1]': attack 'hag' is listed twice for the same mode"),
        ({"attacks": [{"name": "mainstay", "mode": "targeted"}, {"name": "mainstay", "mode": "targeted"}]},
         "key 'attacks[1]': attack 'mainstay' is listed twice"),
    ],
)  # fmt: skip
def test_bad_values_give_one_line(change: dict, message: str) -> None:
    with pytest.raises(GridError, match=re.escape(f"g.yaml: {message}")) as info:
        parse_grid({**BASE, **change}, "g.yaml")
    assert "\n" not in str(info.value)


def test_one_attack_in_two_modes_and_devices_auto_are_fine() -> None:
    grid = parse_grid({**BASE, "trainer": {"devices": "auto"}, "attacks": [
        {"name": "mainstay", "mode": "untargeted"}, {"name": "mainstay", "mode": "targeted"}]})  # fmt: skip
    assert [a.mode for a in grid.attacks] == ["untargeted", "targeted"]


def test_yaml_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  bad: [\n")
    with pytest.raises(
        GridError, match=r"bad.yaml: not valid YAML: .*\(line 2, column \d+\)$"
    ) as info:
        load_grid(bad)
    assert "\n" not in str(info.value)
