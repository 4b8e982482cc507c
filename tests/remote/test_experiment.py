"""`nni-core launch` with platform: remote, end to end, against two real sshd servers."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.support import run_cli, wait_for

from .helpers import runs
from .sshd import free_port, keygen

VENV_BIN = os.path.dirname(sys.executable)


def cli(*args: str):
    return run_cli(*args, timeout=120)


def cli_json(*args: str):
    result = cli(*args, "--json")
    assert result.returncode == 0, f"nni-core {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)


def status_of(experiment_id: str) -> str:
    return cli_json("show", experiment_id)["experiment"]["status"]


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
    assert runs(machines, experiment_id) == Counter({j["trialJobId"]: 1 for j in jobs})
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


@pytest.mark.slow
def test_trial_kill_and_stop_leave_no_remote_process(machines, ssh_home, tmp_path):
    config = write_config(tmp_path / "exp", all_machines(machines), trials=2, concurrency=2, trial=SLEEPER)
    launched = cli_json("launch", str(config))
    experiment_id, url = launched["id"], launched["url"]
    try:
        # each trial plus its child "sleep 300", on both machines
        wait_for(lambda: len(_trial_processes(experiment_id, "sleep")) == 2, timeout=60, what="two running trials")
        jobs = requests.get(f"{url}/api/v1/nni/trial-jobs", timeout=10).json()
        killed, other = jobs[0]["trialJobId"], jobs[1]["trialJobId"]
        assert cli("trial", "kill", experiment_id, killed).returncode == 0
        wait_for(lambda: not _trial_processes(experiment_id, trial_id=killed), timeout=20, what="no process of the killed trial")
        status = {j["trialJobId"]: j["status"] for j in requests.get(f"{url}/api/v1/nni/trial-jobs", timeout=10).json()}
        assert status[killed] == "USER_CANCELED" and status[other] == "RUNNING"
        assert _trial_processes(experiment_id, trial_id=other)
    finally:
        cli("stop", experiment_id)
    wait_for(lambda: not _trial_processes(experiment_id), timeout=20, what="no trial process after stop")


def _trial_processes(experiment_id: str, command: str | None = None, trial_id: str | None = None) -> list[int]:
    """Live processes started for this experiment (NNI_EXP_ID in their environment), optionally
    only one trial's, or only those whose command is ``command``."""
    marker = f"NNI_EXP_ID={experiment_id}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes().split(b"\0")
                if marker not in environ:
                    continue
                if trial_id is not None and f"NNI_TRIAL_JOB_ID={trial_id}".encode() not in environ:
                    continue
                if command is not None and Path(f"/proc/{name}/comm").read_text().strip() != command:
                    continue
                stat = Path(f"/proc/{name}/stat").read_text()
                if stat[stat.rfind(")") + 2] not in "ZX":
                    found.append(int(name))
            except OSError:
                continue
    return found


def test_each_unusable_machine_is_one_line_at_launch_exit_2(machines, ssh_home, tmp_path):
    """Unreachable host, wrong key, unknown host key, missing pythonPath: all reported at once,
    before any trial starts, one line each (in machineList order), exit status 2."""
    first, second = machines.servers
    other_key = keygen(tmp_path / "other_key")
    closed_port = free_port()
    known_hosts = ssh_home / ".ssh" / "known_hosts"
    saved = known_hosts.read_text()
    known_hosts.write_text(first.known_hosts_line())  # the second machine's host key is unknown
    before = [sorted(p.name for p in s.remote_root.iterdir()) for s in machines.servers]
    try:
        config = write_config(tmp_path / "exp", "".join([
            machine_yaml("127.0.0.1", closed_port, machines.key),
            machine_yaml(first.host, first.port, other_key),
            machine_yaml(second.host, second.port, machines.key),
            machine_yaml(first.host, first.port, machines.key, "/opt/no-such-python/bin"),
        ]), trials=1, concurrency=1, trial="")
        result = cli("launch", str(config))
    finally:
        known_hosts.write_text(saved)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("nni-core: error: create failed at stage configure_platform: ")
    lines[0] = lines[0].split("configure_platform: ", 1)[1]
    assert len(lines) == 4  # one line per machine, nothing else
    assert lines[0].startswith(f"remote machine root@127.0.0.1:{closed_port}: cannot connect (")
    assert lines[0].endswith("check host and port, and that sshd runs there")
    assert lines[1] == (f"remote machine root@{first.host}:{first.port}: authentication failed for user root "
                        f"with sshKeyFile {other_key}; check user, password or sshKeyFile")
    assert lines[2].startswith(f"remote machine root@{second.host}:{second.port}: host key not trusted")
    assert lines[2].endswith(f"trust it with: ssh-keyscan -p {second.port} {second.host} >> ~/.ssh/known_hosts")
    assert lines[3] == (f"remote machine root@{first.host}:{first.port}: pythonPath /opt/no-such-python/bin is not "
                        "a directory there; set pythonPath to the folder holding python (e.g. /opt/venv/bin)")
    assert [sorted(p.name for p in s.remote_root.iterdir()) for s in machines.servers] == before  # nothing ran


@pytest.mark.slow
def test_hybrid_local_and_remote_trials_take_turns(machines, ssh_home, tmp_path):
    """A trainingService list: trials alternate between this machine and an sshd machine."""
    server = machines.servers[0]
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "trial.py").write_text(TRIAL.format(import_line="from nni_core import trial as nni", step=0))
    config = folder / "config.yml"
    config.write_text(
        "searchSpace:\n  x: {_type: uniform, _value: [0, 1]}\n"
        f"trialCommand: {sys.executable} trial.py\ntrialCodeDirectory: .\n"
        "trialConcurrency: 4\nmaxTrialNumber: 8\ntuner:\n  name: Random\n"
        "trainingService:\n  - platform: local\n  - platform: remote\n    machineList:\n"
        f"      - {{host: {server.host}, port: {server.port}, user: root, sshKeyFile: {machines.key}}}\n")
    launched = cli_json("launch", str(config))
    experiment_id, url = launched["id"], launched["url"]
    try:
        wait_for(lambda: status_of(experiment_id) == "DONE", timeout=180, what="DONE")
        jobs = requests.get(f"{url}/api/v1/nni/trial-jobs", timeout=10).json()
        assert sorted(j["status"] for j in jobs) == ["SUCCEEDED"] * 8
        by_env = {env: {j["trialJobId"] for j in jobs if j["envId"] == env} for env in ("local-env", "remote-env")}
        assert len(by_env["local-env"]) == len(by_env["remote-env"]) == 4
        # the remote ones ran on the sshd machine, the others here (each trial appends its id)
        assert runs(machines, experiment_id) == Counter(by_env["remote-env"])
        assert sorted((tmp_path / "runs.log").read_text().split()) == sorted(by_env["local-env"])
        metrics = metrics_by_trial(url)
        assert all(sorted(t for t, _, _ in metrics[j["trialJobId"]]) == ["FINAL"] + ["PERIODICAL"] * 3 for j in jobs)
    finally:
        cli("stop", experiment_id)
