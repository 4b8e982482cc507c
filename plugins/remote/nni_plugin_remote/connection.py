"""SSH connections to the machines of ``machineList``: one multiplexed connection per machine.

``MachineSpec`` is one ``machineList`` entry as the manager receives it (camelCase JSON, NNI's v2
names, v1 spellings accepted). ``open_connection`` turns every way a connection can fail into one
line that says what to do. ``Machine`` keeps a machine's connection and its remote agent
(``agent.py``) alive: when the connection drops it reconnects with back-off, starts a new agent
and lets its owner re-send what the new agent must follow.

Channels: sshd limits channels per connection (``MaxSessions``, 10 by default); NNI opened one
per trial and failed with "Channel open failure" at 8+ trials. Here every trial goes through
the agent's single channel, and short commands (uploads, checks) share ``MAX_CHANNELS`` more;
a refused channel is retried after the others close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import shlex
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import asyncssh

from nni_plugin_remote import agent as agent_module

log = logging.getLogger("nni_core.remote")
# asyncssh logs every channel at INFO, command text included; only its problems belong in the log.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

CONNECT_TIMEOUT = 20.0
MAX_CHANNELS = 4  # besides the agent's channel; below sshd's MaxSessions default (10)
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # then 5 s until RECONNECT_TIMEOUT
RECONNECT_TIMEOUT = 600.0
DEFAULT_ROOT = "~/nni-experiments"  # the remote machine may set NNI_CORE_REMOTE_ROOT instead


class RemoteError(Exception):
    """A machine cannot be used; the message is one line naming the machine and what to do."""


def config_value(entry: dict[str, Any], *names: str, default: Any = None) -> Any:
    """``entry[name]`` for the first of ``names`` present and not None; keys match as NNI matches
    them (case-insensitive, underscores ignored), so v1 spellings are accepted too."""
    wanted = {n.lower().replace("_", "") for n in names}
    for key, value in entry.items():
        if key.lower().replace("_", "") in wanted and value is not None:
            return value
    return default


@dataclass(frozen=True)
class MachineSpec:
    """One ``machineList`` entry."""

    host: str
    port: int = 22
    user: str | None = None
    password: str | None = None
    ssh_key_file: str | None = None
    passphrase: str | None = None
    python_path: str | None = None
    gpu_indices: tuple[int, ...] | None = None
    max_trial_number_per_gpu: int = 1
    use_active_gpu: bool = False

    @classmethod
    def from_config(cls, entry: dict[str, Any]) -> MachineSpec:
        gpus = config_value(entry, "gpuIndices")
        if isinstance(gpus, str):
            gpus = [int(part) for part in gpus.split(",") if part.strip()]
        elif isinstance(gpus, int):
            gpus = [gpus]
        key_file = config_value(entry, "sshKeyFile", "sshKeyPath")
        return cls(
            host=str(config_value(entry, "host", "ip")),
            port=int(config_value(entry, "port", default=22)),
            user=config_value(entry, "user", "username"),
            password=config_value(entry, "password", "passwd"),
            ssh_key_file=os.path.expanduser(str(key_file)) if key_file else None,
            passphrase=config_value(entry, "sshPassphrase", "passphrase"),
            python_path=config_value(entry, "pythonPath"),
            gpu_indices=tuple(int(g) for g in gpus) if gpus is not None else None,
            max_trial_number_per_gpu=int(config_value(entry, "maxTrialNumberPerGpu", default=1)),
            use_active_gpu=bool(config_value(entry, "useActiveGpu", default=False)),
        )

    @property
    def label(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host}:{self.port}"

    def python_command(self, source: str, *args: str) -> str:
        """Shell command running Python ``source`` with pythonPath first on PATH (NNI's meaning
        of pythonPath). Environment goes in the command: sshd drops what it does not AcceptEnv."""
        path = f"PATH={remote_path(self.python_path)}:\"$PATH\"; export PATH; " if self.python_path else ""
        quoted = " ".join(shlex.quote(a) for a in args)
        return (f'{path}py=$(command -v python3 || command -v python) || '
                f'{{ echo "no python3 or python on PATH" >&2; exit 127; }}; '
                f'exec "$py" -u -c {shlex.quote(source)} {quoted}')


def remote_path(path: str) -> str:
    """A path quoted for the remote shell, with a leading ``~/`` still meaning the remote home."""
    if path == "~" or path.startswith("~/"):
        return '"$HOME"' + (shlex.quote(path[1:]) if len(path) > 1 else "")
    return shlex.quote(path)


def known_hosts_path() -> str:
    return os.path.expanduser(os.path.join("~", ".ssh", "known_hosts"))


async def open_connection(spec: MachineSpec, timeout: float = CONNECT_TIMEOUT) -> asyncssh.SSHClientConnection:
    """Connect and authenticate, checking the host key against ~/.ssh/known_hosts."""
    known_hosts = known_hosts_path()
    options: dict[str, Any] = {
        "port": spec.port,
        # A missing known_hosts file must not switch checking off: an empty list trusts no one.
        "known_hosts": known_hosts if os.path.exists(known_hosts) else [],
        "keepalive_interval": 15,
        "keepalive_count_max": 4,
    }
    if spec.user:
        options["username"] = spec.user
    if spec.password is not None:
        options["password"] = spec.password
    if spec.ssh_key_file:
        if not os.path.isfile(spec.ssh_key_file):
            raise RemoteError(f"remote machine {spec.label}: sshKeyFile {spec.ssh_key_file} does not exist; "
                              "give the path of a private key")
        options["client_keys"] = [spec.ssh_key_file]
        if spec.passphrase is not None:
            options["passphrase"] = spec.passphrase
    elif spec.password is not None:
        options["client_keys"] = None  # password only, as configured
    try:
        return await asyncio.wait_for(asyncssh.connect(spec.host, **options), timeout)
    except asyncssh.HostKeyNotVerifiable as error:
        raise RemoteError(
            f"remote machine {spec.label}: host key not trusted ({error}); if this is the right machine, "
            f"trust it with: ssh-keyscan -p {spec.port} {spec.host} >> ~/.ssh/known_hosts"
        ) from None
    except asyncssh.PermissionDenied:
        how = "sshKeyFile " + spec.ssh_key_file if spec.ssh_key_file else "password" if spec.password else "default keys"
        raise RemoteError(f"remote machine {spec.label}: authentication failed for user "
                          f"{spec.user or '(default)'} with {how}; check user, password or sshKeyFile") from None
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as error:
        raise RemoteError(f"remote machine {spec.label}: cannot read sshKeyFile {spec.ssh_key_file} ({error}); "
                          "check the file and sshPassphrase") from None
    except asyncio.TimeoutError:
        raise RemoteError(f"remote machine {spec.label}: no SSH answer within {timeout:.0f} s; "
                          "check host, port and firewall") from None
    except (OSError, asyncssh.Error) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error) or type(error).__name__
        raise RemoteError(f"remote machine {spec.label}: cannot connect ({reason}); "
                          "check host and port, and that sshd runs there") from None


async def check_machine(spec: MachineSpec) -> None:
    """Launch-time check: reachable, authenticated, host key trusted, Python found. RemoteError if not."""
    connection = await open_connection(spec)
    try:
        probe = (f"test -d {remote_path(spec.python_path)} || {{ echo nodir; exit 0; }}; " if spec.python_path else "")
        probe = f"{probe}{spec.python_command('import sys; print(sys.version_info[0])')}"
        result = await connection.run(probe, check=False)
    finally:
        connection.close()
    lines = (result.stdout or "").strip().splitlines()
    out = lines[-1] if lines else ""  # the last line: login scripts may print before it
    if out == "nodir":
        raise RemoteError(f"remote machine {spec.label}: pythonPath {spec.python_path} is not a directory there; "
                          "set pythonPath to the folder holding python (e.g. /opt/venv/bin)")
    if out != "3":
        where = f"in pythonPath {spec.python_path} or on PATH" if spec.python_path else "on PATH"
        raise RemoteError(f"remote machine {spec.label}: no Python 3 found {where}; set pythonPath to the "
                          "folder holding python3")


async def check_machines(specs: list[MachineSpec]) -> list[str]:
    """Check all machines at once; returns one line per machine that cannot be used."""
    results = await asyncio.gather(*(check_machine(s) for s in specs), return_exceptions=True)
    problems = []
    for spec, result in zip(specs, results):
        if isinstance(result, RemoteError):
            problems.append(str(result))
        elif isinstance(result, BaseException):
            problems.append(f"remote machine {spec.label}: {type(result).__name__}: {result}")
    return problems


@functools.lru_cache(maxsize=1)
def agent_source() -> str:
    """agent.py's text, sent in the command line that starts the agent."""
    with open(agent_module.__file__, encoding="utf-8") as file:
        return file.read()


@dataclass
class AgentInfo:
    root: str
    python: str


class Machine:
    """A machine's connection, channel budget and agent, kept alive across drops.

    on_event(event) receives every agent event; on_connected() runs after each (re)connect,
    once the agent is up, to (re-)send what it must follow; on_lost(message) runs when the
    machine stayed unreachable for RECONNECT_TIMEOUT.
    """

    def __init__(self, spec: MachineSpec, on_event: Callable[[dict], None],
                 on_connected: Callable[[], Awaitable[None]], on_lost: Callable[[str], None]) -> None:
        self.spec = spec
        self.on_event = on_event
        self.on_connected = on_connected
        self.on_lost = on_lost
        self.connection: asyncssh.SSHClientConnection | None = None
        self.agent: asyncssh.SSHClientProcess | None = None
        self.info: AgentInfo | None = None
        self.channels = asyncio.Semaphore(MAX_CHANNELS)
        self.up = asyncio.Event()
        self.gone = asyncio.Event()  # given up after RECONNECT_TIMEOUT, or closed
        self.closed = False
        self.reconnects = 0
        self._task: asyncio.Task | None = None
        self._hello: asyncio.Future | None = None
        self._agent_stderr = ""

    async def start(self) -> None:
        """First connection; raises RemoteError (no retry) so bad settings fail fast."""
        await self._connect()
        self._task = asyncio.ensure_future(self._supervise())

    async def _connect(self) -> None:
        connection = await open_connection(self.spec)
        self._hello = asyncio.get_running_loop().create_future()
        try:
            agent = await self._open_channel(
                lambda: connection.create_process(self.spec.python_command(agent_source()), encoding=None))
            reader = asyncio.ensure_future(self._read(agent))
            hello = await asyncio.wait_for(asyncio.shield(self._hello), CONNECT_TIMEOUT)
        except BaseException:
            connection.close()
            raise
        self.connection, self.agent, self._reader = connection, agent, reader
        self.info = AgentInfo(root=hello["root"], python=hello["python"])
        self.up.set()
        await self.on_connected()

    async def _read(self, agent: asyncssh.SSHClientProcess) -> None:
        stderr = asyncio.ensure_future(self._read_stderr(agent))
        try:
            while True:
                line = await agent.stdout.readline()
                if not line:
                    break
                try:
                    event = json.loads(line)
                except ValueError:  # e.g. a login script that prints; not the agent's
                    log.warning("remote machine %s: ignored output %r", self.spec.label, line[:200])
                    continue
                if event.get("ev") == "hello":
                    if self._hello and not self._hello.done():
                        self._hello.set_result(event)
                    continue
                try:
                    self.on_event(event)
                except Exception:  # a bug in one event's handling must not cut the machine off
                    log.exception("remote machine %s: handling %s failed", self.spec.label, event)
        except (asyncssh.Error, OSError) as error:
            log.warning("remote machine %s: agent channel: %s", self.spec.label, error)
        finally:
            if self._hello and not self._hello.done():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stderr), 2)
                err = self._agent_stderr or "the agent ended before it was ready"
                self._hello.set_exception(RemoteError(f"remote machine {self.spec.label}: {err}"))
            stderr.cancel()

    async def _read_stderr(self, agent: asyncssh.SSHClientProcess) -> None:
        # Read it all the time: unread output would fill the channel's window and stall the agent.
        with contextlib.suppress(asyncssh.Error, OSError):
            while True:
                line = await agent.stderr.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self._agent_stderr = text
                    log.warning("remote machine %s: agent: %s", self.spec.label, text)

    async def _supervise(self) -> None:
        while not self.closed:
            await self._reader
            if self.closed:
                return
            self.up.clear()
            if self.connection is not None:
                self.connection.close()
            log.warning("remote machine %s: connection lost; reconnecting", self.spec.label)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + RECONNECT_TIMEOUT
            attempt = 0
            while not self.closed:
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
                try:
                    await self._connect()
                    self.reconnects += 1
                    log.warning("remote machine %s: reconnected", self.spec.label)
                    break
                except Exception as error:  # noqa: BLE001 - whatever failed, try again until the deadline
                    log.debug("remote machine %s: reconnect failed: %s", self.spec.label, error)
                    if loop.time() > deadline:
                        self.gone.set()
                        self.on_lost(f"remote machine {self.spec.label}: unreachable for "
                                     f"{RECONNECT_TIMEOUT:.0f} s ({error})")
                        return

    def send(self, op: dict[str, Any]) -> bool:
        """Write a command to the agent; False while disconnected (on_connected re-sends)."""
        if not self.up.is_set() or self.agent is None:
            return False
        try:
            self.agent.stdin.write((json.dumps(op) + "\n").encode("utf-8"))
            return True
        except (asyncssh.Error, OSError, BrokenPipeError):
            return False

    async def wait_up(self) -> None:
        """Wait until connected; RemoteError once the machine was given up or closed."""
        if not self.up.is_set():
            waiters = [asyncio.ensure_future(self.up.wait()), asyncio.ensure_future(self.gone.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        if self.gone.is_set() or not self.up.is_set():
            raise RemoteError(f"remote machine {self.spec.label}: not connected any more")

    async def _open_channel(self, opener: Callable[[], Awaitable[Any]]) -> Any:
        # sshd refuses channels beyond MaxSessions ("open failed"); another client of the same
        # account may hold some, so back off and retry instead of failing the trial.
        delay = 0.05
        for _ in range(60):
            try:
                return await opener()
            except asyncssh.ChannelOpenError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        return await opener()

    async def run(self, command: str, input: bytes | None = None) -> asyncssh.SSHCompletedProcess:
        """Run a short command on its own channel (bounded by MAX_CHANNELS), waiting out drops."""
        while True:
            await self.wait_up()
            connection = self.connection
            async with self.channels:
                try:
                    return await self._open_channel(
                        lambda: connection.run(command, input=input, encoding=None, check=False))
                except (asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError):
                    if self.closed:
                        raise
            await asyncio.sleep(0.1)  # the supervisor notices the drop and reconnects

    async def close(self) -> None:
        self.closed = True
        self.gone.set()
        if self._task is not None:
            self._task.cancel()
        if self.agent is not None and not self.agent.stdin.is_closing():
            self.agent.stdin.write_eof()  # the agent exits; trials it started keep their own fate
        if self.connection is not None:
            self.connection.close()
            await self.connection.wait_closed()
