"""nni-core plugin: tuners driven by Optuna's samplers, under NNI's names.

``TPE``: Optuna's TPE sampler with NNI's class arguments (see ``nni_plugin_optuna.tpe`` and
docs/algorithms.md for how NNI's search-space types map onto Optuna's distributions). Optuna is
imported only when an experiment creates the tuner.
"""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Algorithm

INSTALL = "nni-plugin-optuna (pip install nni-plugin-optuna, which brings optuna)"


@hookimpl
def register_algorithms(register) -> None:
    register(Algorithm(
        name="TPE", kind="tuner", class_path="nni_plugin_optuna.tpe:TpeTuner", requires=INSTALL,
        description="Tree-structured Parzen Estimator, Optuna's sampler (optimize_mode, seed, tpe_args)",
    ))
