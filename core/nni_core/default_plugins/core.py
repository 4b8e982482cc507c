"""The core's own plugin: the manager launcher ``embedded`` and the default request body.

Registered like any plugin (see ``nni_core.plugins.DEFAULT_PLUGINS``) so the pipeline treats
the core's answers and third parties' the same way.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from nni_core.components import ManagerLauncher
from nni_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from nni_core.launch import LaunchContext, ManagerProcess


def start_embedded(launch: LaunchContext) -> ManagerProcess:
    """Start nni-core's own manager (``python -m nni_core.manager``). Without ``--port`` it binds a
    free port itself and reports it in ``<experiment dir>/manager.json``: no port race, no port+1."""
    from nni_core.launch import ManagerProcess, spawn_manager

    assert launch.experiment_dir is not None and launch.experiments_directory is not None
    command = [
        sys.executable, "-m", "nni_core.manager",
        "--port", str(launch.port or 0),
        "--experiment-id", str(launch.experiment_id),
        "--action", launch.action,
        "--experiments-directory", str(launch.experiments_directory),
        "--log-level", launch.log_level,
        "--host", launch.host,
    ]
    if launch.url_prefix:
        command += ["--url-prefix", launch.url_prefix]
    if launch.token:
        command += ["--token", launch.token]
    log_dir = launch.experiment_dir / "log"
    popen = spawn_manager(command, log_dir, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return ManagerProcess(
        pid=popen.pid, popen=popen, address_file=launch.experiment_dir / "manager.json",
        log_files=[str(log_dir / "nnimanager.log"), str(log_dir / "manager.stderr"), str(log_dir / "manager.stdout")],
    )


@hookimpl
def register_managers(register: Callable[[ManagerLauncher], None]) -> None:
    register(ManagerLauncher(
        name="embedded", start=start_embedded,
        description="nni-core's own Python manager (NNI 3.0 REST API, SQLite store)",
    ))


@hookimpl(trylast=True)
def build_request(launch: LaunchContext) -> dict[str, Any] | None:
    """The canonical JSON of the config, with the experiment folder the launch chose."""
    body = dict(launch.config_json)
    if launch.experiments_directory is not None and "trainingServicePlatform" not in body:
        body["experimentWorkingDirectory"] = str(launch.experiments_directory)
    return body
