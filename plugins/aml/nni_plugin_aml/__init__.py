"""nni-core plugin: aml."""
