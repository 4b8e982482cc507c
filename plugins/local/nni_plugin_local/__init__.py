"""nni-core plugin: the ``local`` training service (trials run on this machine)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="local",
        config_class="nni_plugin_local.config:LocalConfig",
        convert_v1="nni_plugin_local.config:convert_v1",
        training_service="nni_plugin_local.training_service:LocalTrainingService",
        description="trials run as processes on this machine",
    ))


validate_config = section_validator("nni_plugin_local.config:LocalConfig", "nni_plugin_local.config:check")
