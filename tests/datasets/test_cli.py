from pathlib import Path

import pytest

from robust_hashing.datasets.cli import main
from robust_hashing.datasets.embedded import build_embedded


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_embedded(tmp_path_factory.mktemp("cli") / "emb", seed=1, sizes=(20, 10, 30))


def test_info(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--root", str(root), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "query         20 rows" in out and "database      30 rows" in out
    assert "train         10 rows" in out and "label(s)" in out
    assert "relevance fraction" in out and "bear, bird" in out


def test_verify_and_build_existing(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--root", str(root)]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["build", "--root", str(root), "--seed", "1"]) == 0
    assert "verified" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "MANIFEST.json: not found" in err and "\n" not in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "build,verify,info" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([])
