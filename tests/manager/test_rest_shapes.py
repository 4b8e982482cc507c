"""The REST answers have NNI 3.0's shapes: compared with responses captured from a real NNI 3.0
manager (``captures/``, from an experiment with TPE, 6 succeeded trials and one failed trial)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.manager.harness import PYTHON, make_config

CAPTURES = Path(__file__).with_name("captures")

TRIAL = r"""
import sys
import nni_core.trial as nni
params = nni.get_next_parameter()
nni.report_intermediate_result(params["lr"])
nni.report_intermediate_result(params["lr"] + 1)
if nni.get_sequence_id() == 1:
    sys.exit(1)
nni.report_final_result(params["lr"] * params["units"])
"""

# Fields NNI marks optional that an answer of ours may add (e.g. why a trial ended).
OPTIONAL = {"message"}


def capture(name: str) -> dict[str, Any]:
    return json.loads((CAPTURES / f"{name}.json").read_text())


def shape(value: Any) -> Any:
    """The JSON type skeleton of a value: dict keys with their shapes, a list's first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_same_shape(ours: Any, theirs: Any, where: str = "") -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        assert set(theirs) <= set(ours), f"{where}: missing {set(theirs) - set(ours)}"
        assert set(ours) - set(theirs) <= OPTIONAL, f"{where}: extra {set(ours) - set(theirs)}"
        for key in theirs:
            assert_same_shape(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: {ours!r} is not a list"
        if theirs and ours:
            assert_same_shape(ours[0], theirs[0], f"{where}[0]")
    else:
        assert shape(ours) == shape(theirs) or (theirs is None and ours is None), f"{where}: {ours!r} vs {theirs!r}"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from tests.manager.harness import Manager

    root = tmp_path_factory.mktemp("shapes")
    code = root / "code"
    code.mkdir()
    (code / "trial.py").write_text(TRIAL)
    manager = Manager(root, env={"NNI_CORE_HOME": str(root / "home")}).start()
    manager.submit(make_config(code, f"{PYTHON} trial.py", trialConcurrency=3, maxTrialNumber=3,
                                 searchSpace=capture("A_done_GET_experiment")["body_json"]["params"]["searchSpace"]))
    manager.wait_status("DONE", timeout=60)
    trials = manager.trials()
    succeeded = next(t for t in trials if t["status"] == "SUCCEEDED")
    failed = next(t for t in trials if t["status"] == "FAILED")
    yield manager, succeeded["trialJobId"], failed["trialJobId"]
    manager.stop()


@pytest.mark.parametrize("name, path", [
    ("A_done_GET_check-status", "/check-status"),
    ("A_done_GET_job-statistics", "/job-statistics"),
    ("A_done_GET_metric-data", "/metric-data"),
    ("A_done_GET_metric-data-latest_", "/metric-data-latest/"),
    ("A_done_GET_metric-data-range_1_2", "/metric-data-range/0/2"),
    ("A_done_GET_export-data", "/export-data"),
    ("A_done_GET_experiment-metadata", "/experiment-metadata"),
    ("A_done_GET_experiments-info", "/experiments-info"),
    ("A_done_GET_tensorboard-tasks", "/tensorboard-tasks"),
    ("A_done_GET_experiment_imported-data", "/experiment/imported-data"),
    ("A_errors_GET_metric-data_unknown-id", "/metric-data/NOPE0"),
])
def test_read_endpoints_have_nni_shapes(finished, name: str, path: str) -> None:
    manager, _, _ = finished
    theirs = capture(name)
    response = manager.request("GET", path)
    assert response.status_code == theirs["status"]
    assert response.headers["content-type"] == theirs["content_type"]
    assert_same_shape(response.json(), theirs["body_json"], path)


def test_trial_records_have_nni_shapes(finished) -> None:
    manager, succeeded, failed = finished
    nni_trials = capture("A_done_GET_trial-jobs")["body_json"]
    for trial in manager.trials():
        if trial["status"] == "SUCCEEDED":
            assert_same_shape(trial, nni_trials[0], "trial-jobs[]")
    assert_same_shape(manager.get(f"/trial-jobs/{succeeded}"), capture("A_done_GET_trial-jobs_ID")["body_json"])
    ours = manager.get(f"/trial-jobs/{failed}")
    assert_same_shape(ours, capture("B_GET_trial-jobs_FAILED-trial")["body_json"], "failed trial")
    assert ours["message"] == "exit code 1"


def test_profile_has_nni_shape(finished) -> None:
    manager, _, _ = finished
    ours = manager.get("/experiment")
    theirs = capture("A_done_GET_experiment")["body_json"]
    assert set(ours) == set(theirs)
    assert {k: shape(v) for k, v in ours.items() if k != "params"} == \
        {k: shape(v) for k, v in theirs.items() if k != "params"}
    assert ours["logDir"] == str(manager.dir)


def test_bare_and_error_answers_match_nni(finished) -> None:
    manager, succeeded, _ = finished
    version = manager.request("GET", "/version")
    assert version.status_code == 200 and version.headers["content-type"].startswith("application/json")
    assert version.text[0].isdigit() and not version.text.startswith('"')
    unknown = manager.request("GET", "/trial-jobs/NOPE0")
    theirs = capture("A_errors_GET_trial-jobs_unknown-id")
    assert (unknown.status_code, unknown.content) == (theirs["status"], b"")
    stdout = manager.request("GET", f"/trial-file/{succeeded}/stdout")
    assert (stdout.status_code, stdout.text) == (200, "stdout is empty.")
    assert stdout.headers["content-type"] == capture("A_done_GET_trial-file_ID_stdout")["content_type"]
    missing = manager.request("GET", f"/trial-file/{succeeded}/model.onnx")
    assert missing.status_code == capture("A_errors_GET_trial-file_unknown-file")["status"]
    assert missing.json()["error"].startswith("ENOENT: no such file or directory, open '")
    post = manager.request("POST", "/does-not-exist")
    assert (post.status_code, post.text) == (404, "Not Found")
    page = manager.request("GET", "/does-not-exist")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    log = requests_get(manager.url + "/logs/nnimanager.log")
    assert log.status_code == 200 and "Change NNIManager status from: INITIALIZED to: RUNNING" in log.text


def requests_get(url: str):
    import requests

    return requests.get(url, timeout=30)
