"""The one registry pattern: checked registration, duplicates, lazy entry points."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

from robust_hashing.constants import ENTRY_POINT_GROUPS
from robust_hashing.plugins import REGISTRIES
from robust_hashing.registry import PluginError, Registry


class Base:
    name = ""


class _EntryPoint:
    def __init__(self, name: str, obj: object) -> None:
        self.name, self.value, self.obj = name, f"lab:{name}", obj

    def load(self) -> object:
        return self.obj


@pytest.fixture
def entry_points(monkeypatch):
    """Fake installed entry points per group; counts how often a group is read."""
    table: dict[str, list[_EntryPoint]] = {}
    reads: list[str] = []

    def fake(group: str) -> list[_EntryPoint]:
        reads.append(group)
        return table.get(group, [])

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    return table, reads


def test_register_checks_the_base_class_and_sets_the_name() -> None:
    things = Registry("thing", base=Base, name_attr="name")

    @things.register("one")
    class One(Base): ...

    assert things.get("one") is One and One.name == "one"
    with pytest.raises(TypeError, match=r"thing 'two': .*Two is not a subclass of .*Base"):
        things.register("two")(type("Two", (), {}))
    with pytest.raises(TypeError, match="is not a subclass"):
        things.add("three", len)  # a callable, but not a class
    assert things.list() == ["one"]


def test_without_a_base_anything_callable_registers() -> None:
    factories = Registry("factory")

    @factories.register("f")
    def f() -> int:
        return 1

    assert factories.get("f")() == 1
    with pytest.raises(TypeError, match=r"factory 'x': .*is not callable"):
        factories.add("x", 3)


def test_duplicates_raise_unless_replaced_on_purpose() -> None:
    things = Registry("thing", base=Base)
    first, second = type("First", (Base,), {}), type("Second", (Base,), {})
    things.add("a", first)
    things.add("a", first)  # the same object again (a module imported twice) is harmless
    with pytest.raises(ValueError, match=r"thing 'a' is already registered \(by .*First\)"):
        things.add("a", second)
    things.add("a", second, override=True)
    assert things.get("a") is second
    with pytest.raises(ValueError, match="invalid thing name"):
        things.add(" b", first)


def test_lookups_name_the_known_entries() -> None:
    things = Registry("thing", base=Base)
    things.add("beta", type("B", (Base,), {}))
    things.add("alpha", type("A", (Base,), {}))
    assert things.list() == ["alpha", "beta"] and list(things) == ["alpha", "beta"]
    assert things.list("a*") == ["alpha"] and len(things) == 2 and "beta" in things
    with pytest.raises(KeyError, match="unknown thing 'gamma'; known: alpha, beta"):
        things.get("gamma")


def test_entry_points_load_once_at_the_first_lookup(entry_points) -> None:
    table, reads = entry_points
    module = types.ModuleType("lab_module")
    cls = type("Lab", (Base,), {})
    table["lab.things"] = [_EntryPoint("lab", cls), _EntryPoint("mod", module)]
    things = Registry("thing", base=Base, entry_point_group="lab.things", name_attr="name")
    things.add("builtin", type("Builtin", (Base,), {}))
    assert reads == []  # registering loads nothing
    assert things.list() == ["builtin", "lab"] and cls.name == "lab"
    assert things.get("lab") is cls and "lab" in things
    assert reads == ["lab.things"]  # once per process
    assert things.load_entry_points() == ["lab", "mod"]
    assert things.load_entry_points(reload=True) == ["lab", "mod"] and len(reads) == 2


def test_a_broken_entry_point_is_one_line_and_retried(entry_points) -> None:
    table, reads = entry_points
    table["lab.things"] = [_EntryPoint("bad", type("NotABase", (), {}))]
    things = Registry("thing", base=Base, entry_point_group="lab.things")
    for _ in range(2):
        with pytest.raises(PluginError, match=r"^entry point lab\.things:bad \(lab:bad\): thing "
                                              r"'bad': .*NotABase is not a subclass"):  # fmt: skip
            things.list()
    assert len(reads) == 2
    table["lab.things"] = []
    assert things.list() == []


def test_skipped_entry_points_are_never_read(entry_points) -> None:
    table, reads = entry_points
    table["lab.things"] = [_EntryPoint("lab", type("Lab", (Base,), {}))]
    things = Registry("thing", base=Base, entry_point_group="lab.things")
    things.skip_entry_points()
    assert things.list() == [] and reads == []


def test_every_kind_declares_its_registry_the_same_way() -> None:
    groups = {r.entry_point_group for r in REGISTRIES.values()}
    assert groups == set(ENTRY_POINT_GROUPS)
    for variable, registry in REGISTRIES.items():
        assert registry.list(), variable  # the built-ins are registered at import
        for name in registry.list():
            assert registry.check(registry.get(name)) is None, (variable, name)
    assert {REGISTRIES[v].base is None for v in REGISTRIES} == {True, False}  # backbones: factories
