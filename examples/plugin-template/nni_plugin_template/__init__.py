"""nni-plugin-template: the ``template`` platform, local trials run under ``nice``.

Copy this package to start a platform plugin. What nni-core needs from a platform:

* ``register_platforms``: the platform's name, its config class, and the import path of its
  manager-side training service (imported only when an experiment runs);
* ``validate_config``: checks of the platform's own ``trainingService`` sections that go beyond
  the field types declared in the config class.
"""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform, section_validator


@hookimpl
def register_platforms(register):
    register(Platform(
        name="template",
        # code is named by import path: imported only when a config or an experiment needs it
        config_class="nni_plugin_template.config:TemplateConfig",
        training_service="nni_plugin_template.training_service:NiceTrainingService",
        description="trials run on this machine at a lower CPU priority (nice)",
    ))


# runs ``check`` on every trainingService section of this platform (hybrid lists included)
validate_config = section_validator("nni_plugin_template.config:TemplateConfig",
                                    "nni_plugin_template.config:check")
