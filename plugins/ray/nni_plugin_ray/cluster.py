"""A Ray cluster on this machine that nni-core starts and stops itself (``rayInit``, tests, bench).

Each node is one ``ray start --block`` process in its own session, with every port given
explicitly and its own ``--temp-dir``, so that stopping it touches nothing but what it started:
never ``ray stop``, which would stop every Ray cluster of the machine.

Loopback addresses: Ray rewrites ``127.0.0.1`` to the machine's outward address, so nodes bind
other loopback addresses (``127.0.0.2`` for the head, ``127.0.0.3`` for a second node, ...), which
Linux routes to ``lo`` without any setup.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClusterError", "LocalRayCluster", "RayNode", "free_port"]

START_TIMEOUT_S = 300.0
STOP_GRACE_S = 5.0
START_ATTEMPTS = 3


class ClusterError(Exception):
    """A local Ray node did not come up (the message carries the tail of its log)."""


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _ports(host: str, count: int) -> list[int]:
    # Hold every socket until all are chosen so one call never hands out the same port twice.
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


# `ray start`, run by this interpreter, with a patience Ray lacks: it gives a new node a fixed 30 s
# to register with the GCS, which a busy machine (Python agents starting slowly) can exceed. The
# wait goes on for NNI_RAY_NODE_START_S; with any other Ray, where get_node is missing, it is plain
# `ray start`.
#
# With NNI_RAY_STOP_WITH_PID set, the node also ends (its whole session: raylet, GCS, workers) when
# that process ends: a manager killed without stopping its rayInit cluster takes the cluster along.
# With NNI_RAY_REMOVE_WITH_OWNER also set, the cluster's temporary folder goes too: a process outside
# the session removes it once no process of the cluster is left (_REMOVER, remove_when_unused).
_RAY_START = """
import os, sys, time
owner = os.environ.pop("NNI_RAY_STOP_WITH_PID", None)
folder = os.environ.pop("NNI_RAY_REMOVE_WITH_OWNER", None)
if owner:
    import select, signal, subprocess, threading
    remover = os.environ.pop("NNI_RAY_REMOVER", "")
    def end_with_owner(pidfd):
        select.select([pidfd], [], [])
        if folder:
            subprocess.Popen([sys.executable, "-c", remover], env={**os.environ, "NNI_RAY_REMOVE": folder},
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        os.killpg(0, signal.SIGKILL)
    try:
        threading.Thread(target=end_with_owner, args=(os.pidfd_open(int(owner)),), daemon=True).start()
    except ProcessLookupError:
        sys.exit("the process this Ray node was started for is gone")
import ray._private.services as services
original = getattr(services, "get_node", None)
if original is not None:
    def patient_get_node(*args, **kwargs):
        deadline = time.monotonic() + float(os.environ.get("NNI_RAY_NODE_START_S", "90"))
        while True:
            try:
                return original(*args, **kwargs)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    services.get_node = patient_get_node
from ray.scripts.scripts import main
sys.argv[0] = "ray"
sys.exit(main())
"""


def processes_naming(text: str) -> list[int]:
    """Processes other than this one whose command line contains ``text``: every process of a
    cluster names its temp dir, including the helpers Ray detaches from a node's session."""
    marker = text.encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if marker in file.read() and int(pid) != os.getpid():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def remove_when_unused(folder: str, timeout: float = 60.0) -> None:
    """Remove a cluster's temp dir once no process names it (at most ``timeout`` seconds on)."""
    deadline = time.monotonic() + timeout
    while processes_naming(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    shutil.rmtree(folder, ignore_errors=True)


# What a node whose owner died starts, outside its session, before it kills the session. The folder
# comes in the environment, not on the command line, so that the removers of several nodes do not
# wait for each other.
_REMOVER = "import os; from nni_plugin_ray.cluster import remove_when_unused; remove_when_unused(os.environ['NNI_RAY_REMOVE'])"

@dataclass
class RayNode:
    """One ``ray start --block`` process."""

    host: str
    head: bool
    process: subprocess.Popen
    log_path: str
    ports: dict[str, int] = field(default_factory=dict)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process of this node (they share the ``ray start`` session)."""
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as file:
                return "".join(file.readlines()[-lines:])
        except OSError:
            return ""


class LocalRayCluster:
    """A head node (and optionally more nodes) on loopback addresses.

    num_cpus: CPUs the head offers (keep small: every trial that asks for one CPU waits for it).
    object_store_mb: object store cap per node; Ray's default (30% of RAM) is far too much here.
    resources: custom resources of the head, e.g. ``{"head_marker": 1}``.
    stop_with_pid: every node ends when this process ends, even if nobody calls ``stop()``
        (``rayInit`` passes the manager's pid); the temp dir made here is then removed too.
    """

    def __init__(self, host: str = "127.0.0.2", num_cpus: int = 2, num_gpus: int = 0,
                 resources: dict[str, float] | None = None, object_store_mb: int = 80,
                 temp_dir: str | None = None, dashboard_port: int | None = None,
                 env: dict[str, str] | None = None, stop_with_pid: int | None = None) -> None:
        self.host = host
        self.stop_with_pid = stop_with_pid
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.resources = resources or {}
        self.object_store_mb = object_store_mb
        # Short path: Ray puts unix sockets under it and socket paths are limited to ~107 bytes.
        self._own_temp = temp_dir is None
        self.temp_dir = temp_dir or tempfile.mkdtemp(prefix="nniray")
        self.dashboard_port = dashboard_port
        self.env = env or {}
        self.nodes: list[RayNode] = []
        self.gcs_port = 0

    # --- addresses --------------------------------------------------------------------------------

    @property
    def gcs_address(self) -> str:
        return f"{self.host}:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        """The Job API (``http://`` address of a ``ray`` trainingService)."""
        return f"http://{self.host}:{self.nodes[0].ports['dashboard']}"

    @property
    def client_address(self) -> str:
        """The Ray client address (``ray://``)."""
        return f"ray://{self.host}:{self.nodes[0].ports['client']}"

    # --- starting ---------------------------------------------------------------------------------

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LocalRayCluster:
        """Start the head and wait until its Job API answers."""

        def launch() -> RayNode:
            names = ["gcs", "node_manager", "object_manager", "client", "dashboard", "agent_http",
                     "agent_grpc", "runtime_env_agent", "metrics"]
            ports = dict(zip(names, _ports(self.host, len(names))))
            if self.dashboard_port:
                ports["dashboard"] = self.dashboard_port
            self.gcs_port = ports["gcs"]
            args = [
                "--head", f"--port={ports['gcs']}", f"--ray-client-server-port={ports['client']}",
                f"--dashboard-host={self.host}", f"--dashboard-port={ports['dashboard']}",
                "--include-dashboard=true",
            ]
            return self._start_node(self.host, args, ports, self.num_cpus, self.num_gpus, self.resources)

        self._launch(launch, lambda: self._job_api_up() and self.host in self.alive_node_ips(), timeout_s)
        return self

    def add_node(self, host: str = "127.0.0.3", num_cpus: int = 2, num_gpus: int = 0,
                 resources: dict[str, float] | None = None,
                 timeout_s: float = START_TIMEOUT_S) -> RayNode:
        """Start one more node on ``host`` and wait until the cluster lists it as alive."""

        def launch() -> RayNode:
            names = ["node_manager", "object_manager", "agent_http", "agent_grpc", "runtime_env_agent",
                     "metrics"]
            ports = dict(zip(names, _ports(host, len(names))))
            return self._start_node(host, [f"--address={self.gcs_address}"], ports, num_cpus, num_gpus,
                                    resources or {})

        return self._launch(launch, lambda: host in self.alive_node_ips(), timeout_s)

    def _launch(self, launch: Any, ready: Any, timeout_s: float) -> RayNode:
        """Start a node and wait until ``ready()``; on a busy machine ``ray start`` may give up on
        its own (a fixed 30 s wait inside Ray), so a node that exits is started again."""
        deadline = time.monotonic() + timeout_s
        for attempt in range(1, START_ATTEMPTS + 1):
            node = launch()
            self.nodes.append(node)
            problem = self._wait(node, deadline, ready)
            if problem is None:
                return node
            self.nodes.remove(node)
            node.kill(signal.SIGKILL)
            node.process.wait()
            if attempt == START_ATTEMPTS or time.monotonic() >= deadline or "exited" not in problem:
                problem += self._raylet_errors()
                self.stop()
                raise ClusterError(problem)
        raise AssertionError("unreachable")

    def _start_node(self, host: str, args: list[str], ports: dict[str, int], num_cpus: int,
                    num_gpus: int, resources: dict[str, float]) -> RayNode:
        worker_low = _ports(host, 1)[0]
        command = [
            sys.executable, "-c", _RAY_START, "start", "--block", "--disable-usage-stats",
            f"--node-ip-address={host}", f"--temp-dir={self.temp_dir}",
            f"--num-cpus={num_cpus}", f"--num-gpus={num_gpus}",
            f"--resources={json.dumps(resources)}",
            f"--object-store-memory={self.object_store_mb * 1024 * 1024}",
            f"--node-manager-port={ports['node_manager']}",
            f"--object-manager-port={ports['object_manager']}",
            f"--dashboard-agent-listen-port={ports['agent_http']}",
            f"--dashboard-agent-grpc-port={ports['agent_grpc']}",
            f"--runtime-env-agent-port={ports['runtime_env_agent']}",
            f"--metrics-export-port={ports['metrics']}",
            # worker processes get ports from a small explicit range too
            f"--min-worker-port={worker_low}", f"--max-worker-port={min(worker_low + 200, 65535)}",
            *args,
        ]
        log_path = os.path.join(self.temp_dir, f"node-{host}.log")
        env = dict(os.environ)
        for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
            env.pop(name, None)
        env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # Jobs' temporary files (node-local trial folders included) live and die with the cluster.
        env["TMPDIR"] = self.temp_dir
        # A busy machine starts Ray's Python agents slowly; Ray's defaults then abort the raylet.
        env.setdefault("RAY_agent_register_timeout_ms", "120000")
        env.update(self.env)
        if self.stop_with_pid is not None:
            env["NNI_RAY_STOP_WITH_PID"] = str(self.stop_with_pid)
            if self._own_temp:  # nobody else would remove it
                env["NNI_RAY_REMOVE_WITH_OWNER"] = self.temp_dir
                env["NNI_RAY_REMOVER"] = _REMOVER
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, env=env, start_new_session=True)
        return RayNode(host, host == self.host and not self.nodes, process, log_path, ports)

    def _raylet_errors(self) -> str:
        """The last lines of the newest raylet error log: why a node never registered."""
        logs = os.path.join(self.temp_dir, "session_latest", "logs")
        try:
            names = [os.path.join(logs, n) for n in os.listdir(logs) if n.startswith("raylet") and n.endswith(".err")]
            newest = max(names, key=os.path.getmtime)
            with open(newest, encoding="utf-8", errors="replace") as file:
                lines = [line for line in file.read().splitlines() if line.strip()][-5:]
        except (OSError, ValueError):
            return ""
        return f"\n{os.path.basename(newest)}:\n" + "\n".join(lines)

    @staticmethod
    def _wait(node: RayNode, deadline: float, ready: Any) -> str | None:
        """None once ``ready()``; else why not (the node exited, or the deadline passed)."""
        delay = 0.1
        while True:
            if node.process.poll() is not None:
                return f"ray start on {node.host} exited with {node.process.returncode}:\n{node.log_tail()}"
            try:
                if ready():
                    return None
            except Exception:  # not up yet: connection refused, half-started GCS, ...
                pass
            if time.monotonic() > deadline:
                return f"ray node on {node.host} not ready in time:\n{node.log_tail()}"
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    # --- looking at it ----------------------------------------------------------------------------

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.dashboard_url + path, timeout=5) as response:
            return json.loads(response.read() or b"null")

    def _job_api_up(self) -> bool:
        self._get("/api/version")
        # The Job API also needs the head's agent; listing jobs goes through it.
        self._get("/api/jobs/")
        return True

    def nodes_state(self) -> list[dict[str, Any]]:
        """The cluster's node table (state API: node_ip, state, resources_total, ...)."""
        return self._get("/api/v0/nodes?detail=1")["data"]["result"]["result"]

    def alive_node_ips(self) -> set[str]:
        return {node["node_ip"] for node in self.nodes_state() if node.get("state") == "ALIVE"}

    # --- stopping ---------------------------------------------------------------------------------

    def kill_node(self, node: RayNode) -> None:
        """Kill one node abruptly (SIGKILL to its whole session), as a machine failure would."""
        node.kill(signal.SIGKILL)
        node.process.wait()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop this cluster's nodes (workers first), then remove its temp dir if we made it."""
        for node in reversed(self.nodes):
            if node.process.poll() is None:
                node.kill(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for node in reversed(self.nodes):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                node.process.wait(remaining)
            except subprocess.TimeoutExpired:
                pass
            node.kill(signal.SIGKILL)  # stragglers of the session (workers, agents)
            node.process.wait()
        self._kill_leftovers()
        self.nodes.clear()
        if self._own_temp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        """Processes of this cluster that left the node's session (Ray detaches some helpers)."""
        for pid in processes_naming(self.temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def __enter__(self) -> LocalRayCluster:
        return self.start() if not self.nodes else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
