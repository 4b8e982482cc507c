"""The core's own plugin: the manager launcher ``embedded`` and the default request body.

Registered like any plugin (see ``nni_core.plugins.DEFAULT_PLUGINS``) so the pipeline treats
the core's answers and third parties' the same way.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from nni_core.components import ManagerLauncher
from nni_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from pathlib import Path

    from nni_core.launch import LaunchContext, ManagerProcess


def _manager_arguments(launch: LaunchContext) -> list[str]:
    """The embedded manager's arguments known before the config is read."""
    arguments = [
        "--port", str(launch.port or 0),
        "--experiment-id", str(launch.experiment_id),
        "--action", launch.action,
        "--log-level", launch.log_level,
        "--host", launch.host,
    ]
    if launch.url_prefix:
        arguments += ["--url-prefix", launch.url_prefix]
    if launch.token:
        arguments += ["--token", launch.token]
    return arguments


_MANAGER = [sys.executable, "-m", "nni_core.manager"]


def _manager_environment() -> dict[str, str]:
    return dict(os.environ, PYTHONUNBUFFERED="1")


class PreparedManager:
    """An embedded manager process started before the launch knows the experiment's folder. It
    imports what every manager needs, then waits on stdin for the rest of its arguments
    (``--wait-for-arguments``, see ``nni_core.manager.server``); end of input makes it exit."""

    def __init__(self, arguments: list[str]) -> None:
        import subprocess  # not at module level: every CLI start imports this plugin

        self.arguments = arguments
        # own session, no terminal: as spawn_manager starts a manager
        self.popen = subprocess.Popen([*_MANAGER, *arguments, "--wait-for-arguments"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      env=_manager_environment(), start_new_session=True, close_fds=True)

    def hand_over(self, rest: list[str], stdout: Path, stderr: Path) -> bool:
        """Send the remaining arguments and the output files; False when the process is gone
        (it then failed while importing: a plain start shows why in the log files)."""
        if self.popen.poll() is not None or self.popen.stdin is None:
            return False
        import json

        message = json.dumps({"arguments": rest, "stdout": str(stdout), "stderr": str(stderr)})
        try:
            self.popen.stdin.write(message.encode() + b"\n")
            self.popen.stdin.close()
        except BrokenPipeError:
            return False
        return True

    def close(self) -> None:
        """Not needed after all: end it now rather than when its imports are done."""
        with contextlib.suppress(OSError):
            if self.popen.stdin is not None:
                self.popen.stdin.close()
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


def prepare_embedded(launch: LaunchContext) -> PreparedManager:
    return PreparedManager(_manager_arguments(launch))


def start_embedded(launch: LaunchContext) -> ManagerProcess:
    """Start nni-core's own manager (``python -m nni_core.manager``), or hand the process
    ``prepare_embedded`` started its remaining arguments. Without ``--port`` it binds a free port
    itself and reports it in ``<experiment dir>/manager.json``: no port race, no port+1."""
    from nni_core.launch import ManagerProcess, spawn_manager, start_output_files

    assert launch.experiment_dir is not None and launch.experiments_directory is not None
    arguments = _manager_arguments(launch)
    rest = ["--experiments-directory", str(launch.experiments_directory)]
    log_dir = launch.experiment_dir / "log"
    prepared, launch.prepared = launch.prepared, None
    popen = None
    if isinstance(prepared, PreparedManager) and prepared.arguments == arguments:
        stdout, stderr = start_output_files([*_MANAGER, *arguments, *rest], log_dir)
        if prepared.hand_over(rest, stdout, stderr):
            popen = prepared.popen
    if popen is None:
        if prepared is not None:
            prepared.close()
        popen = spawn_manager([*_MANAGER, *arguments, *rest], log_dir, env=_manager_environment())
    return ManagerProcess(
        pid=popen.pid, popen=popen, address_file=launch.experiment_dir / "manager.json",
        log_files=[str(log_dir / "nnimanager.log"), str(log_dir / "manager.stderr"), str(log_dir / "manager.stdout")],
    )


@hookimpl
def register_managers(register: Callable[[ManagerLauncher], None]) -> None:
    register(ManagerLauncher(
        name="embedded", start=start_embedded, prepare=prepare_embedded,
        description="nni-core's own Python manager (NNI 3.0 REST API, SQLite store)",
    ))


@hookimpl(trylast=True)
def build_request(launch: LaunchContext) -> dict[str, Any] | None:
    """The canonical JSON of the config, with the experiment folder the launch chose."""
    body = dict(launch.config_json)
    if launch.experiments_directory is not None and "trainingServicePlatform" not in body:
        body["experimentWorkingDirectory"] = str(launch.experiments_directory)
    return body
