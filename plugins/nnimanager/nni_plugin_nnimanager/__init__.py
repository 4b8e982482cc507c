"""nni-core plugin: the ``nni`` manager launcher, which runs experiments on the real NNI 3.0 manager.

``nni-core launch --manager nni exp.yml`` starts NNI's Node.js manager from the installed ``nni``
package with the command line NNI 3.0's own launcher uses (see the REST spec, §1.1)::

    <nni_node>/node --max-old-space-size=4096 --trace-uncaught <nni_node>/main.js
        --port P --experiment-id ID --action create|resume|view --mode PLATFORM
        --experiments-directory DIR --log-level L --foreground false
        --python-interpreter <this python> [--url-prefix PFX]

and the rest of the pipeline (health check, submission, registry, every other command) is the
same as for the embedded manager, because both speak NNI 3.0's REST API.

Differences the user sees: NNI's manager needs a port chosen up front (it cannot report one it
picked itself), listens on every interface whatever ``--host`` says, takes no access token, keeps
its own registry under ``$HOME/nni-experiments``, and needs ~5 s to stop.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from nni_core import hookimpl
from nni_core.components import ManagerLauncher
from nni_core.errors import UsageError

if TYPE_CHECKING:
    from nni_core.launch import LaunchContext, ManagerProcess

INSTALL_HINT = "pip install 'nni==3.0' (or pip install 'nni-plugin-nnimanager[nni]')"


def node_package_dir() -> Path:
    """The installed ``nni_node`` package (NNI's manager and its bundled Node.js)."""
    try:
        spec = importlib.util.find_spec("nni_node")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"--manager nni needs NNI 3.0's manager, which is not installed; {INSTALL_HINT}")
    directory = Path(list(spec.submodule_search_locations)[0])
    if not (directory / "main.js").is_file():
        raise UsageError(f"the installed nni package has no manager ({directory}/main.js is missing); {INSTALL_HINT}")
    return directory


def free_port() -> int:
    """A port free on every interface (NNI's manager binds all of them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def manager_command(launch: LaunchContext, node_dir: Path, port: int) -> list[str]:
    node = node_dir / "node"
    command = [
        str(node) if node.is_file() else "node", "--max-old-space-size=4096", "--trace-uncaught",
        str(node_dir / "main.js"),
        "--port", str(port),
        "--experiment-id", str(launch.experiment_id),
        "--action", launch.action,
        "--mode", (launch.platforms or ["local"])[0],
        "--experiments-directory", str(launch.experiments_directory),
        "--log-level", launch.log_level,
        "--foreground", "false",
        "--python-interpreter", sys.executable,
    ]
    if launch.url_prefix:
        command += ["--url-prefix", launch.url_prefix]
    return command


def start_nni_manager(launch: LaunchContext) -> ManagerProcess:
    from nni_core.launch import ManagerProcess, spawn_manager

    node_dir = node_package_dir()
    if launch.host not in ("127.0.0.1", "localhost", "0.0.0.0", ""):
        launch.warnings.append(f"NNI's manager listens on every interface; --host {launch.host} only sets the address used to reach it")
    port = launch.port or free_port()
    assert launch.experiment_dir is not None
    log_dir = launch.experiment_dir / "log"
    # NNI's manager serves its web UI from ./static, relative to its package folder.
    popen = spawn_manager(manager_command(launch, node_dir, port), log_dir, cwd=str(node_dir))
    return ManagerProcess(
        pid=popen.pid, popen=popen, port=port,
        log_files=[str(log_dir / "nnimanager.log"), str(log_dir / "manager.stderr"), str(log_dir / "manager.stdout")],
    )


@hookimpl
def register_managers(register: Callable[[ManagerLauncher], None]) -> None:
    register(ManagerLauncher(
        name="nni", start=start_nni_manager,
        description="the real NNI 3.0 manager (Node.js) from the installed nni package",
    ))
