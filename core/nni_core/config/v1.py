"""v1 configs (``trainingServicePlatform``) converted to v2, as NNI 3.0's ``convert.to_v2`` does.

The core converts what every v1 config has (experiment fields, ``trial`` command/codeDir/gpuNum,
algorithms, sharedStorage); the platform's plugin converts its own part through
``Platform.convert_v1(conv)``, popping what it uses from ``conv.v1`` and ``conv.trial``. Every
field left over afterwards is a warning naming it: nothing is dropped silently. Unlike NNI, v1
``maxTrialDuration`` is carried over (docs/compatibility.md).
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

from nni_core.config.problems import Problems, show

_ABSENT = object()


def find_platform(name: Any, platforms: dict[str, Any]) -> Any:
    """The platform a v1 ``trainingServicePlatform`` names: its v2 name or one of its v1 names."""
    if not isinstance(name, str):
        return None
    if name in platforms:
        return platforms[name]
    for platform in platforms.values():
        if name in getattr(platform, "v1_names", ()):
            return platform
    return None


def unknown_platform(name: Any, platforms: dict[str, Any], problems: Problems, path: str) -> None:
    installed = ", ".join(sorted(platforms)) or "none"
    hint = f"; the package nni-plugin-{name} would provide it" if isinstance(name, str) and name else ""
    problems.add(path, f"unknown platform{hint}", got=name,
                 expected=f"one of the installed platforms: {installed}")


@attrs.define
class V1Conversion:
    """A v1 config being converted. ``v1`` and ``trial`` hold what is not converted yet; ``v2`` is
    the result. Platform converters use ``move``/``take``/``drop`` and return the v2
    ``trainingService``."""

    v1: dict
    trial: dict
    v2: dict
    problems: Problems
    platforms: dict[str, Any]
    platform_name: str = ""

    def move(self, src: dict, dst: dict, key: str, new_key: str | None = None) -> None:
        """Move ``src[key]`` to ``dst[new_key or key]`` when present and not null."""
        if isinstance(src, dict) and key in src:
            value = src.pop(key)
            if value is not None:
                dst[new_key or key] = value

    def section(self, src: dict, key: str, where: str = "") -> dict:
        """Pop an optional v1 sub-mapping (``localConfig``, ...); {} when absent or null."""
        value = src.pop(key, None) if isinstance(src, dict) else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(_join(where, key), "must be a mapping", got=value)
            return {}
        return value

    def take(self, src: dict, key: str, where: str, expected: str | None = None, mapping: bool = False) -> Any:
        """Pop a field v2 cannot do without; a problem (and None) when it is missing, null, or not
        a mapping although ``mapping`` asks for one."""
        value = src.pop(key, None) if isinstance(src, dict) else None
        if value is None:
            self.problems.add(_join(where, key), "is not set (needed to convert this v1 config)",
                              expected=expected)
            return None
        if mapping and not isinstance(value, dict):
            self.problems.add(_join(where, key), "must be a mapping", got=value, expected=expected)
            return None
        return value

    def drop(self, src: dict, key: str, where: str = "", reason: str = "not supported by NNI v2") -> None:
        """Remove a field v2 has no place for, with a warning naming it."""
        if isinstance(src, dict) and key in src:
            value = src.pop(key)
            self.warn(_join(where, key), f"{reason}; ignored (was {show(value)})")

    def warn(self, path: str, message: str) -> None:
        self.problems.warn(path, message)

    def error(self, path: str, message: str, got: Any = _ABSENT, expected: str | None = None) -> None:
        if got is _ABSENT:
            self.problems.add(path, message, expected=expected)
        else:
            self.problems.add(path, message, got=got, expected=expected)

    def convert_platform(self, name: str) -> Any:
        """Convert with another platform's converter (a hybrid config's members)."""
        platform = find_platform(name, self.platforms)
        converter = platform.v1_converter() if platform is not None else None
        return converter(self) if converter is not None else None

    def leftovers(self, src: Any, where: str) -> None:
        if isinstance(src, dict):
            for key, value in src.items():
                self.warn(_join(where, str(key)), f"has no v2 equivalent; ignored (was {show(value)})")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# Experiment-level v1 fields and their v2 names (None: dropped with a warning).
_TOP_LEVEL = [
    ("authorName", None), ("experimentName", "experimentName"), ("description", None),
    ("trialConcurrency", "trialConcurrency"), ("maxExecDuration", "maxExperimentDuration"),
    ("maxTrialNum", "maxTrialNumber"), ("maxTrialDuration", "maxTrialDuration"),
    ("searchSpacePath", "searchSpaceFile"), ("multiThread", None), ("nniManagerIp", "nniManagerIp"),
    ("logDir", "experimentWorkingDirectory"), ("debug", "debug"), ("versionCheck", None),
    ("logLevel", "logLevel"), ("logCollection", None), ("useAnnotation", "useAnnotation"),
]
_SHARED_STORAGE = ("storageType", "nfsServer", "exportedDirectory", "localMountPoint", "remoteMountPoint",
                   "localMounted", "storageAccountName", "storageAccountKey", "containerName")


def to_v2(v1_config: dict, platforms: dict[str, Any], problems: Problems) -> dict | None:
    """The v2 form of a v1 config; None when it cannot be converted (problems say why)."""
    v1 = copy.deepcopy(v1_config)
    name = v1.pop("trainingServicePlatform")
    platform = find_platform(name, platforms)
    if platform is None:
        unknown_platform(name, platforms, problems, "trainingServicePlatform")
        return None
    converter = platform.v1_converter()
    if converter is None:
        problems.add("trainingServicePlatform", f"platform {platform.name!r} has no v2 form to convert to",
                     got=name, expected="the v1 config as it is (nni-core validate/launch take it)")
        return None
    before = len(problems)
    v2: dict = {}
    trial = v1.pop("trial", {})
    if trial is None:
        trial = {}
    if not isinstance(trial, dict):
        problems.add("trial", "must be a mapping", got=trial, expected="{command: ..., codeDir: ...}")
        return None
    conv = V1Conversion(v1=v1, trial=trial, v2=v2, problems=problems, platforms=platforms, platform_name=name)

    if v1.pop("multiPhase", None):
        problems.add("multiPhase", "multi-phase experiments are no longer supported", got=True,
                     expected="no multiPhase (NNI 2.0 removed it)")
    for key, new_key in _TOP_LEVEL:
        if new_key is None:
            conv.drop(v1, key)
        else:
            conv.move(v1, v2, key, new_key)
    conv.move(trial, v2, "command", "trialCommand")
    conv.move(trial, v2, "codeDir", "trialCodeDirectory")
    conv.move(trial, v2, "gpuNum", "trialGpuNumber")

    for kind in ("tuner", "assessor", "advisor"):
        algorithm = _convert_algorithm(conv, kind, v1.pop(kind, None))
        if algorithm is not None:
            v2[kind] = algorithm

    v2["trainingService"] = converter(conv)

    storage = v1.pop("sharedStorage", None)
    if storage:
        v2["sharedStorage"] = {}
        for key in _SHARED_STORAGE:
            conv.move(storage, v2["sharedStorage"], key)
        conv.leftovers(storage, "sharedStorage")
    conv.leftovers(trial, "trial")
    conv.leftovers(v1, "")
    return None if len(problems) > before else v2


def _convert_algorithm(conv: V1Conversion, kind: str, v1_algo: Any) -> dict | None:
    if not v1_algo:
        return None
    if not isinstance(v1_algo, dict):
        conv.error(kind, "must be a mapping", got=v1_algo, expected=f"{{builtin{kind.title()}Name: ...}}")
        return None
    builtin_key = f"builtin{kind.title()}Name"
    if builtin_key in v1_algo and v1_algo[builtin_key] is not None:
        algorithm = {"name": v1_algo.pop(builtin_key)}
    else:
        v1_algo.pop(builtin_key, None)
        code_dir = conv.take(v1_algo, "codeDir", kind,
                             expected=f"{builtin_key}, or codeDir + classFileName + className")
        file_name = conv.take(v1_algo, "classFileName", kind, expected="the .py file holding the class")
        class_name = conv.take(v1_algo, "className", kind, expected="the class name")
        if code_dir is None or file_name is None or class_name is None:
            return None
        if not (isinstance(file_name, str) and file_name.endswith(".py")):
            conv.error(f"{kind}.classFileName", "is not a Python file name", got=file_name,
                       expected="a name ending in .py")
            return None
        algorithm = {"className": f"{file_name[:-3]}.{class_name}", "codeDirectory": code_dir}
    if "classArgs" in v1_algo:
        algorithm["classArgs"] = v1_algo.pop("classArgs")
    conv.drop(v1_algo, "includeIntermediateResults", kind)
    conv.move(v1_algo, conv.v2, "gpuIndices", "tunerGpuIndices")
    conv.leftovers(v1_algo, kind)
    return algorithm
