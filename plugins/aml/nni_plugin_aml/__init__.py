"""nni-core plugin: the ``aml`` training service (Azure Machine Learning)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="aml",
        config_class="nni_plugin_aml.config:AmlConfig",
        convert_v1="nni_plugin_aml.config:convert_v1",
        description="trials as Azure Machine Learning runs",
    ))


validate_config = section_validator("nni_plugin_aml.config:AmlConfig", "nni_plugin_aml.config:check")
