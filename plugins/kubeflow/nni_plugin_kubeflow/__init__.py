"""nni-core plugin: the ``kubeflow`` training service (Kubeflow TFJob/PyTorchJob operators)."""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="kubeflow",
        config_class="nni_plugin_kubeflow.config:KubeflowConfig",
        convert_v1="nni_plugin_kubeflow.config:convert_v1",
        keeps_v1="nni_plugin_kubeflow.config:keeps_v1",
        v1_legacy="nni_plugin_kubeflow.config:V1_RULES",
        description="trials as Kubeflow TFJob/PyTorchJob pods",
    ))


validate_config = section_validator("nni_plugin_kubeflow.config:KubeflowConfig", "nni_plugin_kubeflow.config:check")
