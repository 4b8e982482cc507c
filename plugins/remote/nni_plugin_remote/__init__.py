"""nni-core plugin: remote."""
