from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from robust_hashing.leaderboard import results_frame
from robust_hashing.leaderboard.html import render_html

from .test_render import records


def test_html_is_self_contained_with_table_and_chart() -> None:
    page = render_html(results_frame(records()), title="Test board")
    assert page.count("<tr>") == 4  # header + 3 defenses
    assert "<svg" in page and page.count("<rect") == 3
    assert "<script>" in page and "addEventListener" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no network assets
    assert render_html(results_frame(records()), title="Test board") == page


CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed")
def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "leaderboard.html"
    page.write_text(render_html(results_frame(records())))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert 'class="leaderboard"' in dom
    rows = re.findall(r"<tr>(.*?)</tr>", dom, flags=re.DOTALL)
    assert len(rows) == 4 and "saat" in rows[1]
