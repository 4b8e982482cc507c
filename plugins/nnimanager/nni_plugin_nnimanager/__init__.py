"""nni-core plugin: the ``nni`` manager launcher, which runs experiments on the real NNI 3.0 manager.

``nni-core launch --manager nni exp.yml`` starts NNI's Node.js manager from the installed ``nni``
package with the command line NNI 3.0's own launcher uses (see the REST spec, §1.1)::

    <nni_node>/node --max-old-space-size=4096 --trace-uncaught <nni_node>/main.js
        --port P --experiment-id ID --action create|resume|view --mode PLATFORM
        --experiments-directory DIR --log-level L --foreground false
        --python-interpreter <this python> [--url-prefix PFX]

plus ``--tuner-command-channel``: the plugin starts NNI's tuner dispatcher itself, at the same
time as the manager, and submits the experiment once the dispatcher is connected (see
``dispatcher.py``: NNI's own launcher fails on busy machines where ``import nni`` takes longer
than the 10 s its manager waits). The rest of the pipeline (health check, submission, registry,
every other command) is the same as for the embedded manager: both speak NNI 3.0's REST API.

Differences the user sees: NNI's manager needs a port chosen up front (it cannot report one it
picked itself), listens on every interface whatever ``--host`` says, takes no access token, keeps
its own registry under ``$HOME/nni-experiments``, and needs ~5 s to stop.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import time
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
    import socket  # here, not at the top: every nni-core command loads this module

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def tuner_channel(port: int, url_prefix: str) -> str:
    """The URL NNI's manager expects its dispatcher on (it asserts this exact form)."""
    return f"ws://localhost:{port}/{url_prefix}/tuner" if url_prefix else f"ws://localhost:{port}/tuner"


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
    if launch.action != "view":  # view runs no tuner
        command += ["--tuner-command-channel", tuner_channel(port, launch.url_prefix)]
    return command


def start_dispatcher(launch: LaunchContext, port: int) -> tuple[int, Path]:
    """Start NNI's tuner dispatcher (see ``dispatcher.py``) with the environment NNI's manager
    would give it; returns its pid and the file it creates once connected."""
    from nni_core.launch import spawn_manager

    assert launch.experiment_dir is not None
    log_dir = launch.experiment_dir / "log"
    checkpoint = launch.experiment_dir / "checkpoint"
    checkpoint.mkdir(parents=True, exist_ok=True)
    ready_file = log_dir / "dispatcher.ready"
    ready_file.unlink(missing_ok=True)
    params = {k: v for k, v in launch.config_json.items() if k != "searchSpace"}
    encoded = base64.b64encode(json.dumps(params).encode()).decode()
    gpus = launch.config_json.get("tunerGpuIndices")
    env = dict(
        os.environ, SDK_PROCESS="dispatcher", NNI_MODE="resume" if launch.action == "resume" else "start",
        NNI_CHECKPOINT_DIRECTORY=str(checkpoint), NNI_LOG_DIRECTORY=str(log_dir), NNI_LOG_LEVEL=launch.log_level,
        NNI_INCLUDE_INTERMEDIATE_RESULTS=str(bool((launch.config_json.get("deprecated") or {}).get(
            "includeIntermediateResults"))).lower(),
        NNI_TUNER_COMMAND_CHANNEL=tuner_channel(port, launch.url_prefix),
        CUDA_VISIBLE_DEVICES=",".join(str(g) for g in gpus) if isinstance(gpus, list) else str(gpus or ""),
    )
    command = [sys.executable, "-m", "nni_plugin_nnimanager.dispatcher", str(launch.experiment_id), str(port),
               str(ready_file), encoded]
    popen = spawn_manager(command, log_dir, cwd=str(log_dir), env=env, name="dispatcher")
    return popen.pid, ready_file


def start_nni_manager(launch: LaunchContext) -> ManagerProcess:
    from nni_core.errors import LaunchError
    from nni_core.launch import ManagerProcess, spawn_manager

    node_dir = node_package_dir()
    if launch.host not in ("127.0.0.1", "localhost", "0.0.0.0", ""):
        launch.warnings.append(f"NNI's manager listens on every interface; --host {launch.host} only sets the address used to reach it")
    port = launch.port or free_port()
    assert launch.experiment_dir is not None
    log_dir = launch.experiment_dir / "log"
    # NNI's manager serves its web UI from ./static, relative to its package folder.
    popen = spawn_manager(manager_command(launch, node_dir, port), log_dir, cwd=str(node_dir))
    register_with_nni(launch, popen.pid, port)
    log_files = [str(log_dir / "nnimanager.log"), str(log_dir / "manager.stderr"), str(log_dir / "manager.stdout")]
    if launch.action == "view":
        return ManagerProcess(pid=popen.pid, popen=popen, port=port, log_files=log_files)
    dispatcher_pid, ready_file = start_dispatcher(launch, port)

    def dispatcher_connected() -> bool:
        if ready_file.exists():
            return True
        from nni_core.registry import process_alive

        if not process_alive(dispatcher_pid):
            raise LaunchError(f"NNI's tuner dispatcher exited; see {log_dir / 'dispatcher.stderr'}")
        return False

    return ManagerProcess(
        pid=popen.pid, popen=popen, port=port, ready=dispatcher_connected, companions=[dispatcher_pid],
        log_files=log_files + [str(log_dir / "dispatcher.stderr"), str(log_dir / "dispatcher.log")],
    )


def register_with_nni(launch: LaunchContext, pid: int, port: int) -> None:
    """Add the experiment to NNI's own registry (``$HOME/nni-experiments/.experiment``), as
    ``nnictl create`` does: NNI's manager mirrors every status change into that entry (and fails
    when the folder is missing), and ``nnictl`` then lists the experiment too.

    NNI's locking: a writer creates ``.experiment.lock.<pid>`` exclusively once no other lock
    file younger than 2 s exists, rewrites the whole file, removes its lock."""
    folder = Path(os.path.expanduser("~"), "nni-experiments")
    folder.mkdir(parents=True, exist_ok=True)
    registry = folder / ".experiment"
    lock = folder / f".experiment.lock.{os.getpid()}"
    deadline = time.monotonic() + 5
    while any(time.time() - p.stat().st_mtime < 2 for p in folder.glob(".experiment.lock.*") if p.exists()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = None
    try:
        try:
            experiments = json.loads(registry.read_text() or "{}")
        except (OSError, ValueError):
            experiments = {}
        experiments[str(launch.experiment_id)] = {
            "id": launch.experiment_id, "port": port, "startTime": int(time.time() * 1000), "endTime": "N/A",
            "status": "INITIALIZED", "platform": (launch.platforms or ["local"])[0],
            "experimentName": launch.config_json.get("experimentName"), "tag": [], "pid": pid, "webuiUrl": [],
            "logDir": str(launch.experiments_directory), "prefixUrl": launch.url_prefix or None,
        }
        tmp = registry.with_name(f".experiment.tmp.{os.getpid()}")
        tmp.write_text(json.dumps(experiments, indent=4))
        os.replace(tmp, registry)
    finally:
        if fd is not None:
            os.close(fd)
            lock.unlink(missing_ok=True)


@hookimpl
def register_managers(register: Callable[[ManagerLauncher], None]) -> None:
    register(ManagerLauncher(
        name="nni", start=start_nni_manager,
        description="the real NNI 3.0 manager (Node.js) from the installed nni package",
    ))
