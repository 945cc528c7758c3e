"""The images' part of a clean model's cache key: a digest of their content.

The list files say which images a split holds; an image edited (or replaced) under the same
name must still give a new key, or a stale model would be reused. :func:`image_digest`
hashes the bytes of every image the list files name. Reading a whole data set on every
plan would be slow, so each image's digest is remembered in a memo file under the cache
(``<cache>/data/<root digest>.json``, once the cache folder exists) with the image's size
and modification time, and read again only when those change. ``robust-hashing benchmark --rehash`` ignores the memo and
reads every image (an edit that kept both size and modification time is then seen too).

The digest covers relative names and content only, so the same images under another
folder (another machine, a maintainer's re-run) give the same key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from robust_hashing.datasets.lists import SPLITS
from robust_hashing.io import write_json_atomic

MEMO_FOLDER = "data"
_CHUNK = 1 << 20


def listed_images(root: Path) -> list[str]:
    """Relative paths of the images named by the list files under ``root`` (sorted, unique).

    Both list formats are read (``{split}_img.txt``: one path per line; ``{split}.txt``:
    the path is the first token); a split without a list file is skipped.
    """
    names: set[str] = set()
    for split in SPLITS:
        for list_name, first_token in ((f"{split}_img.txt", False), (f"{split}.txt", True)):
            path = root / list_name
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                text = line.strip()
                if text:
                    names.add(text.split()[0] if first_token else text)
    return sorted(names)


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _memo_path(root: Path, memo_dir: Path) -> Path:
    where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return memo_dir / f"{where}.json"


def _read_memo(path: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def image_digest(root: str | Path, memo_dir: Path | None = None, rehash: bool = False) -> str:
    """SHA-256 (16 hex digits) over the relative name and bytes of every listed image.

    Args:
        root: the data set folder (list files at its top, image paths relative to it).
        memo_dir: folder of the memo of per-image digests keyed by size and modification
            time; None reads every image.
        rehash: read every image even where the memo has its size and time.

    A listed image that does not exist is hashed as missing (the data module reports it
    when the cell runs); ``"missing"`` if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        return "missing"
    memo_file = _memo_path(root, memo_dir) if memo_dir is not None else None
    memo = {} if memo_file is None or rehash else _read_memo(memo_file)
    fresh: dict[str, list[Any]] = {}
    total = hashlib.sha256()
    for name in listed_images(root):
        path = root / name
        try:
            stat = path.stat()
        except OSError:
            total.update(name.encode() + b"\0missing\0")
            continue
        stamp = [stat.st_size, stat.st_mtime_ns]
        known = memo.get(name)
        if isinstance(known, list) and len(known) == 3 and known[:2] == stamp:
            content = str(known[2])
        else:
            content = _content_digest(path)
        fresh[name] = [*stamp, content]
        total.update(name.encode() + b"\0" + content.encode() + b"\0")
    # the memo goes into an existing cache only: planning alone (a dry run) creates no folder
    if memo_file is not None and fresh != memo and memo_file.parent.parent.is_dir():
        try:
            write_json_atomic(memo_file, fresh)
        except OSError:  # a read-only cache: the digest is still right, only slower next time
            pass
    return total.hexdigest()[:16]


def with_image_digest(
    identity: dict[str, Any], kwargs: dict[str, Any], memo_dir: Path | None, rehash: bool
) -> dict[str, Any]:
    """``identity`` plus ``images`` where it covers list files under ``kwargs['root']``.

    A data module whose identity has no ``lists`` entry (the embedded data, which follows
    from its seed) is left as it is.
    """
    if "lists" not in identity or kwargs.get("root") is None:
        return identity
    return {**identity, "images": image_digest(kwargs["root"], memo_dir, rehash)}
