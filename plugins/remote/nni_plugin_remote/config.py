"""The ``remote`` training service's config section (NNI 3.0 ``RemoteConfig``) and its v1 form."""

from __future__ import annotations

import os
from typing import Any

import attrs

from nni_core.config import Bound, Context, Problems, Section, T, TrainingServiceConfig, field, join
from nni_core.config.model import REPORTED
from nni_core.config.utils import canonical_gpu_indices, gpu_indices_problem


def _port(value: int) -> str | None:
    return None if 0 < value < 65536 else "is not a TCP port"


def _positive(value: int) -> str | None:
    return None if value > 0 else "must be greater than 0"


@attrs.frozen(kw_only=True)
class RemoteMachineConfig(Section):

    host: str = field(T.STR)
    port: int = field(T.INT, 22, check=_port)
    user: str = field(T.STR)
    password: str | None = field(T.optional(T.STR), None)
    ssh_key_file: str | None = field(T.optional(T.PATH), "~/.ssh/id_rsa", path=True)
    ssh_passphrase: str | None = field(T.optional(T.STR), None)
    use_active_gpu: bool = field(T.BOOL, False)
    max_trial_number_per_gpu: int = field(T.INT, 1, check=_positive)
    gpu_indices: Any = field(T.GPU_INDICES, None, check=gpu_indices_problem)
    python_path: str | None = field(T.optional(T.STR), None)

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        super().canonicalize(bound, parents, ctx, path)
        if bound.values["password"] is not None:
            bound.values["ssh_key_file"] = None  # a password login uses no key (as NNI)
        try:
            bound.values["gpu_indices"] = canonical_gpu_indices(bound.values["gpu_indices"])
        except ValueError:
            ctx.problems.add(join(path, "gpuIndices"), "is not a comma-separated list of integers",
                             got=bound.values["gpu_indices"], expected='e.g. "0,1"')
            bound.values["gpu_indices"] = REPORTED

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        if bound["password"] is not None:
            ctx.problems.warn(join(path, "password"), "an SSH password is shown in the web UI as plain text; "
                                                      "an SSH key file (sshKeyFile) is safer")
        elif not os.path.isfile(bound["ssh_key_file"] or ""):
            ctx.problems.add(join(path, "sshKeyFile"), "is not a file, and no password is set",
                             got=bound["ssh_key_file"], expected="an existing private key file, or password")


@attrs.frozen(kw_only=True)
class RemoteConfig(TrainingServiceConfig):

    platform: str = field(T.literal("remote"), "remote")
    machine_list: list = field(T.section_list(RemoteMachineConfig))
    reuse_mode: bool = field(T.BOOL, False)


def check(ts: RemoteConfig, problems: Problems, path: str) -> None:
    if not ts.machine_list:
        problems.add(f"{path}.machineList", "is empty", expected="at least one machine {host: ..., user: ...}")
    if not ts.trial_gpu_number:
        for i, machine in enumerate(ts.machine_list):
            if machine.max_trial_number_per_gpu != 1:
                problems.add(f"{path}.machineList[{i}].maxTrialNumberPerGpu", "only works with trialGpuNumber set",
                             got=machine.max_trial_number_per_gpu, expected="1, or set trialGpuNumber")


_MACHINE_FIELDS = [
    ("ip", "host"), ("port", "port"), ("username", "user"), ("sshKeyPath", "sshKeyFile"),
    # NNI 3.0 moves v1 passphrase to a v2 field that does not exist; sshPassphrase is its v2 name.
    ("passphrase", "sshPassphrase"),
    ("gpuIndices", "gpuIndices"), ("maxTrialNumPerGpu", "maxTrialNumberPerGpu"), ("useActiveGpu", "useActiveGpu"),
    ("pythonPath", "pythonPath"), ("passwd", "password"),
]


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "remote"}
    remote = conv.section(conv.v1, "remoteConfig")
    conv.move(remote, ts, "reuse", "reuseMode")
    conv.leftovers(remote, "remoteConfig")
    machines = conv.take(conv.v1, "machineList", "", expected="a list of machines {ip: ..., username: ...}")
    ts["machineList"] = []
    for i, v1_machine in enumerate(machines if isinstance(machines, list) else []):
        if not isinstance(v1_machine, dict):
            conv.error(f"machineList[{i}]", "must be a mapping", got=v1_machine)
            continue
        machine: dict = {}
        for old, new in _MACHINE_FIELDS:
            conv.move(v1_machine, machine, old, new)
        conv.leftovers(v1_machine, f"machineList[{i}]")
        ts["machineList"].append(machine)
    return ts
