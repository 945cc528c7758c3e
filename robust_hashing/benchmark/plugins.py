"""Import third-party defenses and attacks so that their registration decorators run.

Two routes, both explicit (no star-import hub):

* ``--plugin path/to/module.py`` or ``--plugin package.module`` (also the grid's
  ``plugins:`` list); the runner passes the same list to every worker process.
* installed packages declaring the entry-point groups ``robust_hashing.defenses`` or
  ``robust_hashing.attacks``; each entry point is loaded (importing its module).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

ENTRY_POINT_GROUPS = ("robust_hashing.defenses", "robust_hashing.attacks")


class PluginError(ImportError):
    """A plugin that cannot be found or imported."""


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def describe_error(err: BaseException, path: Path | None = None) -> str:
    """``Type: message`` on one line.

    A SyntaxError gives its line, and its file unless that is ``path`` (the plugin itself).
    """
    if isinstance(err, SyntaxError):
        where = [f"line {err.lineno}"] if err.lineno else []
        if err.filename and (path is None or Path(err.filename).resolve() != path):
            where.insert(0, str(err.filename))
        return f"{type(err).__name__}: {err.msg}" + (f" ({', '.join(where)})" if where else "")
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def import_plugin(spec: str) -> ModuleType:
    """Import one plugin given as a ``.py`` path or a dotted module name.

    A file is imported once per process under a stable synthetic module name, so importing
    it again (e.g. from the grid and from ``--plugin``) does not register twice.

    Raises:
        PluginError: if the file or module does not exist or fails to import; the message
            is one line naming the plugin and the error (``plugin x.py: SyntaxError: ...``).
    """
    if not _is_path(spec):
        try:
            return importlib.import_module(spec)
        except ModuleNotFoundError as err:
            if err.name and (spec == err.name or spec.startswith(err.name + ".")):
                raise PluginError(f"plugin {spec}: cannot import module: {err}") from err
            raise PluginError(f"plugin {spec}: {describe_error(err)}") from err  # inside it
        except Exception as err:
            raise PluginError(f"plugin {spec}: {describe_error(err)}") from err
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise PluginError(f"plugin {spec}: file not found ({path})")
    name = "robust_hashing_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise PluginError(f"plugin {spec}: not an importable Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise PluginError(f"plugin {spec}: {describe_error(err, path)}") from err
    return module


def load_entry_points() -> list[str]:
    """Load every entry point of :data:`ENTRY_POINT_GROUPS`; returns their names."""
    loaded = []
    for group in ENTRY_POINT_GROUPS:
        for entry in entry_points(group=group):
            try:
                entry.load()
            except Exception as err:
                raise PluginError(
                    f"entry point {group}:{entry.name} ({entry.value}): {describe_error(err)}"
                ) from err
            loaded.append(f"{group}:{entry.name}")
    return loaded


def load_plugins(specs: list[str] | tuple[str, ...], *, entry_point_groups: bool = True) -> None:
    """Import the installed entry points (optionally) and then each plugin of ``specs``."""
    if entry_point_groups:
        load_entry_points()
    for spec in specs:
        import_plugin(spec)


def plugin_digest(specs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Content digest of each plugin given as a file (part of artefact keys)."""
    out = {}
    for spec in specs:
        if _is_path(spec) and Path(spec).is_file():
            out[spec] = hashlib.sha256(Path(spec).read_bytes()).hexdigest()[:16]
    return out
