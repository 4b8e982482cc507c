"""NNI's v2 experiment config: ``ExperimentConfig`` and the sections every platform shares.

Field names, types and defaults follow ``nni.experiment.config`` of NNI 3.0, so the canonical JSON
(``canonical_json``) is the ``ExperimentConfig.json()`` NNI would send to its manager. Platform
sections subclass ``TrainingServiceConfig`` and live in their plugins.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Iterator

import attrs

from nni_core.config import types as T
from nni_core.config.model import MISSING, REPORTED, Bound, Context, FieldInfo, Section, field, join
from nni_core.config.search_space import check_search_space
from nni_core.config.utils import canonical_gpu_indices, gpu_indices_problem, load_yaml, normalize_key, parse_time

LOG_LEVELS = ("fatal", "error", "warning", "info", "debug", "trace")
ALGORITHM_KINDS = ("tuner", "assessor", "advisor")


def positive(value: Any) -> str | None:
    return None if value is None or value > 0 else "must be greater than 0"


def not_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must not be negative"


def duration(value: Any) -> str | None:
    """A duration: seconds, or a number with a unit s/m/h/d ("1.5h"); more than zero."""
    if value is None:
        return None
    try:
        seconds = parse_time(value)
    except ValueError as error:
        return f"is not a duration: {error}; write a number with a unit s, m, h or d, e.g. 1.5h"
    return None if seconds > 0 else "must be longer than 0"


def gpu_indices(value: Any) -> str | None:
    return gpu_indices_problem(value)


def is_dir(path: str) -> bool:
    return os.path.isdir(path)


# --- algorithms ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AlgorithmConfig(Section):
    """A tuner, assessor or advisor: a builtin ``name``, or ``className`` + ``codeDirectory``."""


    name: str | None = field(T.optional(T.STR), None)
    class_name: str | None = field(T.optional(T.STR), None)
    code_directory: str | None = field(T.optional(T.PATH), None, path=True)
    class_args: dict | None = field(T.optional(T.STR_DICT), None)

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        name, class_name, code_directory = bound["name"], bound["class_name"], bound["code_directory"]
        if class_name is None:  # a builtin algorithm
            if not name:
                ctx.problems.add(join(path, "name"), "is not set",
                                 expected="a builtin algorithm name (e.g. TPE), or className + codeDirectory")
            if code_directory is not None:
                ctx.problems.add(join(path, "codeDirectory"), "is only used with className",
                                 got=code_directory, expected="className set, or no codeDirectory")
            return
        if name is not None:
            ctx.problems.add(path, "name and className are both set", got=name,
                             expected="either a builtin name or a custom className, not both")
        if not class_name:
            ctx.problems.add(join(path, "className"), "is empty", expected="module.ClassName")
        if code_directory is None:
            ctx.problems.add(join(path, "codeDirectory"), "is not set",
                             expected="the folder that holds the module of className")
        elif not is_dir(code_directory):
            ctx.problems.add(join(path, "codeDirectory"), "is not a directory", got=code_directory,
                             expected="an existing folder holding the module of className")


# --- shared storage -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SharedStorageConfig(Section):

    storage_type: str = field(T.STR)
    local_mount_point: str = field(T.PATH, path=True)
    remote_mount_point: str = field(T.STR)
    local_mounted: str = field(T.STR)
    storage_account_name: str | None = field(T.optional(T.STR), None)
    storage_account_key: str | None = field(T.optional(T.STR), None)
    container_name: str | None = field(T.optional(T.STR), None)
    nfs_server: str | None = field(T.optional(T.STR), None)
    exported_directory: str | None = field(T.optional(T.STR), None)


# --- training services ------------------------------------------------------------------------------


# Fields a config may set once at the top level for every training service (NNI's "shortcuts").
SHORTCUTS = ("trial_command", "trial_code_directory", "trial_gpu_number", "nni_manager_ip", "debug")


@attrs.frozen(kw_only=True)
class TrainingServiceConfig(Section):
    """Base of every platform's ``trainingService`` section. Platforms subclass it in their plugin,
    redefining ``platform`` with their name as default and adding their own fields."""

    # Whether trials on this platform reach the manager over the network (then an unset
    # nniManagerIp earns a warning, as in NNI).
    needs_manager_ip: ClassVar[bool] = True

    platform: str = field(T.STR)
    trial_command: str = field(T.STR)
    trial_code_directory: str = field(T.PATH, path=True)
    trial_gpu_number: int | None = field(T.optional(T.INT), check=not_negative)
    nni_manager_ip: str | None = field(T.optional(T.STR))
    debug: bool = field(T.BOOL)

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        for name in SHORTCUTS:
            if bound.values[name] is MISSING:
                bound.values[name] = parents[0].values[name]
        super().canonicalize(bound, parents, ctx, path)

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        directory = bound["trial_code_directory"]
        if not is_dir(directory):
            ctx.problems.add(join(path, "trialCodeDirectory"), "is not a directory", got=directory,
                             expected="an existing folder (relative paths start at the config's folder)")


def bind_training_service(raw: Any, ctx: Context, path: str, member: bool = False) -> Any:
    """Pick the section class of a ``trainingService`` mapping by its ``platform``
    (``member``: one of a list)."""
    if not isinstance(raw, dict):
        if member:
            ctx.problems.add(path, "must be a mapping", got=raw, expected="{platform: ..., ...}")
            return REPORTED
        return raw
    name = next((v for k, v in raw.items() if normalize_key(k) == "platform"), MISSING)
    installed = ", ".join(sorted(ctx.platforms)) or "none"
    if name is MISSING:
        ctx.problems.add(join(path, "platform"), "is not set", expected=f"one of the installed platforms: {installed}")
        return REPORTED
    platform = ctx.platforms.get(name) if isinstance(name, str) else None
    if platform is None:
        hint = f"; the package nni-plugin-{name} would provide it" if isinstance(name, str) and name else ""
        v1_owner = next((p.name for p in ctx.platforms.values() if name in getattr(p, "v1_names", ())), None)
        if v1_owner:
            hint = f"; {name!r} is the v1 name of {v1_owner!r}"
        ctx.problems.add(join(path, "platform"), f"unknown platform{hint}", got=name,
                         expected=f"one of the installed platforms: {installed}")
        return REPORTED
    return platform.section_class().bind(raw, ctx, path)


# --- the experiment ---------------------------------------------------------------------------------


def _training_service_type() -> T.Type:
    single = T.Type("a trainingService mapping",
                    lambda v: isinstance(v, Bound) and issubclass(v.cls, TrainingServiceConfig))
    return T.Type(
        "a trainingService mapping or a list of them",
        lambda v: single.check(v) or (isinstance(v, list) and bool(v) and all(single.check(i) for i in v)),
    )


@attrs.frozen(kw_only=True)
class ExperimentConfig(Section):
    """The whole v2 experiment config (NNI 3.0 ``ExperimentConfig``), canonical once built."""


    experiment_name: str | None = field(T.optional(T.STR), None)
    experiment_type: str = field(T.literal("hpo"), "hpo")
    search_space_file: str | None = field(T.optional(T.PATH), None, path=True)
    search_space: Any = field(T.ANY, None)
    trial_command: str | None = field(T.optional(T.STR), None)
    trial_code_directory: str = field(T.PATH, ".", path=True)
    trial_concurrency: int = field(T.INT, check=positive)
    trial_gpu_number: int | None = field(T.optional(T.INT), None, check=not_negative)
    max_experiment_duration: str | int | None = field(T.DURATION, None, check=duration)
    max_trial_number: int | None = field(T.optional(T.INT), None, check=positive)
    max_trial_duration: str | int | None = field(T.DURATION, None, check=duration)
    nni_manager_ip: str | None = field(T.optional(T.STR), None)
    use_annotation: bool = field(T.BOOL, False)
    debug: bool = field(T.BOOL, False)
    log_level: str | None = field(T.optional(T.STR), None,
                                  check=lambda v: None if v in LOG_LEVELS else f"is not one of {', '.join(LOG_LEVELS)}")
    experiment_working_directory: str = field(T.PATH, "~/nni-experiments", path=True)
    tuner_gpu_indices: Any = field(T.GPU_INDICES, None, check=gpu_indices)
    tuner: AlgorithmConfig | None = field(T.optional(T.section(AlgorithmConfig)), None)
    assessor: AlgorithmConfig | None = field(T.optional(T.section(AlgorithmConfig)), None)
    advisor: AlgorithmConfig | None = field(T.optional(T.section(AlgorithmConfig)), None)
    training_service: Any = field(_training_service_type())
    shared_storage: SharedStorageConfig | None = field(T.optional(T.section(SharedStorageConfig)), None)

    # --- reading it ---------------------------------------------------------------------------------

    def training_services(self) -> Iterator[tuple[str, TrainingServiceConfig]]:
        """(path, section) for each training service: one, or each of a hybrid list."""
        if isinstance(self.training_service, list):
            for i, ts in enumerate(self.training_service):
                yield f"trainingService[{i}]", ts
        else:
            yield "trainingService", self.training_service

    @property
    def platforms(self) -> list[str]:
        return [ts.platform for _, ts in self.training_services()]

    # --- the model steps --------------------------------------------------------------------------

    @classmethod
    def bind_field(cls, info: FieldInfo, value: Any, ctx: Context, path: str) -> Any:
        if info.name == "training_service":
            if isinstance(value, list):
                return [bind_training_service(item, ctx, join(path, i), member=True) for i, item in enumerate(value)]
            return bind_training_service(value, ctx, path)
        return super().bind_field(info, value, ctx, path)

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        values = bound.values
        if values["log_level"] is None:
            values["log_level"] = "debug" if values["debug"] else "info"
        try:
            values["tuner_gpu_indices"] = canonical_gpu_indices(values["tuner_gpu_indices"])
        except ValueError:
            ctx.problems.add("tunerGpuIndices", "is not a comma-separated list of integers",
                             got=values["tuner_gpu_indices"], expected='e.g. "0,1"')
            values["tuner_gpu_indices"] = REPORTED
        if values["advisor"] is not None:
            if values["tuner"] is not None:
                ctx.problems.add("advisor", "advisor and tuner are both set; advisor is deprecated",
                                 expected="only tuner (an advisor such as Hyperband or BOHB goes under tuner)")
            else:
                values["tuner"], values["advisor"] = values["advisor"], None
        super().canonicalize(bound, parents, ctx, path)
        if isinstance(values["search_space_file"], str):
            values["search_space"] = load_search_space_file(values["search_space_file"], ctx)
        cls._warn_manager_ip(bound, ctx)

    @staticmethod
    def _warn_manager_ip(bound: Bound, ctx: Context) -> None:
        if bound["nni_manager_ip"] is not None:
            return
        services = bound["training_service"]
        items = list(enumerate(services)) if isinstance(services, list) else [(None, services)]
        for i, ts in items:
            if isinstance(ts, Bound) and ts.cls.needs_manager_ip and not isinstance(ts.get("nni_manager_ip"), str):
                where = "trainingService" if i is None else f"trainingService[{i}]"
                ctx.problems.warn(where, f"nniManagerIp is not set; trials on {ts.get('platform')!r} must reach "
                                         "this machine's default address")

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        values = bound.values
        has_space = values["search_space"] is not None or values["search_space_file"] is not None
        if values["use_annotation"]:
            if has_space:
                ctx.problems.add("searchSpace", "must not be set when useAnnotation is true",
                                 expected="no searchSpace/searchSpaceFile (annotations define it)")
        elif not has_space:
            ctx.problems.add("searchSpace", "is not set", expected="searchSpace or searchSpaceFile")
        elif "searchSpaceFile" not in ctx.failed:
            check_search_space(values["search_space"], ctx.problems,
                               "searchSpaceFile" if values["search_space_file"] else "searchSpace")
        if values["tuner"] is None:
            ctx.problems.add("tuner", "is not set", expected="a tuner, e.g. {name: TPE}")


def load_search_space_file(path: str, ctx: Context) -> Any:
    """JSON first (PyYAML 6 is YAML 1.1, not a JSON superset), then YAML, as NNI does."""
    try:
        with open(path, encoding="utf-8") as file:
            content = file.read()
    except OSError as error:
        ctx.failed.add("searchSpaceFile")
        ctx.problems.add("searchSpaceFile", f"cannot be read: {error.strerror or error}", got=path,
                         expected="an existing JSON or YAML file (relative paths start at the config's folder)")
        return None
    try:
        return json.loads(content)
    except ValueError:
        pass
    import yaml

    try:
        return load_yaml(content)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        ctx.failed.add("searchSpaceFile")
        ctx.problems.add("searchSpaceFile", f"is neither JSON nor YAML{where}: {getattr(error, 'problem', error)}",
                         got=path)
        return None
