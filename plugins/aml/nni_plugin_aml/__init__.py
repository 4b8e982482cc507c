"""nni-core plugin: the ``aml`` training service (Azure Machine Learning)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import section_validator

from nni_plugin_aml.config import AmlConfig, check, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="aml",
        config_class=AmlConfig,
        convert_v1=convert_v1,
        description="trials as Azure Machine Learning runs",
    ))


validate_config = section_validator(AmlConfig, check)
