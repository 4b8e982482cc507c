"""Anneal: simulated annealing around good earlier trials (hyperopt's ``anneal``, as NNI uses it).

Until a result exists every parameter comes from its prior (as Random). Afterwards each new
point starts from one finished trial, picked by rank with a geometric law (the best is the most
likely; mean rank ``avg_best_idx - 1``), and every parameter is drawn close to that trial's value,
in a window that shrinks as results accumulate: ``shrink = 1 / (1 + n * shrink_coef)`` where n is
how many results have the parameter.

* uniform types: uniform in a window of ``shrink × (high - low)`` around the value, kept inside
  the range (in log space for ``log*``); ``q*`` rounding and clipping after.
* normal types: normal(value, shrink × sigma) (in log space for ``lognormal``).
* choice / randint: the prior with probability ``shrink``, else the value.
* parameters the chosen trial did not have (another nested branch): the prior.

Class arguments: ``optimize_mode`` (default minimize, as NNI's Anneal), ``seed``.
"""

from __future__ import annotations

import math

from nni_core.algorithms import OptimizeMode
from nni_core.algorithms.model_based import ModelBasedTuner
from nni_core.algorithms.random_tuner import sample, sample_parameter
from nni_core.algorithms.space import ParameterSpec

AVG_BEST_IDX = 2.0
SHRINK_COEF = 0.1


class AnnealTuner(ModelBasedTuner):
    default_mode = OptimizeMode.Minimize

    def __init__(self, optimize_mode: str = "minimize", seed: int | None = None) -> None:
        super().__init__(optimize_mode, seed)

    def suggest(self) -> dict:
        if not self.observations:
            return sample(self.rng, self.space)
        ranked = sorted(self.observations, key=lambda observation: observation[1])
        good = ranked[min(self._geometric(1.0 / AVG_BEST_IDX) - 1, len(ranked) - 1)][0]
        params: dict = {}
        for key, spec in self.space.items():
            if not spec.is_activated_in(params):
                continue
            if key not in good:
                params[key] = sample_parameter(self.rng, spec)
                continue
            seen = sum(1 for formatted, _ in self.observations if key in formatted)
            params[key] = self._near(spec, good[key], 1.0 / (1.0 + seen * SHRINK_COEF))
        return params

    def _near(self, spec: ParameterSpec, value: float, shrink: float) -> float:
        if spec.categorical:
            return sample_parameter(self.rng, spec) if self.rng.random() < shrink else value
        if spec.normal_distributed:
            return self.rng.gauss(value, spec.sigma * shrink)
        half = (spec.high - spec.low) * shrink / 2
        middle = min(max(value, spec.low + half), spec.high - half)
        return self.rng.uniform(middle - half, middle + half)

    def _geometric(self, p: float) -> int:
        """Trials until the first success, success probability p (1, 2, ...)."""
        return 1 + int(math.log(1.0 - self.rng.random()) / math.log(1.0 - p))
