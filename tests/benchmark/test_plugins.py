from __future__ import annotations

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
