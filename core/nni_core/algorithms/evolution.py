"""Evolution: NNI's naive evolution (tournament selection, one-parameter mutation).

The first ``population_size`` trials are random. Afterwards each new trial comes from a
tournament: two members of the population (the trials with results) are drawn, the better one
is copied with one of its active parameters redrawn from the prior (a changed nested choice
draws the parameters of its new branch), and the worse one leaves the population. A failed
trial is replaced by a fresh random one, as in NNI.

Unlike NNI, the tuner never stalls when more trials run than ``population_size`` (NNI returns
no parameters then and waits for results): while no tournament is possible it keeps drawing
random individuals.

Class arguments: ``optimize_mode`` (default maximize), ``population_size`` (default 32),
``seed``.
"""

from __future__ import annotations

from nni_core.algorithms import OptimizeMode
from nni_core.algorithms.model_based import ModelBasedTuner
from nni_core.algorithms.random_tuner import sample, sample_parameter


class EvolutionTuner(ModelBasedTuner):
    default_mode = OptimizeMode.Maximize

    def __init__(self, optimize_mode: str = "maximize", population_size: int = 32,
                 seed: int | None = None) -> None:
        if not isinstance(population_size, int) or isinstance(population_size, bool) or population_size < 1:
            raise ValueError(f"population_size must be a positive integer, got {population_size!r}")
        super().__init__(optimize_mode, seed)
        self.population_size = population_size
        self.unborn = 0            # random individuals still to hand out (initial population)
        self.population: list[tuple[dict, float]] = []

    def on_space_changed(self) -> None:
        self.population = list(self.observations)
        self.unborn = max(0, self.population_size - len(self.population) - len(self.running))

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs) -> None:
        before = len(self.observations)
        super().receive_trial_result(parameter_id, parameters, value, **kwargs)
        self.population.extend(self.observations[before:])

    def import_data(self, data: list[dict]) -> None:
        before = len(self.observations)
        super().import_data(data)
        self.population.extend(self.observations[before:])
        self.unborn = max(0, self.unborn - (len(self.observations) - before))

    def trial_end(self, parameter_id: int, success: bool, **kwargs) -> None:
        if not success and parameter_id in self.running:
            self.unborn += 1  # NNI replaces a failed individual by a random one
        super().trial_end(parameter_id, success, **kwargs)

    def suggest(self) -> dict:
        if self.unborn > 0 or len(self.population) < 2:
            self.unborn = max(0, self.unborn - 1)
            return sample(self.rng, self.space)
        first, second = self.rng.sample(range(len(self.population)), 2)
        if self.population[second][1] < self.population[first][1]:
            first, second = second, first
        parent = self.population[first][0]
        del self.population[second]
        return self._mutate(parent)

    def _mutate(self, parent: dict) -> dict:
        if not parent:
            return sample(self.rng, self.space)
        target = self.rng.choice(list(parent))
        child: dict = {}
        for key, spec in self.space.items():
            if not spec.is_activated_in(child):
                continue
            if key == target or key not in parent:
                child[key] = sample_parameter(self.rng, spec)
            else:
                child[key] = parent[key]
        return child
