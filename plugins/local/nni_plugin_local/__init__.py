"""nni-core plugin: local."""
