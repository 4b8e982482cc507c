"""nni-core plugin: hybrid experiments (a ``trainingService`` list spanning several platforms)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_hybrid.config import HybridConfig, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="hybrid",
        config_class=HybridConfig,
        convert_v1=convert_v1,
        description="trials spread over several training services (a trainingService list)",
    ))


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if isinstance(ts, HybridConfig):
            problems.add(f"{path}.platform", "a hybrid experiment is written as a trainingService list",
                         got="hybrid", expected="trainingService: [{platform: local}, {platform: remote, ...}]")
