"""The experiment registry: every experiment this user launched, in ``NNI_CORE_HOME``.

Layout::

    $NNI_CORE_HOME/                     default: $XDG_DATA_HOME/nni-core or ~/.local/share/nni-core
        registry/<id>.json              one entry per experiment
        registry/<id>.lock              flock target for read-modify-write of that entry
        experiments/<id>/               experiment folders (unless experimentWorkingDirectory is set)

Why one file per experiment (and not NNI's single ``.experiment`` JSON or an SQLite table): many
``nni-core`` processes launch and stop experiments at the same time. With one file per entry a
launch only ever writes its own file, so concurrent launches never contend; an id is reserved by
creating its file with O_EXCL; every write is a whole-file ``os.replace`` so a reader sees the old
or the new entry, never half of one; and an update of one entry (launch recording its port while
``stop`` marks it STOPPED) is serialised by an flock on that entry's lock file. Listing is a
directory scan, which stays cheap for the few hundred experiments a user keeps.

An entry (JSON object, camelCase like NNI's registry)::

    id, name, status, platform, manager, pid, pidStartTime, host, port, url, urlPrefix,
    experimentsDirectory, experimentDir, startTime, endTime (ms or null), logFiles, error, token,
    launcherPid, launcherStartTime (the process running the launch, until the manager started),
    companions ([pid, start time] of helpers started beside the manager, stopped with it)

Statuses are the manager's (INITIALIZED, RUNNING, NO_MORE_TRIAL, TUNER_NO_MORE_TRIAL, DONE,
VIEWED, ERROR) plus STOPPED (no manager process) and FAILED (the launch itself failed; the entry
keeps the stage and message in ``error``). ``refresh`` turns any entry whose manager process is
gone, or whose pid now belongs to another process, into STOPPED.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import string
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from nni_core.errors import UsageError

HOME_ENV = "NNI_CORE_HOME"

# Statuses of an experiment whose manager no longer runs.
ENDED = frozenset({"STOPPED", "FAILED"})
# A launch reserves its id (an empty entry file) before reading its config and writes the entry
# once the config is valid, well within this; an older empty file belongs to a launch that died.
ABANDONED_RESERVATION_S = 3600
# Statuses in which the manager still schedules trials.
ACTIVE = frozenset({"INITIALIZED", "RUNNING", "NO_MORE_TRIAL", "TUNER_NO_MORE_TRIAL"})
# Statuses at which an experiment will not change any more without a user action.
SETTLED = frozenset({"DONE", "ERROR", "VIEWED", "STOPPED", "FAILED"})

_ID_ALPHABET = string.ascii_lowercase + string.digits


def default_home() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser().resolve()
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data, "nni-core").resolve()


def now_ms() -> int:
    return int(time.time() * 1000)


# --- processes ----------------------------------------------------------------------------------


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None when unknown.

    Recorded with the pid so that a pid reused by an unrelated process is not mistaken for the
    manager.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # field 22 overall: starttime
    except (IndexError, ValueError):
        return None


def process_alive(pid: int | None, start_time: int | None = None) -> bool:
    """True when ``pid`` runs (not a zombie) and, if known, started at ``start_time``."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: can only be a reused pid if start_time differs
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read().decode(errors="replace")
        state = stat[stat.rfind(")") + 2:].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    if start_time is not None:
        current = process_start_time(pid)
        if current is not None and current != start_time:
            return False
    return True


# --- the registry -------------------------------------------------------------------------------


class Registry:
    """Entries of ``<home>/registry``. Cheap to construct; every call reads the files afresh."""

    def __init__(self, home: Path | str | None = None) -> None:
        self.home = Path(home).resolve() if home is not None else default_home()
        self.directory = self.home / "registry"
        self.experiments_directory = self.home / "experiments"

    # files

    def _entry_path(self, experiment_id: str) -> Path:
        return self.directory / f"{experiment_id}.json"

    def _ensure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self, experiment_id: str) -> Iterator[None]:
        self._ensure()
        fd = os.open(self.directory / f"{experiment_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, entry: dict[str, Any]) -> None:
        path = self._entry_path(entry["id"])
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        # 0600: the entry may hold the manager's access token.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(entry, file, indent=2, sort_keys=True)
        os.replace(tmp, path)

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        if not text:  # reserved by new_id(), not yet written
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None

    # reading

    def get(self, experiment_id: str) -> dict[str, Any] | None:
        return self._read(self._entry_path(experiment_id))

    def all(self) -> list[dict[str, Any]]:
        """Every entry, oldest first. Ids reserved by launches that died before writing their
        entry are removed once they are older than ``ABANDONED_RESERVATION_S``."""
        if not self.directory.is_dir():
            return []
        entries = []
        for path in self.directory.glob("*.json"):
            entry = self._read(path)
            if entry is not None:
                entries.append(entry)
            else:
                self._drop_if_abandoned(path)
        return sorted(entries, key=lambda e: (e.get("startTime") or 0, e["id"]))

    def _drop_if_abandoned(self, path: Path) -> None:
        try:
            info = path.stat()
        except FileNotFoundError:
            return
        if info.st_size == 0 and time.time() - info.st_mtime > ABANDONED_RESERVATION_S:
            self.remove(path.stem)

    # writing

    def new_id(self) -> str:
        """A fresh 8-character id like NNI's, reserved by creating its (empty) entry file."""
        self._ensure()
        while True:
            candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
            try:
                fd = os.open(self._entry_path(candidate), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            return candidate

    def put(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._locked(entry["id"]):
            self._write(entry)
        return entry

    def update(self, experiment_id: str, **changes: Any) -> dict[str, Any]:
        """Read-modify-write one entry under its lock; returns the new entry."""
        with self._locked(experiment_id):
            entry = self.get(experiment_id) or {"id": experiment_id}
            entry.update(changes)
            self._write(entry)
        return entry

    def claim(self, experiment_id: str, allowed: Iterable[str], **changes: Any) -> dict[str, Any] | None:
        """Compare-and-set: apply ``changes`` only if the entry's status is one of ``allowed``
        (two ``resume`` of one experiment at once: one wins). Returns the new entry, or None."""
        with self._locked(experiment_id):
            entry = self.get(experiment_id)
            if entry is None or entry.get("status") not in set(allowed):
                return None
            entry.update(changes)
            self._write(entry)
        return entry

    def remove(self, experiment_id: str) -> None:
        with self._locked(experiment_id):
            with contextlib.suppress(FileNotFoundError):
                self._entry_path(experiment_id).unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{experiment_id}.lock").unlink()

    # liveness

    def refresh(self, entry: dict[str, Any], ask_manager: bool = True) -> dict[str, Any]:
        """Bring an entry's status up to date: STOPPED when its manager is gone, else what the
        manager's ``check-status`` says. Writes back only what changed."""
        if entry.get("status") in ENDED:
            return entry
        if not entry.get("pid"):  # a launch that has not started its manager (yet)
            if process_alive(entry.get("launcherPid"), entry.get("launcherStartTime")):
                return entry
            return self.update(entry["id"], status="FAILED", endTime=entry.get("endTime") or now_ms(),
                               error=entry.get("error") or "the launch ended before its manager started")
        if not process_alive(entry.get("pid"), entry.get("pidStartTime")):
            return self.update(entry["id"], status="STOPPED", endTime=entry.get("endTime") or now_ms())
        if not ask_manager or not entry.get("url"):
            return entry
        from nni_core.client import ManagerClient, ManagerUnavailable

        try:
            status = ManagerClient.for_entry(entry, timeout=2).check_status().get("status")
        except ManagerUnavailable:
            return entry
        if status and status != entry.get("status"):
            changes: dict[str, Any] = {"status": status}
            if status in ("DONE", "ERROR") and not entry.get("endTime"):
                changes["endTime"] = now_ms()
            if status in ACTIVE:
                changes["endTime"] = None
            return self.update(entry["id"], **changes)
        return entry

    def running(self) -> list[dict[str, Any]]:
        """Entries whose manager process is alive (after refreshing)."""
        return [e for e in (self.refresh(e, ask_manager=False) for e in self.all()) if e.get("status") not in ENDED]

    # lookup

    def resolve(self, id_or_prefix: str | None) -> dict[str, Any]:
        """The entry named by an id or a unique prefix of one; with no id, the one running.

        Raises UsageError (exit 2) with what to do when nothing or more than one matches.
        """
        if not id_or_prefix:
            running = self.running()
            if len(running) == 1:
                return running[0]
            if not running:
                raise UsageError("no experiment is running; give an experiment id (see `nni-core list --all`)")
            ids = ", ".join(e["id"] for e in running)
            raise UsageError(f"{len(running)} experiments are running ({ids}); give the id of one")
        exact = self.get(id_or_prefix)
        if exact is not None:
            return exact
        matches = [e for e in self.all() if e["id"].startswith(id_or_prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UsageError(f"no experiment with id {id_or_prefix!r}; see `nni-core list --all` for the known ids")
        ids = ", ".join(e["id"] for e in matches)
        raise UsageError(f"experiment id {id_or_prefix!r} is ambiguous: it matches {ids}; give more characters")


def port_owner(port: int) -> str | None:
    """Describe the process listening on TCP ``port`` ("pid 123 (python3 -m http.server)"), if
    this user may see it; None when unknown. Linux only (reads /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as file:
                next(file, None)
                for line in file:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(inode)
        except (OSError, ValueError, IndexError):
            continue
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                try:
                    if os.readlink(fd) in targets:
                        cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                        return f"pid {pid_dir.name} ({cmdline[:80]})" if cmdline else f"pid {pid_dir.name}"
                except OSError:
                    continue
        except OSError as error:
            if error.errno in (errno.EACCES, errno.ENOENT, errno.EPERM):
                continue
            raise
    return None
