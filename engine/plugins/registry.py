"""Discovery and registration of plugins.

Sources, in order: the built-in drop-in folder (`plugins/`, see engine.resources), installed
packages that declare an entry point in the `engine.plugins` group, and the user's drop-in folder
(a workspace's `plugins/`). A plugin that fails to import (even by `sys.exit`), register or answer a
hook is recorded with its error on one line; the others keep working. A plugin's version is its
module's `__version__`, else its distribution's (entry points), the engine's (built-ins) or "-".

A plugin file is imported under a name of its own folder's namespace, and registered with pluggy
under that name, so a drop-in `gru.py` sits beside the built-in one, and two folders may hold files
of the same name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pluggy

from engine import resources
from engine.plugins.faults import PluginError, PluginFault, guarded
from engine.plugins.hookspecs import PROJECT, EngineHooks

ENTRY_POINT_GROUP = "engine.plugins"
KINDS = {
    "engine_models": "model",
    "engine_feature_providers": "features",
    "engine_overlays": "overlay",
    "engine_feeds": "feed",
    "engine_brokers": "broker",
    "engine_strategies": "strategy",
}


@dataclass(frozen=True)
class PluginEntry:
    name: str
    kind: str
    origin: str
    version: str
    module: str


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    origin: str
    doing: str  # "to load", "in engine_models"
    error: str  # on one line

    def __str__(self) -> str:
        return f"{self.plugin} failed {self.doing}: {self.error}"


@dataclass
class PluginRegistry:
    entries: list[PluginEntry] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)
    _items: dict[str, dict[str, object]] = field(default_factory=lambda: {kind: {} for kind in KINDS.values()})

    def get(self, kind: str, name: str):
        items = self._items[kind]
        if name not in items:
            failed = [f for f in self.failures if name in f.plugin]
            hint = f" ({failed[0]})" if failed else ""
            raise PluginError(f"no {kind} plugin named {name!r}{hint}; available: {', '.join(sorted(items)) or 'none'}")
        return items[name]

    def names(self, kind: str) -> list[str]:
        return sorted(self._items[kind])

    def add(self, kind: str, name: str, item: object, origin: str, version: str, module: str) -> None:
        if name in self._items[kind]:
            existing = next(e for e in self.entries if e.kind == kind and e.name == name)
            raise ValueError(f"{kind} {name!r} is already provided by {existing.module} ({existing.origin})")
        self._items[kind][name] = item
        self.entries.append(PluginEntry(name, kind, origin, version, module))


def module_name(path: Path, builtin: bool) -> str:
    """`engine_builtin_plugins.gru` for a built-in, `engine_dropins_<folder hash>.gru` for a drop-in:
    no file can take another's place in sys.modules (or in pluggy, which knows plugins by name)."""
    if builtin:
        return f"engine_builtin_plugins.{path.stem}"
    folder = hashlib.sha256(str(path.parent.resolve()).encode()).hexdigest()[:12]
    return f"engine_dropins_{folder}.{path.stem}"


def _import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _item_name(kind: str, item: object) -> str:
    if kind == "strategy":
        return Path(item).stem
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"returned a {kind} without a string `name`: {item!r}")
    return name


def _check_item(kind: str, item: object) -> None:
    """Raises as plugin code would: `discover` calls it inside the hook's guard, which records the fault."""
    from engine.models.base import Model

    if kind == "model" and not (inspect.isclass(item) and issubclass(item, Model)):
        raise TypeError(f"engine_models must return Model subclasses, got {item!r}")
    if kind == "features" and not ((hasattr(item, "compute") or hasattr(item, "configure")) and hasattr(item, "columns")):
        raise TypeError(
            f"engine_feature_providers must return providers with `columns` and `compute` (or `configure`), got {item!r}"
        )
    if kind in ("broker", "feed") and not callable(item):
        raise TypeError(f"engine_{kind}s must return classes or factories with a `name`, got {item!r}")
    if kind == "strategy" and not Path(item).is_file():
        raise ValueError(f"engine_strategies returned {item!r}, which is not a file")


def discover(folders: list[Path], use_entry_points: bool = True) -> PluginRegistry:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(EngineHooks)
    registry = PluginRegistry()
    sources: dict[str, tuple[str, str, str, str]] = {}  # registered name -> (plugin, origin, version, module)

    def register(plugin: str, unique: str, load, origin: str, version: str) -> None:
        """`plugin`: the name users see (a file's stem, an entry point's name); `unique`: pluggy's.
        `version` stands in for a module that declares no `__version__` of its own."""
        try:
            with guarded(plugin, "to load"):
                module = load()
                manager.register(module, name=unique)
        except PluginFault as fault:
            registry.failures.append(PluginFailure(plugin, origin, "to load", fault.reason))
            return
        sources[unique] = (plugin, origin, str(getattr(module, "__version__", version)), getattr(module, "__name__", plugin))

    from engine import __version__

    for folder in dict.fromkeys(folders):
        if not folder.is_dir():
            continue
        builtin = folder.resolve() == resources.ROOT / resources.PLUGINS
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith(("_", "test_")):
                continue
            origin = "built-in" if builtin else f"drop-in {path}"
            name = module_name(path, builtin)
            register(
                path.stem, name, lambda path=path, name=name: _import_file(path, name), origin, __version__ if builtin else "-"
            )
    if use_entry_points:
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = entry_point.dist
            version = dist.version if dist else "-"
            origin = f"entry point {entry_point.value}" + (f" ({dist.name})" if dist else "")
            # Spaces keep it apart from any module name (a plugin file's).
            register(entry_point.name, f"entry point {entry_point.name} ({entry_point.value})", entry_point.load, origin, version)

    for hook_name, kind in KINDS.items():
        for implementation in getattr(manager.hook, hook_name).get_hookimpls():
            plugin, origin, version, module = sources[implementation.plugin_name]
            try:
                with guarded(plugin, f"in {hook_name}"):
                    for item in implementation.function() or []:
                        _check_item(kind, item)
                        registry.add(kind, _item_name(kind, item), item, origin, version, module)
            except PluginFault as fault:
                registry.failures.append(PluginFailure(plugin, origin, f"in {hook_name}", fault.reason))
    return registry


BUILTIN_FOLDER = resources.ROOT / resources.PLUGINS


def registry_of(folder: Path | None = None) -> PluginRegistry:
    """The built-in plugins, the installed ones and those in a workspace's drop-in `folder` (None: no
    workspace): discovered once per process and state of the folder, so a plugin file added, edited
    or removed (from a notebook, say) is seen at the next call. `Workspace.registry` is the usual way in."""
    return _discovered(folder, _files_state(folder))


@cache
def _discovered(folder: Path | None, state: tuple) -> PluginRegistry:
    return discover([BUILTIN_FOLDER] if folder is None else [BUILTIN_FOLDER, folder])


def _files_state(folder: Path | None) -> tuple:
    """The drop-in files of `folder` with their sizes and modification times."""
    if folder is None or not folder.is_dir():
        return ()
    return tuple((path.name, path.stat().st_mtime_ns, path.stat().st_size) for path in sorted(folder.glob("*.py")))
