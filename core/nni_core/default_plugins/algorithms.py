"""The built-in plugin that registers nni-core's own tuners and assessors under NNI's names.

Only names and import paths live here; a class is imported when an experiment uses it. Heavier
algorithms (TPE) come from their own plugin distributions through the same hook.
"""

from __future__ import annotations

from nni_core.components import Algorithm
from nni_core.hookspecs import hookimpl

_PACKAGE = "nni_core.algorithms"

# (kind, NNI name, class path, description); NNI accepts some algorithms under an alias too.
BUILTINS = (
    ("tuner", "Random", "random_tuner:RandomTuner", "independent random draws (seed)"),
    ("tuner", "GridSearch", "gridsearch:GridSearchTuner", "every combination, NNI 3.0's order"),
    ("tuner", "Batch", "batch:BatchTuner", "the listed parameter sets, in order"),
    ("tuner", "BatchTuner", "batch:BatchTuner", "alias of Batch"),
    ("tuner", "Anneal", "anneal:AnnealTuner", "annealing around good trials (optimize_mode, seed)"),
    ("tuner", "Evolution", "evolution:EvolutionTuner", "tournament evolution (optimize_mode, population_size, seed)"),
    ("assessor", "Medianstop", "medianstop:MedianstopAssessor", "median stopping rule (optimize_mode, start_step)"),
)


@hookimpl
def register_algorithms(register) -> None:
    for kind, name, path, description in BUILTINS:
        module, _, attribute = path.partition(":")
        register(Algorithm(
            name=name, kind=kind, class_path=f"{_PACKAGE}.{module}:{attribute}",
            description=description,
        ))
