"""The ``frameworkcontroller`` training service's config section (NNI 3.0
``FrameworkControllerConfig``), its v1 form and its part of NNI's v1 schema."""

from __future__ import annotations

from typing import Any

import attrs

from nni_core.components import V1Legacy
from nni_core.config import Bound, Context, Section, T, TrainingServiceConfig, field
from nni_core.config import v1_schema as S
from nni_core.config.k8s import K8sStorageConfig, convert_v1_storage
from nni_core.config.problems import Problems


@attrs.frozen(kw_only=True)
class FrameworkAttemptCompletionPolicy(Section):

    min_failed_task_count: int = field(T.INT)
    min_succeed_task_count: int = field(T.INT)


@attrs.frozen(kw_only=True)
class FrameworkControllerRoleConfig(Section):

    name: str = field(T.STR)
    docker_image: str = field(T.STR, "msranni/nni:latest")
    task_number: int = field(T.INT)
    command: str = field(T.STR)
    gpu_number: int = field(T.INT)
    cpu_number: int = field(T.INT)
    memory_size: Any = field(T.SIZE)
    framework_attempt_completion_policy: FrameworkAttemptCompletionPolicy = field(
        T.section(FrameworkAttemptCompletionPolicy))


@attrs.frozen(kw_only=True)
class FrameworkControllerConfig(TrainingServiceConfig):

    platform: str = field(T.literal("frameworkcontroller"), "frameworkcontroller")
    storage: K8sStorageConfig = field(T.section(K8sStorageConfig))
    service_account_name: str | None = field(T.optional(T.STR))
    task_roles: list = field(T.section_list(FrameworkControllerRoleConfig))
    reuse_mode: bool | None = field(T.optional(T.BOOL), True)
    namespace: str = field(T.STR, "default")

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        super().canonicalize(bound, parents, ctx, path)
        if bound.values["trial_command"] is None:  # each task role has its command
            bound.values["trial_command"] = ""


def check(ts: FrameworkControllerConfig, problems: Problems, path: str) -> None:
    if not ts.task_roles:
        problems.add(f"{path}.taskRoles", "is empty", expected="at least one task role")
    names = [role.name for role in ts.task_roles]
    if len(names) != len(set(names)):
        problems.add(f"{path}.taskRoles", "task role names repeat", got=names)


def keeps_v1(v1: dict) -> bool:
    """``frameworkcontrollerConfig.reuse: false`` keeps a v1 config v1 (NNI's legacy launcher)."""
    section = v1.get("frameworkcontrollerConfig")
    return isinstance(section, dict) and section.get("reuse") is False


_ROLE_FIELDS = [("name", "name"), ("taskNum", "taskNumber"), ("command", "command"), ("gpuNum", "gpuNumber"),
                ("cpuNum", "cpuNumber"), ("memoryMB", "memorySize"), ("image", "dockerImage")]


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "frameworkcontroller"}
    section = conv.take(conv.v1, "frameworkcontrollerConfig", "",
                        expected="{serviceAccountName: ..., storage: ...}", mapping=True)
    if isinstance(section, dict):
        conv.move(section, ts, "serviceAccountName")
        conv.move(section, ts, "reuse", "reuseMode")
        storage = convert_v1_storage(conv, section, "frameworkcontrollerConfig")
        if storage is not None:
            ts["storage"] = storage
        conv.move(section, ts, "namespace")
        conv.leftovers(section, "frameworkcontrollerConfig")
    conv.drop(conv.trial, "nasMode", "trial")
    ts["taskRoles"] = []
    roles = conv.trial.pop("taskRoles", None) or []
    for i, v1_role in enumerate(roles if isinstance(roles, list) else []):
        where = f"trial.taskRoles[{i}]"
        if not isinstance(v1_role, dict):
            conv.error(where, "must be a mapping", got=v1_role)
            continue
        role: dict = {}
        for old, new in _ROLE_FIELDS:
            conv.move(v1_role, role, old, new)
        conv.drop(v1_role, "privateRegistryAuthPath", where)
        policy = v1_role.pop("frameworkControllerCompletionPolicy", None) or \
            conv.take(v1_role, "frameworkAttemptCompletionPolicy", where,
                      expected="{minFailedTaskCount: ..., ...}", mapping=True)
        if policy:
            role["frameworkAttemptCompletionPolicy"] = {}
            conv.move(policy, role["frameworkAttemptCompletionPolicy"], "minFailedTaskCount")
            conv.move(policy, role["frameworkAttemptCompletionPolicy"], "minSucceededTaskCount", "minSucceedTaskCount")
            conv.leftovers(policy, f"{where}.frameworkAttemptCompletionPolicy")
        conv.leftovers(v1_role, where)
        ts["taskRoles"].append(role)
        if not conv.v2.get("trialCommand"):  # NNI's manager wants one; the first role's will do
            if "command" in role:
                conv.v2["trialCommand"] = role["command"]
            else:
                conv.error(f"{where}.command", "is not set")
    return ts


# --- v1 schema (NNI's frameworkcontroller_trial_schema and _config_schema) -----------------------


def v1_schema() -> dict:
    name_check = S.regex("([0-9]|[a-z]|[A-Z]|-){1,127}", "letters, digits and -")
    common = {
        S.Opt("storage"): S.choice("nfs", "azureStorage", "pvc"),
        S.Opt("serviceAccountName"): S.type_(str),
        S.Opt("namespace"): S.type_(str),
        S.Opt("reuse"): S.type_(bool),
    }
    return {
        "trial": {
            "codeDir": S.path_exists(),
            S.Opt("taskRoles"): [{
                "name": S.type_(str),
                "taskNum": S.type_(int),
                "frameworkAttemptCompletionPolicy": {
                    "minFailedTaskCount": S.type_(int),
                    "minSucceededTaskCount": S.type_(int),
                },
                "command": S.type_(str),
                "gpuNum": S.number_range(int, 0, 99999),
                "cpuNum": S.number_range(int, 0, 99999),
                "memoryMB": S.type_(int),
                "image": S.type_(str),
                S.Opt("privateRegistryAuthPath"): S.path_exists(),
            }],
        },
        "frameworkcontrollerConfig": S.AnyOf((
            {**common, "nfs": {"server": S.type_(str), "path": S.type_(str)}, S.Opt("configPath"): S.type_(str)},
            {**common, "configPath": S.type_(str), "pvc": {"path": S.type_(str)}},
            {**common,
             "keyVault": {"vaultName": name_check, "name": name_check},
             "azureStorage": {"accountName": S.regex("([0-9]|[a-z]|[A-Z]|-){3,31}", "letters, digits and -"),
                              "azureShare": S.regex("([0-9]|[a-z]|[A-Z]|-){3,63}", "letters, digits and -")},
             S.Opt("uploadRetryCount"): S.number_range(int, 1, 99999),
             S.Opt("configPath"): S.type_(str)},
        )),
    }


def v1_resolve_paths(v1: dict, base_dir: str) -> None:
    trial = v1["trial"]
    S.resolve(trial, "codeDir", base_dir)
    for role in trial.get("taskRoles") or []:
        S.resolve(role, "privateRegistryAuthPath", base_dir)
    S.resolve(v1.get("frameworkcontrollerConfig"), "configPath", base_dir)


def v1_check(v1: dict, problems: Problems) -> None:
    """Without taskRoles, a custom FrameworkController config (configPath) must define them."""
    if v1["trial"].get("taskRoles"):
        return
    path = v1["frameworkcontrollerConfig"].get("configPath")
    where = "frameworkcontrollerConfig.configPath"
    if not path:
        problems.add(where, "is not set", expected="taskRoles in trial, or a FrameworkController config file")
        return
    import yaml

    try:
        with open(path, encoding="utf-8") as file:
            content = yaml.safe_load(file) or {}
    except (OSError, yaml.YAMLError) as error:
        problems.add(where, f"cannot be read: {error}", got=path)
        return
    roles = (content.get("spec") or {}).get("taskRoles") if isinstance(content, dict) else None
    if not roles:
        problems.add(where, "the file defines no spec.taskRoles", got=path)
        return
    if not roles[0].get("task"):
        problems.add(where, "the first task role has no task", got=path)
    names = [role.get("name") for role in roles]
    if None in names:
        problems.add(where, "a task role has no name", got=path)
    elif len(names) != len(set(names)):
        problems.add(where, "task role names repeat", got=names)
    if not (content.get("metadata") or {}).get("name"):
        problems.add(where, "the file has no metadata.name", got=path)


# NNI's v1 schema check for the configs this platform keeps as v1 (reuse: false)
V1_RULES = V1Legacy(schema=v1_schema, resolve_paths=v1_resolve_paths, check=v1_check)
