"""An annotated experiment end to end: useAnnotation, no search space, real local trials.

The trials run the expanded copy on the local platform, with parameters the tuner drew from the
generated search space, and report metrics the test recomputes from those parameters. Once through
the ``nni-core`` command line, once through the Python API (``nni_core.launch``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.annotation.compare import DATA, E2E_SPACE, digest
from tests.support import run_cli

TRIALS = 4
DEADLINE_S = 120


def experiment_config() -> dict:
    return {
        "experimentName": "annotated",
        "useAnnotation": True,
        "trialCommand": f"{sys.executable} trial.py",
        "trialCodeDirectory": str(DATA / "e2e"),
        "trialConcurrency": 2,
        "maxTrialNumber": TRIALS,
        "tuner": {"name": "Random"},
        "trainingService": {"platform": "local"},
    }


def expected_metric(parameters: dict) -> float:
    x, y = parameters["trial/x/choice"], parameters["trial/y/uniform"]
    op = {"square(x)": x * x, "cube(x)": x * x * x}[parameters["trial/op/function_choice"]]
    return op + y


def check_trials(trials: list[dict]) -> None:
    assert len(trials) == TRIALS
    for trial in trials:
        assert trial["status"] == "SUCCEEDED", trial
        parameters = json.loads(trial["hyperParameters"][0])["parameters"]
        assert set(parameters) == set(E2E_SPACE)
        assert parameters["trial/x/choice"] in E2E_SPACE["trial/x/choice"]["_value"]
        assert 0.0 <= parameters["trial/y/uniform"] <= 1.0
        assert parameters["trial/op/function_choice"] in E2E_SPACE["trial/op/function_choice"]["_value"]
        final = [m for m in trial["finalMetricData"] if m["type"] == "FINAL"]
        assert len(final) == 1
        assert float(json.loads(final[0]["data"])) == expected_metric(parameters)


def check_submitted(experiment_dir: Path) -> None:
    submitted = json.loads((experiment_dir / "log" / "submitted-config.json").read_text())
    assert submitted["searchSpace"] == E2E_SPACE
    assert submitted["trialCodeDirectory"] == str(experiment_dir / "trial_code")
    assert submitted["useAnnotation"] is False


def cli_json(*args: str) -> object:
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_annotated_experiment_from_the_command_line(tmp_path: Path) -> None:
    before = digest(DATA / "e2e")
    config = tmp_path / "config.yml"
    config.write_text(json.dumps(experiment_config()))  # JSON is YAML
    experiment_id = cli_json("launch", str(config))["id"]
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:  # wait for the condition: the experiment has ended
            shown = cli_json("show", experiment_id)
            status = shown["experiment"]["status"]
            if status in ("DONE", "STOPPED", "ERROR", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == "DONE", shown
        check_trials(cli_json("trials", experiment_id))
    finally:
        run_cli("stop", experiment_id)
    check_submitted(Path(shown["experiment"]["experimentDir"]))
    assert digest(DATA / "e2e") == before  # the user's folder is untouched


def test_annotated_experiment_from_python() -> None:
    import nni_core

    before = digest(DATA / "e2e")
    experiment = nni_core.launch(experiment_config())
    try:
        assert experiment.wait(timeout=DEADLINE_S) == "DONE"
        check_trials(experiment.trials())
    finally:
        experiment.stop()
    check_submitted(experiment.experiment_dir)
    assert digest(DATA / "e2e") == before
