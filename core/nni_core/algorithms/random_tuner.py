"""Random: each parameter drawn independently from its distribution (NNI's RandomTuner).

Draws in internal form (see ``space``): a uniform index for ``choice``/``randint``, uniform in
[low, high] (log space for ``log*``) or normal(mu, sigma) for numeric types, then rounding and
clipping for ``q*``. When the space is finite and a draw repeats an earlier one, the next untried
grid point is taken instead, and ``NoMoreTrialError`` is raised once every point was tried.
"""

from __future__ import annotations

import random

from nni_core.algorithms import NoMoreTrialError, OptimizeMode, Tuner
from nni_core.algorithms.space import (
    FormattedSpace, ParameterSpec, canonical, deformat_parameters, format_search_space,
)


def new_rng(seed: int | None) -> random.Random:
    """A private generator: seeded → reproducible; never the global ``random`` state."""
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return random.Random(seed)


def sample(rng: random.Random, space: FormattedSpace) -> dict:
    """One random point of the space, in internal form (inactive nested parameters left out)."""
    params: dict = {}
    for key, spec in space.items():
        if spec.is_activated_in(params):
            params[key] = sample_parameter(rng, spec)
    return params


def sample_parameter(rng: random.Random, spec: ParameterSpec) -> float:
    if spec.categorical:
        return rng.randrange(spec.size)
    if spec.normal_distributed:
        return rng.gauss(spec.mu, spec.sigma)
    return rng.uniform(spec.low, spec.high)


class Deduplicator:
    """Replaces a repeated point by an untried grid point, where repeats are possible at all.

    A space with any continuous, un-nested parameter never repeats (as in NNI), so no history is
    kept for it.
    """

    def __init__(self, space: FormattedSpace) -> None:
        self.space = space
        self.never_dup = any(_never_dup(spec) for spec in space.values())
        self.history: set[str] = set()
        self.grid = None

    def __call__(self, formatted: dict) -> dict:
        if self.never_dup or self._is_new(formatted):
            return formatted
        if self.grid is None:
            from nni_core.algorithms.gridsearch import Grid

            self.grid = Grid(self.space)
        while True:
            candidate = self.grid.next()
            if candidate is None:
                raise NoMoreTrialError("every point of the search space has been tried")
            if self._is_new(candidate):
                return candidate

    def add(self, parameters: dict) -> None:
        """Mark trial parameters (user form) as tried."""
        self.history.add(canonical(parameters))

    def _is_new(self, formatted: dict) -> bool:
        text = canonical(deformat_parameters(formatted, self.space))
        if text in self.history:
            return False
        self.history.add(text)
        return True


def _never_dup(spec: ParameterSpec) -> bool:
    if spec.is_nested() or spec.categorical or spec.q is not None:
        return False
    if spec.normal_distributed:
        return spec.sigma > 0
    return spec.low < spec.high


class RandomTuner(Tuner):
    def __init__(self, seed: int | None = None, optimize_mode: str | None = None) -> None:
        self.rng = new_rng(seed)
        if optimize_mode is not None:
            OptimizeMode.parse(optimize_mode)  # checked, then ignored as NNI does
        self.space: FormattedSpace = {}
        self.dedup = Deduplicator({})
        self._imported: list[dict] = []

    def update_search_space(self, search_space: dict) -> None:
        self.space = format_search_space(search_space)
        self.dedup = Deduplicator(self.space)
        for parameters in self._imported:
            self.dedup.add(parameters)

    def generate_parameters(self, parameter_id: int, **kwargs) -> dict:
        formatted = self.dedup(sample(self.rng, self.space))
        return deformat_parameters(formatted, self.space)

    def receive_trial_result(self, parameter_id: int, parameters, value, **kwargs) -> None:
        pass

    def import_data(self, data: list[dict]) -> None:
        for trial in data:
            self._imported.append(trial["parameter"])
            self.dedup.add(trial["parameter"])
