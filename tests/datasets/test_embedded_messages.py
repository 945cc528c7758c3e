"""The embedded data says when it is built (first use), and nothing when it is reused."""

from __future__ import annotations

import re

from robust_hashing.datasets.embedded import build_embedded


def test_build_is_announced_once(tmp_path, capsys) -> None:
    root = tmp_path / "emb"
    assert build_embedded(root, seed=2, sizes=(6, 8, 10)) == root
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"building the embedded data in {root} (first use only)"
    assert re.fullmatch(r"built the embedded data in \d+\.\d s", lines[1]) and len(lines) == 2
    assert build_embedded(root, seed=2, sizes=(6, 8, 10)) == root  # verified, not rebuilt
    assert capsys.readouterr() == ("", "")
