"""nni-plugin-template: the ``template`` platform, local trials run under ``nice``.

Copy this package to start a platform plugin. What nni-core needs from a platform:

* ``register_platforms``: the platform's name, its config class, and the import path of its
  manager-side training service (imported only when an experiment runs);
* ``validate_config``: checks of the platform's own ``trainingService`` sections that go beyond
  the field types declared in the config class.
"""

from __future__ import annotations

from nni_core import hookimpl
from nni_core.components import Platform

from nni_plugin_template.config import MAX_NICENESS, TemplateConfig


@hookimpl
def register_platforms(register):
    register(Platform(
        name="template",
        config_class=TemplateConfig,
        training_service="nni_plugin_template.training_service:NiceTrainingService",
        description="trials run on this machine at a lower CPU priority (nice)",
    ))


@hookimpl
def validate_config(config, problems):
    for path, section in config.training_services():
        if isinstance(section, TemplateConfig) and not 0 <= section.niceness <= MAX_NICENESS:
            problems.add(f"{path}.niceness", "is out of range", got=section.niceness,
                         expected=f"an integer from 0 to {MAX_NICENESS}")
