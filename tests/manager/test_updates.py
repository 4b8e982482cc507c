"""Live updates over REST, view mode, the stop paths and the API's error answers."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.manager.harness import PYTHON, make_config
from tests.support import wait_for

# Trials hold until the test removes the "hold" file, so the test controls how many run.
HOLD_TRIAL = r"""
import os, time
import nni_core.trial as nni
params = nni.get_next_parameter()
here = os.path.dirname(os.path.abspath(__file__))
while os.path.exists(os.path.join(here, "hold")):
    time.sleep(0.05)
nni.report_final_result(params["x"])
"""

QUICK_TRIAL = "import nni_core.trial as nni; p = nni.get_next_parameter(); nni.report_final_result(p['x'])\n"


def test_live_updates(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(HOLD_TRIAL)
    (code_dir / "hold").write_text("")
    manager = manager_factory().start()
    config = make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=1, maxTrialNumber=10,
                         searchSpace={"x": {"_type": "choice", "_value": [1, 2]}})
    manager.submit(config)
    wait_for(lambda: len(manager.trials("RUNNING")) == 1, 30, "one running trial")

    # a new search space is used by the trials that start after it
    space = {"x": {"_type": "uniform", "_value": [100, 101]}}
    assert manager.update("SEARCH_SPACE", searchSpace=space).status_code == 200
    assert manager.get("/experiment")["params"]["searchSpace"] == space

    # raising the concurrency starts new trials at once (no polling tick)
    started = time.monotonic()
    assert manager.update("TRIAL_CONCURRENCY", trialConcurrency=3).status_code == 200
    wait_for(lambda: len(manager.trials("RUNNING")) == 3, 10, "three running trials")
    assert time.monotonic() - started < 5
    trials = manager.trials()
    assert [100 <= json.loads(t["hyperParameters"][0])["parameters"]["x"] <= 101 for t in trials] == [False, True, True]

    # lowering maxTrialNumber stops scheduling
    assert manager.update("MAX_TRIAL_NUM", maxTrialNumber=3).status_code == 200
    assert manager.wait_status("NO_MORE_TRIAL", timeout=10)
    (code_dir / "hold").unlink()
    manager.wait_status("DONE", timeout=30)
    assert len(manager.trials()) == 3
    assert all(t["status"] == "SUCCEEDED" for t in manager.trials())

    # raising it again re-opens a DONE experiment and schedules at once (NNI idles instead)
    assert manager.update("MAX_TRIAL_NUM", maxTrialNumber=5).status_code == 200
    manager.wait_status("DONE", timeout=30)
    assert len(manager.trials("SUCCEEDED")) == 5
    assert manager.get("/experiment")["params"]["maxTrialNumber"] == 5
    assert "endTime" in manager.get("/experiment")


def test_update_errors_are_clear_4xx(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", maxTrialNumber=1))
    profile = manager.get("/experiment")
    for query in ("", "?update_type=NOPE"):  # NNI 3.0 never answers these
        response = manager.request("PUT", "/experiment" + query, json=profile)
        assert response.status_code == 400
        assert "update_type must be one of TRIAL_CONCURRENCY" in response.json()["error"]
    profile["params"]["trialConcurrency"] = 0
    response = manager.request("PUT", "/experiment?update_type=TRIAL_CONCURRENCY", json=profile)
    assert response.status_code == 400 and "trialConcurrency" in response.json()["error"]
    response = manager.request("PUT", "/experiment/cluster-metadata", json={"version_check": True})
    assert response.status_code == 400 and "cluster-metadata" in response.json()["error"]
    response = manager.request("DELETE", "/trial-jobs/NOPE0")
    assert response.status_code == 404 and response.json() == {"error": "no trial job 'NOPE0' in this experiment"}
    assert manager.request("POST", "/experiment", json={}).status_code == 409
    manager.wait_status("DONE")
    response = manager.request("POST", "/trial-jobs", json={"x": 0.5})  # NNI's answer, kept
    assert (response.status_code, response.json()) == (500, {"error": "reach maxTrialNum"})
    assert manager.status() == "DONE"  # and still alive: NNI exits on cluster-metadata errors


def test_cancel_a_running_trial_and_stop_fast(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(HOLD_TRIAL)
    (code_dir / "hold").write_text("")
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=3))
    wait_for(lambda: len(manager.trials("RUNNING")) == 2, 30, "two running trials")
    victim = manager.trials("RUNNING")[0]["trialJobId"]
    assert manager.request("DELETE", f"/trial-jobs/{victim}").status_code == 200
    assert manager.get(f"/trial-jobs/{victim}")["status"] == "USER_CANCELED"  # answered after the exit
    wait_for(lambda: len(manager.trials("RUNNING")) == 2, 10, "the freed slot refilled")

    started = time.monotonic()
    assert manager.request("DELETE", "/experiment").status_code == 200
    assert manager.process.wait(10) == 0
    assert time.monotonic() - started < 1.5  # NNI takes 5 s
    from nni_core.registry import process_alive

    db = sqlite3.connect(manager.dir / "db" / "nni.sqlite")
    infos = [json.loads(row[0]) for row in db.execute("select info from TrialProcess")]
    db.close()
    assert len(infos) == 3 and not any(process_alive(i["pid"], i["procStart"]) for i in infos)


def test_view_mode_is_read_only(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=2))
    manager.wait_status("DONE")
    before = manager.trials()
    started = time.monotonic()
    manager.process.send_signal(15)
    assert manager.process.wait(10) == 0
    assert time.monotonic() - started < 1.5

    viewer = manager_factory().start("view")
    assert viewer.status() == "INITIALIZED"
    viewer.submit({})
    assert viewer.status() == "VIEWED"
    assert viewer.trials() == before
    assert viewer.get("/experiment")["params"]["maxTrialNumber"] == 2
    profile = viewer.get("/experiment")
    refusals = [
        ("PUT", "/experiment?update_type=TRIAL_CONCURRENCY", profile, "update experiment profile"),
        ("POST", "/trial-jobs", {"x": 1}, "add customized trial job"),
        ("DELETE", f"/trial-jobs/{before[0]['trialJobId']}", None, "cancel trial job"),
        ("POST", "/experiment/import-data", [{"parameter": {"x": 1}, "value": 1}], "import data"),
    ]
    for method, path, body, what in refusals:
        response = viewer.request(method, path, json=body)
        assert response.status_code == 500
        assert response.json() == {"error": f"Error: can not {what} in readonly mode!"}
    assert viewer.status() == "VIEWED"
    assert viewer.stop() == 0


def test_customized_trial_and_import_data(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=1, maxTrialNumber=3))
    imported = [{"parameter": {"x": 0.25, "y": 1}, "value": 0.9}]
    assert manager.request("POST", "/experiment/import-data", json=imported).status_code == 200
    response = manager.request("POST", "/trial-jobs", json={"x": 0.125, "y": 2})
    assert response.status_code == 200 and isinstance(response.json()["sequenceId"], int)
    manager.wait_status("DONE")
    customized = [t for t in manager.trials() if json.loads(t["hyperParameters"][0])["parameter_source"] == "customized"]
    assert len(customized) == 1 and customized[0]["status"] == "SUCCEEDED"
    assert json.loads(json.loads(customized[0]["finalMetricData"][0]["data"])) == 0.125
    assert manager.get("/experiment/imported-data") == ['[{"parameter":{"x":0.25,"y":1},"value":0.9}]']
    assert len(manager.trials()) == 3


def test_max_experiment_duration_and_its_update(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text("import time; time.sleep(0.3)\n" + QUICK_TRIAL)
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=1000,
                               maxExperimentDuration="2s"))
    manager.wait_status("DONE", timeout=30)
    first = len(manager.trials())
    assert 0 < first < 1000
    assert all(t["status"] == "SUCCEEDED" for t in manager.trials())  # running trials were left to finish
    assert manager.update("MAX_EXEC_DURATION", maxExperimentDuration="5s").status_code == 200
    assert manager.status() == "RUNNING"
    manager.wait_status("DONE", timeout=30)
    assert len(manager.trials()) > first
    assert manager.get("/experiment")["execDuration"] >= 5


def test_trials_that_cannot_start_turn_the_experiment_to_error(manager_factory, code_dir: Path) -> None:
    manager = manager_factory().start()
    manager.submit(make_config(code_dir / "missing", "true", maxTrialNumber=100))
    manager.wait_status("ERROR", timeout=30)
    trials = manager.trials()
    assert len(trials) == 3 and all(t["status"] == "FAILED" for t in trials)
    assert "3 trials in a row could not be started" in manager.get("/check-status")["errors"][0]


def test_a_bad_config_is_refused_and_can_be_corrected(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory().start()
    config = make_config(code_dir, f"{PYTHON} trial.py", maxTrialNumber=1, tuner={"name": "NoSuchTuner"})
    response = manager.request("POST", "/experiment", json=config)
    assert response.status_code == 400 and "NoSuchTuner" in response.json()["error"]
    assert "Random" in response.json()["error"]  # it lists the known names
    assert manager.status() == "INITIALIZED" and manager.get("/experiment") is None
    config["tuner"] = {"name": "Random"}
    manager.submit(config)
    manager.wait_status("DONE")
