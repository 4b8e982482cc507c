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
from typing import Any, Callable, Iterable

import attrs
import pluggy

from nni_core import hookspecs
from nni_core.components import Algorithm, ManagerLauncher, Platform
from nni_core.errors import PluginError

if sys.version_info >= (3, 12):
    from importlib import metadata
else:  # entry_points(group=...) and .dist need the backport before 3.12
    import importlib_metadata as metadata

ENTRY_POINT_GROUP = "nni_core"
LOAD_ENV = "NNI_CORE_PLUGINS"
TRACE_ENV = "NNI_CORE_TRACE_PLUGINS"

# Built-in plugins: modules of nni_core itself, registered under these names. They use the same
# hooks as any third-party plugin; only their discovery differs.
DEFAULT_PLUGINS = (
    "nni_core.default_plugins.core",
    "nni_core.commands.plugins",
    "nni_core.algorithms.builtin",
)


@attrs.define
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


@attrs.define
class PluginInfo:
    name: str
    distribution: str
    version: str
    builtin: bool


@attrs.define
class PluginSet:
    """Loaded plugins and what they registered. Build one with ``load_plugins()``."""

    manager: pluggy.PluginManager
    infos: dict[str, PluginInfo] = attrs.Factory(dict)
    failures: list[LoadFailure] = attrs.Factory(list)
    platforms: dict[str, Platform] = attrs.Factory(dict)
    algorithms: dict[tuple[str, str], Algorithm] = attrs.Factory(dict)
    managers: dict[str, ManagerLauncher] = attrs.Factory(dict)

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def platform(self, name: str) -> Platform | None:
        return self.platforms.get(name)

    def algorithm(self, kind: str, name: str) -> Algorithm | None:
        return self.algorithms.get((kind, name))

    def algorithm_names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.algorithms if k == kind)

    def describe(self, include_builtins: bool = False) -> list[dict[str, Any]]:
        """What ``nni-core plugins`` prints: one dict per plugin."""
        rows = []
        for name, info in self.infos.items():
            if info.builtin and not include_builtins:
                continue
            plugin = self.manager.get_plugin(name)
            rows.append({
                "name": name,
                "distribution": info.distribution,
                "version": info.version,
                "builtin": info.builtin,
                "hooks": sorted(c.name for c in self.manager.get_hookcallers(plugin) or ()),
                "platforms": sorted(p.name for p in self.platforms.values() if p.distribution == info.distribution),
                "algorithms": sorted(f"{a.kind}:{a.name}" for a in self.algorithms.values() if a.distribution == info.distribution),
            })
        return rows

    # --- registration ---------------------------------------------------------------------------

    def _collect(self) -> None:
        """Call the register_* hooks one implementation at a time, so each name has an owner."""
        self._call_register("register_platforms", self._add_platform)
        self._call_register("register_algorithms", self._add_algorithm)
        self._call_register("register_managers", self._add_manager)

    def _call_register(self, hook_name: str, add: Callable[[Any, str], None]) -> None:
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():
            distribution = self.infos[impl.plugin_name].distribution

            def register(item: Any, _distribution: str = distribution) -> None:
                add(item, _distribution)

            impl.function(register=register)

    def _add_platform(self, platform: Platform, distribution: str) -> None:
        existing = self.platforms.get(platform.name)
        if existing is not None:
            raise PluginError(
                f"platform {platform.name!r} is registered by both {existing.distribution} and "
                f"{distribution}; uninstall one of them"
            )
        self.platforms[platform.name] = attrs.evolve(platform, distribution=distribution)

    def _add_algorithm(self, algorithm: Algorithm, distribution: str) -> None:
        key = (algorithm.kind, algorithm.name)
        existing = self.algorithms.get(key)
        if existing is not None:
            raise PluginError(
                f"{algorithm.kind} {algorithm.name!r} is registered by both {existing.distribution} "
                f"and {distribution}; uninstall one of them"
            )
        self.algorithms[key] = attrs.evolve(algorithm, distribution=distribution)

    def _add_manager(self, launcher: ManagerLauncher, distribution: str) -> None:
        existing = self.managers.get(launcher.name)
        if existing is not None:
            raise PluginError(
                f"manager {launcher.name!r} is registered by both {existing.distribution} and "
                f"{distribution}; uninstall one of them"
            )
        self.managers[launcher.name] = attrs.evolve(launcher, distribution=distribution)


def _selected_names(environ: dict[str, str]) -> set[str] | None:
    """Entry-point names allowed by NNI_CORE_PLUGINS; None means all."""
    if LOAD_ENV not in environ:
        return None
    return {name.strip() for name in environ[LOAD_ENV].split(",") if name.strip()}


def _entry_points() -> Iterable[Any]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


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
        dist = getattr(entry_point, "dist", None)
        dist_name = dist.name if dist is not None else "unknown distribution"
        version = dist.version if dist is not None else ""
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as error:  # a broken plugin must not stop the others
            plugins.failures.append(LoadFailure(
                entry_point.name, dist_name, entry_point.value, f"{type(error).__name__}: {error}"
            ))
            continue
        plugins.infos[entry_point.name] = PluginInfo(entry_point.name, dist_name, version, builtin=False)

    for name, plugin in extra:
        pm.register(plugin, name=name)
        plugins.infos[name] = PluginInfo(name, getattr(plugin, "__name__", name), "", builtin=False)

    pm.check_pending()  # a misspelt hook name fails loudly instead of never being called
    if environ.get(TRACE_ENV, "") not in ("", "0"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    plugins._collect()
    return plugins


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
