"""Two real sshd "machines" on loopback, shared by the tests of one module.

HOME points at a temporary folder holding the client key and known_hosts, so host-key checking
works exactly as for a user (and no test touches the real ~/.ssh).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .sshd import SshServer, keygen



class Machines:
    """The client side (HOME, key) and two servers."""

    def __init__(self, folder: Path) -> None:
        self.home = folder / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.key = keygen(self.home / ".ssh" / "id_test")
        self.servers = [SshServer(folder / f"machine{i}", Path(f"{self.key}.pub"), max_sessions=4)
                        for i in range(2)]
        # A chatty login script on the second machine: the remote side must not mistake its
        # output for its own (bash reads ~/.bashrc for commands run by sshd).
        (self.servers[1].folder / ".bashrc").write_text('echo "Welcome to machine1"\n')
        for server in self.servers:
            server.start()
        (self.home / ".ssh" / "known_hosts").write_text("".join(s.known_hosts_line() for s in self.servers))

    def entry(self, server: SshServer, **extra) -> dict:
        """A machineList entry, as the manager receives it."""
        return {"host": server.host, "port": server.port, "user": "root", "sshKeyFile": str(self.key), **extra}

    def stop(self) -> None:
        for server in self.servers:
            server.kill()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: an end-to-end test that takes more than a few seconds")


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server is not installed (scripts/system-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("the test sshd servers run as root (privilege separation) and log in as root")
    found = Machines(tmp_path_factory.mktemp("ssh"))
    yield found
    found.stop()


@pytest.fixture
def ssh_home(machines: Machines, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(machines.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return machines.home
