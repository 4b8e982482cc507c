"""The named things plugins register with the core: platforms, algorithms, manager launchers.

Each is a frozen dataclass (every nni-core command loads them: the standard library's dataclasses
import faster than attrs). Heavy parts (a training service, a tuner class) are named by an
import path (``"package.module:Name"``) and imported only when an experiment needs them, so that
loading every plugin stays cheap for ``validate`` and ``--help``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

ALGORITHM_KINDS = ("tuner", "assessor", "advisor")


def load_object(import_path: str) -> Any:
    """Import ``"package.module:Attribute"`` and return the attribute."""
    module_name, _, attribute = import_path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


def resolve(value: Any) -> Any:
    """A registered value given as an import path (``"pkg.mod:Name"``) is imported on first use."""
    return load_object(value) if isinstance(value, str) else value


def _never(_v1_config: dict) -> bool:
    return False


@dataclass(frozen=True)
class V1Legacy:
    """A platform's part of NNI's v1 schema check (``nni_core.config.v1_schema``).

    schema: returns top-level schema entries (``trial``, ``<platform>Config``) merged with the
        common ones. resolve_paths(v1, base_dir): makes the platform's paths absolute, as nnictl.
    check(v1, problems): rules beyond the schema.
    """

    schema: Callable[[], dict] | None = None
    resolve_paths: Callable[[dict, str], None] | None = None
    check: Callable[..., None] | None = None


@dataclass(frozen=True)
class Platform:
    """A training-service platform (``trainingService.platform``).

    Every field that holds code may be given as an import path (``"pkg.mod:Name"``) instead, and
    should be: the plugin is then loaded without importing its config classes, which keeps every
    ``nni-core`` command's start fast. Use the methods below to read them.

    name: the value of ``platform`` in a config.
    config_class: the attrs class of this platform's ``trainingService`` section, a subclass of
        ``nni_core.config.TrainingServiceConfig``.
    convert_v1: called with a ``nni_core.config.v1.V1Conversion``; pops this platform's fields from
        ``conv.v1`` / ``conv.trial`` and returns the v2 ``trainingService`` (a dict; a list for
        hybrid). Fields it leaves behind become warnings. None when the platform has no v1 form.
    keeps_v1: given a v1 config (raw dict), true when it must stay v1 (sent with NNI's cluster
        metadata) instead of being converted; must not raise on odd input.
    v1_names: other names v1 configs use for this platform (``trainingServicePlatform: pai``).
    v1_legacy: the platform's part of NNI's v1 schema check, for configs it keeps as v1.
    training_service: import path of the manager-side training service, None when the platform
        is config-only for now.
    runs_lists: its training service runs a ``trainingService`` list of several platforms: the
        manager builds every member's service and constructs this one as
        ``cls(sections, context, members)`` (see ``TrainingService.place``). The hybrid plugin's.
    """

    name: str
    config_class: type | str
    convert_v1: Callable[..., dict] | str | None = None
    keeps_v1: Callable[[dict], bool] | str = _never
    v1_names: tuple[str, ...] = ()
    v1_legacy: V1Legacy | str | None = None
    training_service: str | None = None
    runs_lists: bool = False
    description: str = ""
    # Filled in by the core when it records the registration.
    distribution: str = ""

    def section_class(self) -> type:
        return resolve(self.config_class)

    def v1_converter(self) -> Callable[..., Any] | None:
        return resolve(self.convert_v1)

    def keeps_v1_form(self, v1_config: dict) -> bool:
        return bool(resolve(self.keeps_v1)(v1_config))

    def v1_rules(self) -> V1Legacy | None:
        return resolve(self.v1_legacy)


def section_validator(section_class: type | str, check: Callable[..., None] | str) -> Any:
    """A ``validate_config`` hook implementation for a platform plugin: runs
    ``check(section, problems, path)`` on every ``trainingService`` section of ``section_class``
    (one, or each member of a hybrid list). Either may be an import path, imported on first use.
    Use as ``validate_config = section_validator("pkg.config:MyConfig", "pkg.config:check")``."""
    from nni_core.hookspecs import hookimpl

    @hookimpl
    def validate_config(config: Any, problems: Any) -> None:
        cls = resolve(section_class)
        for path, section in config.training_services():
            if isinstance(section, cls):
                resolve(check)(section, problems, path)

    return validate_config


@dataclass(frozen=True)
class Algorithm:
    """A tuner, assessor or advisor that configs name (``tuner: {name: TPE}``).

    class_path: import path of the class, NNI's Tuner/Assessor interface.
    requires: what to install when the import fails (shown in the error).
    """

    name: str
    kind: str
    class_path: str = ""
    requires: str | None = None
    description: str = ""
    distribution: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ALGORITHM_KINDS:
            raise ValueError(f"algorithm {self.name!r}: kind must be one of {', '.join(ALGORITHM_KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class ManagerLauncher:
    """A way to start an experiment manager process (``--manager NAME``).

    start: called with the launch's manager settings; returns the started process
        (see ``nni_core.launch``).
    prepare: optional; called first thing in a launch, before the config is read, so that the
        manager's own start-up (interpreter, imports) overlaps the launcher's. What it returns is
        ``launch.prepared`` when ``start`` runs; ``start`` takes it over and sets
        ``launch.prepared`` to None. A launch that fails before ``start`` calls its ``close()``.
    """

    name: str
    start: Callable[..., Any]
    description: str = ""
    distribution: str = ""
    prepare: Callable[..., Any] | None = None
