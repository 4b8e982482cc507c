"""The manager side of the ``template`` platform: the local training service, under ``nice``.

A training service implements ``nni_core.training_service.TrainingService``; extending an
existing one is the shortest way to a new platform.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from nni_core.training_service import TrialSpec

from nni_plugin_local.training_service import LocalTrainingService


class NiceTrainingService(LocalTrainingService):
    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        niceness = int(self.config.get("niceness", 10))
        command = f"exec nice -n {niceness} /bin/bash -c {shlex.quote(spec.command)}"
        return await super().submit(dataclasses.replace(spec, command=command))
