"""The argparse types shared by the command-line tools (robust_hashing/errors.py)."""

import argparse
import doctest

import pytest
import torch

from robust_hashing import errors
from robust_hashing.datasets.lists import DatasetError
from robust_hashing.errors import first_line, int_at_least, key_value, typed_value


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(errors)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60", 60),
        ("-3", -3),
        ("7.5", 7.5),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("FALSE", False),
        ("~", None),
        ("[1, 2]", [1, 2]),
        ("01:00:00", "01:00:00"),
        ("yes", "yes"),
        ("8/255", "8/255"),
        ("gpu", "gpu"),
    ],
)
def test_typed_value(text, expected) -> None:
    value = typed_value(text)
    assert value == expected and type(value) is type(expected)


def test_typed_value_names_bad_yaml() -> None:
    with pytest.raises(
        argparse.ArgumentTypeError, match=r"invalid YAML value '\[1': .*\(line 1, column 3\)$"
    ):
        typed_value("[1")


def test_key_value_splits_at_the_first_equals_sign() -> None:
    pair = key_value("a=1")
    assert pair(" steps = 3") == ("steps", 3)
    assert pair("expr=a=b") == ("expr", "a=b")
    assert key_value("a=1", value=str)("n=3") == ("n", "3")
    for bad in ("novalue", "=3", " =3"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"such as a=1, got '{bad}'"):
            pair(bad)


def test_int_at_least() -> None:
    parse = int_at_least(2, "a count")
    assert parse("2") == 2
    with pytest.raises(argparse.ArgumentTypeError, match="expected a count, got 'x'"):
        parse("x")
    with pytest.raises(argparse.ArgumentTypeError, match="must be at least 2, got 1"):
        parse("1")


class _Broken(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        raise DatasetError(f"train_img.txt:{i + 1}: cannot read image im{i}.jpg")


def test_first_line_of_an_error_from_a_dataloader_worker() -> None:
    loader = torch.utils.data.DataLoader(_Broken(), num_workers=1)
    with pytest.raises(DatasetError) as info:
        next(iter(loader))
    assert str(info.value).startswith("Caught DatasetError in DataLoader worker process 0")
    assert first_line(info.value) == "train_img.txt:1: cannot read image im0.jpg"
