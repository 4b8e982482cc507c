"""nni-core plugin: hybrid experiments (a ``trainingService`` list spanning several platforms)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import section_validator

from nni_plugin_hybrid.config import HybridConfig, check, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="hybrid",
        config_class=HybridConfig,
        convert_v1=convert_v1,
        description="trials spread over several training services (a trainingService list)",
    ))


validate_config = section_validator(HybridConfig, check)
