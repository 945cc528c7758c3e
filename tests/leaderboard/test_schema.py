from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from robust_hashing.leaderboard import SchemaError, dump_result, load_result, parse_result

from .conftest import CELL_DIR, make_record


def test_roundtrip(tmp_path: Path, record: dict) -> None:
    result = parse_result(record)
    path = dump_result(result, tmp_path)
    assert path == tmp_path / CELL_DIR / "cgat" / "hag.json"
    assert load_result(path) == result and result.figure == 0.4
    targeted = parse_result(make_record(attack="dhta", mode="targeted", figure=0.7))
    assert dump_result(targeted, tmp_path).name == "dhta-targeted.json"
    assert targeted.figure == 0.7 and targeted.column == "dhta-targeted"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(adv_map="0.4"), "field 'adv_map': expected a number, got str"),
        (lambda d: d.pop("asr"), "missing required field 'asr'"),
        (lambda d: d.update(colour=1), "unknown field 'colour'"),
        (lambda d: d.update(mode="sideways"), "field 'mode'"),
        (lambda d: d.update(bits=32.0), "field 'bits': expected an integer"),
        (lambda d: d.update(clean_map=1.5), "field 'clean_map': 1.5 is outside"),
        (lambda d: d.update(adv_map=None), "field 'adv_map': required for untargeted"),
        (lambda d: d["provenance"].update(source="guessed"), "provenance.source"),
        (lambda d: d["provenance"].pop("seed"), "provenance: missing required field 'seed'"),
        (lambda d: d.update(bounded="yes"), "field 'bounded': expected a boolean"),
        (lambda d: d.update(footnote="two\nlines"), "field 'footnote': must be one line"),
    ],
)
def test_rejects_bad_records(record: dict, mutate, message: str) -> None:
    data = copy.deepcopy(record)
    mutate(data)
    with pytest.raises(SchemaError, match=re.escape(message)):
        parse_result(data, "cell.json")


def test_errors_name_the_file_and_location_is_checked(tmp_path: Path, record: dict) -> None:
    path = tmp_path / CELL_DIR / "cgat" / "hag.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**record, "asr": "high"}))
    with pytest.raises(SchemaError, match=re.escape(f"{path}: field 'asr'")):
        load_result(path)
    wrong = tmp_path / CELL_DIR / "saat" / "hag.json"
    wrong.parent.mkdir(parents=True)
    wrong.write_text(json.dumps(record))
    with pytest.raises(SchemaError, match="location does not match"):
        load_result(wrong)
    path.write_text("{not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_result(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("threat"), "missing required field 'threat'"),
        (lambda d: d.update(threat={"norm": "l2", "eps": 0.5}), "threat'.norm: expected one of"),
        (lambda d: d.update(threat={"norm": "linf", "eps": 2.0}), "eps: 2.0 is outside [0, 1]"),
        (lambda d: d.update(attack_hp=[1]), "field 'attack_hp': expected an object"),
        (lambda d: d.update(n_queries=2, per_query={"idx": [0, 1], "ap": [0.5]}),
         "2 indices but 1 AP values"),
        (lambda d: d.update(n_queries=3, per_query={"idx": [0, 1], "ap": [0.5, 0.1]}),
         "2 queries, but n_queries is 3"),
        (lambda d: d.update(per_query={"idx": [0, 0], "ap": [0.5, 0.1]}), "listed twice"),
        (lambda d: d.update(per_query={"idx": [0], "ap": [1.5]}), "ap[0]: 1.5 is outside"),
        (lambda d: d.update(curve={"attack": "hag", "eps": [0.1, 0.05], "adv_map": [0.5, 0.4]}),
         "expected increasing"),
        (lambda d: d.update(mode="targeted", adv_tmap=0.5, clean_tmap=0.1,
                            transfer={"source": "none", "adv_map": 0.5}), "only untargeted"),
    ],
)  # fmt: skip
def test_rejects_bad_protocol_v2_fields(record: dict, mutate, message: str) -> None:
    data = copy.deepcopy(record)
    mutate(data)
    with pytest.raises(SchemaError, match=re.escape(message)):
        parse_result(data, "cell.json")


def test_protocol_v1_records_are_read_at_their_old_path_but_never_written(
    tmp_path: Path, record: dict
) -> None:
    old = {k: v for k, v in record.items() if k not in ("threat", "attack_hp", "defense_hp")}
    result = parse_result(old)
    assert result.legacy and result.threat is None and result.threat_model == ""
    path = tmp_path / "embedded" / "32bit" / "cgat" / "hag.json"  # the v1 layout
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(old))
    assert load_result(path) == result
    with pytest.raises(SchemaError, match=r"protocol-v1 record .* is not written"):
        dump_result(result, tmp_path / "out")
    assert not parse_result(record).legacy
