"""The ``trainingService`` section of the ``template`` platform.

Fields are declared with ``nni_core.config.field(type, default)``; keys follow NNI's rules
(``niceness``, ``Niceness`` and ``nice_ness`` are the same key) and the canonical JSON writes them
in camelCase.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from nni_core.config import T, TrainingServiceConfig, field

MAX_NICENESS = 19


@attrs.frozen(kw_only=True)
class TemplateConfig(TrainingServiceConfig):
    nni_name: ClassVar[str] = "TemplateConfig"
    needs_manager_ip: ClassVar[bool] = False  # trials run on this machine

    platform: str = field(T.literal("template"), "template")
    niceness: int = field(T.INT, 10)
