"""nni-core plugin: hybrid."""
