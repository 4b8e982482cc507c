"""The core's own CLI commands, each module a built-in plugin that implements ``register_commands``."""
