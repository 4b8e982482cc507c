"""Whole experiments on real processes: the Random tuner, the nni-core SDK and unchanged NNI code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.manager.harness import PYTHON, final_value, make_config

SDK_TRIAL = """
import nni_core.trial as nni
params = nni.get_next_parameter()
for step in range(2):
    nni.report_intermediate_result(params["x"] + step)
nni.report_final_result({"default": params["x"] * 10, "y": params["y"]})
"""

# An NNI 3.0 trial as users write it, unchanged.
NNI_TRIAL = """
import nni
params = nni.get_next_parameter()
nni.report_intermediate_result(params["x"])
nni.report_final_result(params["x"] * 10)
"""


@pytest.mark.parametrize("protocol", [None, "http"])
def test_twenty_trials_with_the_nni_core_sdk(manager_factory, code_dir: Path, protocol: str | None) -> None:
    """Local trials report through files unless the manager is told to use its HTTP channel."""
    (code_dir / "trial.py").write_text(SDK_TRIAL)
    manager = manager_factory(env={"NNI_CORE_TRIAL_PROTOCOL": protocol} if protocol else None).start()
    assert manager.status() == "INITIALIZED"
    body = manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=4, maxTrialNumber=20)).json()
    assert body == {"experiment_id": manager.id}
    running_seen = set()

    def done() -> bool:
        running_seen.add(len(manager.trials("RUNNING")))
        return manager.status() == "DONE"

    from tests.support import wait_for
    wait_for(done, 90, "DONE")
    assert max(running_seen) <= 4
    trials = manager.trials()
    assert len(trials) == 20
    assert sorted(t["sequenceId"] for t in trials) == list(range(20))
    for trial in trials:
        assert trial["status"] == "SUCCEEDED", trial
        params = json.loads(trial["hyperParameters"][0])["parameters"]
        assert final_value(trial) == {"default": params["x"] * 10, "y": params["y"]}
        periodical = manager.get(f"/metric-data/{trial['trialJobId']}?type=PERIODICAL")
        assert [json.loads(json.loads(m["data"])) for m in periodical] == [params["x"], params["x"] + 1]
        # the file protocol leaves the records in the trial's folder; the channel does not
        assert (Path(trial["logPath"]) / ".nni" / "metrics").exists() == (protocol is None)
    assert manager.get("/job-statistics") == [{"trialJobStatus": "SUCCEEDED", "trialJobNumber": 20}]
    exported = manager.get("/export-data")
    assert len(exported) == 20 and all(isinstance(row["value"], str) for row in exported)
    profile = manager.get("/experiment")
    assert profile["nextSequenceId"] == 20 and "endTime" in profile
    assert manager.stop() == 0


@pytest.mark.parametrize("protocol", ["http", "file"])
def test_unchanged_nni_trial_code(manager_factory, code_dir: Path, protocol: str) -> None:
    """``import nni`` (the real nni 3.0 package) over NNI 3.0's HTTP channel and over the file protocol."""
    (code_dir / "trial.py").write_text(NNI_TRIAL)
    manager = manager_factory(env={"NNI_CORE_TRIAL_PROTOCOL": protocol}).start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=4))
    manager.wait_status("DONE", timeout=150)
    trials = manager.trials()
    assert len(trials) == 4
    for trial in trials:
        assert trial["status"] == "SUCCEEDED", (trial, (Path(trial["logPath"]) / "trial.stderr").read_text())
        params = json.loads(trial["hyperParameters"][0])["parameters"]
        assert final_value(trial) == pytest.approx(params["x"] * 10)
        trial_dir = Path(trial["logPath"])
        assert json.loads((trial_dir / "parameter.cfg").read_text())["parameters"] == params
        # NNI's SDK logs into trial.log in the trial dir, as under NNI 3.0
        assert "trial.log" in [p.name for p in trial_dir.iterdir()]
    assert len(manager.get("/metric-data?type=PERIODICAL")) == 4
