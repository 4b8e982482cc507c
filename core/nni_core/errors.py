"""Errors that reach the user as one clear line and an exit status, never a traceback."""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_USAGE = 2


class NniCoreError(Exception):
    """Base of every error the CLI turns into a message and an exit status."""

    exit_status = EXIT_RUNTIME


class UsageError(NniCoreError):
    """Bad input from the user: a file, an option, a config, an id. Exit status 2."""

    exit_status = EXIT_USAGE


class PluginError(NniCoreError):
    """A plugin is broken or two plugins claim the same name."""

    exit_status = EXIT_USAGE


class LaunchError(NniCoreError):
    """A launch stage failed after input validation (the manager did not start, ...)."""

    exit_status = EXIT_RUNTIME
