"""The ``adl`` (AdaptDL) training service: v1 configs only, as in NNI 3.0.

NNI 3.0 has no v2 form for AdaptDL: v1 configs go to its legacy launcher, checked by the v1
schema below. A v2 ``platform: adl`` section is rejected with a pointer to the v1 form.
"""

from __future__ import annotations

import attrs

from nni_core.components import V1Legacy
from nni_core.config import Problems, T, TrainingServiceConfig, field
from nni_core.config import v1_schema as S


@attrs.frozen(kw_only=True)
class AdlConfig(TrainingServiceConfig):

    platform: str = field(T.literal("adl"), "adl")


def check(ts: AdlConfig, problems: Problems, path: str) -> None:
    problems.add(f"{path}.platform", "adl has no v2 config form (as in NNI 3.0)", got="adl",
                 expected="a v1 config with trainingServicePlatform: adl")


def keeps_v1(v1: dict) -> bool:
    return True


def v1_schema() -> dict:
    return {
        "trial": {
            "codeDir": S.type_(str),  # a path inside the container: not resolved
            "command": S.type_(str),
            "gpuNum": S.number_range(int, 0, 99999),
            "image": S.type_(str),
            S.Opt("namespace"): S.type_(str),
            S.Opt("imagePullSecrets"): [{"name": S.type_(str)}],
            S.Opt("nfs"): {"server": S.type_(str), "path": S.type_(str), "containerMountPath": S.type_(str)},
            S.Opt("adaptive"): S.type_(bool),
            S.Opt("checkpoint"): {"storageClass": S.type_(str), "storageSize": S.type_(str)},
            S.Opt("cpuNum"): S.number_range(int, 0, 99999),
            S.Opt("memorySize"): S.type_(str),
        },
    }


# NNI's v1 schema check for the adl configs this platform keeps as v1
V1_RULES = V1Legacy(schema=v1_schema)
