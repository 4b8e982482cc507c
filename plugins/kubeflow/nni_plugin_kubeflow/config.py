"""The ``kubeflow`` training service's config section (NNI 3.0 ``KubeflowConfig``), its v1 form
and its part of NNI's v1 schema (v1 configs with ``reuse: false`` stay v1)."""

from __future__ import annotations

from typing import Any

import attrs

from nni_core.components import V1Legacy
from nni_core.config import Bound, Context, Problems, Section, T, TrainingServiceConfig, field
from nni_core.config import v1_schema as S
from nni_core.config.k8s import K8sStorageConfig, convert_v1_storage

OPERATORS = ("tf-operator", "pytorch-operator")
ROLES = ("worker", "ps", "master")


@attrs.frozen(kw_only=True)
class KubeflowRoleConfig(Section):

    replicas: int = field(T.INT)
    command: str = field(T.STR)
    gpu_number: int | None = field(T.optional(T.INT), 0)
    cpu_number: int = field(T.INT)
    memory_size: Any = field(T.SIZE)
    docker_image: str = field(T.STR, "msranni/nni:latest")
    code_directory: str = field(T.STR)  # a path inside the container: not resolved


@attrs.frozen(kw_only=True)
class KubeflowConfig(TrainingServiceConfig):

    platform: str = field(T.literal("kubeflow"), "kubeflow")
    operator: str = field(T.STR)
    api_version: str = field(T.STR)
    storage: K8sStorageConfig = field(T.section(K8sStorageConfig))
    worker: KubeflowRoleConfig | None = field(T.optional(T.section(KubeflowRoleConfig)), None)
    ps: KubeflowRoleConfig | None = field(T.optional(T.section(KubeflowRoleConfig)), None)
    master: KubeflowRoleConfig | None = field(T.optional(T.section(KubeflowRoleConfig)), None)
    reuse_mode: bool | None = field(T.optional(T.BOOL), True)
    namespace: str = field(T.STR, "default")

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        super().canonicalize(bound, parents, ctx, path)
        # The roles carry their own commands; NNI fills these with "" for its type check.
        for name in ("trial_command", "trial_code_directory"):
            if bound.values[name] is None:
                bound.values[name] = ""


def check(ts: KubeflowConfig, problems: Problems, path: str) -> None:
    if ts.operator not in OPERATORS:
        problems.add(f"{path}.operator", "is not a Kubeflow operator nni-core can drive", got=ts.operator,
                     expected=" or ".join(OPERATORS))


def keeps_v1(v1: dict) -> bool:
    """A v1 kubeflow config with ``kubeflowConfig.reuse: false`` stays v1 (NNI's legacy launcher)."""
    section = v1.get("kubeflowConfig")
    return isinstance(section, dict) and section.get("reuse") is False


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "kubeflow"}
    section = conv.take(conv.v1, "kubeflowConfig", "",
                        expected="{operator: ..., apiVersion: ..., storage: ...}", mapping=True)
    if isinstance(section, dict):
        conv.move(section, ts, "operator")
        conv.move(section, ts, "apiVersion")
        storage = convert_v1_storage(conv, section, "kubeflowConfig")
        if storage is not None:
            ts["storage"] = storage
        conv.move(section, ts, "reuse", "reuseMode")
        conv.move(section, ts, "namespace")
        conv.leftovers(section, "kubeflowConfig")
    conv.drop(conv.trial, "nasMode", "trial")
    for role_name in ROLES:
        if role_name not in conv.trial:
            continue
        v1_role = conv.trial.pop(role_name)
        where = f"trial.{role_name}"
        if not isinstance(v1_role, dict):
            conv.error(where, "must be a mapping", got=v1_role)
            continue
        role: dict = {}
        for old, new in (("replicas", "replicas"), ("command", "command"), ("gpuNum", "gpuNumber"),
                         ("cpuNum", "cpuNumber"), ("memoryMB", "memorySize"), ("image", "dockerImage")):
            conv.move(v1_role, role, old, new)
        conv.drop(v1_role, "privateRegistryAuthPath", where)
        if "trialCodeDirectory" not in conv.v2:
            conv.error("trial.codeDir", "is not set (each Kubeflow role runs the code from there)")
        else:
            role["codeDirectory"] = conv.v2["trialCodeDirectory"]
        conv.leftovers(v1_role, where)
        ts[role_name] = role
    return ts


# --- v1 schema (NNI's kubeflow_trial_schema and kubeflow_config_schema) -------------------------


def _role() -> dict:
    return {
        "replicas": S.type_(int),
        "command": S.type_(str),
        "gpuNum": S.number_range(int, 0, 99999),
        "cpuNum": S.number_range(int, 0, 99999),
        "memoryMB": S.type_(int),
        "image": S.type_(str),
        S.Opt("privateRegistryAuthPath"): S.path_exists(),
    }


def v1_schema() -> dict:
    name = S.regex("([0-9]|[a-z]|[A-Z]|-){1,127}", "letters, digits and -")
    common = {
        "operator": S.choice(*OPERATORS),
        "apiVersion": S.type_(str),
        S.Opt("storage"): S.choice("nfs", "azureStorage"),
        S.Opt("reuse"): S.type_(bool),
        S.Opt("namespace"): S.type_(str),
    }
    return {
        "trial": {
            "codeDir": S.path_exists(),
            S.Opt("nasMode"): S.choice("classic_mode", "enas_mode", "oneshot_mode", "darts_mode"),
            S.Opt("ps"): _role(),
            S.Opt("master"): _role(),
            S.Opt("worker"): _role(),
        },
        "kubeflowConfig": S.AnyOf((
            {**common, "nfs": {"server": S.type_(str), "path": S.type_(str)}},
            {**common,
             "keyVault": {"vaultName": name, "name": name},
             "azureStorage": {"accountName": S.regex("([0-9]|[a-z]|[A-Z]|-){3,31}", "letters, digits and -"),
                              "azureShare": S.regex("([0-9]|[a-z]|[A-Z]|-){3,63}", "letters, digits and -")},
             S.Opt("uploadRetryCount"): S.number_range(int, 1, 99999)},
        )),
    }


def v1_resolve_paths(v1: dict, base_dir: str) -> None:
    trial = v1["trial"]
    S.resolve(trial, "codeDir", base_dir)
    for role in ROLES:
        S.resolve(trial.get(role), "privateRegistryAuthPath", base_dir)


def v1_check(v1: dict, problems: Problems) -> None:
    section, trial = v1["kubeflowConfig"], v1["trial"]
    if section.get("operator") == "tf-operator":
        if trial.get("master") is not None:
            problems.add("trial.master", "is not used with tf-operator", expected="worker (and ps)")
        if trial.get("worker") is None:
            problems.add("trial.worker", "is not set", expected="a worker role for tf-operator")
    elif section.get("operator") == "pytorch-operator":
        if trial.get("ps") is not None:
            problems.add("trial.ps", "is not used with pytorch-operator", expected="master (and worker)")
        if trial.get("master") is None:
            problems.add("trial.master", "is not set", expected="a master role for pytorch-operator")
    storage = section.get("storage")
    if storage == "nfs" and section.get("nfs") is None:
        problems.add("kubeflowConfig.nfs", "is not set", expected="{server: ..., path: ...}")
    elif storage == "azureStorage" and section.get("azureStorage") is None:
        problems.add("kubeflowConfig.azureStorage", "is not set")
    elif storage is None and section.get("azureStorage"):
        problems.add("kubeflowConfig.storage", "is not set", expected="azureStorage")


# NNI's v1 schema check for the configs this platform keeps as v1 (reuse: false)
V1_RULES = V1Legacy(schema=v1_schema, resolve_paths=v1_resolve_paths, check=v1_check)
