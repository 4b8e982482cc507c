"""The ``openpai`` training service's config section (NNI 3.0 ``OpenpaiConfig``) and its v1 form."""

from __future__ import annotations

import os
from typing import Any

import attrs

from nni_core.config import Bound, Context, Problems, T, TrainingServiceConfig, field


@attrs.frozen(kw_only=True)
class OpenpaiConfig(TrainingServiceConfig):

    platform: str = field(T.literal("openpai"), "openpai")
    host: str = field(T.STR)
    username: str = field(T.STR)
    token: str = field(T.STR)
    trial_cpu_number: int = field(T.INT)
    trial_memory_size: Any = field(T.SIZE)
    storage_config_name: str = field(T.STR)
    docker_image: str = field(T.STR, "msranni/nni:latest")
    virtual_cluster: str | None = field(T.optional(T.STR))
    local_storage_mount_point: str = field(T.PATH, path=True)
    container_storage_mount_point: str = field(T.STR)
    reuse_mode: bool = field(T.BOOL, True)
    openpai_config: dict | None = field(T.optional(T.DICT), None)
    openpai_config_file: str | None = field(T.optional(T.PATH), None, path=True)

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        super().canonicalize(bound, parents, ctx, path)
        host = bound.values["host"]
        if isinstance(host, str) and "://" not in host:
            bound.values["host"] = "https://" + host


def check(ts: OpenpaiConfig, problems: Problems, path: str) -> None:
    if ts.trial_gpu_number is None:
        problems.add(f"{path}.trialGpuNumber", "is not set", expected="the number of GPUs per trial (0 for none)")
    if not os.path.isdir(ts.local_storage_mount_point):
        problems.add(f"{path}.localStorageMountPoint", "is not a directory", got=ts.local_storage_mount_point,
                     expected="the local mount point of the OpenPAI storage")
    if ts.openpai_config is not None and ts.openpai_config_file is not None:
        problems.add(f"{path}.openpaiConfig", "openpaiConfig and openpaiConfigFile are both set",
                     expected="only one of them")
    if ts.openpai_config_file is not None and not os.path.isfile(ts.openpai_config_file):
        problems.add(f"{path}.openpaiConfigFile", "is not a file", got=ts.openpai_config_file)


_TRIAL_FIELDS = [
    ("nniManagerNFSMountPath", "localStorageMountPoint"), ("containerNFSMountPath", "containerStorageMountPoint"),
    ("cpuNum", "trialCpuNumber"), ("memoryMB", "trialMemorySize"), ("image", "dockerImage"),
    ("virtualCluster", "virtualCluster"), ("paiStorageConfigName", "storageConfigName"),
    ("paiConfigPath", "openpaiConfigFile"),
]
_PAI_CONFIG_FIELDS = [
    ("userName", "username"), ("token", "token"), ("host", "host"), ("reuse", "reuseMode"),
    ("gpuNum", "trialGpuNumber"), ("cpuNum", "trialCpuNumber"), ("memoryMB", "trialMemorySize"),
]


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "openpai"}
    for old, new in _TRIAL_FIELDS:
        conv.move(conv.trial, ts, old, new)
    pai = conv.take(conv.v1, "paiConfig", "", expected="{userName: ..., token: ..., host: ...}", mapping=True)
    if isinstance(pai, dict):
        conv.drop(pai, "password", "paiConfig", "OpenPAI v2 configs log in with a token")
        for old, new in _PAI_CONFIG_FIELDS:
            conv.move(pai, ts, old, new)
        conv.drop(pai, "maxTrialNumPerGpu", "paiConfig")
        conv.drop(pai, "useActiveGpu", "paiConfig")
        conv.leftovers(pai, "paiConfig")
    return ts
