"""nni-core plugin: the ``frameworkcontroller`` training service (Microsoft FrameworkController)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, V1Legacy
from nni_core.config import section_validator

from nni_plugin_frameworkcontroller import config as _config
from nni_plugin_frameworkcontroller.config import FrameworkControllerConfig


@hookimpl
def register_platforms(register):
    register(Platform(
        name="frameworkcontroller",
        config_class=FrameworkControllerConfig,
        convert_v1=_config.convert_v1,
        keeps_v1=_config.keeps_v1,
        v1_legacy=V1Legacy(schema=_config.v1_schema, resolve_paths=_config.v1_resolve_paths,
                           check=_config.v1_check),
        description="trials as FrameworkController frameworks on Kubernetes",
    ))


validate_config = section_validator(FrameworkControllerConfig, _config.check)
