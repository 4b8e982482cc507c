"""The ``aml`` training service's config section (NNI 3.0 ``AmlConfig``) and its v1 form."""

from __future__ import annotations

from typing import Any

import attrs

from nni_core.config import Problems, T, TrainingServiceConfig, field


@attrs.frozen(kw_only=True)
class AmlConfig(TrainingServiceConfig):

    platform: str = field(T.literal("aml"), "aml")
    subscription_id: str = field(T.STR)
    resource_group: str = field(T.STR)
    workspace_name: str = field(T.STR)
    compute_target: str = field(T.STR)
    docker_image: str = field(T.STR, "msranni/nni:latest")
    max_trial_number_per_gpu: int = field(T.INT, 1)


def check(ts: AmlConfig, problems: Problems, path: str) -> None:
    if ts.max_trial_number_per_gpu < 1:
        problems.add(f"{path}.maxTrialNumberPerGpu", "must be at least 1", got=ts.max_trial_number_per_gpu)


def convert_v1(conv: Any) -> dict:
    ts: dict = {"platform": "aml"}
    conv.move(conv.trial, ts, "image", "dockerImage")
    aml = conv.section(conv.v1, "amlConfig")
    for key in ("subscriptionId", "resourceGroup", "workspaceName", "computeTarget"):
        conv.move(aml, ts, key)
    conv.move(aml, ts, "maxTrialNumPerGpu", "maxTrialNumberPerGpu")
    conv.drop(aml, "useActiveGpu", "amlConfig")
    conv.leftovers(aml, "amlConfig")
    return ts
