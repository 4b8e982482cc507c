"""Driving ``RayTrainingService`` directly from a test: an events recorder and trial specs."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from nni_core.training_service import ExperimentContext, TrialSpec, trial_environment
from nni_plugin_ray.training_service import RayTrainingService


class Recorder:
    """The manager's side of ``TrialEvents``: records every event and wakes waiters."""

    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.metrics: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ended: dict[str, tuple[int | None, int | None]] = {}
        self.messages: dict[str, str | None] = {}
        self.changed = asyncio.Event()

    def trial_started(self, trial_id: str, start_ms: int) -> None:
        self.started[trial_id] = start_ms
        self.changed.set()

    def trial_metric(self, trial_id: str, metric_text: str) -> None:
        self.metrics[trial_id].append(json.loads(metric_text))
        self.changed.set()

    def trial_message(self, trial_id: str, message: str | None) -> None:
        self.messages[trial_id] = message
        self.changed.set()

    def trial_ended(self, trial_id: str, end_ms: int, exit_code: int | None, signal: int | None) -> None:
        assert trial_id not in self.ended, f"trial {trial_id} ended twice"
        self.ended[trial_id] = (exit_code, signal)
        self.changed.set()

    def final(self, trial_id: str) -> Any:
        finals = [m for m in self.metrics[trial_id] if m["type"] == "FINAL"]
        return json.loads(finals[-1]["value"]) if finals else None

    def intermediates(self, trial_id: str) -> list[Any]:
        return [json.loads(m["value"]) for m in self.metrics[trial_id] if m["type"] == "PERIODICAL"]

    async def wait(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait until ``condition()`` is truthy (checked at every event, and every second)."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass


class Harness:
    """One service on a cluster, plus a way to make trial specs like the manager does."""

    def __init__(self, tmp_path: Path, code_dir: Path, config: dict[str, Any],
                 experiment_id: str = "rayexp") -> None:
        self.context = ExperimentContext(experiment_id, str(tmp_path / "experiments" / experiment_id))
        self.code_dir = str(code_dir)
        self.service = RayTrainingService({"platform": "ray", "trialCommand": "python3 trial.py",
                                           "trialCodeDirectory": self.code_dir, **config}, self.context)
        self.events = Recorder()
        self.sequence = 0

    async def start(self) -> Harness:
        await self.service.start(self.events)
        return self

    def spec(self, trial_id: str, parameters: dict[str, Any], command: str = "python3 trial.py") -> TrialSpec:
        trial_dir = self.service.trial_dir(trial_id)
        env = trial_environment(trial_id, self.sequence, self.context, trial_dir, self.code_dir, "ray", None)
        record = {"parameter_id": self.sequence, "parameter_source": "algorithm",
                  "parameters": parameters, "parameter_index": 0}
        self.sequence += 1
        return TrialSpec(trial_id, self.sequence - 1, record, command, self.code_dir, trial_dir, env, False)

    async def submit(self, trial_id: str, command: str = "python3 trial.py", **parameters: Any) -> None:
        await self.service.submit(self.spec(trial_id, parameters, command))

    def read(self, trial_id: str, name: str) -> str:
        return (Path(self.service.trial_dir(trial_id)) / name).read_text()
