"""The job entrypoint and the relay, without a cluster: the entrypoint runs as Ray would run it
(``python -c "$NNI_RAY_WRAPPER"`` in a shell), and its output is fed to the manager-side relay."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nni_plugin_ray.training_service import _Relay, _wrapper_source
from tests.ray.conftest import TRIAL, path_without_this_venv
from tests.ray.support import Recorder


def run_entry(tmp_path: Path, sdk: str, **parameters) -> subprocess.CompletedProcess:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "trial.py").write_text(TRIAL)
    record = {"parameter_id": 7, "parameter_source": "algorithm", "parameters": parameters, "parameter_index": 0}
    env = {"PATH": path_without_this_venv(), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "NNI_EXP_ID": "entryexp", "NNI_TRIAL_JOB_ID": "ent01", "NNI_TRIAL_SEQ_ID": "1",
           "NNI_TEST_SDK": sdk, "NNI_RAY_COMMAND": "python3 trial.py",
           "NNI_RAY_PARAMETER": json.dumps(record), "NNI_RAY_WRAPPER": _wrapper_source()}
    return subprocess.run(f'exec {sys.executable} -c "$NNI_RAY_WRAPPER"', shell=True, cwd=code, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sdk", ["core", "nni"])
def test_entry_relays_output_metrics_and_exit_and_the_relay_loses_nothing(tmp_path: Path, sdk: str) -> None:
    result = run_entry(tmp_path, sdk, x=1.5)
    assert result.returncode == 0, result.stderr
    log = "Ray's own line before the entrypoint\n" + result.stdout
    # the live stream delivers the first part in odd pieces (cut mid-line); the full log the rest
    cut = len(log) * 2 // 3
    events = Recorder()
    relay = _Relay("ent01", str(tmp_path / "trial"), events)
    relay.open_files()
    position = 0
    while position < cut:
        step = random.randint(1, 40)
        relay.feed(log[position:min(position + step, cut)])
        position += step
    relay.replay(log)
    assert relay.exit == {"k": "exit", "code": 0, "signal": None}
    assert events.intermediates("ent01") == [1.5]
    assert events.final("ent01") == {"default": 3.0, "sdk": sdk}
    assert all(m["parameter_id"] == 7 and m["trial_job_id"] == "ent01" for m in events.metrics["ent01"])
    trial_dir = tmp_path / "trial"
    printed = (trial_dir / ("trial.log" if sdk == "nni" else "trial.stdout")).read_text()
    # the interpreter's folder came first on PATH, though PATH had no venv
    assert f"interpreter {os.path.dirname(sys.executable)}" in printed
    assert (trial_dir / "trial.stderr").read_text().strip().endswith("to stderr")
    # the node-local trial folder is removed when the trial ends, and its empty parents
    assert not (tmp_path / "nni-ray").exists()


def test_entry_passes_the_trial_exit_code_through(tmp_path: Path) -> None:
    result = run_entry(tmp_path, "core", x=1, fail=True)
    assert result.returncode == 3
    events = Recorder()
    relay = _Relay("ent01", str(tmp_path / "trial"), events)
    relay.open_files()
    relay.replay(result.stdout)
    assert relay.exit == {"k": "exit", "code": 3, "signal": None}
    assert events.final("ent01") is None and events.intermediates("ent01") == [1]
