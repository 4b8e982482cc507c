"""nni-core plugin: the ``local`` training service (trials run on this machine)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import section_validator

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


validate_config = section_validator(LocalConfig, check)
