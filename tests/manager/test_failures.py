"""Failure modes, each on real trial processes: exit codes, signals, deadlines, garbage, manager death."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.manager.harness import PYTHON, final_value, make_config
from tests.support import wait_for

# Behaviour chosen by sequence id, like NNI's own status-zoo capture.
ZOO_TRIAL = r"""
import json, math, os, signal, sys, time
import nni_core.trial as nni
params = nni.get_next_parameter()
seq = nni.get_sequence_id()
if seq == 1:
    sys.exit(3)
if seq == 2:
    os.kill(os.getpid(), signal.SIGKILL)
if seq == 3:
    time.sleep(60)
if seq == 4:
    nni.report_intermediate_result(float("nan"))
    nni.report_intermediate_result("not a number")
    nni.report_intermediate_result({"loss": 1.0})
    nni.report_intermediate_result(True)
    own_id = os.environ["NNI_TRIAL_JOB_ID"]
    os.environ["NNI_TRIAL_JOB_ID"] = "ZZZZZ"  # a record that names another trial
    nni.report_intermediate_result(1.0)
    os.environ["NNI_TRIAL_JOB_ID"] = own_id
nni.report_final_result(seq + 0.5)
"""


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """One experiment of 7 trials (concurrency 3, maxTrialDuration 2s): seq 0 succeeds, 1 exits 3,
    2 is killed by SIGKILL, 3 sleeps past maxTrialDuration, 4 reports garbage then succeeds,
    5 and 6 succeed."""
    from tests.manager.harness import Manager

    root = tmp_path_factory.mktemp("zoo")
    code = root / "code"
    code.mkdir()
    (code / "trial.py").write_text(ZOO_TRIAL)
    manager = Manager(root, env={"NNI_CORE_HOME": str(root / "home")}).start()
    try:
        manager.submit(make_config(code, f"{PYTHON} trial.py", trialConcurrency=3,
                                   maxTrialNumber=7, maxTrialDuration="2s"))
        manager.wait_status("DONE", timeout=90)
        yield manager, {t["sequenceId"]: t for t in manager.trials()}
    finally:
        manager.stop()


def test_nonzero_exit_fails_and_the_experiment_goes_on(zoo) -> None:
    manager, trials = zoo
    failed = trials[1]
    assert failed["status"] == "FAILED"
    assert failed["message"] == "exit code 3"
    assert "finalMetricData" not in failed and failed["stderrPath"].endswith("trial.stderr")
    assert len(trials) == 7  # the budget was used up regardless
    assert [trials[s]["status"] for s in (0, 5, 6)] == ["SUCCEEDED"] * 3


def test_trial_killed_by_signal(zoo) -> None:
    _, trials = zoo
    assert trials[2]["status"] == "USER_CANCELED"
    assert trials[2]["message"] == "killed by signal 9"


def test_max_trial_duration_stops_the_trial(zoo) -> None:
    _, trials = zoo
    trial = trials[3]
    assert trial["status"] == "EARLY_STOPPED"
    assert trial["message"] == "exceeded maxTrialDuration (2s)"
    assert 1900 <= trial["endTime"] - trial["startTime"] < 10000


def test_garbage_metrics_are_ignored_with_a_reason(zoo) -> None:
    manager, trials = zoo
    trial = trials[4]
    assert trial["status"] == "SUCCEEDED" and final_value(trial) == 4.5
    assert manager.get(f"/metric-data/{trial['trialJobId']}") == trial["finalMetricData"]
    log = manager.log()
    for reason in ("not a finite number: nan", "not a number: 'not a number'",
                   "a dict metric needs a 'default' key", "not a number: True", "it names trial 'ZZZZZ'"):
        assert f"ignored a metric from trial {trial['trialJobId']}: {reason}" in log
    assert manager.status() == "DONE"  # and the manager is alive


RESUME_TRIAL = r"""
import os, time
import nni_core.trial as nni
params = nni.get_next_parameter()
seq = nni.get_sequence_id()
here = os.path.dirname(os.path.abspath(__file__))
if seq >= 2:
    nni.report_intermediate_result(seq)
    open(os.path.join(here, f"holding-{seq}"), "w").close()
while seq >= 2 and os.path.exists(os.path.join(here, "hold")):
    time.sleep(0.05)
nni.report_final_result(params["x"] + seq)
"""


@pytest.mark.parametrize("protocol", ["file", "http"])
def test_resume_after_sigkill_loses_no_acknowledged_metric(manager_factory, code_dir: Path, protocol: str) -> None:
    (code_dir / "trial.py").write_text(RESUME_TRIAL)
    (code_dir / "hold").write_text("")
    env = {"NNI_CORE_TRIAL_PROTOCOL": protocol}
    first = manager_factory(env=env).start()
    first.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=6))
    # trials 0 and 1 finish; 2 and 3 report an intermediate result, then wait for the hold file to go
    wait_for(lambda: len(first.trials("SUCCEEDED")) == 2 and (code_dir / "holding-2").exists()
             and (code_dir / "holding-3").exists() and len(first.get("/metric-data?type=PERIODICAL")) == 2,
             60, "2 succeeded + 2 holding, their intermediate results stored")
    acknowledged = {t["trialJobId"]: t["finalMetricData"] for t in first.trials("SUCCEEDED")}
    running = {t["trialJobId"]: t for t in first.trials("RUNNING")}
    first.kill()  # SIGKILL: no chance to save anything more

    db = sqlite3.connect(first.dir / "db" / "nni.sqlite")
    pids = {row[0]: json.loads(row[1])["pid"] for row in db.execute("select trialJobId, info from TrialProcess")}
    db.close()
    # one running trial dies with the manager; the other keeps running and is re-attached
    dead_id, alive_id = sorted(running, key=lambda tid: running[tid]["sequenceId"])
    os.killpg(pids[dead_id], signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pids[dead_id]}").exists() or
             Path(f"/proc/{pids[dead_id]}/stat").read_text().split(") ")[1][0] == "Z", 10, "trial gone")

    second = manager_factory(env=env).start("resume")
    assert second.status() == "INITIALIZED"
    second.submit({})
    assert second.status() in ("RUNNING", "NO_MORE_TRIAL")
    trials = {t["trialJobId"]: t for t in second.trials()}
    assert trials[alive_id]["status"] == "RUNNING"  # re-attached, same process
    assert trials[dead_id]["status"] in ("WAITING", "RUNNING")  # queued for a re-run
    (code_dir / "hold").unlink()
    second.wait_status("DONE", timeout=60)

    trials = {t["trialJobId"]: t for t in second.trials()}
    assert len(trials) == 6  # the re-run did not use up maxTrialNumber
    assert sorted(t["sequenceId"] for t in trials.values()) == list(range(6))
    assert all(t["status"] == "SUCCEEDED" for t in trials.values()), trials
    for trial_id, metric in acknowledged.items():
        assert trials[trial_id]["finalMetricData"] == metric
    # the re-run kept its id, sequence id and parameters
    rerun = trials[dead_id]
    assert rerun["sequenceId"] == running[dead_id]["sequenceId"]
    assert rerun["hyperParameters"] == running[dead_id]["hyperParameters"]
    params = json.loads(rerun["hyperParameters"][0])["parameters"]
    assert final_value(rerun) == pytest.approx(params["x"] + rerun["sequenceId"])
    assert pids[alive_id] not in [json.loads(r)["pid"] for r in _process_rows(second, alive_id)[1:]]
    assert len(_process_rows(second, alive_id)) == 1  # never started again
    assert len(_process_rows(second, dead_id)) == 2
    # the re-attached trial's metrics file is read again from its start: nothing is stored twice
    periodical = second.get(f"/metric-data/{alive_id}?type=PERIODICAL")
    assert [json.loads(json.loads(m["data"])) for m in periodical] == [trials[alive_id]["sequenceId"]]
    assert len(trials[alive_id]["finalMetricData"]) == 1
    assert second.stop() == 0


def _process_rows(manager, trial_id: str) -> list[str]:
    db = sqlite3.connect(manager.dir / "db" / "nni.sqlite")
    try:
        return [row[0] for row in db.execute("select info from TrialProcess where trialJobId = ?", (trial_id,))]
    finally:
        db.close()


ASSESSED_TRIAL = r"""
import time
import nni_core.trial as nni
nni.get_next_parameter()
seq = nni.get_sequence_id()
nni.report_intermediate_result(99 if seq == 0 else 1)
if seq == 0:
    time.sleep(60)  # the assessor stops it long before
nni.report_final_result(1)
"""

ASSESSOR = """
from nni_core.algorithms import AssessResult, Assessor

class StopBig(Assessor):
    def assess_trial(self, trial_job_id, trial_history):
        return AssessResult.Bad if trial_history[-1] > 50 else AssessResult.Good
"""


def test_assessor_stops_a_trial_early(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(ASSESSED_TRIAL)
    (code_dir / "stop_big.py").write_text(ASSESSOR)
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=2,
                               assessor={"className": "stop_big.StopBig", "codeDirectory": str(code_dir)}))
    manager.wait_status("DONE", timeout=30)
    trials = {t["sequenceId"]: t for t in manager.trials()}
    assert trials[0]["status"] == "EARLY_STOPPED" and trials[0]["message"] == "stopped by the assessor"
    assert trials[1]["status"] == "SUCCEEDED"
