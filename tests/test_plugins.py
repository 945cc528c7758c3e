from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from robust_hashing.plugins import PluginError, PluginWarning, import_plugin


def test_import_by_path_once_and_by_module(tmp_path: Path) -> None:
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text("COUNT = []\nCOUNT.append(1)\n")
    first = import_plugin(str(plugin))
    second = import_plugin(str(plugin))
    assert first is second and first.COUNT == [1]
    assert import_plugin("json") is sys.modules["json"]


def test_missing_plugins_raise_clearly(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="file not found"):
        import_plugin(str(tmp_path / "missing.py"))
    with pytest.raises(PluginError, match="cannot import module"):
        import_plugin("no_such_package_xyz.defenses")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n\ndef broken(:\n", r"SyntaxError: .+ \(line 3\)$"),
        ("raise RuntimeError('boom')\n", r"RuntimeError: boom$"),
        ("import nosuchdep_xyz\n", r"ModuleNotFoundError: No module named 'nosuchdep_xyz'$"),
    ],
)
def test_failing_plugin_file_gives_one_line(tmp_path: Path, source: str, message: str) -> None:
    plugin = tmp_path / "bad_plugin.py"
    plugin.write_text(source)
    with pytest.raises(PluginError, match=f"^plugin {re.escape(str(plugin))}: {message}") as info:
        import_plugin(str(plugin))
    assert "\n" not in str(info.value)
    assert not [m for m in sys.modules if m.startswith("robust_hashing_plugin_") and
                getattr(sys.modules[m], "__file__", None) == str(plugin)]  # fmt: skip


def test_failing_plugin_module_names_the_module(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "lab_plugin_xyz.py").write_text("import nosuchdep_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    expected = "plugin lab_plugin_xyz: ModuleNotFoundError: No module named 'nosuchdep_xyz'"
    with pytest.raises(PluginError, match=f"^{re.escape(expected)}$"):
        import_plugin("lab_plugin_xyz")


class _EntryPoint:
    def __init__(self, name: str, load) -> None:
        self.name, self.value, self._load = name, f"lab.module:{name}", load

    def load(self):
        return self._load()


@pytest.fixture
def entry_points(monkeypatch):
    """Install fake entry points per group; the per-process 'loaded' memory starts empty."""
    import importlib.metadata

    from robust_hashing.plugins import REGISTRIES

    table: dict[str, list[_EntryPoint]] = {}
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: table.get(group, []))
    for registry in REGISTRIES.values():
        monkeypatch.setattr(registry, "_entry_points", None)
    return table


def test_an_entry_point_class_is_registered_by_the_first_lookup(entry_points) -> None:
    from robust_hashing.attacks import ATTACKS, HashAttack, list_attacks
    from robust_hashing.defenses import DEFENSES, get_defense, list_defenses
    from robust_hashing.defenses.none import NoDefense

    attack = type("LabFGSM", (HashAttack,), {"forward": lambda self, x, y, t: x})
    defense = type("LabDefense", (NoDefense,), {})
    entry_points["robust_hashing.attacks"] = [_EntryPoint("lab_fgsm", lambda: attack)]
    entry_points["robust_hashing.defenses"] = [_EntryPoint("lab_def", lambda: defense)]
    try:
        assert "lab_fgsm" in list_attacks() and attack.name == "lab_fgsm"
        assert "lab_def" in list_defenses() and get_defense("lab_def") is defense
        calls = []
        entry_points["robust_hashing.attacks"] = [_EntryPoint("x", lambda: calls.append(1))]
        list_attacks()
        assert calls == []  # loaded once per process
    finally:
        ATTACKS.remove("lab_fgsm")
        DEFENSES.remove("lab_def")


@pytest.mark.parametrize(
    ("load", "message"),
    [
        (lambda: 1 / 0, (r"entry point robust_hashing\.defenses:bad \(lab\.module:bad\): "
                         r"ZeroDivisionError: division by zero$")),
        (lambda: dict, (r"bad \(lab\.module:bad\): defense 'bad': dict is not a subclass of "
                        r"robust_hashing\.defenses\.base\.DefenseTask$")),
    ],
)  # fmt: skip
def test_a_broken_entry_point_is_one_line_and_retried(entry_points, load, message) -> None:
    from robust_hashing.defenses import list_defenses

    entry_points["robust_hashing.defenses"] = [_EntryPoint("bad", load)]
    for _ in range(2):  # not marked loaded after a failure
        with pytest.raises(PluginError, match=message):
            list_defenses()
    entry_points["robust_hashing.defenses"] = []
    assert "cgat" in list_defenses()


def test_registering_a_class_of_the_wrong_kind_fails_at_once() -> None:
    from robust_hashing.attacks import ATTACKS
    from robust_hashing.defenses import DEFENSES

    with pytest.raises(TypeError, match=r"defense 'mine': .*Mine is not a subclass of .*DefenseT"):
        DEFENSES.register("mine")(type("Mine", (), {}))
    with pytest.raises(TypeError, match=r"attack 'mine': .*Mine is not a subclass of .*HashAttack"):
        ATTACKS.register("mine")(type("Mine", (), {}))
    assert "mine" not in DEFENSES and "mine" not in ATTACKS


def test_a_plugin_that_forgets_to_register_is_warned(tmp_path: Path) -> None:
    plugin = tmp_path / "forgot.py"
    plugin.write_text(
        "from robust_hashing.defenses import DEFENSES, CgAT\n"
        "class Forgotten(CgAT):\n    pass\n"
        "@DEFENSES.register('remembered_xyz')\nclass Remembered(CgAT):\n    pass\n"
    )
    from robust_hashing.defenses import DEFENSES

    try:
        with pytest.warns(PluginWarning, match=r"defense class Forgotten is not registered; "
                                               r"decorate it with @DEFENSES\.register"):  # fmt: skip
            import_plugin(str(plugin))
    finally:
        DEFENSES.remove("remembered_xyz")
