"""nni-core plugin: the ``kubeflow`` training service (Kubeflow TFJob/PyTorchJob operators)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, V1Legacy
from nni_core.config import section_validator

from nni_plugin_kubeflow import config as _config
from nni_plugin_kubeflow.config import KubeflowConfig


@hookimpl
def register_platforms(register):
    register(Platform(
        name="kubeflow",
        config_class=KubeflowConfig,
        convert_v1=_config.convert_v1,
        keeps_v1=_config.keeps_v1,
        v1_legacy=V1Legacy(schema=_config.v1_schema, resolve_paths=_config.v1_resolve_paths,
                           check=_config.v1_check),
        description="trials as Kubeflow TFJob/PyTorchJob pods",
    ))


validate_config = section_validator(KubeflowConfig, _config.check)
