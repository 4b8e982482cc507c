"""The ``local`` training service's config section (NNI 3.0 ``LocalConfig``) and its v1 form."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from nni_core.config import Bound, Context, Problems, T, TrainingServiceConfig, field
from nni_core.config.model import REPORTED
from nni_core.config.utils import canonical_gpu_indices, gpu_indices_problem


@attrs.frozen(kw_only=True)
class LocalConfig(TrainingServiceConfig):
    needs_manager_ip: ClassVar[bool] = False  # trials run on this machine

    platform: str = field(T.literal("local"), "local")
    use_active_gpu: bool | None = field(T.optional(T.BOOL), None)
    max_trial_number_per_gpu: int = field(T.INT, 1)
    gpu_indices: Any = field(T.GPU_INDICES, None, check=gpu_indices_problem)
    reuse_mode: bool = field(T.BOOL, False)

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        super().canonicalize(bound, parents, ctx, path)
        try:
            bound.values["gpu_indices"] = canonical_gpu_indices(bound.values["gpu_indices"])
        except ValueError:
            ctx.problems.add(f"{path}.gpuIndices", "is not a comma-separated list of integers",
                             got=bound.values["gpu_indices"], expected='e.g. "0,1"')
            bound.values["gpu_indices"] = REPORTED
        bound.values["nni_manager_ip"] = None  # not used by local trials; NNI drops it too


def check(ts: LocalConfig, problems: Problems, path: str) -> None:
    if ts.trial_gpu_number and ts.use_active_gpu is None:
        problems.add(f"{path}.useActiveGpu", "must be set when trials use GPUs",
                     expected="true if this machine has a GUI or other GPU users, false to use idle GPUs only")
    if not ts.trial_gpu_number and ts.max_trial_number_per_gpu != 1:
        problems.add(f"{path}.maxTrialNumberPerGpu", "only works with trialGpuNumber set",
                     got=ts.max_trial_number_per_gpu, expected="1, or set trialGpuNumber")


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "local"}
    local = conv.section(conv.v1, "localConfig")
    conv.move(local, ts, "gpuIndices")
    conv.move(local, ts, "maxTrialNumPerGpu", "maxTrialNumberPerGpu")
    conv.move(local, ts, "useActiveGpu")
    conv.leftovers(local, "localConfig")
    return ts
