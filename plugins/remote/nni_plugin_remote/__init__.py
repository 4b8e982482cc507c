"""nni-core plugin: the ``remote`` training service (trials on machines reached over SSH)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator

from nni_plugin_remote.preflight import configure_platform  # noqa: F401 (a hook implementation)


@hookimpl
def register_platforms(register):
    register(Platform(
        name="remote",
        config_class="nni_plugin_remote.config:RemoteConfig",
        convert_v1="nni_plugin_remote.config:convert_v1",
        training_service="nni_plugin_remote.training_service:RemoteTrainingService",
        description="trials on machines reached over SSH",
    ))


validate_config = section_validator("nni_plugin_remote.config:RemoteConfig", "nni_plugin_remote.config:check")
