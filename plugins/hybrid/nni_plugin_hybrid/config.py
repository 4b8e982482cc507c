"""Hybrid experiments: trials spread over several training services.

In v2 a hybrid experiment is a ``trainingService`` list, each member checked by its own platform's
plugin. A v1 ``trainingServicePlatform: hybrid`` config (``hybridConfig.trainingServicePlatforms``)
is converted member by member with each platform's own converter.
"""

from __future__ import annotations

from typing import Any

import attrs

from nni_core.config import Problems, T, TrainingServiceConfig, field


@attrs.frozen(kw_only=True)
class HybridConfig(TrainingServiceConfig):
    """Only here so ``platform: hybrid`` gets a clear error; v2 writes a list instead."""


    platform: str = field(T.literal("hybrid"), "hybrid")


def check(ts: HybridConfig, problems: Problems, path: str) -> None:
    problems.add(f"{path}.platform", "a hybrid experiment is written as a trainingService list",
                 got="hybrid", expected="trainingService: [{platform: local}, {platform: remote, ...}]")


def convert_v1(conv: Any) -> list:
    section = conv.take(conv.v1, "hybridConfig", "",
                        expected="{trainingServicePlatforms: [local, remote, ...]}", mapping=True)
    names = section.get("trainingServicePlatforms") if isinstance(section, dict) else None
    if not isinstance(names, list) or not names:
        conv.error("hybridConfig.trainingServicePlatforms", "is not a list of platforms", got=names,
                   expected="e.g. [local, remote]")
        return []
    members = []
    for i, name in enumerate(names):
        if name == "hybrid":
            conv.error(f"hybridConfig.trainingServicePlatforms[{i}]", "a hybrid experiment cannot contain itself")
            continue
        member = conv.convert_platform(name)
        if member is None:
            conv.error(f"hybridConfig.trainingServicePlatforms[{i}]", "unknown platform, or one without a v1 form",
                       got=name, expected="one of the installed platforms: " + ", ".join(sorted(conv.platforms)))
            continue
        members.append(member)
    section.pop("trainingServicePlatforms", None)
    conv.leftovers(section, "hybridConfig")
    return members
