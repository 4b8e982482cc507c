"""nni-core plugin: the ``frameworkcontroller`` training service (Microsoft FrameworkController)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="frameworkcontroller",
        config_class="nni_plugin_frameworkcontroller.config:FrameworkControllerConfig",
        convert_v1="nni_plugin_frameworkcontroller.config:convert_v1",
        keeps_v1="nni_plugin_frameworkcontroller.config:keeps_v1",
        v1_legacy="nni_plugin_frameworkcontroller.config:V1_RULES",
        description="trials as FrameworkController frameworks on Kubernetes",
    ))


validate_config = section_validator("nni_plugin_frameworkcontroller.config:FrameworkControllerConfig", "nni_plugin_frameworkcontroller.config:check")
