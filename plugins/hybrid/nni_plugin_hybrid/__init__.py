"""nni-core plugin: hybrid experiments (a ``trainingService`` list spanning several platforms)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="hybrid",
        config_class="nni_plugin_hybrid.config:HybridConfig",
        convert_v1="nni_plugin_hybrid.config:convert_v1",
        training_service="nni_plugin_hybrid.training_service:HybridTrainingService",
        runs_lists=True,
        description="trials spread over several training services (a trainingService list)",
    ))


validate_config = section_validator("nni_plugin_hybrid.config:HybridConfig", "nni_plugin_hybrid.config:check")
