"""GridSearch: every combination of the search space, in NNI 3.0's order.

``choice`` and ``randint`` are enumerated exactly. Numeric types are searched as NNI 3.0 does,
by progressive refinement: the first pass takes the middle of each numeric range (the median,
for normal types), the next passes add the 1/4 and 3/4 points, then 1/8, 3/8, ..., of the
distribution's CDF, each pass visiting only combinations not visited before. A ``q*`` range
stops refining once its rounded values stop changing, so a ``quniform`` grid ends after all its
multiples of q; a continuous type never ends (the experiment's budget does). Parameters already
tried (``import_data``, or duplicates after rounding) are skipped. Raises ``NoMoreTrialError``
when the grid is exhausted.
"""

from __future__ import annotations

import logging
import math
from statistics import NormalDist

from nni_core.algorithms import NoMoreTrialError, OptimizeMode, Tuner
from nni_core.algorithms.space import (
    FormattedSpace, ParameterSpec, canonical, deformat_parameters, format_search_space,
)

_logger = logging.getLogger(__name__)


class GridSearchTuner(Tuner):
    def __init__(self, optimize_mode: str | None = None) -> None:
        if optimize_mode is not None:
            OptimizeMode.parse(optimize_mode)  # accepted for symmetry, not used
        self.space: FormattedSpace = {}
        self.grid = Grid({})
        self.history: set[str] = set()

    def update_search_space(self, search_space: dict) -> None:
        self.space = format_search_space(search_space)
        if not self.space:
            raise ValueError("GridSearch: the search space is empty")
        self.grid = Grid(self.space)

    def generate_parameters(self, parameter_id: int, **kwargs) -> dict:
        while True:
            formatted = self.grid.next()
            if formatted is None:
                raise NoMoreTrialError("GridSearch: the search space is fully explored")
            params = deformat_parameters(formatted, self.space)
            text = canonical(params)
            if text not in self.history:
                self.history.add(text)
                return params

    def receive_trial_result(self, parameter_id: int, parameters, value, **kwargs) -> None:
        pass

    def import_data(self, data: list[dict]) -> None:
        for trial in data:
            self.history.add(canonical(trial["parameter"]))


class Grid:
    """The enumeration behind GridSearch, also used by tuners to find an untried point.

    A point is a vector of indices, one per parameter (inactive nested ones included);
    ``grid[i]`` lists the parameter's values: indices for categorical, CDF positions in [0, 1]
    for numeric ones. ``epoch_bar[i]`` is how many of them earlier passes already covered.
    """

    def __init__(self, space: FormattedSpace) -> None:
        self.specs = list(space.values())
        self.grid: list[list] | None = []
        self.epoch_bar = [0] * len(self.specs)
        self.divisions: dict[int, list[tuple[float, float]]] = {}
        self.vector: list[int] | None = None
        for i, spec in enumerate(self.specs):
            if spec.categorical:
                self.grid.append(list(range(spec.size)))
            else:
                self.grid.append([0.5])
                self.divisions[i] = [(l, r) for l, r in ((0.0, 0.5), (0.5, 1.0)) if _less(l, r, spec)]
        if not self.specs:
            self.grid = None

    def next(self) -> dict | None:
        """The next point as internal values (see ``space``), or None when exhausted."""
        while self.grid is not None:
            self._next_vector()
            if self.vector is None:
                self._refine()
                continue
            if all(v < bar for v, bar in zip(self.vector, self.epoch_bar)):
                continue  # visited in an earlier pass
            return self._current()
        return None

    def _next_vector(self) -> None:
        if self.vector is None:
            self.vector = [0] * len(self.specs)
            return
        # An odometer over the active parameters only: the last one turns fastest, and the
        # parameters of an unchosen nested candidate stay at 0 so they make no duplicates.
        current = self._current()
        active = [i for i, spec in enumerate(self.specs) if spec.is_activated_in(current)]
        for i in reversed(active):
            if self.vector[i] + 1 < len(self.grid[i]):
                self.vector[i] += 1
                return
            self.vector[i] = 0
        self.vector = None

    def _refine(self) -> None:
        updated = False
        for i, spec in enumerate(self.specs):
            self.epoch_bar[i] = len(self.grid[i])
            if spec.categorical:
                continue
            new_values, new_divisions = [], []
            for l, r in self.divisions[i]:
                mid = (l + r) / 2
                diff_l, diff_r = _less(l, mid, spec), _less(mid, r, spec)
                # 0 and 1 are never grid points (infinite for normal types), so an interval
                # touching them is still worth its midpoint.
                if (diff_l or l == 0.0) and (diff_r or r == 1.0):
                    new_values.append(mid)
                    updated = True
                if diff_l:
                    new_divisions.append((l, mid))
                    updated = updated or l == 0.0
                if diff_r:
                    new_divisions.append((mid, r))
                    updated = updated or r == 1.0
            self.grid[i] += new_values
            self.divisions[i] = new_divisions
        if not updated:
            self.grid = None

    def _current(self) -> dict:
        params: dict = {}
        for i, spec in enumerate(self.specs):
            if spec.is_activated_in(params):
                x = self.grid[i][self.vector[i]]
                params[spec.key] = x if spec.categorical else _cdf_inverse(x, spec)
        return params


def _cdf_inverse(x: float, spec: ParameterSpec) -> float:
    if spec.normal_distributed:
        if x <= 0.0 or x >= 1.0:
            return -math.inf if x <= 0.0 else math.inf
        if spec.sigma == 0:
            return spec.mu
        return NormalDist(spec.mu, spec.sigma).inv_cdf(x)
    return spec.low + (spec.high - spec.low) * x


def _less(x: float, y: float, spec: ParameterSpec) -> bool:
    """Whether CDF positions x < y still give different parameter values (after log, q, clip)."""
    return _real(_cdf_inverse(x, spec), spec) < _real(_cdf_inverse(y, spec), spec)


def _real(x: float, spec: ParameterSpec) -> float:
    if math.isinf(x):
        return x
    try:
        return deformat_parameters({(spec.name,): x}, {(spec.name,): _top_level(spec)})[spec.name]
    except OverflowError:  # exp() of a far lognormal quantile
        return math.inf


def _top_level(spec: ParameterSpec) -> ParameterSpec:
    from dataclasses import replace

    return replace(spec, key=(spec.name,))
