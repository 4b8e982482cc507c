"""The launch pipeline and the embedding API.

``launch(config)`` runs the stages of DESIGN.md's data flow, each a plain function over one
``LaunchContext``::

    prepare_manager → load → validate → reserve → expand → check_algorithms → start_manager
         → wait_healthy → configure_platform → build_request → submit → post_launch

``prepare_manager`` lets the manager launcher start the manager's process before the config is
read, so that its start-up overlaps loading the config; ``start_manager`` hands it its arguments.
``resume(id)`` and ``view(id)`` run the same pipeline without the config stages, with the config
stored by the experiment. Every stage that involves a platform goes through a hook; nothing here
knows a platform by name. When a stage fails after the manager started, the manager is stopped,
the registry entry is closed (FAILED for a new experiment, STOPPED for a resumed one) and the
error names the stage and shows the tail of the manager's output.

The result is an ``Experiment``: a handle on a registry entry and its manager, used by the CLI and
by tools that embed nni-core (``status()``, ``trials()``, ``wait()``, ``stop()``, ``update()``,
``export()``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from nni_core.errors import LaunchError, NniCoreError, UsageError
from nni_core.registry import ENDED, Registry, now_ms, port_owner, process_alive, process_start_time

DEFAULT_MANAGER = "embedded"
START_TIMEOUT_ENV = "NNI_CORE_MANAGER_TIMEOUT"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_LOOPBACK_ANY = ("", "0.0.0.0", "::", "[::]")


# --- small validators shared with the CLI -------------------------------------------------------


def validate_url_prefix(prefix: str | None) -> str:
    """NNI's rule: no leading ``/``; parts of letters, digits, ``_`` and ``-``. A trailing ``/``
    is dropped. Returns the prefix as the manager takes it ('' for none)."""
    if not prefix:
        return ""
    if prefix.startswith("/"):
        raise UsageError(f"invalid --url-prefix {prefix!r}: it must not start with '/' (write e.g. 'nni/exp1')")
    stripped = prefix.rstrip("/")
    for part in stripped.split("/"):
        if not _PREFIX_PART.match(part):
            raise UsageError(
                f"invalid --url-prefix {prefix!r}: each part between '/' must be letters, digits, '_' or '-'"
            )
    return stripped


def validate_port(port: int | None, host: str = "127.0.0.1") -> None:
    """An explicit port must be free; the error names the process holding it when it can."""
    if port is None or port == 0:
        return
    if not 0 < port < 65536:
        raise UsageError(f"invalid --port {port}: expected 1-65535")
    bind_host = "" if host in _LOOPBACK_ANY else host.strip("[]")
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((bind_host, port))
        except OSError:
            owner = port_owner(port)
            who = f" by {owner}" if owner else ""
            raise UsageError(f"port {port} is in use{who}; choose another --port or leave it out to pick a free one") from None




def parse_duration(value: str | int | float) -> int:
    """'90', '30s', '10m', '2h', '1d' → seconds (int), as nnictl sends it."""
    from nni_core.config.utils import parse_time

    text = str(value).strip().lower()
    try:
        seconds = float(text) if text.replace(".", "", 1).isdigit() else parse_time(text)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise UsageError(f"invalid duration {value!r}: expected a number with an optional unit s, m, h or d (e.g. 2h)")
    return int(seconds)


def loopback_host(host: str) -> str:
    """The address a client on this machine uses to reach a manager bound to ``host``."""
    return "127.0.0.1" if host in _LOOPBACK_ANY else host


# --- the manager process --------------------------------------------------------------------------


@dataclass
class ManagerProcess:
    """What a ``ManagerLauncher.start`` returns: the started manager process.

    port: known up front when the launcher chose it; otherwise the manager writes it to
        ``address_file`` (``manager.json``, written atomically once it listens).
    log_files: the manager's output files, most useful first: shown on failure and by ``logs``.
    ready: an extra condition the launch waits for once the manager answers, before submitting
        (e.g. a helper process has connected); may raise LaunchError when it can no longer hold.
    companions: pids of helper processes the launcher started beside the manager, each in its own
        session; ``stop`` ends them after the manager.
    """

    pid: int
    popen: subprocess.Popen | None = None
    port: int | None = None
    address_file: Path | None = None
    log_files: list[str] = field(default_factory=list)
    ready: Callable[[], bool] | None = None
    companions: list[int] = field(default_factory=list)

    def exit_code(self) -> int | None:
        if self.popen is not None:
            return self.popen.poll()
        return None if process_alive(self.pid) else -1

    def address(self) -> int | None:
        """The manager's port once known."""
        if self.port:
            return self.port
        if self.address_file is None:
            return None
        try:
            info = json.loads(self.address_file.read_text())
        except (OSError, ValueError):
            return None
        if info.get("pid") not in (None, self.pid):
            return None  # a stale file from an earlier run
        return int(info["port"]) if info.get("port") else None


def spawn_manager(command: list[str], log_dir: Path, *, cwd: str | None = None,
                  env: dict[str, str] | None = None, name: str = "manager") -> subprocess.Popen:
    """Start a manager (or a helper of it) detached from the terminal (own session, so Ctrl-C in
    the shell that launched it does not reach it), output appended to ``log_dir/NAME.stdout|stderr``."""
    stdout_path, stderr_path = start_output_files(command, log_dir, name)
    with open(stdout_path, "a") as stdout, open(stderr_path, "a") as stderr:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=cwd,
                                env=env, start_new_session=True, close_fds=True)


def start_output_files(command: list[str], log_dir: Path, name: str = "manager") -> tuple[Path, Path]:
    """``log_dir/NAME.stdout`` and ``.stderr``, each with a header naming the command about to
    write to them (the files are appended to by every start of the experiment)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    header = f"{'-' * 80}\n{time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n{'-' * 80}\n"
    paths = (log_dir / f"{name}.stdout", log_dir / f"{name}.stderr")
    for path in paths:
        with open(path, "a") as file:
            file.write(header)
    return paths


def stop_manager(pid: int | None, start_time: int | None = None, timeout: float = 30.0,
                 popen: subprocess.Popen | None = None, companions: Iterable[Iterable[int | None]] = ()) -> bool:
    """Stop a manager: SIGTERM, wait for it to exit (short back-off), SIGKILL after ``timeout``;
    then kill whatever is left in its process group, and its companions (``[pid, start time]``
    pairs of helpers started beside it). Returns True when it was running."""
    was_running = process_alive(pid, start_time)
    if was_running:
        assert pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, start_time, timeout, popen):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, start_time, 5.0, popen)
    _kill_orphans(pid)
    for companion, companion_start in (tuple(c) for c in companions):
        if process_alive(companion, companion_start):
            with contextlib.suppress(ProcessLookupError):
                os.kill(companion, signal.SIGTERM)  # a helper normally left with its manager
            if not _wait_gone(companion, companion_start, 5.0, None):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(companion, signal.SIGKILL)
        _kill_orphans(companion)
    return was_running


def _wait_gone(pid: int, start_time: int | None, timeout: float, popen: subprocess.Popen | None) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            return True
        if not process_alive(pid, start_time):
            return True
        time.sleep(delay)
        delay = min(delay * 1.5, 0.02)
    return False


def _kill_orphans(pid: int | None) -> None:
    """Processes left in the manager's process group once the manager is gone (it leads its own
    session). Skipped while ``pid`` names a live process: then the group id may be reused."""
    if not pid:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 0)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def tail(path: str | Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when missing)."""
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - 64 * 1024))
            data = file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


# --- the launch context ---------------------------------------------------------------------------


@dataclass
class LaunchContext:
    """Everything one launch (create, resume or view) knows, filled in stage by stage."""

    action: str  # create | resume | view
    plugins: Any  # nni_core.plugins.PluginSet
    registry: Registry
    manager_name: str = DEFAULT_MANAGER
    source: Any = None  # create: a path, a dict or a config object
    experiment_id: str | None = None
    port: int | None = None
    host: str = "127.0.0.1"
    url_prefix: str = ""
    debug: bool = False
    log_level: str = "info"
    token: str | None = None
    start_timeout: float = 30.0

    # filled by the stages
    stage: str = ""
    loaded: Any = None  # nni_core.config.LoadedConfig (create)
    config: Any = None  # the experiment config (object from nni_core.config, or stored JSON)
    config_json: dict[str, Any] = field(default_factory=dict)  # canonical JSON, for summaries
    experiments_directory: Path | None = None
    experiment_dir: Path | None = None
    prepared: Any = None  # what the manager launcher's ``prepare`` returned, until ``start`` takes it
    manager: ManagerProcess | None = None
    client: Any = None  # nni_core.client.ManagerClient once the manager answers
    url: str | None = None
    request: dict[str, Any] | None = None
    response: Any = None
    status: str | None = None
    warnings: list[str] = field(default_factory=list)
    previous_entry: dict[str, Any] | None = None  # resume/view: the entry before this launch

    @property
    def platforms(self) -> list[str]:
        """Platform names the experiment uses (several for hybrid configs)."""
        return platforms_of(self.config_json)

    @property
    def readonly(self) -> bool:
        return self.action == "view"


def platforms_of(config_json: dict[str, Any]) -> list[str]:
    if "trainingServicePlatform" in config_json:  # a v1 config kept as v1
        return [str(config_json["trainingServicePlatform"])]
    services = config_json.get("trainingService") or []
    if isinstance(services, dict):
        services = [services]
    return [str(s.get("platform")) for s in services if isinstance(s, dict) and s.get("platform")]


# --- stages ---------------------------------------------------------------------------------------


def prepare_manager(ctx: LaunchContext) -> None:
    """Choose the id of a new experiment, then let the ``ManagerLauncher`` start what it can
    before the config is known (its ``prepare``, when it has one)."""
    launcher = ctx.plugins.manager_launcher(ctx.manager_name)
    if launcher is None:
        _unknown_manager(ctx)
    ctx.experiment_id = ctx.experiment_id or ctx.registry.new_id()
    if launcher.prepare is not None:
        ctx.prepared = launcher.prepare(ctx)


def load(ctx: LaunchContext) -> None:
    """Read the config (YAML file, dict or config object) and normalize it (v1 → v2 where the
    platform does not keep v1). Loading a file or a dict also runs the ``validate_config`` hook
    (``nni_core.config.load_config``): every problem is reported at once, before anything starts."""
    from nni_core import config as config_module

    source = ctx.source
    if isinstance(source, (str, os.PathLike)):
        ctx.loaded = config_module.load_config(os.fspath(source), plugins=ctx.plugins)
        ctx.config = ctx.loaded.config
        ctx.warnings.extend(ctx.loaded.warnings or ())
    elif isinstance(source, dict):
        ctx.config = config_module.config_from_json(source, plugins=ctx.plugins, base_dir=os.getcwd())
    else:
        ctx.config = source
    ctx.config_json = _config_json(ctx)


def validate(ctx: LaunchContext) -> None:
    """The ``validate_config`` hook, for a config object built by the caller (files and dicts
    were validated while loading)."""
    if ctx.loaded is not None or isinstance(ctx.source, dict):
        return
    from nni_core.config import Problems

    problems = Problems()
    ctx.plugins.hook.validate_config(config=ctx.config, problems=problems)
    problems.raise_if_any("config")


def reserve(ctx: LaunchContext) -> None:
    """Check the port, choose the experiment folder, create the registry entry (under the id
    ``prepare_manager`` reserved)."""
    validate_port(ctx.port, ctx.host)
    working_dir = ctx.config_json.get("experimentWorkingDirectory") if _working_dir_set(ctx) else None
    ctx.experiments_directory = Path(working_dir).expanduser().resolve() if working_dir else ctx.registry.experiments_directory
    ctx.experiment_id = ctx.experiment_id or ctx.registry.new_id()
    ctx.experiment_dir = ctx.experiments_directory / ctx.experiment_id
    (ctx.experiment_dir / "log").mkdir(parents=True, exist_ok=True)
    ctx.registry.put({
        "id": ctx.experiment_id,
        "name": ctx.config_json.get("experimentName"),
        "status": "INITIALIZED",
        "platform": ",".join(ctx.platforms),
        "manager": ctx.manager_name,
        "pid": None,
        "pidStartTime": None,
        "host": ctx.host,
        "port": None,
        "url": None,
        "urlPrefix": ctx.url_prefix or None,
        "experimentsDirectory": str(ctx.experiments_directory),
        "experimentDir": str(ctx.experiment_dir),
        "startTime": now_ms(),
        "endTime": None,
        "logFiles": [],
        "error": None,
        "token": ctx.token,
        "launcherPid": os.getpid(),
        "launcherStartTime": process_start_time(os.getpid()),
    })


def expand(ctx: LaunchContext) -> None:
    """The ``expand_trial_code`` hook (annotations): may return a new config."""
    if ctx.config is None:  # a v1 config kept as v1 has no v2 config to expand
        return
    expanded = ctx.plugins.hook.expand_trial_code(config=ctx.config, experiment_dir=str(ctx.experiment_dir))
    if expanded is not None:
        ctx.config = expanded
        ctx.config_json = _config_json(ctx)


def check_algorithms(ctx: LaunchContext) -> None:
    """Every tuner/assessor/advisor the config names can be imported, before anything starts."""
    base_dir = Path(str(ctx.config_json.get("trialCodeDirectory") or "."))
    for kind in ("tuner", "assessor", "advisor"):
        spec = ctx.config_json.get(kind)
        if isinstance(spec, dict):
            check_algorithm(ctx.plugins, kind, spec, base_dir)


def check_algorithm(plugins: Any, kind: str, spec: dict[str, Any], base_dir: Path) -> None:
    """Raise UsageError when ``spec`` (a config's ``tuner`` section, ...) names something that is
    not installed or cannot be imported. Cheap: modules are located, not imported."""
    name = spec.get("name")
    if name:
        from nni_core.algorithms.factory import find_algorithm

        algorithm = find_algorithm(kind, name, plugins)  # unknown names: its one-line UsageError
        module = algorithm.class_path.partition(":")[0]
        if module and _find_spec(module) is None:
            install = algorithm.requires or algorithm.distribution or "the package that provides it"
            raise UsageError(f"{kind} {algorithm.name!r} cannot be imported: module {module!r} is missing; install {install}")
        return
    class_name = spec.get("className")
    if not class_name:
        return
    module = str(class_name).rpartition(".")[0]
    code_dir = spec.get("codeDirectory")
    if code_dir:
        folder = Path(code_dir)
        if not (folder / (module.replace(".", "/") + ".py")).is_file() and not (folder / module.replace(".", "/")).is_dir():
            raise UsageError(f"{kind}.className {class_name!r}: no module {module!r} in {kind}.codeDirectory {folder}")
    elif module and _find_spec(module) is None:
        raise UsageError(f"{kind}.className {class_name!r}: module {module!r} cannot be imported; set {kind}.codeDirectory or install it")


def _find_spec(module: str) -> Any:
    import importlib.util

    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def start_manager(ctx: LaunchContext) -> None:
    """Start the manager through the registered ``ManagerLauncher`` named by ``--manager``."""
    launcher = ctx.plugins.manager_launcher(ctx.manager_name)
    if launcher is None:
        _unknown_manager(ctx)
    assert ctx.experiment_dir is not None
    with contextlib.suppress(FileNotFoundError):
        (ctx.experiment_dir / "manager.json").unlink()
    ctx.manager = launcher.start(ctx)
    ctx.registry.update(
        ctx.experiment_id, pid=ctx.manager.pid, pidStartTime=process_start_time(ctx.manager.pid),
        companions=[[c, process_start_time(c)] for c in ctx.manager.companions],
        logFiles=ctx.manager.log_files, manager=ctx.manager_name, status="INITIALIZED",
        startTime=now_ms(), endTime=None, host=ctx.host, urlPrefix=ctx.url_prefix or None,
        token=ctx.token, error=None,
    )


def wait_healthy(ctx: LaunchContext) -> None:
    """Wait until the manager answers ``check-status`` with its API ready: its address first
    (known, or from manager.json), then the probe, with a short back-off; bounded by
    ``start_timeout``."""
    from nni_core.client import ManagerClient, ManagerUnavailable, base_url

    assert ctx.manager is not None
    deadline = time.monotonic() + ctx.start_timeout
    delay = 0.003
    while True:
        code = ctx.manager.exit_code()
        if code is not None:
            raise LaunchError(f"the manager exited (status {code}) before it answered")
        port = ctx.manager.address()
        if port:
            if ctx.client is None or ctx.port != port:
                ctx.port = port
                ctx.client = ManagerClient(base_url(loopback_host(ctx.host), port, ctx.url_prefix), ctx.token)
            with contextlib.suppress(ManagerUnavailable):
                if ctx.client.check_status(timeout=2).get("ready") and (ctx.manager.ready is None or ctx.manager.ready()):
                    break
        if time.monotonic() > deadline:
            raise LaunchError(f"the manager did not answer within {ctx.start_timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.025)  # a small file read per tick: cheap, and ~12 ms late on average
    ctx.url = ctx.client.url
    ctx.registry.update(ctx.experiment_id, port=ctx.port, url=ctx.url)


def configure_platform(ctx: LaunchContext) -> None:
    """The ``configure_platform`` hook: platform setup over REST before the experiment starts."""
    ctx.plugins.hook.configure_platform(launch=ctx)


def build_request(ctx: LaunchContext) -> None:
    """The ``build_request`` hook: the body of ``POST /experiment`` (the core's default is the
    canonical JSON of the config)."""
    ctx.request = ctx.plugins.hook.build_request(launch=ctx)
    if ctx.request is None:
        raise LaunchError("no plugin built the request body (is the core's default plugin disabled?)")
    if ctx.action == "create" and ctx.experiment_dir is not None:
        # What resume and view fall back to when the manager's store cannot be read.
        (ctx.experiment_dir / "log" / "submitted-config.json").write_text(json.dumps(ctx.request, indent=2))


def submit(ctx: LaunchContext) -> None:
    """``POST /experiment``, then record the status the manager reports."""
    ctx.response = ctx.client.submit(ctx.request)
    ctx.status = ctx.client.check_status().get("status")
    ctx.registry.update(ctx.experiment_id, status=ctx.status)


def post_launch(ctx: LaunchContext) -> None:
    """The ``post_launch`` hook, one plugin at a time: a failing plugin is reported, and the
    experiment keeps running."""
    experiment = Experiment(ctx.registry.get(ctx.experiment_id) or {}, ctx.registry, ctx.manager)
    for impl in reversed(ctx.plugins.hook.post_launch.get_hookimpls()):
        try:
            impl.function(launch=ctx, experiment=experiment)
        except Exception as error:  # noqa: BLE001 - a plugin's bug must not stop the experiment
            ctx.warnings.append(f"plugin {impl.plugin_name} failed in post_launch: {type(error).__name__}: {error}")


CREATE_STAGES: tuple[Callable[[LaunchContext], None], ...] = (
    prepare_manager, load, validate, reserve, expand, check_algorithms, start_manager, wait_healthy,
    configure_platform, build_request, submit, post_launch,
)
REOPEN_STAGES: tuple[Callable[[LaunchContext], None], ...] = (
    prepare_manager, start_manager, wait_healthy, configure_platform, build_request, submit, post_launch,
)


def run_pipeline(ctx: LaunchContext, stages: Iterable[Callable[[LaunchContext], None]]) -> LaunchContext:
    try:
        for stage in stages:
            ctx.stage = stage.__name__
            try:
                stage(ctx)
            except BaseException as error:
                _abort(ctx, error)
                raise
    finally:
        if ctx.prepared is not None:  # the launch ended before start_manager took it over
            ctx.prepared.close()
            ctx.prepared = None
    return ctx


def _abort(ctx: LaunchContext, error: BaseException) -> None:
    """Undo a failed launch so the registry stays consistent, and make the error say where it
    failed (with the manager's last output when the manager had started)."""
    if ctx.experiment_id is None:
        return
    message = str(error) or type(error).__name__
    if ctx.manager is None:
        if ctx.action == "create":  # nothing started: leave no trace (not even the reserved id)
            ctx.registry.remove(ctx.experiment_id)
            if ctx.experiment_dir is not None:
                import shutil

                shutil.rmtree(ctx.experiment_dir, ignore_errors=True)
        return
    if ctx.registry.get(ctx.experiment_id) is None:
        return
    stop_manager(ctx.manager.pid, process_start_time(ctx.manager.pid), timeout=10, popen=ctx.manager.popen,
                 companions=[[c, process_start_time(c)] for c in ctx.manager.companions])
    status = "FAILED" if ctx.action == "create" else "STOPPED"
    ctx.registry.update(ctx.experiment_id, status=status, endTime=now_ms(), error=f"{ctx.stage}: {message}")
    if isinstance(error, (KeyboardInterrupt, SystemExit)):
        return
    detail = ""
    if not isinstance(error, UsageError):  # bad input is the user's to fix: the manager's log adds nothing
        log_tail = "\n".join(t for t in (tail(f, 15) for f in ctx.manager.log_files) if t.strip())
        detail = f"\nlast lines of the manager's output:\n{log_tail}" if log_tail else ""
    wrapped = f"{ctx.action} failed at stage {ctx.stage}: {message}{detail}"
    if isinstance(error, NniCoreError):
        error.args = (wrapped,)
    else:  # an unexpected error still reaches the user as one message, not a traceback
        raise LaunchError(wrapped) from error


def _unknown_manager(ctx: LaunchContext) -> None:
    known = ", ".join(sorted(ctx.plugins.managers)) or "none"
    hint = " (install nni-plugin-nnimanager and nni==3.0 for --manager nni)" if ctx.manager_name == "nni" else ""
    raise UsageError(f"unknown --manager {ctx.manager_name!r}; installed managers: {known}{hint}")


def _config_json(ctx: LaunchContext) -> dict[str, Any]:
    """Canonical JSON of the context's config: the stored JSON itself for resume/view, the
    validated v1 dict for a v1 config the platform keeps, else the config object's (which
    ``expand`` may have replaced)."""
    if isinstance(ctx.config, dict):
        return ctx.config
    if ctx.config is None:
        return ctx.loaded.canonical() if ctx.loaded is not None else {}
    from nni_core import config as config_module

    return config_module.canonical_json(ctx.config)


def _working_dir_set(ctx: LaunchContext) -> bool:
    """True when the user's config chose experimentWorkingDirectory (NNI's default does not count:
    nni-core keeps experiments in NNI_CORE_HOME)."""
    value = ctx.config_json.get("experimentWorkingDirectory")
    if not value:
        return False
    default = os.path.join(os.path.expanduser("~"), "nni-experiments")
    return os.path.abspath(os.path.expanduser(str(value))) != os.path.abspath(default)


# --- stored configs (resume, view) ----------------------------------------------------------------


def stored_config(entry: dict[str, Any]) -> dict[str, Any]:
    """The experiment's current config: the newest profile in its store (NNI's schema, which
    both managers write), else the request submitted at launch."""
    import sqlite3

    experiment_dir = Path(entry["experimentDir"])
    db = experiment_dir / "db" / "nni.sqlite"
    if db.is_file():
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
                row = conn.execute("select params from ExperimentProfile order by revision desc limit 1").fetchone()
            if row and row[0]:
                return json.loads(row[0])
        except (sqlite3.Error, ValueError):
            pass
    submitted = experiment_dir / "log" / "submitted-config.json"
    if submitted.is_file():
        return json.loads(submitted.read_text())
    raise UsageError(f"experiment {entry['id']} has no stored config in {experiment_dir}; it cannot be reopened")


def _rebuild(config_json: dict[str, Any], plugins: Any, experiment_id: str) -> Any:
    """The stored canonical JSON as a config object, as hooks expect it; a v1 config kept as v1
    stays a dict."""
    if "trainingServicePlatform" in config_json:
        return config_json
    from nni_core.config import ConfigError, config_from_json

    try:
        return config_from_json(config_json, plugins=plugins)
    except ConfigError as error:
        raise UsageError(f"the stored config of experiment {experiment_id} is no longer valid: {error}") from None


# --- the embedding API ----------------------------------------------------------------------------


def _plugins(plugins: Any) -> Any:
    if plugins is not None:
        return plugins
    from nni_core.plugins import get_plugins

    return get_plugins()


def _start_timeout() -> float:
    try:
        return float(os.environ.get(START_TIMEOUT_ENV, "") or 30.0)
    except ValueError:
        return 30.0


def launch(config: Any, *, port: int | None = None, host: str = "127.0.0.1", url_prefix: str | None = None,
           manager: str = DEFAULT_MANAGER, debug: bool = False, log_level: str | None = None,
           token: str | None = None, home: str | Path | None = None, plugins: Any = None) -> "Experiment":
    """Launch a new experiment and return once the manager accepted it (status RUNNING).

    ``config``: a path to a YAML file, a config dict (as in YAML; relative paths resolve against
    the current directory) or an ``nni_core.config`` config object.
    """
    ctx = _context("create", plugins, home, manager, port, host, url_prefix, debug, log_level, token)
    ctx.source = config
    run_pipeline(ctx, CREATE_STAGES)
    return _experiment(ctx)


def resume(experiment_id: str | None, *, port: int | None = None, host: str | None = None,
           url_prefix: str | None = None, manager: str | None = None, debug: bool = False,
           log_level: str | None = None, home: str | Path | None = None, plugins: Any = None) -> "Experiment":
    """Restart a stopped experiment; it runs the rest of its budget."""
    return _reopen("resume", experiment_id, port, host, url_prefix, manager, debug, log_level, home, plugins)


def view(experiment_id: str | None, *, port: int | None = None, host: str | None = None,
         url_prefix: str | None = None, manager: str | None = None, debug: bool = False,
         log_level: str | None = None, home: str | Path | None = None, plugins: Any = None) -> "Experiment":
    """Serve a stopped experiment read-only: its data and dashboard, no trials, no changes."""
    return _reopen("view", experiment_id, port, host, url_prefix, manager, debug, log_level, home, plugins)


def _context(action: str, plugins: Any, home: Any, manager: str, port: int | None, host: str,
             url_prefix: str | None, debug: bool, log_level: str | None, token: str | None) -> LaunchContext:
    level = (log_level or ("debug" if debug else "info")).lower()
    if level not in LOG_LEVELS:
        raise UsageError(f"invalid log level {log_level!r}; expected one of {', '.join(LOG_LEVELS)}")
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        import secrets

        token = secrets.token_urlsafe(24)  # a manager reachable from other machines needs one
    return LaunchContext(
        action=action, plugins=_plugins(plugins), registry=Registry(home), manager_name=manager,
        port=port, host=host, url_prefix=validate_url_prefix(url_prefix), debug=debug, log_level=level,
        token=token, start_timeout=_start_timeout(),
    )


def _reopen(action: str, experiment_id: str | None, port: int | None, host: str | None, url_prefix: str | None,
            manager: str | None, debug: bool, log_level: str | None, home: Any, plugins: Any) -> "Experiment":
    registry = Registry(home)
    if experiment_id:
        entry = registry.resolve(experiment_id)
    else:
        stopped = [e for e in registry.all() if registry.refresh(e, ask_manager=False).get("status") == "STOPPED"]
        if len(stopped) != 1:
            raise UsageError(f"give the id of the experiment to {action} (see `nni-core list --all`)")
        entry = stopped[0]
    entry = registry.refresh(entry, ask_manager=False)
    if entry.get("status") == "FAILED":
        raise UsageError(f"experiment {entry['id']} never started ({entry.get('error')}); launch it again instead")
    if entry.get("status") not in ENDED:
        raise UsageError(
            f"experiment {entry['id']} is running ({entry.get('status')}); stop it first with `nni-core stop {entry['id']}`"
        )
    if registry.claim(entry["id"], ENDED, status="INITIALIZED", pid=None, launcherPid=os.getpid(),
                      launcherStartTime=process_start_time(os.getpid())) is None:
        raise UsageError(f"experiment {entry['id']} is being started by another command; see `nni-core list`")
    try:
        return _reopen_claimed(action, registry, entry, port, host, url_prefix, manager, debug, log_level, home,
                               plugins)
    except BaseException:
        current = registry.get(entry["id"]) or {}
        if current.get("status") == "INITIALIZED" and not current.get("pid"):  # nothing started: undo the claim
            registry.update(entry["id"], status=entry.get("status"), pid=entry.get("pid"))
        raise


def _reopen_claimed(action: str, registry: Registry, entry: dict[str, Any], port: int | None, host: str | None,
                    url_prefix: str | None, manager: str | None, debug: bool, log_level: str | None, home: Any,
                    plugins: Any) -> "Experiment":
    ctx = _context(action, plugins, home, manager or entry.get("manager") or DEFAULT_MANAGER, port,
                   host or entry.get("host") or "127.0.0.1",
                   url_prefix if url_prefix is not None else entry.get("urlPrefix"), debug, log_level,
                   entry.get("token"))
    ctx.registry = registry
    ctx.previous_entry = entry
    ctx.experiment_id = entry["id"]
    ctx.experiments_directory = Path(entry["experimentsDirectory"])
    ctx.experiment_dir = Path(entry["experimentDir"])
    ctx.config_json = stored_config(entry)
    ctx.config = _rebuild(ctx.config_json, ctx.plugins, entry["id"])
    validate_port(ctx.port, ctx.host)
    run_pipeline(ctx, REOPEN_STAGES)
    return _experiment(ctx)


def _experiment(ctx: LaunchContext) -> "Experiment":
    entry = ctx.registry.get(ctx.experiment_id) or {}
    experiment = Experiment(entry, ctx.registry, ctx.manager)
    experiment.warnings = list(ctx.warnings)
    return experiment


def connect(experiment_id: str | None = None, home: str | Path | None = None) -> "Experiment":
    """The experiment with this id (or unique prefix; the running one when omitted)."""
    registry = Registry(home)
    return Experiment(registry.resolve(experiment_id), registry)


TERMINAL_TRIAL = frozenset({"SUCCEEDED", "FAILED", "USER_CANCELED", "SYS_CANCELED", "EARLY_STOPPED"})
STATUS_WAIT_S = 30.0  # one long poll of Experiment.wait() (the manager allows up to 60 s)


class Experiment:
    """A handle on one experiment: its registry entry and, while it runs, its manager."""

    def __init__(self, entry: dict[str, Any], registry: Registry, manager: ManagerProcess | None = None) -> None:
        self.entry = entry
        self.registry = registry
        self.manager = manager
        self.warnings: list[str] = []
        self._client: Any = None

    def __repr__(self) -> str:
        return f"Experiment(id={self.id!r}, status={self.entry.get('status')!r}, url={self.url!r})"

    @property
    def id(self) -> str:
        return self.entry["id"]

    @property
    def url(self) -> str | None:
        return self.entry.get("url")

    @property
    def experiment_dir(self) -> Path:
        return Path(self.entry["experimentDir"])

    @property
    def client(self) -> Any:
        from nni_core.client import ManagerClient

        if self._client is None or self._client.url != (self.entry.get("url") or "").rstrip("/"):
            self._client = ManagerClient.for_entry(self.entry)
        return self._client

    def refresh(self, ask_manager: bool = True) -> dict[str, Any]:
        self.entry = self.registry.refresh(self.registry.get(self.id) or self.entry, ask_manager=ask_manager)
        return self.entry

    @property
    def alive(self) -> bool:
        return process_alive(self.entry.get("pid"), self.entry.get("pidStartTime"))

    def _live_client(self) -> Any:
        self.refresh(ask_manager=False)
        if self.entry.get("status") in ENDED:
            raise UsageError(
                f"experiment {self.id} is not running; start it with `nni-core resume {self.id}` "
                f"or `nni-core view {self.id}`"
            )
        return self.client

    def _reader(self) -> Any:
        """For reading: the running manager, or a stopped experiment's store read directly."""
        import sqlite3

        from nni_core.client import StoredExperimentReader

        self.refresh(ask_manager=False)
        if self.entry.get("status") not in ENDED:
            return self.client
        try:
            return StoredExperimentReader(str(self.experiment_dir), self.id, self.entry["status"])
        except (OSError, ValueError, sqlite3.Error) as error:
            raise UsageError(
                f"experiment {self.id} is not running and its store cannot be read ({error}); "
                f"`nni-core view {self.id}` serves what the manager can recover"
            ) from None

    # --- reading ---

    def status(self) -> str:
        """The manager's status (RUNNING, DONE, ...), STOPPED when no manager runs."""
        return self.refresh().get("status") or "UNKNOWN"

    # A stopped experiment is read from its store: no manager needs to run for these.

    def profile(self) -> dict[str, Any] | None:
        return self._reader().profile()

    def trials(self, status: str | None = None) -> list[dict[str, Any]]:
        return self._reader().trials(status)

    def metrics(self, trial_id: str | None = None) -> list[dict[str, Any]]:
        return self._reader().metrics(trial_id)

    def export(self, intermediate: bool = False) -> list[dict[str, Any]]:
        """Final results of succeeded trials as NNI exports them: ``{"parameter", "value",
        "trialJobId"}`` (value a JSON text), with ``intermediate`` the list of every reported
        metric of the trial (the final one included, as nnictl does)."""
        client = self._reader()
        records = client.export_data()
        if intermediate:
            from nni_core.client import decode_metric

            grouped: dict[str, list[Any]] = {}
            for metric in sorted(client.metrics(), key=lambda m: m.get("timestamp", 0)):
                grouped.setdefault(metric["trialJobId"], []).append(decode_metric(metric["data"]))
            for record in records:
                record["intermediate"] = grouped.get(record["trialJobId"], [])
        return records

    def progress(self) -> dict[str, Any]:
        """What the foreground progress line shows."""
        from nni_core.client import decode_metric

        client = self._reader()
        status = client.check_status()
        trials = client.trials()
        profile = client.profile() or {}
        params = profile.get("params") or {}
        tuner = params.get("tuner") or params.get("advisor") or {}
        minimize = str((tuner.get("classArgs") or {}).get("optimize_mode", "maximize")).lower() == "minimize"
        finals = []
        for trial in trials:
            for metric in trial.get("finalMetricData") or ():
                with contextlib.suppress(ValueError, TypeError):
                    finals.append(_scalar(decode_metric(metric["data"])))
        finals = [f for f in finals if f is not None]
        best = (min(finals) if minimize else max(finals)) if finals else None
        return {
            "status": status.get("status"),
            "errors": status.get("errors") or [],
            "done": sum(1 for t in trials if t.get("status") in TERMINAL_TRIAL),
            "budget": params.get("maxTrialNumber"),
            "running": sum(1 for t in trials if t.get("status") == "RUNNING"),
            "failed": sum(1 for t in trials if t.get("status") == "FAILED"),
            "best": best,
            "elapsed": profile.get("execDuration"),
        }

    def log_file(self, trial_id: str | None = None, stderr: bool = False) -> Path | None:
        """The manager's log, or a trial's stdout/stderr, on this machine (None if not here)."""
        if trial_id is None:
            for name in self.entry.get("logFiles") or ():
                if Path(name).is_file():
                    return Path(name)
            return None
        name = "trial.stderr" if stderr else "trial.stdout"
        if self.alive:
            with contextlib.suppress(NniCoreError):
                trial = self.client.trial(trial_id)
                if trial and trial.get("logPath") and Path(trial["logPath"], name).is_file():
                    return Path(trial["logPath"], name)
        for candidate in self.experiment_dir.glob(f"environments/*/trials/{trial_id}/{name}"):
            return candidate
        return None

    # --- acting ---

    def wait(self, timeout: float | None = None, interval: float = 0.2,
             until: Iterable[str] = ("DONE", "ERROR", "STOPPED", "FAILED", "VIEWED")) -> str:
        """Block until the status is one of ``until`` (default: the experiment ended); returns it.
        Raises TimeoutError after ``timeout`` seconds."""
        targets = set(until)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status in targets:
                return status
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"experiment {self.id} is still {status} after {timeout:g} s")
            asked = time.monotonic()
            with contextlib.suppress(NniCoreError):  # the manager's end shows in status() next
                # answers when the status changes (a long poll), at once from NNI's manager
                if self.client.status_after(status, min(STATUS_WAIT_S, left or STATUS_WAIT_S)) != status:
                    continue
            time.sleep(max(0.0, min(interval - (time.monotonic() - asked), left or interval)))

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the manager (and with it every trial); returns False when it was not running."""
        entry = self.registry.get(self.id) or self.entry
        popen = self.manager.popen if self.manager is not None else None
        was_running = stop_manager(entry.get("pid"), entry.get("pidStartTime"), timeout=timeout, popen=popen,
                                   companions=entry.get("companions") or ())
        changes: dict[str, Any] = {"status": "STOPPED"}
        if entry.get("status") != "STOPPED" or not entry.get("endTime"):
            changes["endTime"] = now_ms()
        if entry.get("status") == "FAILED":
            changes = {}
        self.entry = self.registry.update(self.id, **changes) if changes else entry
        return was_running

    def update(self, concurrency: int | None = None, max_trial_number: int | None = None,
               duration: str | int | None = None, search_space: dict[str, Any] | None = None) -> None:
        """Change a running experiment's limits or search space (one PUT per change)."""
        client = self._live_client()
        if concurrency is not None:
            if concurrency < 1:
                raise UsageError(f"invalid concurrency {concurrency}: expected 1 or more")
            client.update("trialConcurrency", int(concurrency))
        if max_trial_number is not None:
            if max_trial_number < 1:
                raise UsageError(f"invalid max trial number {max_trial_number}: expected 1 or more")
            client.update("maxTrialNumber", int(max_trial_number))
        if duration is not None:
            client.update("maxExperimentDuration", parse_duration(duration))
        if search_space is not None:
            client.update("searchSpace", search_space)

    def import_data(self, records: list[dict[str, Any]]) -> None:
        """Feed earlier results (``[{"parameter": {...}, "value": ...}]``) to the tuner."""
        self._live_client().import_data(records)

    def kill_trial(self, trial_id: str) -> None:
        self._live_client().kill_trial(trial_id)


def _scalar(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("default")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def export_csv(records: list[dict[str, Any]]) -> str:
    """nnictl's CSV form of ``Experiment.export()``: parameters, ``reward`` (or the metric
    dict's keys), ``trialJobId``, and ``intermediate`` when present; columns sorted."""
    rows = []
    for record in records:
        row: dict[str, Any] = {}
        if "intermediate" in record:
            row["intermediate"] = "[" + ",".join(json.dumps(v) for v in record["intermediate"]) + "]"
        value = json.loads(record["value"]) if isinstance(record["value"], str) else record["value"]
        row.update(record.get("parameter") or {})
        if isinstance(value, dict):
            row.update(value)
        else:
            row["reward"] = value
        row["trialJobId"] = record["trialJobId"]
        rows.append(row)
    columns = sorted({key for row in rows for key in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class _CallableModule(type(contextlib)):  # type: ignore[misc]
    """``nni_core.launch`` names both this module and the function: once the module is imported
    the package attribute is the module, so the module itself launches when called."""

    def __call__(self, config: Any, **options: Any) -> Experiment:
        return launch(config, **options)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
