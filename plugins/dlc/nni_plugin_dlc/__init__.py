"""nni-core plugin: dlc."""
