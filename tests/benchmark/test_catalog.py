from __future__ import annotations

import re
from typing import Any, ClassVar

import pytest

from robust_hashing.benchmark.cache import ArtefactCache
from robust_hashing.benchmark.catalog import RegistryCatalog, check_grid, supported_modes
from robust_hashing.benchmark.cells import plan
from robust_hashing.benchmark.grid import GridError
from robust_hashing.registry import accepted_hp

from .conftest import FakeCatalog, make_grid


def test_supported_modes_reads_both_spellings() -> None:
    assert supported_modes(type("A", (), {"supported_mode": ("targeted",)})) == ("targeted",)
    assert supported_modes(type("B", (), {})) == ("untargeted",)


class _Base:
    def __init__(self, lr: float = 0.1, bits: int = 32) -> None:
        self.lr, self.bits = lr, bits


class _KwargsDefense(_Base):
    """Takes **kwargs and hands them to its base: the base's names count."""

    quick: ClassVar[dict[str, Any]] = {}

    def __init__(self, lam: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)


class _StrictAttack:
    supported_modes = ("untargeted",)
    quick: ClassVar[dict[str, Any]] = {}

    def __init__(self, model: Any, context: Any = None, *, targeted: bool = False,
                 steps: int = 10) -> None:  # fmt: skip
        self.steps = steps


class _OpenAttack:
    """**kwargs with no base __init__ to hand them to: any name is accepted."""

    def __init__(self, model: Any, context: Any = None, **kwargs: Any) -> None:
        self.kwargs = kwargs


class StrictCatalog(FakeCatalog):
    DEFENSES: ClassVar[dict[str, type]] = {**FakeCatalog.DEFENSES, "kw": _KwargsDefense}
    ATTACKS: ClassVar[dict[str, type]] = {
        **FakeCatalog.ATTACKS, "strict": _StrictAttack, "open": _OpenAttack
    }  # fmt: skip


def test_accepted_hp_follows_kwargs_to_the_base_class() -> None:
    assert accepted_hp(_KwargsDefense) == {"lam", "lr", "bits"}
    assert accepted_hp(_StrictAttack) == {"model", "context", "targeted", "steps"}
    assert accepted_hp(_OpenAttack) is None
    assert accepted_hp(FakeCatalog.DEFENSES["good"]) is None  # no __init__: cannot tell


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"defenses": ["none", "nope"]},
         "key 'defenses[1].name': unknown defense 'nope'; known: better, broken, cgat, good, kw, none"),
        ({"attacks": ["weak", "zap"]}, "key 'attacks[1].name': unknown attack 'zap'; known: "),
        ({"attacks": [{"name": "weak", "mode": "targeted"}]},
         "key 'attacks[0].mode': attack 'weak' does not support targeted (supported: untargeted)"),
        ({"datasets": ["other"]}, "key 'datasets[0].name': unknown dataset 'other'; known: fake"),
        ({"victim": {"method": "nosuch", "backbone": "test_cnn"}},
         "key 'victim.method': unknown victim method (hashing loss) 'nosuch'; known: "),
        ({"victim": {"method": "dpsh", "backbone": "nosuch"}},
         "key 'victim.backbone': unknown backbone 'nosuch'; known: "),
        ({"defenses": [{"name": "kw", "hp": {"lam": 2, "nope": 1}}]},
         ("key 'defenses[0].hp.nope': unknown hyper-parameter of defense 'kw'; accepted: lam, "
          "limit_train_batches, lr, max_epochs, max_steps")),
        ({"defenses": [{"name": "kw", "hp": {"bits": 16}}]},
         "key 'defenses[0].hp.bits': 'bits' is set by the runner for defense 'kw'; remove it"),
        ({"attacks": [{"name": "strict", "hp": {"stepz": 1}}]},
         "key 'attacks[0].hp.stepz': unknown hyper-parameter of attack 'strict'; accepted: steps"),
        ({"attacks": [{"name": "strict", "hp": {"targeted": True}}]},
         "key 'attacks[0].hp.targeted': 'targeted' is set by the runner"),
        ({"victim": {"method": "dpsh", "backbone": "test_cnn", "hp": {"lrr": 0.1}}},
         "key 'victim.hp.lrr': unknown hyper-parameter of the victim's HashingTask; accepted: "),
        ({"victim": {"method": "dpsh", "backbone": "test_cnn", "hp": {"bits": 16}}},
         "key 'victim.hp.bits': 'bits' is set by the runner for the victim's HashingTask"),
    ],
)  # fmt: skip
def test_check_grid_names_the_file_key_and_value(change: dict, message: str, tmp_path) -> None:
    grid = make_grid(**change)
    with pytest.raises(GridError, match=re.escape(f"tiny.yaml: {message}")) as info:
        check_grid(grid, StrictCatalog())
    assert "\n" not in str(info.value)
    with pytest.raises(GridError):  # plan() runs the same check
        plan(grid, ArtefactCache(tmp_path), StrictCatalog())


def test_check_grid_accepts_known_hp() -> None:
    grid = make_grid(
        defenses=[{"name": "kw", "hp": {"lam": 2, "lr": 0.1, "max_epochs": 1}},
                  {"name": "good", "hp": {"anything": 1}}],
        attacks=[{"name": "strict", "hp": {"steps": 2}}, {"name": "open", "hp": {"x": 1}}],
        victim={"method": "dpsh", "backbone": "test_cnn", "hp": {"lr": 0.01, "optimizer": "adam"}},
    )  # fmt: skip
    check_grid(grid, StrictCatalog())


def test_check_grid_with_the_registries() -> None:
    catalog = RegistryCatalog()
    good = make_grid(
        datasets=["embedded"], victim={"method": "dpsh", "backbone": "small_cnn"},
        defenses=[{"name": "cgat", "hp": {"lam": 2.0, "attack_steps": 3, "max_epochs": 1}}],
        attacks=[{"name": "hag", "hp": {"steps": 2, "eps": 0.03}}],
    )  # fmt: skip
    check_grid(good, catalog)
    bad = make_grid(datasets=["embedded"], defenses=[{"name": "cgat", "hp": {"nosuchhp": 3}}])
    with pytest.raises(GridError, match=r"'defenses\[0\]\.hp\.nosuchhp': unknown hyper-param"):
        check_grid(bad, catalog)
    with pytest.raises(GridError, match=r"'datasets\[0\]\.name': unknown dataset 'nosuchdata'"):
        check_grid(make_grid(datasets=["nosuchdata"]), catalog)
