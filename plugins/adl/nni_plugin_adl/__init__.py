"""nni-core plugin: adl."""
