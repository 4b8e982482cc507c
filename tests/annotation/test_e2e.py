"""An annotated experiment, launched with the real CLI: useAnnotation, no search space.

The trials run the expanded copy on the local platform, with parameters the tuner drew from the
generated search space, and report metrics the test recomputes from those parameters.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.annotation.compare import DATA, E2E_SPACE, digest
from tests.support import run_cli

TRIALS = 4
DEADLINE_S = 120


def cli_json(*args: str) -> object:
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def expected_metric(parameters: dict) -> float:
    x, y = parameters["trial/x/choice"], parameters["trial/y/uniform"]
    op = {"square(x)": x * x, "cube(x)": x * x * x}[parameters["trial/op/function_choice"]]
    return op + y


@pytest.mark.skip(reason="nni_core.launch: the expand stage keeps ctx.config_json from the loaded file "
                         "(_config_json prefers ctx.loaded), so the submitted request ignores the config "
                         "expand_trial_code returned (no searchSpace, the user's trialCodeDirectory)")
def test_annotated_experiment_runs_trials_with_generated_parameters(tmp_path: Path) -> None:
    code = DATA / "e2e"
    before = digest(code)
    config = tmp_path / "config.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "experimentName": "annotated",
        "useAnnotation": True,
        "trialCommand": f"{sys.executable} trial.py",
        "trialCodeDirectory": str(code),
        "trialConcurrency": 2,
        "maxTrialNumber": TRIALS,
        "tuner": {"name": "Random"},
        "trainingService": {"platform": "local"},
    }))
    launched = cli_json("launch", str(config))
    experiment_id = launched["id"]
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:  # wait for the condition: every trial has ended
            shown = cli_json("show", experiment_id)
            status = shown["experiment"]["status"]
            if status in ("DONE", "STOPPED", "ERROR", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == "DONE", shown
        trials = cli_json("trials", experiment_id)
    finally:
        run_cli("stop", experiment_id)

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
    experiment_dir = Path(shown["experiment"]["experimentDir"])
    submitted = json.loads((experiment_dir / "log" / "submitted-config.json").read_text())
    assert submitted["searchSpace"] == E2E_SPACE
    assert submitted["trialCodeDirectory"] == str(experiment_dir / "trial_code")
    assert digest(code) == before  # the user's folder is untouched
