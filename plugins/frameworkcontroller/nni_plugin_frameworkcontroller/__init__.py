"""nni-core plugin: the ``frameworkcontroller`` training service (Microsoft FrameworkController)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, V1Legacy

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


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if not isinstance(ts, FrameworkControllerConfig):
            continue
        if not ts.task_roles:
            problems.add(f"{path}.taskRoles", "is empty", expected="at least one task role")
        names = [role.name for role in ts.task_roles]
        if len(names) != len(set(names)):
            problems.add(f"{path}.taskRoles", "task role names repeat", got=names)
