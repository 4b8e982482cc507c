"""Tuners and assessors: NNI's interfaces, the built-in algorithms and the factory.

A tuner chooses each trial's parameters; an assessor tells the manager which running trials to
stop early. The method names and their meaning are NNI's (``nni.tuner.Tuner``,
``nni.assessor.Assessor``), so NNI tuners and custom classes written for NNI work unchanged.

The manager builds one with ``create_algorithm(kind, spec)`` from the config's ``tuner`` /
``assessor`` section and then only calls the methods below. Contract the manager relies on:

* ``generate_multiple_parameters(ids)`` may return fewer items than asked; a short list (or
  ``NoMoreTrialError`` from ``generate_parameters``) means the tuner is exhausted.
* ``receive_trial_result`` gets the trial's final metric as reported (number or dict with a
  ``default`` key); tuners read it through ``extract_scalar_reward``, which raises ValueError
  for anything else (the caller decides whether that is the trial's or the tuner's fault).
* ``update_search_space`` raises ValueError, naming the parameter, for a malformed space.
* Calls come from one thread at a time; tuners keep no locks.
* ``trial_end(parameter_id, success)`` follows every trial, with or without a result.

Importing this package is cheap (stdlib only); built-ins load when they are created.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

__all__ = [
    "AssessResult",
    "Assessor",
    "NoMoreTrialError",
    "OptimizeMode",
    "Tuner",
    "create_algorithm",
    "extract_scalar_reward",
]

_logger = logging.getLogger(__name__)


class NoMoreTrialError(Exception):
    """Raised by ``generate_parameters`` when the tuner has nothing left to suggest."""


class OptimizeMode(enum.Enum):
    """Whether a larger (``maximize``) or smaller (``minimize``) final metric is better."""

    Minimize = "minimize"
    Maximize = "maximize"

    @classmethod
    def parse(cls, value: Any, default: "OptimizeMode | None" = None) -> "OptimizeMode":
        """``optimize_mode`` as a class argument: 'maximize' or 'minimize' (any case)."""
        if value is None and default is not None:
            return default
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for mode in cls:
                if mode.value == value.lower():
                    return mode
        raise ValueError(
            f"optimize_mode must be 'maximize' or 'minimize', got {value!r}"
        )


class AssessResult(enum.Enum):
    """What ``Assessor.assess_trial`` returns; ``Bad`` asks the manager to stop the trial."""

    Good = True
    Bad = False


def extract_scalar_reward(value: Any, scalar_key: str = "default") -> float:
    """The number a tuner optimizes from a final metric: the number itself or ``value["default"]``.

    Raises ValueError for anything else (bool is not a metric).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, dict):
        inner = value.get(scalar_key)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return inner
    raise ValueError(
        "incorrect final result: it must be a number, or a dict whose "
        f"{scalar_key!r} key holds a number; got {value!r}"
    )


class Tuner:
    """Base class of tuners, with NNI's methods.

    Override ``update_search_space``, ``receive_trial_result`` and ``generate_parameters`` (or
    ``generate_multiple_parameters``); ``trial_end`` and ``import_data`` are optional.
    """

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        """Parameters for the trial ``parameter_id``; raise NoMoreTrialError when exhausted."""
        raise NotImplementedError("Tuner: generate_parameters not implemented")

    def generate_multiple_parameters(self, parameter_id_list: list[int], **kwargs: Any) -> list[Any]:
        """One parameter set per id; stops early (a shorter list) when the tuner is exhausted."""
        result = []
        for parameter_id in parameter_id_list:
            try:
                result.append(self.generate_parameters(parameter_id, **kwargs))
            except NoMoreTrialError:
                break
        return result

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        """The final metric ``value`` of the trial that ran ``parameters``."""
        raise NotImplementedError("Tuner: receive_trial_result not implemented")

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        """The trial finished (success) or failed / was stopped. Nothing by default."""

    def update_search_space(self, search_space: dict) -> None:
        """The search space, before the first ``generate_parameters`` and on every live update."""
        raise NotImplementedError("Tuner: update_search_space not implemented")

    def import_data(self, data: list[dict]) -> None:
        """Earlier results, ``[{"parameter": {...}, "value": metric}, ...]``. Ignored by default."""

    def load_checkpoint(self) -> None:
        """Kept for NNI compatibility; nni-core rebuilds tuners from the store instead."""

    def save_checkpoint(self) -> None:
        """Kept for NNI compatibility."""


class Assessor:
    """Base class of assessors, with NNI's methods."""

    def assess_trial(self, trial_job_id: str, trial_history: list[Any]) -> AssessResult:
        """Judge a running trial from its intermediate results so far (never empty, growing)."""
        raise NotImplementedError("Assessor: assess_trial not implemented")

    def trial_end(self, trial_job_id: str, success: bool) -> None:
        """The trial finished (success) or failed / was stopped. Nothing by default."""

    def load_checkpoint(self) -> None:
        """Kept for NNI compatibility."""

    def save_checkpoint(self) -> None:
        """Kept for NNI compatibility."""


def create_algorithm(kind: str, spec: dict, plugins: Any = None, base_dir: Any = None) -> Any:
    """Build the tuner / assessor / advisor a config section names. See ``factory``."""
    from nni_core.algorithms.factory import create_algorithm as create

    return create(kind, spec, plugins=plugins, base_dir=base_dir)
