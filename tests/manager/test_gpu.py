"""GPU scheduling of the local training service, with a fake device list (NNI_CORE_FAKE_GPUS)."""

from __future__ import annotations

import json
from pathlib import Path

from nni_plugin_local.gpu import Gpu, GpuScheduler
from tests.manager.harness import PYTHON, make_config
from tests.support import wait_for

HOLD_TRIAL = r"""
import os, time
import nni_core.trial as nni
nni.get_next_parameter()
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "gpus-" + nni.get_trial_id()), "w") as f:
    f.write(os.environ.get("CUDA_VISIBLE_DEVICES", "unset"))
while os.path.exists(os.path.join(here, "hold")):
    time.sleep(0.05)
nni.report_final_result(1)
"""


def test_trials_get_free_gpus_only(manager_factory, code_dir: Path) -> None:
    """GPUs 0 and 1 are free, 2 is busy with someone else's work, 3 is outside gpuIndices:
    with one GPU per trial, at most two trials run although trialConcurrency is 4."""
    (code_dir / "trial.py").write_text(HOLD_TRIAL)
    (code_dir / "hold").write_text("")
    fake = json.dumps([0, 1, {"index": 2, "active": True}, 3])
    manager = manager_factory(env={"NNI_CORE_FAKE_GPUS": fake}).start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=4, maxTrialNumber=4,
                               trainingService={"trialGpuNumber": 1, "gpuIndices": [0, 1, 2],
                                                "useActiveGpu": False, "maxTrialNumberPerGpu": 1}))
    wait_for(lambda: len(list(code_dir.glob("gpus-*"))) == 2, 30, "two trials on GPUs")
    assert len(manager.trials("RUNNING")) == 2 and len(manager.trials()) == 2
    assert sorted(p.read_text() for p in code_dir.glob("gpus-*")) == ["0", "1"]
    (code_dir / "hold").unlink()
    manager.wait_status("DONE", timeout=60)
    assert len(manager.trials("SUCCEEDED")) == 4
    assert {p.read_text() for p in code_dir.glob("gpus-*")} == {"0", "1"}


def test_too_few_gpus_is_a_clear_error(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text("print('never runs')\n")
    manager = manager_factory(env={"NNI_CORE_FAKE_GPUS": "[0]"}).start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py",
                               trainingService={"trialGpuNumber": 2}))
    assert manager.wait_status("ERROR") == "ERROR"
    errors = manager.get("/check-status")["errors"]
    assert errors == ["training service: trialGpuNumber is 2 but this machine has 1 usable GPU(s); "
                      "lower trialGpuNumber or change gpuIndices"]
    assert manager.trials() == []


def test_scheduler_shares_gpus_up_to_max_trials_per_gpu() -> None:
    gpus = [Gpu(0), Gpu(1, active=True)]
    scheduler = GpuScheduler(1, None, 2, use_active=True, read_gpus=lambda: gpus)
    assert [scheduler.allocate(t) for t in "abcd"] == [[0], [1], [0], [1]]
    assert scheduler.allocate("e") is None and not scheduler.can_allocate()
    scheduler.release("a")
    assert scheduler.allocate("f") == [0]
    strict = GpuScheduler(2, [0, 1], 1, use_active=False, read_gpus=lambda: gpus)
    assert strict.allocate("a") is None  # GPU 1 is busy with someone else's processes
    assert strict.problem() is None
    assert "trialGpuNumber is 3" in GpuScheduler(3, None, 1, False, lambda: gpus).problem()
