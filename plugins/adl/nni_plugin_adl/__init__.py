"""nni-core plugin: the ``adl`` training service (AdaptDL on Kubernetes; v1 configs)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, V1Legacy
from nni_core.config import section_validator

from nni_plugin_adl.config import AdlConfig, check, keeps_v1, v1_schema


@hookimpl
def register_platforms(register):
    register(Platform(
        name="adl",
        config_class=AdlConfig,
        keeps_v1=keeps_v1,
        v1_legacy=V1Legacy(schema=v1_schema),
        description="trials as AdaptDL jobs on Kubernetes (v1 configs)",
    ))


validate_config = section_validator(AdlConfig, check)
