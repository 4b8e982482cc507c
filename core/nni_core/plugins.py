"""Finding, loading and tracing plugins; the registries of named components.

``get_plugins()`` returns the process-wide ``PluginSet``: the pluggy manager with the built-in
plugins and every entry point of the ``nni_core`` group that loaded, plus the platforms,
algorithms and manager launchers they registered.

Environment:
    NNI_CORE_PLUGINS        comma-separated entry-point names to load; empty loads none (the
                            built-ins always load). Unset loads all. A way out of a broken plugin.
    NNI_CORE_TRACE_PLUGINS  set to 1 to print every hook call, its arguments and result to stderr.
"""

from __future__ import annotations

import os
import sys
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import pluggy

from nni_core import hookspecs
from nni_core.components import Algorithm, ManagerLauncher, Platform, load_object
from nni_core.errors import PluginError


ENTRY_POINT_GROUP = "nni_core"
LOAD_ENV = "NNI_CORE_PLUGINS"
TRACE_ENV = "NNI_CORE_TRACE_PLUGINS"

# Built-in plugins: modules of nni_core itself, registered under these names. They use the same
# hooks as any third-party plugin; only their discovery differs.
DEFAULT_PLUGINS = (
    "nni_core.default_plugins.core",
    "nni_core.commands.plugins",
    "nni_core.commands.config",
    "nni_core.commands.experiments",
    "nni_core.default_plugins.algorithms",
)


@dataclass
class LoadFailure:
    """A plugin entry point that could not be imported or registered."""

    name: str
    distribution: str
    entry_point: str
    error: str

    def describe(self) -> str:
        return (
            f"plugin {self.name!r} from {self.distribution} ({self.entry_point}) "
            f"failed to load: {self.error}"
        )


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    builtin: bool


@dataclass
class PluginSet:
    """Loaded plugins and what they registered. Build one with ``load_plugins()``."""

    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)
    platforms: dict[str, Platform] = field(default_factory=dict)
    algorithms: dict[tuple[str, str], Algorithm] = field(default_factory=dict)
    managers: dict[str, ManagerLauncher] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], str] = field(default_factory=dict)
    _claims: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)
    _owners: dict[Any, str] = field(default_factory=dict, repr=False)  # registered item -> name of the plugin that registered it

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def platform(self, name: str) -> Platform | None:
        self._raise_if_conflicting(("platform", name))
        return self.platforms.get(name)

    def algorithm(self, kind: str, name: str) -> Algorithm | None:
        self._raise_if_conflicting((kind, name))
        return self.algorithms.get((kind, name))

    def manager_launcher(self, name: str) -> ManagerLauncher | None:
        self._raise_if_conflicting(("manager", name))
        return self.managers.get(name)

    def algorithm_names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.algorithms if k == kind)

    def describe(self, include_builtins: bool = False) -> list[dict[str, Any]]:
        """What ``nni-core plugins`` prints: one dict per plugin."""
        rows = []
        for name, info in self.infos.items():
            if info.builtin and not include_builtins:
                continue
            plugin = self.manager.get_plugin(name)
            owned = (lambda item: self._owners.get(item) == name)
            rows.append({
                "name": name,
                "distribution": info.distribution,
                "version": info.version,
                "builtin": info.builtin,
                "hooks": sorted(c.name for c in self.manager.get_hookcallers(plugin) or ()),
                "platforms": sorted(p.name for p in self.platforms.values() if owned(p)),
                "algorithms": sorted(f"{a.kind}:{a.name}" for a in self.algorithms.values() if owned(a)),
                "managers": sorted(m.name for m in self.managers.values() if owned(m)),
            })
        return rows

    def problems(self) -> list[str]:
        """One line per plugin that failed to load and per name two distributions claim."""
        return [failure.describe() for failure in self.failures] + list(self.conflicts.values())

    # --- registration ---------------------------------------------------------------------------

    def _raise_if_conflicting(self, key: tuple[str, str]) -> None:
        if key in self.conflicts:
            raise PluginError(self.conflicts[key])

    def _collect(self) -> None:
        """Call the register_* hooks one implementation at a time, so each name has an owner."""
        self._call_register("register_platforms", "platform", self.platforms)
        self._call_register("register_algorithms", None, self.algorithms)
        self._call_register("register_managers", "manager", self.managers)

    def _call_register(self, hook_name: str, kind: str | None, table: dict[Any, Any]) -> None:
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():
            info = self.infos[impl.plugin_name]

            def register(item: Any, _distribution: str = info.distribution, _plugin: str = impl.plugin_name) -> None:
                item_kind = kind or item.kind
                key = (item_kind, item.name) if kind is None else item.name
                owned = replace(item, distribution=_distribution)
                self._owners[owned] = _plugin
                self._add(table, key, (item_kind, item.name), owned)

            try:
                impl.function(register=register)
            except Exception as error:  # one plugin's bad registration must not stop the others
                self.failures.append(LoadFailure(
                    impl.plugin_name, info.distribution, hook_name, f"{type(error).__name__}: {error}"
                ))

    def _add(self, table: dict[Any, Any], key: Any, label: tuple[str, str], item: Any) -> None:
        """Record a registration; a name claimed twice becomes unusable until one is removed."""
        existing = table.pop(key, None)
        if existing is None and label not in self._claims:
            table[key] = item
            self._claims[label] = [item.distribution]
            return
        owners = self._claims[label]
        owners.append(item.distribution)
        self.conflicts[label] = (
            f"{label[0]} {label[1]!r} is registered by {', '.join(owners[:-1])} and {owners[-1]}; "
            "uninstall all but one of them"
        )


def _selected_names(environ: dict[str, str]) -> set[str] | None:
    """Entry-point names allowed by NNI_CORE_PLUGINS; None means all."""
    if LOAD_ENV not in environ:
        return None
    return {name.strip() for name in environ[LOAD_ENV].split(",") if name.strip()}


@dataclass(frozen=True)
class FoundEntryPoint:
    """An entry point of the ``nni_core`` group and the distribution that declares it."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        return load_object(self.value)  # an entry point's value is "module" or "module:attribute"


def _scan_entry_points() -> list[FoundEntryPoint]:
    # importlib.metadata costs tens of milliseconds to import: only a cache miss pays for it
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # entry_points(group=...) and EntryPoint.dist arrived in 3.10
        import importlib_metadata as metadata

    found = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry_point, "dist", None)
        found.append(FoundEntryPoint(entry_point.name, entry_point.value,
                                     dist.name if dist is not None else "unknown distribution",
                                     dist.version if dist is not None else ""))
    return found


_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".egg-link")


def _entry_points_cache() -> tuple[Path, dict[str, int]]:
    """Where the scan of this interpreter's distributions is cached, and what makes it stale.

    Installing or removing a distribution adds or removes a ``*.dist-info`` folder, which changes
    its sys.path folder's modification time; any such change invalidates the cache. The first
    entry, the script's folder or the current directory, changes with every run and seldom holds
    distributions: it counts only when it does, so that a new working directory is no cache miss.
    """
    import zlib  # a cheap checksum is enough: the stamps must match too

    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    stamps = {}
    for index, folder in enumerate(sys.path):
        try:
            if index == 0 and not _holds_distributions(folder):
                continue
            stamps[folder] = os.stat(folder or ".").st_mtime_ns
        except OSError:
            stamps[folder] = -1
    environment = "\0".join([sys.executable, *stamps]).encode()
    key = f"{zlib.crc32(environment):08x}"
    return Path(root, "nni-core", f"entry-points-{key}.json"), stamps


def _holds_distributions(folder: str) -> bool:
    with os.scandir(folder or ".") as entries:
        return any(entry.name.endswith(_METADATA_SUFFIXES) for entry in entries)


def _entry_points() -> list[FoundEntryPoint]:
    """The group's entry points. Scanning every installed distribution costs tens of
    milliseconds on each start, so the result is kept until sys.path's folders change."""
    import json

    path, stamps = _entry_points_cache()
    try:
        cached = json.loads(path.read_text())
        if cached["stamps"] == stamps:
            return [FoundEntryPoint(*row) for row in cached["entryPoints"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = _scan_entry_points()
    try:  # a cache that cannot be written only costs the next start a scan
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"stamps": stamps, "entryPoints": [astuple(e) for e in found]}))
        temporary.replace(path)
    except OSError:
        pass
    return found


def load_plugins(
    extra: Iterable[tuple[str, object]] = (),
    environ: dict[str, str] | None = None,
) -> PluginSet:
    """Load the built-ins, then each entry point in its own error handler, then ``extra``.

    ``extra`` is ``(name, plugin_object)`` pairs registered as if installed: the way tests and
    embedding tools add a plugin for one run.
    """
    environ = dict(os.environ if environ is None else environ)
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = PluginSet(manager=pm)
    from nni_core import __version__

    for module_name in DEFAULT_PLUGINS:
        module = _import(module_name)
        pm.register(module, name=module_name)
        plugins.infos[module_name] = PluginInfo(module_name, "nni-core", __version__, builtin=True)

    selected = _selected_names(environ)
    seen: set[str] = set()
    for entry_point in _entry_points():
        if selected is not None and entry_point.name not in selected:
            continue
        if entry_point.name in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(entry_point.name)
        dist_name, version = entry_point.distribution, entry_point.version
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
            _check_hook_names(pm, plugin, entry_point.name)
        except Exception as error:  # a broken plugin must not stop the others
            half_registered = pm.get_plugin(entry_point.name)
            if half_registered is not None:
                pm.unregister(half_registered)
            plugins.failures.append(LoadFailure(
                entry_point.name, dist_name, entry_point.value, f"{type(error).__name__}: {error}"
            ))
            continue
        plugins.infos[entry_point.name] = PluginInfo(entry_point.name, dist_name, version, builtin=False)

    for name, plugin in extra:
        pm.register(plugin, name=name)
        _check_hook_names(pm, plugin, name)
        plugins.infos[name] = PluginInfo(name, getattr(plugin, "__name__", name), "", builtin=False)
    if environ.get(TRACE_ENV, "") not in ("", "0"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    plugins._collect()
    return plugins


def _check_hook_names(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Fail loudly on a hook implementation no spec knows (a misspelt hook is never called)."""
    unknown = sorted(c.name for c in pm.get_hookcallers(plugin) or () if not c.has_spec())
    if unknown:
        raise PluginError(
            f"plugin {name!r} implements unknown hook(s) {', '.join(unknown)}; "
            "the known hooks are listed in docs/plugins.md"
        )


def _import(module_name: str) -> Any:
    import importlib

    return importlib.import_module(module_name)


_current: PluginSet | None = None


def get_plugins() -> PluginSet:
    """The process-wide plugin set, loaded on first use."""
    global _current
    if _current is None:
        _current = load_plugins()
    return _current


def use_plugins(plugins: PluginSet | None) -> None:
    """Replace the process-wide plugin set (tests, embedding tools); None reloads on next use."""
    global _current
    _current = plugins
