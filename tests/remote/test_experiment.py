"""`nni-core launch` with platform: remote, end to end, against two real sshd servers."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.support import run_cli

from .sshd import free_port, keygen, wait_until

VENV_BIN = os.path.dirname(sys.executable)


def cli(*args: str):
    return run_cli(*args, timeout=120)


def cli_json(*args: str):
    result = cli(*args, "--json")
    assert result.returncode == 0, f"nni-core {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def status_of(experiment_id: str) -> str:
    return cli_json("show", experiment_id)["experiment"]["status"]


def wait_for(condition, timeout: float, what: str):
    return wait_until(condition, timeout=timeout, interval=0.2, what=what)

TRIAL = """\
import os, time
{import_line}
params = nni.get_next_parameter()
print("trial", os.environ["NNI_TRIAL_JOB_ID"], "says hello")
with open(os.path.join(os.environ["NNI_CODE_DIR"], "..", "runs.log"), "a") as f:
    f.write(os.environ["NNI_TRIAL_JOB_ID"] + "\\n")
for i in range(3):
    nni.report_intermediate_result(params["x"] + i)
    time.sleep({step})
nni.report_final_result(params["x"])
"""

SLEEPER = """\
import os, subprocess, time
from nni_core import trial as nni
nni.get_next_parameter()
subprocess.Popen(["sleep", "300"])
time.sleep(300)
"""


def write_config(folder: Path, machines_yaml: str, *, trials: int, concurrency: int, trial: str,
                 extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trial.py").write_text(trial)
    (folder / "big.bin").write_bytes(b"x" * 1000)
    (folder / ".nniignore").write_text("big.bin\n")
    config = folder / "config.yml"
    config.write_text(
        "searchSpace:\n  x: {_type: uniform, _value: [0, 1]}\n"
        "trialCommand: python3 trial.py\ntrialCodeDirectory: .\n"
        f"trialConcurrency: {concurrency}\nmaxTrialNumber: {trials}\n{extra}"
        "tuner:\n  name: Random\n"
        "trainingService:\n  platform: remote\n  machineList:\n" + machines_yaml
    )
    return config


def machine_yaml(host: str, port: int, key: Path, python_path: str = VENV_BIN) -> str:
    return (f"    - host: {host}\n      port: {port}\n      user: root\n"
            f"      sshKeyFile: {key}\n      pythonPath: {python_path}\n")


def all_machines(machines) -> str:
    return "".join(machine_yaml(s.host, s.port, machines.key) for s in machines.servers)


def remote_runs(machines, experiment_id: str) -> Counter:
    counts: Counter = Counter()
    for server in machines.servers:
        log = server.remote_root / experiment_id / "runs.log"
        if log.exists():
            counts.update(log.read_text().split())
    return counts


def metrics_by_trial(url: str) -> dict[str, list[tuple[str, int, float]]]:
    found: dict[str, list] = {}
    for m in requests.get(f"{url}/api/v1/nni/metric-data", timeout=10).json():
        found.setdefault(m["trialJobId"], []).append((m["type"], m["sequence"], float(json.loads(json.loads(m["data"])))))
    return found


def check_complete(machines, launched: dict, trials: int) -> None:
    experiment_id, url = launched["id"], launched["url"]
    jobs = requests.get(f"{url}/api/v1/nni/trial-jobs", timeout=10).json()
    assert sorted(j["status"] for j in jobs) == ["SUCCEEDED"] * trials
    metrics = metrics_by_trial(url)
    for job in jobs:
        x = json.loads(job["hyperParameters"][0])["parameters"]["x"]
        got = sorted(metrics[job["trialJobId"]])
        expected = sorted([("PERIODICAL", i, x + i) for i in range(3)] + [("FINAL", 0, x)])
        assert [(t, s) for t, s, _ in got] == [(t, s) for t, s, _ in expected]
        assert [v for _, _, v in got] == pytest.approx([v for _, _, v in expected])
    assert remote_runs(machines, experiment_id) == Counter({j["trialJobId"]: 1 for j in jobs})
    used = [s for s in machines.servers if (s.remote_root / experiment_id / "trials").is_dir()]
    assert len(used) == 2
    for server in used:  # .nniignore kept big.bin home
        assert (server.remote_root / experiment_id / "code" / "trial.py").exists()
        assert not (server.remote_root / experiment_id / "code" / "big.bin").exists()


@pytest.mark.slow
@pytest.mark.parametrize("import_line", ["from nni_core import trial as nni", "import nni"],
                         ids=["nni_core.trial", "import-nni"])
def test_24_trials_at_concurrency_16_on_two_machines(machines, ssh_home, tmp_path, import_line):
    config = write_config(tmp_path / "exp", all_machines(machines), trials=24, concurrency=16,
                          trial=TRIAL.format(import_line=import_line, step=0))
    launched = cli_json("launch", str(config))
    try:
        wait_for(lambda: status_of(launched["id"]) == "DONE", timeout=180, what="DONE")
        check_complete(machines, launched, 24)
        # the trial's output came back to its local folder (the nni SDK moves print() to trial.log)
        trial_id = cli_json("trials", launched["id"])[0]["trialJobId"]
        logs = cli("logs", launched["id"], "--trial", trial_id)
        assert logs.returncode == 0, logs.stderr
        if "nni_core" in import_line:
            assert f"trial {trial_id} says hello" in logs.stdout
    finally:
        cli("stop", launched["id"])


@pytest.mark.slow
def test_sshd_restart_mid_experiment_loses_nothing_and_runs_nothing_twice(machines, ssh_home, tmp_path):
    config = write_config(tmp_path / "exp", all_machines(machines), trials=10, concurrency=6,
                          trial=TRIAL.format(import_line="from nni_core import trial as nni", step=0.4))
    launched = cli_json("launch", str(config))
    try:
        wait_for(lambda: len(metrics_by_trial(launched["url"])) >= 4, timeout=60, what="trials reporting")
        for server in machines.servers:
            server.kill()
        for server in machines.servers:
            server.start()
        wait_for(lambda: status_of(launched["id"]) == "DONE", timeout=180, what="DONE")
        check_complete(machines, launched, 10)
        log = cli("logs", launched["id"]).stdout
        assert "reconnected" in log
    finally:
        cli("stop", launched["id"])


@pytest.mark.slow
def test_max_trial_duration_kills_the_remote_process_group(machines, ssh_home, tmp_path):
    config = write_config(tmp_path / "exp", all_machines(machines), trials=2, concurrency=2, trial=SLEEPER,
                          extra="maxTrialDuration: 2s\n")
    launched = cli_json("launch", str(config))
    experiment_id = launched["id"]
    try:
        wait_for(lambda: status_of(experiment_id) == "DONE", timeout=60, what="DONE")
        jobs = requests.get(f"{launched['url']}/api/v1/nni/trial-jobs", timeout=10).json()
        assert len(jobs) == 2 and all(j["status"] in ("EARLY_STOPPED", "USER_CANCELED") for j in jobs), jobs
        wait_for(lambda: not _trial_processes(experiment_id), timeout=10, what="no trial process")
    finally:
        cli("stop", experiment_id)


def _trial_processes(experiment_id: str) -> list[int]:
    marker = f"NNI_EXP_ID={experiment_id}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if marker in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                    stat = Path(f"/proc/{name}/stat").read_text()
                    if stat[stat.rfind(")") + 2] not in "ZX":
                        found.append(int(name))
            except OSError:
                continue
    return found


def launch_error(config: Path) -> str:
    """The launch fails with exit status 2 before any trial starts; returns the error line.
    (The launcher appends the manager's log tail below it, since the check runs once the
    manager is up, in configure_platform.)"""
    result = cli("launch", str(config))
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("nni-core: error: create failed at stage configure_platform: remote machine "), first
    return first


def test_unreachable_host(machines, ssh_home, tmp_path):
    config = write_config(tmp_path / "exp", machine_yaml("127.0.0.1", free_port(), machines.key),
                          trials=1, concurrency=1, trial="")
    assert "cannot connect" in launch_error(config)


def test_wrong_key(machines, ssh_home, tmp_path):
    other = keygen(tmp_path / "other_key")
    server = machines.servers[0]
    config = write_config(tmp_path / "exp", machine_yaml(server.host, server.port, other), trials=1,
                          concurrency=1, trial="")
    line = launch_error(config)
    assert "authentication failed" in line and str(other) in line


def test_unknown_host_key(machines, ssh_home, tmp_path):
    known_hosts = ssh_home / ".ssh" / "known_hosts"
    saved = known_hosts.read_text()
    server = machines.servers[1]
    known_hosts.write_text(machines.servers[0].known_hosts_line())
    try:
        config = write_config(tmp_path / "exp", machine_yaml(server.host, server.port, machines.key), trials=1,
                              concurrency=1, trial="")
        assert f"ssh-keyscan -p {server.port} {server.host} >> ~/.ssh/known_hosts" in launch_error(config)
    finally:
        known_hosts.write_text(saved)


def test_missing_python_path(machines, ssh_home, tmp_path):
    server = machines.servers[0]
    config = write_config(tmp_path / "exp", machine_yaml(server.host, server.port, machines.key, "/opt/no-such-python/bin"),
                          trials=1, concurrency=1, trial="")
    assert "pythonPath /opt/no-such-python/bin" in launch_error(config)
