"""nni-core plugin: the ``ray`` training service (each trial is a job on a Ray cluster).

Importing this module is cheap: Ray itself is imported only by the training service, when an
experiment on the ``ray`` platform starts.
"""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="ray",
        config_class="nni_plugin_ray.config:RayConfig",
        training_service="nni_plugin_ray.training_service:RayTrainingService",
        description="each trial is a Ray job on a Ray cluster (an existing one, or rayInit)",
    ))


validate_config = section_validator("nni_plugin_ray.config:RayConfig", "nni_plugin_ray.config:check")
