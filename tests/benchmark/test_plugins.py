from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from robust_hashing.benchmark.plugins import PluginError, import_plugin, plugin_digest


def test_import_by_path_once_and_by_module(tmp_path: Path) -> None:
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text("COUNT = []\nCOUNT.append(1)\n")
    first = import_plugin(str(plugin))
    second = import_plugin(str(plugin))
    assert first is second and first.COUNT == [1]
    assert import_plugin("json") is sys.modules["json"]
    assert list(plugin_digest([str(plugin), "json"])) == [str(plugin)]


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
