"""The ``trainingService`` section of the ``template`` platform.

Fields are declared with ``nni_core.config.field(type, default)``; keys follow NNI's rules
(``niceness``, ``Niceness`` and ``nice_ness`` are the same key) and the canonical JSON writes them
in camelCase.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from nni_core.config import Problems, T, TrainingServiceConfig, field

MAX_NICENESS = 19


def check(section: "TemplateConfig", problems: Problems, path: str) -> None:
    """Checks beyond the field types: run by ``validate_config`` for each ``template`` section."""
    if not 0 <= section.niceness <= MAX_NICENESS:
        problems.add(f"{path}.niceness", "is out of range", got=section.niceness,
                     expected=f"an integer from 0 to {MAX_NICENESS}")


@attrs.frozen(kw_only=True)
class TemplateConfig(TrainingServiceConfig):
    needs_manager_ip: ClassVar[bool] = False  # trials run on this machine

    platform: str = field(T.literal("template"), "template")
    niceness: int = field(T.INT, 10)
