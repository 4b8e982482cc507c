"""An experiment's whole life through the CLI, on the embedded manager: launch, trials, show,
export (checked against the REST API), stop, resume (the rest of the budget), view (read-only)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import requests

from nni_core.registry import process_alive
from tests.cli.conftest import cli, cli_json, processes_of, status_of, write_experiment
from tests.support import wait_for


def test_launch_run_export_stop(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp", trials=4, concurrency=2)
    launched = cli_json("launch", str(config))
    experiment_id, url = launched["id"], launched["url"]
    assert launched["status"] == "RUNNING"
    assert url.startswith("http://127.0.0.1:") and launched["stop"] == f"nni-core stop {experiment_id}"

    # While it runs: `resume` of a running experiment is an input error.
    resumed = cli("resume", experiment_id)
    assert resumed.returncode == 2 and "is running" in resumed.stderr and "Traceback" not in resumed.stderr

    wait_for(lambda: status_of(experiment_id) == "DONE", timeout=90, what="DONE")
    shown = cli_json("show", experiment_id[:4])  # a unique prefix is enough
    assert shown["progress"]["done"] == 4 and shown["progress"]["failed"] == 0
    assert shown["profile"]["params"]["maxTrialNumber"] == 4

    trials = cli_json("trials", experiment_id)
    assert [t["status"] for t in trials] == ["SUCCEEDED"] * 4
    assert [t["trialJobId"] for t in cli_json("trials", experiment_id, "--tail", "2")] == [t["trialJobId"] for t in trials[2:]]
    table = cli("trials", experiment_id)
    assert table.returncode == 0 and all(t["trialJobId"] in table.stdout for t in trials)

    # export agrees with the manager's own REST answer
    rest = requests.get(f"{url}/api/v1/nni/export-data", timeout=10).json()
    exported = cli_json("export", experiment_id)  # --json is accepted and means the JSON format
    out_json, out_csv = tmp_path / "results.json", tmp_path / "results.csv"
    assert cli("export", experiment_id, "--format", "json", "-o", str(out_json)).returncode == 0
    assert cli("export", experiment_id, "--format", "csv", "--intermediate", "-o", str(out_csv)).returncode == 0
    from_file = json.loads(out_json.read_text())
    key = lambda r: r["trialJobId"]  # noqa: E731
    assert sorted(from_file, key=key) == sorted(rest, key=key) == sorted(exported, key=key)
    assert len(rest) == 4
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert {r["trialJobId"] for r in rows} == {r["trialJobId"] for r in rest}
    for row in rows:
        record = next(r for r in rest if r["trialJobId"] == row["trialJobId"])
        assert float(row["reward"]) == float(json.loads(record["value"]))
        assert float(row["x"]) == record["parameter"]["x"]
        assert json.loads(row["intermediate"]) == [record["parameter"]["x"] / 2, record["parameter"]["x"] / 3,
                                                   float(json.loads(record["value"]))]

    logs = cli("logs", experiment_id, "--trial", trials[0]["trialJobId"], "--stderr")
    assert logs.returncode == 0

    pid = cli_json("list")[0]["pid"]
    stopped = cli_json("stop", experiment_id)
    assert stopped == [{"id": experiment_id, "status": "STOPPED", "wasRunning": True}]
    assert not process_alive(pid)
    assert cli_json("list") == []
    assert [e["status"] for e in cli_json("list", "--all")] == ["STOPPED"]
    assert processes_of({experiment_id}) == []

    # Stopped, it is read from its store: no manager starts, the answers are those REST gave.
    assert cli_json("trials", experiment_id) == trials
    assert sorted(cli_json("export", experiment_id), key=key) == sorted(rest, key=key)
    intermediate = cli("export", experiment_id, "--format", "csv", "--intermediate")
    assert intermediate.returncode == 0 and intermediate.stdout == out_csv.read_text()
    shown_stopped = cli_json("show", experiment_id)
    assert shown_stopped["progress"]["done"] == 4 and shown_stopped["progress"]["status"] == "STOPPED"
    assert shown_stopped["profile"]["params"] == shown["profile"]["params"]
    assert processes_of({experiment_id}) == []


def test_resume_runs_the_rest_of_the_budget_and_view_is_read_only(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp", trials=4, concurrency=1, sleep=0.5)
    experiment_id = cli_json("launch", str(config))["id"]
    wait_for(lambda: sum(t["status"] == "SUCCEEDED" for t in cli_json("trials", experiment_id)) >= 1,
             timeout=60, what="a first succeeded trial")
    cli_json("stop", experiment_id)
    before = cli_json("list", "--all")[0]
    assert before["status"] == "STOPPED"

    # Two resumes at once: one starts the experiment, the other is told it is taken.
    command = [sys.executable, "-m", "nni_core", "resume", experiment_id, "--json"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = sorted((p.wait(timeout=120), *p.communicate()) for p in both)
    assert [code for code, _, _ in outcomes] == [0, 2], outcomes
    assert "being started by another command" in outcomes[1][2] or "is running" in outcomes[1][2]
    resumed = json.loads(outcomes[0][1])
    assert resumed["id"] == experiment_id and resumed["status"] in ("RUNNING", "NO_MORE_TRIAL", "DONE")
    wait_for(lambda: status_of(experiment_id) == "DONE", timeout=90, what="DONE after resume")
    trials = cli_json("trials", experiment_id)
    assert sum(t["status"] == "SUCCEEDED" for t in trials) == 4, trials
    cli_json("stop", experiment_id)

    viewed = cli_json("view", experiment_id)
    assert viewed["status"] == "VIEWED"
    assert len(cli_json("trials", experiment_id)) == len(trials)
    refused = requests.put(f"{viewed['url']}/api/v1/nni/experiment", params={"update_type": "TRIAL_CONCURRENCY"},
                           json=requests.get(f"{viewed['url']}/api/v1/nni/experiment", timeout=10).json(), timeout=10)
    assert refused.status_code >= 400 and "readonly" in refused.text.replace("read-only", "readonly")
    update = cli("update", experiment_id, "--concurrency", "3")
    assert update.returncode == 1 and "readonly" in update.stderr.replace("read-only", "readonly")
    assert update.stderr.count("\n") == 1 and "Traceback" not in update.stderr
    cli_json("stop", experiment_id)
    assert cli_json("delete", experiment_id) == {"deleted": [experiment_id]}
    assert cli_json("list", "--all") == []


def test_foreground_runs_to_the_end_then_stops(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp", trials=2, concurrency=2, sleep=0.1)
    result = cli("launch", str(config), "--foreground", timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Experiment ") and "Dashboard: http://127.0.0.1:" in lines[1]
    assert any(line.startswith("DONE: 2/2 trials done, 0 running, 0 failed, best ") for line in lines), lines
    assert "ended DONE" in lines[-1]
    [entry] = cli_json("list", "--all")
    assert entry["status"] == "STOPPED" and processes_of({entry["id"]}) == []


def test_ctrl_c_in_foreground_stops_the_experiment(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    config = write_experiment(tmp_path / "exp", trials=4, concurrency=2, sleep=60)
    process = subprocess.Popen([sys.executable, "-m", "nni_core", "launch", str(config), "--foreground"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        # the entry appears when the launch reserves the id; its URL once the manager answers
        entry = wait_for(lambda: next((e for e in cli_json("list") if e.get("url")), None), timeout=60,
                         what="the manager of the launch")
        running = wait_for(lambda: [t for t in cli_json("trials", entry["id"]) if t["status"] == "RUNNING"],
                           timeout=60, what="a running trial")
        # the other commands that act on a running experiment
        space = tmp_path / "space.json"
        space.write_text(json.dumps({"x": {"_type": "uniform", "_value": [0, 2]}}))
        cli_json("update", entry["id"], "--concurrency", "1", "--duration", "1h", "--search-space", str(space))
        params = requests.get(f"{entry['url']}/api/v1/nni/experiment", timeout=10).json()["params"]
        assert params["trialConcurrency"] == 1 and params["searchSpace"]["x"]["_value"] == [0, 2]
        assert params["maxExperimentDuration"] in (3600, "3600", "3600s", "1h")
        killed = running[0]["trialJobId"]
        assert cli_json("trial", "kill", entry["id"], killed)["killed"]
        status = {t["trialJobId"]: t["status"] for t in cli_json("trials", entry["id"])}[killed]
        assert status == "USER_CANCELED"
        imported = tmp_path / "earlier.json"
        imported.write_text(json.dumps([{"parameter": {"x": 0.5}, "value": 0.5}]))
        assert cli_json("import-data", entry["id"], str(imported)) == {"experiment": entry["id"], "imported": 1}
        assert requests.get(f"{entry['url']}/api/v1/nni/experiment/imported-data", timeout=10).json()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert f"Experiment {entry['id']} stopped" in stderr and "Traceback" not in stderr
    assert [e["status"] for e in cli_json("list", "--all")] == ["STOPPED"]
    assert processes_of({entry["id"]}) == []
