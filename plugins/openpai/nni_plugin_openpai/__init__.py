"""nni-core plugin: openpai."""
