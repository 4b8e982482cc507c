"""nni-core plugin: the ``openpai`` training service (Microsoft OpenPAI clusters)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import section_validator

from nni_plugin_openpai.config import OpenpaiConfig, check, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="openpai",
        config_class=OpenpaiConfig,
        convert_v1=convert_v1,
        v1_names=("pai",),
        description="trials as OpenPAI jobs",
    ))


validate_config = section_validator(OpenpaiConfig, check)
