"""Batch (alias BatchTuner): runs the parameter sets the user listed, in order.

The search space is one ``choice`` whose candidates are the parameter sets; each trial receives
a candidate as it is (not wrapped in the parameter's name), as NNI's BatchTuner does. After the
last one, ``NoMoreTrialError``. ``import_data`` drops candidates already run with a result.
Unlike NNI, a new search space restarts at its first candidate not run yet (NNI keeps its
position counter across the change).
"""

from __future__ import annotations

from typing import Any

from nni_core.algorithms import NoMoreTrialError, Tuner
from nni_core.algorithms.space import canonical


class BatchTuner(Tuner):
    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.done: set[str] = set()

    def update_search_space(self, search_space: dict) -> None:
        if not isinstance(search_space, dict) or len(search_space) != 1:
            raise ValueError("Batch: the search space must have exactly one parameter, "
                             "a choice listing the parameter sets")
        (name, entry), = search_space.items()
        if not isinstance(entry, dict) or entry.get("_type") != "choice" or not isinstance(entry.get("_value"), list):
            raise ValueError(f"Batch: search space parameter {name!r} must be "
                             "{\"_type\": \"choice\", \"_value\": [parameter sets]}")
        self.pending = [c for c in entry["_value"] if canonical(c) not in self.done]

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        if not self.pending:
            raise NoMoreTrialError("Batch: every listed parameter set has been run")
        candidate = self.pending.pop(0)
        self.done.add(canonical(candidate))
        return candidate

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        pass

    def import_data(self, data: list[dict]) -> None:
        for trial in data:
            if trial.get("value") is None:  # NNI skips trials without a result
                continue
            text = canonical(trial["parameter"])
            self.done.add(text)
            self.pending = [c for c in self.pending if canonical(c) != text]
