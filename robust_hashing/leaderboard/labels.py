"""Readable names on the leaderboard page: group captions, attack names, column headers.

:func:`column_groups` sorts a frame's columns into the header groups of the page's table
(summary, untargeted attacks, targeted attacks, then every further family of columns by its
``<prefix>_`` such as ``transfer_`` or ``curve_``), so a new column family gets its own
header group without a change here.
"""

from __future__ import annotations

import math

import pandas as pd

from robust_hashing.leaderboard.columns import GROUP_COLUMNS, SUMMARY_COLUMNS, TARGETED_SUFFIX
from robust_hashing.leaderboard.ranking import FIGURE_KEYS

ATTACK_NAMES = {
    "hag": "HAG", "sdha": "SDHA", "mainstay": "Mainstay", "cgat_pgd": "CgAT-PGD",
    "pgd": "PGD", "dhta": "DHTA", "p2p": "P2P", "tha": "THA", "prosgan": "ProS-GAN",
    "prosgan_clip": "ProS-GAN-clip",
}  # fmt: skip
SUMMARY_NAMES = {
    "rank": "rank", "clean_map": "clean mAP", "worst_case_map": "worst-case mAP",
    "min_attack_map": "min-attack mAP", "worst_attack": "worst attack",
    "worst_case_tmap": "worst-case t-mAP (lower is better)", "flags": "flags",
    "missing": "missing attacks", "source": "source", "notes": "notes",
}  # fmt: skip
RANKING_NAMES = {  # the ranking protocol's figures (metrics.ers), with their direction
    "ca_plus": "CA+ (%, higher)", "ca_minus": "CA− (%, lower is better)",
    "qa_plus": "QA+ (%, higher)", "qa_minus": "QA− (%, lower is better)",
    "tma": "TMA (lower is better)", "es_d": "ES:D (lower is better)", "es_r": "ES:R R@1 (%)",
    "ltm": "LTM R@1 (%)", "gtm": "GTM R@1 (%)", "gtt": "GTT (%)", "ers": "ERS",
    "ers_clean": "ERS clean", "ers_bn": "ERS-BN", "ranking_recall_at_1": "clean R@1 (%)",
    "ranking_map": "clean mAP (ranking queries)",
}  # fmt: skip
FAMILY_NAMES = {
    "transfer": "transfer from the undefended model (mAP)",
    "curve": "robustness curve (mAP at each ε)",
}
NAMED_GROUPS = {  # header group → its columns, wherever they stand in the frame
    "ranking protocol (RobRank): figures and ERS": (
        *FIGURE_KEYS, "ers", "ers_clean", "ers_bn", "ranking_recall_at_1", "ranking_map",
        "ranking_n_queries",
    ),
}  # fmt: skip
UNTARGETED = "untargeted attacks: mAP under attack (higher = more robust)"
TARGETED = "targeted attacks: t-mAP (lower is better)"
SUMMARY = "summary"
LOWER_IS_BETTER = "(lower is better)"


def is_missing(value: object) -> bool:
    """True for None, pd.NA, NaN and the empty string."""
    if value is None or value is pd.NA or value == "":
        return True
    return isinstance(value, float) and math.isnan(value)


def group_label(names: list[str], key: tuple[object, ...]) -> list[str]:
    """``embedded / 32 / … / top_k 1000 / 40 queries`` parts (null top_k = the full database)."""
    out = []
    for name, value in zip(names, key, strict=True):
        missing = value is None or value is pd.NA
        if name == "top_k":
            out.append("full ranking" if missing else f"top_k {value}")
        elif name == "n_queries":
            out.append("queries ?" if missing else f"{value} queries")
        else:
            out.append(str(value))
    return out


def caption(key: tuple[object, ...]) -> str:
    """A group's constant columns as one line: ``embedded · 32 bits · dpsh / small_cnn · …``."""
    values = dict(zip(GROUP_COLUMNS, group_label(GROUP_COLUMNS, key), strict=True))
    threat = dict(zip(GROUP_COLUMNS, key, strict=True))["threat"]
    victim = f"{values.pop('method')} / {values.pop('backbone')}"
    parts = [values["dataset"], f"{values['bits']} bits", victim, f"profile {values['profile']}"]
    parts.append("threat model not recorded" if is_missing(threat) else values["threat"])
    return " · ".join([*parts, values["top_k"], values["n_queries"]])


def attack_name(attack: str) -> str:
    """``Mainstay`` for ``mainstay``; an unknown attack keeps its registry name."""
    return ATTACK_NAMES.get(attack, attack)


def family(column: str) -> str:
    """The ``<prefix>`` of a ``<prefix>_<name>`` column, ``""`` for a bare name."""
    return column.split("_", 1)[0] if "_" in column else ""


def header(column: str, group: str = "") -> str:
    """The header of ``column`` in header group ``group`` (``Mainstay mAP``, ``ε 8/255``)."""
    if group == UNTARGETED:
        return f"{attack_name(column)} mAP"
    if column in SUMMARY_NAMES:
        return SUMMARY_NAMES[column]
    if column in RANKING_NAMES:
        return RANKING_NAMES[column]
    if column.endswith(TARGETED_SUFFIX):
        return f"{attack_name(column.removesuffix(TARGETED_SUFFIX))} t-mAP {LOWER_IS_BETTER}"
    prefix = family(column)
    if prefix == "transfer":
        return f"{attack_name(column.removeprefix('transfer_'))} transfer mAP"
    if column == "curve_attack":
        return "curve attack"
    if column.startswith("curve_eps"):
        return f"ε {column.removeprefix('curve_eps')}/255"
    return column.replace("_", " ")


def column_groups(columns: list[str]) -> list[tuple[str, list[str]]]:
    """(header group, columns) in page order, after ``defense`` and the group key columns.

    ``<name>_se`` columns whose ``<name>`` is present are left out: their value is shown
    beside it. A column of :data:`NAMED_GROUPS` joins its named group. Untargeted attack columns are the unprefixed run of columns after the summary
    ones; every later column that is neither targeted nor an attack joins its prefix's group.
    """
    present = set(columns)
    shown = [
        c
        for c in columns
        if c not in GROUP_COLUMNS and c != "defense"
        and not (c.endswith("_se") and c.removesuffix("_se") in present)
    ]  # fmt: skip
    groups: dict[str, list[str]] = {SUMMARY: [], UNTARGETED: [], TARGETED: []}
    named = {c: name for name, cols in NAMED_GROUPS.items() for c in cols}
    attacks_done = False
    for column in shown:
        if column in named:
            groups.setdefault(named[column], []).append(column)
        elif column in SUMMARY_COLUMNS:
            groups[SUMMARY].append(column)
        elif column.endswith(TARGETED_SUFFIX):
            groups[TARGETED].append(column)
            attacks_done = True
        elif not attacks_done and family(column) not in FAMILY_NAMES:
            groups[UNTARGETED].append(column)
        else:
            attacks_done = True
            prefix = family(column) or column
            groups.setdefault(FAMILY_NAMES.get(prefix, prefix.replace("_", " ")), []).append(column)
    return [(name, cols) for name, cols in groups.items() if cols]
