"""Password login (machineList ``password``, NNI v1's ``passwd``) against a real sshd on loopback
that accepts passwords only, as a throw-away local user with a random password: the user is
created for this module and removed after it (root only, like the other remote tests)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import run_cli, wait_for

from .helpers import FILE_PROTOCOL_TRIAL
from .sshd import SshServer

USER = "nnicorepw"


@pytest.fixture(scope="module")
def password_server():
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd to create the test user")
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server is not installed (scripts/system-deps.sh installs it)")
    subprocess.run(["userdel", "--remove", USER], capture_output=True)  # left by an interrupted run
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    server = None
    try:
        password = secrets.token_urlsafe(16)
        subprocess.run(["chpasswd"], input=f"{USER}:{password}\n", text=True, check=True)
        home = Path(f"/home/{USER}")
        server = SshServer(home / "sshd", client_public_key=None, password_login=True)
        shutil.chown(server.remote_root, USER, USER)
        server.start()
        yield server, password
    finally:
        if server is not None:
            server.kill()
        subprocess.run(["pkill", "-KILL", "-u", USER], capture_output=True)
        subprocess.run(["userdel", "--remove", USER], capture_output=True)


def test_an_experiment_runs_on_a_machine_reached_with_a_password(password_server, tmp_path, monkeypatch):
    server, password = password_server
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text(server.known_hosts_line())
    monkeypatch.setenv("HOME", str(home))  # no key of ours to fall back on: the password must do
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    code = tmp_path / "exp"
    code.mkdir()
    (code / "trial.py").write_text(FILE_PROTOCOL_TRIAL)
    config = code / "config.yml"
    config.write_text(
        "searchSpace:\n  x: {_type: uniform, _value: [0, 1]}\n"
        "trialCommand: python3 trial.py\ntrialCodeDirectory: .\ntrialConcurrency: 2\nmaxTrialNumber: 2\n"
        "tuner:\n  name: Random\ntrainingService:\n  platform: remote\n  machineList:\n"
        f"    - host: {server.host}\n      port: {server.port}\n      user: {USER}\n      password: {password}\n")

    wrong = config.read_text().replace(password, "not-the-password")
    (code / "wrong.yml").write_text(wrong)
    refused = run_cli("launch", str(code / "wrong.yml"), timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"{USER} with password" in refused.stderr

    result = run_cli("launch", str(config), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    launched = json.loads(result.stdout)
    try:
        def status() -> str:
            shown = run_cli("show", launched["id"], "--json", timeout=60)
            return json.loads(shown.stdout)["experiment"]["status"]

        wait_for(lambda: status() == "DONE", 120, "DONE")
        trials = json.loads(run_cli("trials", launched["id"], "--json", timeout=60).stdout)
        assert [t["status"] for t in trials] == ["SUCCEEDED", "SUCCEEDED"]
        for trial in trials:
            x = json.loads(trial["hyperParameters"][0])["parameters"]["x"]
            assert json.loads(json.loads(trial["finalMetricData"][0]["data"])) == pytest.approx(x * 10)
        # the trials ran as the password user, in its remote folder
        trial_dirs = list((server.remote_root / launched["id"] / "trials").iterdir())
        assert len(trial_dirs) == 2 and all(d.owner() == USER for d in trial_dirs)
    finally:
        run_cli("stop", launched["id"], timeout=60)
