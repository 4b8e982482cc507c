"""What every learning tuner shares: the space, the trials in flight, the finished results.

A subclass implements ``suggest()`` (one point in internal form, see ``space``) and reads
``self.observations``: ``(formatted_parameters, loss)`` pairs where a lower loss is better
whatever ``optimize_mode`` says. Results arrive through ``receive_trial_result`` or
``import_data`` (the latter also rebuilds a resumed experiment's history); results whose
parameters do not fit the current space are skipped with a log line. Finite spaces are
deduplicated as Random does, so they end with ``NoMoreTrialError``.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

from nni_core.algorithms import OptimizeMode, Tuner, extract_scalar_reward
from nni_core.algorithms.random_tuner import Deduplicator, new_rng
from nni_core.algorithms.space import (
    FormattedSpace, deformat_parameters, format_parameters, format_search_space,
)

_logger = logging.getLogger(__name__)


class ModelBasedTuner(Tuner):
    default_mode = OptimizeMode.Maximize

    def __init__(self, optimize_mode: str | None = None, seed: int | None = None) -> None:
        self.optimize_mode = OptimizeMode.parse(optimize_mode, self.default_mode)
        self.rng = new_rng(seed)
        self.space: FormattedSpace = {}
        self.dedup = Deduplicator({})
        self.running: dict[int, dict] = {}          # parameter_id -> formatted parameters
        self.observations: list[tuple[dict, float]] = []
        self._results: list[tuple[Any, float]] = []  # (user parameters, loss), kept across spaces

    # --- for subclasses ---------------------------------------------------------------------

    def suggest(self) -> dict:
        raise NotImplementedError

    def on_space_changed(self) -> None:
        """Called after the space and the observations were rebuilt."""

    # --- NNI's interface --------------------------------------------------------------------

    def update_search_space(self, search_space: dict) -> None:
        self.space = format_search_space(search_space)
        self.dedup = Deduplicator(self.space)
        self.observations = []
        for parameters, loss in self._results:
            self._observe(parameters, loss)
        self.on_space_changed()

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict:
        formatted = self.dedup(self.suggest())
        self.running[parameter_id] = formatted
        return deformat_parameters(formatted, self.space)

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        loss = self.loss(value)
        self.running.pop(parameter_id, None)
        self._results.append((parameters, loss))
        self._observe(parameters, loss)

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        self.running.pop(parameter_id, None)

    def import_data(self, data: list[dict]) -> None:
        for parameters, reward in imported_results(data):
            loss = self.loss(reward)
            self._results.append((parameters, loss))
            self._observe(parameters, loss)

    # --- helpers ----------------------------------------------------------------------------

    def loss(self, value: Any) -> float:
        """A final metric (number or ``{"default": ...}``) as a loss: lower is better."""
        reward = float(extract_scalar_reward(value))
        return -reward if self.optimize_mode is OptimizeMode.Maximize else reward

    def _observe(self, parameters: Any, loss: float) -> None:
        formatted = fitting_parameters(parameters, self.space)
        if formatted is None:
            return
        self.dedup.add(deformat_parameters(formatted, self.space))
        self.observations.append((formatted, loss))


def imported_results(data: list[dict]) -> Iterator[tuple[Any, float]]:
    """``(parameters, reward)`` of the ``import_data`` records that carry a usable final metric."""
    for record in data:
        try:
            yield record["parameter"], float(extract_scalar_reward(record["value"]))
        except (KeyError, TypeError, ValueError):
            _logger.info("import_data: skipped a record without parameters and a numeric value: %r", record)


def fitting_parameters(parameters: Any, space: FormattedSpace) -> dict | None:
    """Trial parameters in internal form, or None (logged) when they do not fit the space
    (missing or extra nesting, unknown choice, a number outside its range)."""
    if not space:
        return None
    try:
        return format_parameters(parameters, space, strict=True)
    except (ValueError, TypeError, KeyError):
        _logger.info("result for parameters outside the current search space skipped: %r", parameters)
        return None
