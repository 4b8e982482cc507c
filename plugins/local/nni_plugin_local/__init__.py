"""nni-core plugin: the ``local`` training service (trials run on this machine)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_local.config import LocalConfig, check, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="local",
        config_class=LocalConfig,
        convert_v1=convert_v1,
        training_service="nni_plugin_local.training_service:LocalTrainingService",
        description="trials run as processes on this machine",
    ))


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if isinstance(ts, LocalConfig):
            check(ts, problems, path)
