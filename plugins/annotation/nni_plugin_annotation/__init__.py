"""nni-core plugin: NNI 2.x annotations (``useAnnotation: true``).

At launch the trial code folder is copied under the experiment folder, its annotations are
expanded there (``expand``), the search space is generated from the copy (``search_space``) and
the experiment runs the copy. ``nni-core ss-gen`` prints the search space of a folder.
The hooks live in ``plugin``; this module only re-exports them, so loading the plugin stays cheap.
"""

from nni_plugin_annotation.plugin import expand_trial_code, register_commands

__all__ = ["expand_trial_code", "register_commands"]
