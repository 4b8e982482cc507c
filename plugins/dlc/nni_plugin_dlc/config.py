"""The ``dlc`` training service's config section (NNI 3.0 ``DlcConfig``, Alibaba PAI-DLC)."""

from __future__ import annotations

import attrs

from nni_core.config import Problems, T, TrainingServiceConfig, field


@attrs.frozen(kw_only=True)
class DlcConfig(TrainingServiceConfig):

    platform: str = field(T.literal("dlc"), "dlc")
    type: str = field(T.STR, "Worker")
    image: str = field(T.STR)
    job_type: str = field(T.STR, "TFJob")
    pod_count: int = field(T.INT)
    ecs_spec: str = field(T.STR)
    region: str = field(T.STR)
    workspace_id: str = field(T.STR)
    nas_data_source_id: str = field(T.STR)
    oss_data_source_id: str | None = field(T.optional(T.STR), None)
    access_key_id: str = field(T.STR)
    access_key_secret: str = field(T.STR)
    local_storage_mount_point: str = field(T.STR)
    container_storage_mount_point: str = field(T.STR)


def check(ts: DlcConfig, problems: Problems, path: str) -> None:
    if ts.pod_count < 1:
        problems.add(f"{path}.podCount", "must be at least 1", got=ts.pod_count)
