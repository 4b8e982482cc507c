"""nni-core plugin: the ``ray`` training service (each trial is a job on a Ray cluster).

Importing this module is cheap: Ray itself is imported only by the training service, when an
experiment on the ``ray`` platform starts.
"""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_ray.config import RayConfig, check


@hookimpl
def register_platforms(register):
    register(Platform(
        name="ray",
        config_class=RayConfig,
        training_service="nni_plugin_ray.training_service:RayTrainingService",
        description="each trial is a Ray job on a Ray cluster (an existing one, or rayInit)",
    ))


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if isinstance(ts, RayConfig):
            check(ts, problems, path)
