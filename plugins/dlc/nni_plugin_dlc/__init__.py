"""nni-core plugin: the ``dlc`` training service (Alibaba Cloud PAI-DLC)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_dlc.config import DlcConfig


@hookimpl
def register_platforms(register):
    register(Platform(
        name="dlc",
        config_class=DlcConfig,
        description="trials as Alibaba Cloud PAI-DLC jobs",
    ))


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if isinstance(ts, DlcConfig) and ts.pod_count < 1:
            problems.add(f"{path}.podCount", "must be at least 1", got=ts.pod_count)
