"""nni-core plugin: frameworkcontroller."""
