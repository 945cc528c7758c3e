"""Defaults and listings of ``robust-hashing attack`` that follow from elsewhere.

* :data:`QUICK_QUERIES`: how many queries ``--quick`` attacks, the quick profile's
  ``max_queries`` (``benchmark/quick.yaml``);
* :func:`default_top_k`: the mAP depth when ``--top-k`` is not given, the one the
  checkpoint was validated with;
* :func:`format_attack_list`: ``--list``, one row per attack with its modes, whether it
  stays in the ε-ball, and the first line of its class docstring.
"""

from __future__ import annotations

import re
from typing import Any

#: Queries attacked by ``--quick`` unless ``--max-queries`` says otherwise (quick profile).
QUICK_QUERIES = 80
#: mAP depth of a checkpoint that records none (the embedded data's, as in the README).
FALLBACK_TOP_K = 1000


def default_top_k(checkpoint: dict[str, Any]) -> int | None:
    """The ``top_k`` the checkpoint's task validated with (None: full ranking).

    The packaged and embedded configs use 1000, the real-dataset configs the protocol's
    5000; a checkpoint without the hyper-parameter gets :data:`FALLBACK_TOP_K`.
    """
    hp = checkpoint.get("hyper_parameters", {})
    if not isinstance(hp, dict) or "top_k" not in hp:
        return FALLBACK_TOP_K
    value = hp["top_k"]
    return None if value is None else int(value)


def max_queries(requested: int | None, quick: bool) -> int | None:
    """The number of queries to attack: ``--max-queries``, else :data:`QUICK_QUERIES` if quick."""
    if requested is not None:
        return requested
    return QUICK_QUERIES if quick else None


def _summary(cls: type) -> str:
    """First line of the class docstring, reST roles and literals as plain text."""
    doc = (cls.__doc__ or "").strip()
    line = doc.splitlines()[0].strip() if doc else ""
    return re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", line).replace("``", "")


def format_attack_list(names: list[str]) -> str:
    """The ``--list`` table: name, modes, bounded or not, one-line description."""
    from robust_hashing.attacks import ATTACKS

    rows = [("attack", "modes", "bounded", "description")]
    for name in names:
        cls = ATTACKS.get(name)
        bounded = "yes" if getattr(cls, "bounded", True) else "no (RMSE reported)"
        modes = ", ".join(getattr(cls, "supported_modes", ()))
        rows.append((name, modes, bounded, _summary(cls)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        lines.append(f"{cells}  {row[3]}".rstrip())
    return "\n".join(lines)
