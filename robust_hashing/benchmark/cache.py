"""Content-addressed artefact cache for the benchmark graph.

Every artefact (clean model, defended model, attack cell) lives in its own folder
``<root>/<kind>/<key>/``, where ``key`` hashes everything that determines it: its config,
the keys of its upstream artefacts, the code version and the seed. A ``done.json`` marker
is written **last** and atomically (temporary file + ``os.replace``), so a folder without it
is an interrupted run that is simply recomputed, and a folder with it is reused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import robust_hashing
from robust_hashing.io import write_json_atomic

DONE = "done.json"
PACKAGE_DIR = Path(robust_hashing.__file__).resolve().parent
# Sub-packages whose code does not change what an artefact contains.
_NOT_HASHED = ("leaderboard",)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, no whitespace) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 prefix of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def file_digest(paths: list[Path]) -> str:
    """SHA-256 prefix over the relative names and bytes of ``paths`` (sorted)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """Digest of the package's Python sources (the part of the code version used in keys).

    A content digest rather than the git commit, so that committing results (which moves
    HEAD) does not invalidate the cache, while any change to the code does.
    """
    files = [
        p
        for p in PACKAGE_DIR.rglob("*.py")
        if p.relative_to(PACKAGE_DIR).parts[0] not in _NOT_HASHED
    ]
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The repository's HEAD commit (``+dirty`` if modified), or ``"unknown"`` outside git."""
    try:
        cwd = PACKAGE_DIR.parent
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "robust_hashing"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def code_version() -> dict[str, str]:
    """Package version plus source digest: the code part of every artefact key."""
    return {"package": robust_hashing.__version__, "source": source_digest()}


def read_marker(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ArtefactCache:
    """Folders of finished artefacts under ``root``, keyed by content hash.

    Args:
        root: cache root (``--cache-dir``, default ``.cache/benchmark``).
        rehash: read every image of a data set again for its key (``--rehash``) instead of
            trusting the digests remembered by size and modification time
            (:mod:`robust_hashing.benchmark.data_key`).
    """

    def __init__(self, root: str | Path, rehash: bool = False) -> None:
        self.root = Path(root)
        self.rehash = rehash

    @property
    def data_memo(self) -> Path:
        """Folder of the per-image digest memos of the data sets' keys."""
        return self.root / "data"

    def key(self, kind: str, config: dict[str, Any], upstream: list[str], seed: int) -> str:
        """Hash of everything that determines an artefact."""
        return config_hash(
            {
                "kind": kind,
                "config": config,
                "upstream": sorted(upstream),
                "code": code_version(),
                "seed": seed,
            }
        )

    def path(self, kind: str, key: str) -> Path:
        """Folder of the artefact ``key`` of ``kind``."""
        return self.root / kind / key

    def is_done(self, kind: str, key: str) -> bool:
        """Whether the artefact finished: its ``done.json`` is present and readable.

        A ``done.json`` that is empty, truncated or not a JSON object (a copy cut short, a
        disk that filled up outside this package's atomic writes) counts as not done, so
        the cell is run again and the marker rewritten.
        """
        return read_marker(self.path(kind, key) / DONE) is not None

    def read_done(self, kind: str, key: str) -> dict[str, Any]:
        """The payload of a finished artefact's ``done.json``.

        Raises:
            FileNotFoundError: if the artefact is not done (no readable ``done.json``).
        """
        path = self.path(kind, key) / DONE
        data = read_marker(path)
        if data is None:
            raise FileNotFoundError(f"{path}: missing or unreadable (the cell is not done)")
        return data

    @staticmethod
    def mark_done(folder: Path, payload: dict[str, Any]) -> None:
        """Write ``done.json`` in ``folder`` atomically; call it after every other file."""
        write_json_atomic(Path(folder) / DONE, payload)
