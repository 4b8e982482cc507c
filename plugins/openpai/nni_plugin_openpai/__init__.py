"""nni-core plugin: the ``openpai`` training service (Microsoft OpenPAI clusters)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="openpai",
        config_class="nni_plugin_openpai.config:OpenpaiConfig",
        convert_v1="nni_plugin_openpai.config:convert_v1",
        v1_names=("pai",),
        description="trials as OpenPAI jobs",
    ))


validate_config = section_validator("nni_plugin_openpai.config:OpenpaiConfig", "nni_plugin_openpai.config:check")
