"""nni-core plugin: the ``dlc`` training service (Alibaba Cloud PAI-DLC)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="dlc",
        config_class="nni_plugin_dlc.config:DlcConfig",
        description="trials as Alibaba Cloud PAI-DLC jobs",
    ))


validate_config = section_validator("nni_plugin_dlc.config:DlcConfig", "nni_plugin_dlc.config:check")
