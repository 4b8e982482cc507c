"""The ``hybrid`` training service: one experiment's trials spread over several training services.

A ``trainingService`` list (``[{platform: local}, {platform: remote, machineList: [...]}]``) makes
the manager build each member's own service and hand them to this one. Trials take turns: each
goes to the next member, in list order, that has room for it (``can_submit``); a member that is
full (a remote machine's GPUs all taken, ...) is skipped until it frees up. Every trial is one
member's from its start to its end: the member's folder, environment id and ``NNI_PLATFORM``.
Members report their trials' events to the manager themselves; this service only routes
``submit``, ``cancel`` and ``reattach`` to the member running the trial.

Its trials use the file protocol by default, the one every member speaks (a remote or Ray trial
cannot be assumed to reach the manager).
"""

from __future__ import annotations

import asyncio
from typing import Any

from nni_core.training_service import ExperimentContext, TrainingService, TrainingServiceError, TrialEvents, TrialSpec


class HybridTrainingService(TrainingService):
    environment_id = "hybrid-env"
    trial_protocol = "file"

    def __init__(self, config: list[dict[str, Any]], context: ExperimentContext,
                 members: list[TrainingService]) -> None:
        super().__init__({"platform": "hybrid"}, context)
        self.sections = config
        self.members = members
        self.placement: dict[str, int] = {}  # trial id -> index of the member running it
        self._next = 0  # the member whose turn it is

    async def start(self, events: TrialEvents) -> None:
        relay = _Relay(events, self.placement)
        for index, member in enumerate(self.members):
            try:
                await member.start(relay)
            except TrainingServiceError as error:
                platform = self.sections[index].get("platform")
                raise TrainingServiceError(f"trainingService[{index}] ({platform}): {error}") from None

    def can_submit(self) -> bool:
        return any(member.can_submit() for member in self.members)

    def place(self, trial_id: str, info: dict[str, Any] | None = None) -> TrainingService:
        index = (info or {}).get("member")  # on resume: the member that started it
        if not isinstance(index, int) or not 0 <= index < len(self.members):
            index = self._next_with_room()  # (a record without one is not re-attached: see reattach)
            self._next = (index + 1) % len(self.members)
        self.placement[trial_id] = index
        return self.members[index]

    def _next_with_room(self) -> int:
        count = len(self.members)
        for step in range(count):
            index = (self._next + step) % count
            if self.members[index].can_submit():
                return index
        return self._next  # the manager asked can_submit() first; submit will say what is wrong

    def trial_dir(self, trial_id: str) -> str:
        index = self.placement.get(trial_id)
        return self.members[index if index is not None else 0].trial_dir(trial_id)

    def _member(self, trial_id: str) -> TrainingService:
        index = self.placement.get(trial_id)
        if index is None:
            raise TrainingServiceError(f"trial {trial_id} was not placed on a member (place() first)")
        return self.members[index]

    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        try:
            info = await self._member(spec.trial_id).submit(spec)
        except TrainingServiceError:
            self.placement.pop(spec.trial_id, None)  # it never started: no end will be reported
            raise
        return {"member": self.placement[spec.trial_id], "info": info}

    async def reattach(self, spec: TrialSpec, info: dict[str, Any]) -> bool:
        if not isinstance(info.get("info"), dict):
            return False
        return await self._member(spec.trial_id).reattach(spec, info["info"])

    async def cancel(self, trial_id: str) -> None:
        if trial_id in self.placement:
            await self._member(trial_id).cancel(trial_id)

    async def stop(self) -> None:
        results = await asyncio.gather(*(member.stop() for member in self.members), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]


class _Relay:
    """The manager's event callbacks as the members see them: a trial's end also frees its
    placement."""

    def __init__(self, events: TrialEvents, placement: dict[str, int]) -> None:
        self.events = events
        self.placement = placement

    def trial_started(self, trial_id: str, start_ms: int) -> None:
        self.events.trial_started(trial_id, start_ms)

    def trial_metric(self, trial_id: str, metric_text: str) -> None:
        self.events.trial_metric(trial_id, metric_text)

    def trial_message(self, trial_id: str, message: str | None) -> None:
        self.events.trial_message(trial_id, message)

    def trial_ended(self, trial_id: str, end_ms: int, exit_code: int | None, signal: int | None) -> None:
        self.placement.pop(trial_id, None)
        self.events.trial_ended(trial_id, end_ms, exit_code, signal)
