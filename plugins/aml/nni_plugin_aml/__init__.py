"""nni-core plugin: the ``aml`` training service (Azure Machine Learning)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_aml.config import AmlConfig, convert_v1


@hookimpl
def register_platforms(register):
    register(Platform(
        name="aml",
        config_class=AmlConfig,
        convert_v1=convert_v1,
        description="trials as Azure Machine Learning runs",
    ))


@hookimpl
def validate_config(config, problems):
    for path, ts in config.training_services():
        if isinstance(ts, AmlConfig) and ts.max_trial_number_per_gpu < 1:
            problems.add(f"{path}.maxTrialNumberPerGpu", "must be at least 1", got=ts.max_trial_number_per_gpu)
