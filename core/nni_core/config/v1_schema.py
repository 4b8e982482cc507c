"""NNI's v1 schema checks, for platforms that keep v1 configs (the legacy launcher route).

NNI 3.0 checks such a config with ``launcher_utils.validate_all_content``: paths expanded and made
absolute, defaults set, then a ``schema`` library check over common and platform-specific keys
(unknown keys are errors), then extra rules. This module holds a small schema language with the
same meaning, the common part, and the driver; each platform plugin supplies its own part as a
``V1Legacy`` (components.py) built from these blocks.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any, Callable

import attrs

from nni_core.config.problems import Problems


# --- the schema language ------------------------------------------------------------------------


@attrs.frozen
class Opt:
    """An optional key of a mapping schema."""

    key: str


@attrs.frozen
class Check:
    """A leaf check: ``test(value)`` true when fine; ``message`` says what is expected."""

    test: Callable[[Any], bool]
    expected: str


@attrs.frozen
class AnyOf:
    """The value must match one of several schemas (NNI's ``Or``)."""

    options: tuple


def type_(kind: type, name: str | None = None) -> Check:
    return Check(lambda v: isinstance(v, kind), f"a {name or kind.__name__}")


def choice(*values: Any) -> Check:
    return Check(lambda v: v in values, "one of " + ", ".join(repr(v) for v in values))


def number_range(kind: type, low: int, high: int) -> Check:
    return Check(lambda v: isinstance(v, kind) and low <= v <= high, f"a {kind.__name__} in {low}..{high}")


def path_exists() -> Check:
    return Check(lambda v: isinstance(v, (str, bytes, os.PathLike)) and os.path.exists(v), "an existing path")


def regex(pattern: str, expected: str) -> Check:
    compiled = re.compile(pattern)
    return Check(lambda v: isinstance(v, str) and compiled.search(v) is not None, expected)


def gpu_indices() -> Check:
    def ok(value: Any) -> bool:
        if isinstance(value, int):
            return True
        try:
            return isinstance(value, str) and len([int(i) for i in value.split(",")]) > 0
        except ValueError:
            return False

    return Check(ok, 'GPU indices, e.g. "0,1"')


def validate(value: Any, schema: Any, path: str, problems: Problems) -> bool:
    """Check ``value`` against ``schema``; add problems; true when it matched."""
    if isinstance(schema, Check):
        if schema.test(value):
            return True
        problems.add(path, "has a wrong value", got=value, expected=schema.expected)
        return False
    if isinstance(schema, AnyOf):
        trials = []
        for option in schema.options:
            scratch = Problems()
            if validate(value, option, path, scratch):
                return True
            trials.append(scratch)
        best = min(trials, key=len)  # the alternative that came closest explains best
        for problem in best:
            problems.add(problem.path, problem.message, **_details(problem))
        return False
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            problems.add(path, "must be a mapping", got=value)
            return False
        ok = True
        known = set()
        for key, sub in schema.items():
            name = key.key if isinstance(key, Opt) else key
            known.add(name)
            where = f"{path}.{name}" if path else name
            if name not in value:
                if not isinstance(key, Opt):
                    problems.add(where, "is not set (required by the v1 schema)")
                    ok = False
                continue
            ok = validate(value[name], sub, where, problems) and ok
        for name in value:
            if name not in known:
                problems.add(f"{path}.{name}" if path else str(name), "unknown field in a v1 config",
                             expected="one of " + ", ".join(sorted(known)))
                ok = False
        return ok
    if isinstance(schema, list):
        if not isinstance(value, list):
            problems.add(path, "must be a list", got=value)
            return False
        ok = True
        for i, item in enumerate(value):
            ok = validate(item, AnyOf(tuple(schema)) if len(schema) > 1 else schema[0], f"{path}[{i}]", problems) and ok
        return ok
    raise TypeError(f"bad v1 schema node {schema!r}")


def _details(problem: Any) -> dict:
    from nni_core.config.problems import _UNSET

    out: dict = {"expected": problem.expected}
    if problem.got is not _UNSET:
        out["got"] = problem.got
    return out


# --- NNI's common v1 schema -------------------------------------------------------------------


def _algorithm(kind: str) -> dict:
    return {
        Opt("codeDir"): path_exists(),
        Opt("classFileName"): type_(str),
        Opt("className"): type_(str),
        Opt("classArgs"): type_(dict, "mapping"),
        Opt("includeIntermediateResults"): type_(bool),
        Opt("gpuIndices"): gpu_indices(),
        Opt(f"builtin{kind.title()}Name"): type_(str),
    }


DURATION = regex(r"^[1-9][0-9]*[s|m|h|d]$", "a whole number with a unit s, m, h or d, e.g. 2h")

COMMON = {
    "authorName": type_(str),
    "experimentName": type_(str),
    Opt("description"): type_(str),
    "trialConcurrency": number_range(int, 1, 99999),
    Opt("maxExecDuration"): DURATION,
    Opt("maxTrialDuration"): DURATION,
    Opt("maxTrialNum"): number_range(int, 1, 99999),
    "trainingServicePlatform": type_(str),
    Opt("searchSpacePath"): path_exists(),
    Opt("multiPhase"): type_(bool),
    Opt("multiThread"): type_(bool),
    Opt("nniManagerIp"): type_(str),
    Opt("logDir"): Check(lambda v: isinstance(v, str) and os.path.isdir(v), "an existing folder"),
    Opt("debug"): type_(bool),
    Opt("versionCheck"): type_(bool),
    Opt("logLevel"): choice("trace", "debug", "info", "warning", "error", "fatal"),
    Opt("logCollection"): choice("http", "none"),
    "useAnnotation": type_(bool),
    Opt("tuner"): _algorithm("tuner"),
    Opt("advisor"): _algorithm("advisor"),
    Opt("assessor"): _algorithm("assessor"),
    Opt("localConfig"): {
        Opt("gpuIndices"): gpu_indices(),
        Opt("maxTrialNumPerGpu"): type_(int),
        Opt("useActiveGpu"): type_(bool),
    },
    Opt("sharedStorage"): {
        "storageType": choice("NFS", "AzureBlob"),
        Opt("localMountPoint"): type_(str),
        Opt("remoteMountPoint"): type_(str),
        Opt("nfsServer"): type_(str),
        Opt("exportedDirectory"): type_(str),
        Opt("storageAccountName"): type_(str),
        Opt("storageAccountKey"): type_(str),
        Opt("containerName"): type_(str),
        Opt("localMounted"): choice("usermount", "nnimount", "nomount"),
    },
}


# --- paths --------------------------------------------------------------------------------------


def resolve(section: Any, key: str, base_dir: str) -> None:
    """NNI's expand_path + parse_relative_path: ``~`` expanded, relative joined to the config's folder
    (joined as written, not normalized, as NNI sends it)."""
    if isinstance(section, dict) and isinstance(section.get(key), str) and section.get(key):
        value = os.path.expanduser(section[key])
        if not os.path.isabs(value):
            value = os.path.join(base_dir, value)
        section[key] = value


# --- the driver ----------------------------------------------------------------------------------


def _parse_time(value: Any) -> Any:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if isinstance(value, str) and value[-1:] in units and value[:-1].isdigit():
        return int(value[:-1]) * units[value[-1]]
    return value


def validate_legacy(v1_config: dict, legacy: Any, config_path: str, problems: Problems) -> dict:
    """The validated v1 dict NNI would send with its cluster metadata (paths absolute, defaults set)."""
    config = copy.deepcopy(v1_config)
    base_dir = os.path.dirname(os.path.abspath(config_path))
    if not isinstance(config.get("trial"), dict):
        problems.add("trial", "is not set (required by the v1 schema)", expected="a mapping")
        return config
    resolve(config, "searchSpacePath", base_dir)
    resolve(config, "logDir", base_dir)
    for kind in ("tuner", "assessor", "advisor"):
        resolve(config.get(kind), "codeDir", base_dir)
    advisor = config.get("advisor")
    if isinstance(advisor, dict):
        resolve(advisor.get("classArgs"), "config_space", base_dir)
    if legacy.resolve_paths is not None:
        legacy.resolve_paths(config, base_dir)

    config.setdefault("maxExecDuration", "999d")
    config.setdefault("maxTrialNum", 99999)
    config.setdefault("maxTrialDuration", "999d")
    for key in ("maxExecDuration", "maxTrialNum", "maxTrialDuration"):
        if config[key] is None:
            config[key] = {"maxExecDuration": "999d", "maxTrialNum": 99999, "maxTrialDuration": "999d"}[key]

    schema = {**COMMON, **(legacy.schema() if legacy.schema is not None else {})}
    if validate(config, schema, "", problems):
        _check_algorithms(config, problems)
        if legacy.check is not None:
            legacy.check(config, problems)
    config["maxExecDuration"] = _parse_time(config["maxExecDuration"])
    return config


def _check_algorithms(config: dict, problems: Problems) -> None:
    for kind in ("tuner", "assessor", "advisor"):
        algo = config.get(kind)
        if not isinstance(algo, dict):
            continue
        builtin = f"builtin{kind.title()}Name"
        custom = {"codeDir", "classFileName", "className"}
        if builtin in algo and custom & set(algo):
            problems.add(kind, f"{builtin} and {', '.join(sorted(custom & set(algo)))} cannot be used together")
        elif builtin not in algo and custom - set(algo):
            problems.add(kind, f"needs {builtin}, or all of codeDir, classFileName and className",
                         got=sorted(algo))
        elif not custom - set(algo):
            class_file = os.path.join(algo["codeDir"], algo["classFileName"])
            if not os.path.isfile(class_file):
                problems.add(f"{kind}.classFileName", "file not found", got=class_file)
    if config.get("advisor"):
        if config.get("assessor") or config.get("tuner"):
            problems.add("advisor", "cannot be set together with tuner or assessor")
            return
        kind, builtin = "advisor", "builtinAdvisorName"
    else:
        if not config.get("tuner"):
            problems.add("tuner", "is not set", expected="a tuner (builtinTunerName or a custom tuner)")
            return
        kind, builtin = "tuner", "builtinTunerName"
    if config.get("useAnnotation"):
        if config.get("searchSpacePath"):
            problems.add("searchSpacePath", "must be empty when useAnnotation is true")
        return
    name = config[kind].get(builtin)
    if not name or name == "NetworkMorphism":
        return
    path = config.get("searchSpacePath")
    if path is None:
        problems.add("searchSpacePath", "is not set", expected=f"a search space file for {name}")
        return
    try:
        with open(path, encoding="utf-8") as file:
            space = json.load(file)
        bad = [k for k, v in space.items() if not v.get("_type") or not v.get("_value")]
    except Exception as error:  # NNI turns any failure here into one schema error
        problems.add("searchSpacePath", f"is not a valid JSON search space: {error}", got=path)
        return
    for key in bad:
        problems.add(f"searchSpacePath.{key}", "needs _type and a non-empty _value", got=space[key])


__all__ = ["Opt", "Check", "AnyOf", "type_", "choice", "number_range", "path_exists", "regex",
           "gpu_indices", "validate", "resolve", "validate_legacy", "COMMON"]
