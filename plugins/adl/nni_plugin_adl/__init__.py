"""nni-core plugin: the ``adl`` training service (AdaptDL on Kubernetes; v1 configs)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="adl",
        config_class="nni_plugin_adl.config:AdlConfig",
        keeps_v1="nni_plugin_adl.config:keeps_v1",
        v1_legacy="nni_plugin_adl.config:V1_RULES",
        description="trials as AdaptDL jobs on Kubernetes (v1 configs)",
    ))


validate_config = section_validator("nni_plugin_adl.config:AdlConfig", "nni_plugin_adl.config:check")
