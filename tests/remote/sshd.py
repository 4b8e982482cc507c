"""Real OpenSSH servers on loopback for the remote tests: one per "machine".

Each server gets its own folder with a config file, an ed25519 host key, an authorized_keys
file, a PidFile and a log; it listens on a free port on 127.0.0.1. ``SetEnv`` points HOME and the
remote working root (``NNI_CORE_REMOTE_ROOT``) into the server's folder, so two servers on one
host behave like two machines with separate disks, and the login shell skips root's own .bashrc.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from tests.support import wait_for

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f", str(path)],
                   check=True)
    return path




class SshServer:
    """One sshd. ``start()`` / ``kill()`` / ``start()`` again keeps port, host key and folder."""

    def __init__(self, folder: Path, client_public_key: Path | None, max_sessions: int = 10,
                 password_login: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.host_key = keygen(folder / "host_key")
        self.remote_root = folder / "root"
        self.remote_root.mkdir(exist_ok=True)
        if client_public_key is not None:
            shutil.copy(client_public_key, folder / "authorized_keys")
        self.config = folder / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {self.host}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
            "UsePAM no\nStrictModes no\nPermitRootLogin yes\n"
            f"PasswordAuthentication {'yes' if password_login else 'no'}\nKbdInteractiveAuthentication no\n"
            f"MaxSessions {max_sessions}\nMaxStartups 100\n"
            f"SetEnv NNI_CORE_REMOTE_ROOT={self.remote_root} HOME={folder}\n"
            "Subsystem sftp internal-sftp\nLogLevel ERROR\n"
        )
        self.process: subprocess.Popen | None = None
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory

    def start(self) -> None:
        log = open(self.folder / "sshd.log", "ab")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=log,
                                        stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def listening() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"sshd exited: {(self.folder / 'sshd.log').read_text()[-2000:]}")
            with socket.socket() as sock:
                return sock.connect_ex((self.host, self.port)) == 0

        wait_for(listening, what=f"sshd on port {self.port}")

    def connection_pids(self) -> list[int]:
        """The sshd processes serving this server's connections (children of the listener)."""
        if self.process is None:
            return []
        found, frontier = [], [self.process.pid]
        while frontier:
            parent = frontier.pop()
            for pid in _children(parent):
                if _comm(pid).startswith("sshd"):
                    found.append(pid)
                    frontier.append(pid)
        return found

    def kill(self) -> None:
        """Kill the listener and every connection it serves (as a crash or reboot of sshd would);
        processes started through it in their own sessions (trials) keep running."""
        if self.process is None:
            return
        victims = self.connection_pids()
        self.process.kill()
        self.process.wait()
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None

    def known_hosts_line(self) -> str:
        key = (self.folder / "host_key.pub").read_text().split()
        return f"[{self.host}]:{self.port} {key[0]} {key[1]}\n"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
