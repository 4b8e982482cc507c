"""nni-core plugin: the ``dlc`` training service (Alibaba Cloud PAI-DLC)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import section_validator

from nni_plugin_dlc.config import DlcConfig, check


@hookimpl
def register_platforms(register):
    register(Platform(
        name="dlc",
        config_class=DlcConfig,
        description="trials as Alibaba Cloud PAI-DLC jobs",
    ))


validate_config = section_validator(DlcConfig, check)
