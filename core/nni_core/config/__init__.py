"""NNI-compatible experiment configs: the v2 model, v1 conversion, validation, canonical JSON.

Public API::

    load_config(path, plugins=None) -> LoadedConfig   # schema, route, config, v1, warnings, path
    canonical_json(config) -> dict                    # NNI 3.0's ExperimentConfig.json()
    config_from_json(data, plugins=None) -> ExperimentConfig   # what resume/view rebuild
    ExperimentConfig, TrainingServiceConfig, AlgorithmConfig, SharedStorageConfig
    Problems, ConfigError

Platform sections subclass ``TrainingServiceConfig`` in their plugins, declaring fields with
``field(type, default, path=..., check=...)`` (``nni_core.config.types`` as ``T``), and check
their sections with ``nni_core.components.section_validator``. Importing
this package stays cheap: YAML is only imported when a file is read.
"""

from nni_core.config import types as T
from nni_core.config.experiment import (
    AlgorithmConfig,
    ExperimentConfig,
    SharedStorageConfig,
    TrainingServiceConfig,
)
from nni_core.config.loader import LoadedConfig, canonical_json, config_from_json, load_config
from nni_core.config.model import MISSING, Bound, Context, Section, field, join
from nni_core.config.problems import ConfigError, Problem, Problems

__all__ = [
    "T", "field", "join", "Section", "Bound", "Context", "MISSING",
    "ExperimentConfig", "TrainingServiceConfig", "AlgorithmConfig", "SharedStorageConfig",
    "Problems", "Problem", "ConfigError",
    "LoadedConfig", "load_config", "canonical_json", "config_from_json",
]
