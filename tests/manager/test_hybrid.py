"""A trainingService list (hybrid): trials take turns on the members, each member with its own
section, and a resumed manager re-attaches every trial to the member that started it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.manager.harness import PYTHON, make_config
from tests.support import wait_for

# The member's own trialCommand passes its name; trials 4 and 5 wait for the hold file to go.
HYBRID_TRIAL = r"""
import os, sys, time
import nni_core.trial as nni
params = nni.get_next_parameter()
seq = nni.get_sequence_id()
here = os.path.dirname(os.path.abspath(__file__))
if seq >= 4:
    open(os.path.join(here, f"holding-{seq}"), "w").close()
    while os.path.exists(os.path.join(here, "hold")):
        time.sleep(0.05)
nni.report_final_result({"default": params["x"], "member": sys.argv[1], "platform": os.environ["NNI_PLATFORM"]})
"""


def _members_of_starts(manager) -> dict[str, list[int]]:
    db = sqlite3.connect(manager.dir / "db" / "nni.sqlite")
    try:
        rows = db.execute("select trialJobId, info from TrialProcess order by rowid").fetchall()
    finally:
        db.close()
    starts: dict[str, list[int]] = {}
    for trial_id, info in rows:
        starts.setdefault(trial_id, []).append(json.loads(info)["member"])
    return starts


def test_trials_take_turns_on_the_members_and_resume_finds_them(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(HYBRID_TRIAL)
    (code_dir / "hold").write_text("")
    config = make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=2, maxTrialNumber=6)
    config["trainingService"] = [dict(config["trainingService"], trialCommand=f"{PYTHON} trial.py {name}")
                                 for name in ("first", "second")]
    first = manager_factory().start()
    first.submit(config)
    wait_for(lambda: len(first.trials("SUCCEEDED")) == 4 and (code_dir / "holding-4").exists()
             and (code_dir / "holding-5").exists(), 60, "4 succeeded + 2 holding")
    first.kill()  # SIGKILL: trials 4 and 5 keep running

    second = manager_factory().start("resume")
    second.submit({})
    resumed = {t["sequenceId"]: t for t in second.trials()}
    assert resumed[4]["status"] == resumed[5]["status"] == "RUNNING"  # re-attached
    (code_dir / "hold").unlink()
    second.wait_status("DONE", timeout=60)

    trials = {t["sequenceId"]: t for t in second.trials()}
    assert sorted(trials) == list(range(6))
    for seq, trial in trials.items():
        assert trial["status"] == "SUCCEEDED", trial
        result = json.loads(json.loads(trial["finalMetricData"][0]["data"]))
        # turns: sequence 0, 2, 4 on the first member, 1, 3, 5 on the second, each with its own command
        assert result["member"] == ("first", "second")[seq % 2] and result["platform"] == "local"
        assert trial["envId"] == "local-env"
    starts = _members_of_starts(second)
    assert {trials[seq]["trialJobId"]: [seq % 2] for seq in trials} == starts  # one start each, none re-run
    assert second.stop() == 0
