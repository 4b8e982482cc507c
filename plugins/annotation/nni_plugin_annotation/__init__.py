"""nni-core plugin: annotation."""
