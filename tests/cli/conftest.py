"""Fixtures of the CLI tests: small experiments, the CLI in a subprocess, waiting on conditions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import run_cli

# A trial that takes a parameter, reports two intermediate results and a final one. It uses
# nni-core's trial SDK (milliseconds to import); `import nni` works as well but costs seconds.
TRIAL = """\
import os, time
try:
    from nni_core import trial as nni
except ImportError:
    import nni
params = nni.get_next_parameter()
time.sleep(float(os.environ.get("TRIAL_SLEEP", "{sleep}")))
nni.report_intermediate_result(params["x"] / 2)
nni.report_intermediate_result(params["x"] / 3)
nni.report_final_result(params["x"])
"""

CONFIG = """\
experimentName: {name}
searchSpace:
  x: {{_type: uniform, _value: [0, 1]}}
trialCommand: {python} trial.py
trialCodeDirectory: .
trialConcurrency: {concurrency}
maxTrialNumber: {trials}
tuner:
  name: Random
trainingService:
  platform: local
"""


def write_experiment(folder: Path, *, name: str = "cli-test", trials: int = 4, concurrency: int = 2,
                     sleep: float = 0.2, trial: str | None = None) -> Path:
    """A runnable experiment folder; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trial.py").write_text(trial if trial is not None else TRIAL.format(sleep=sleep))
    config = folder / "config.yml"
    config.write_text(CONFIG.format(name=name, python=sys.executable, concurrency=concurrency, trials=trials))
    return config


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, timeout=timeout)


def cli_json(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run a command with --json; fail the test with its stderr when it fails."""
    result = cli(*args, "--json", env=env, timeout=timeout)
    assert result.returncode == 0, f"nni-core {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return json.loads(result.stdout)




def status_of(experiment_id: str, env: dict[str, str] | None = None) -> str:
    return cli_json("show", experiment_id, env=env)["experiment"]["status"]


def processes_of(experiment_ids: set[str]) -> list[int]:
    """Pids of live (non-zombie) processes that belong to these experiments: their managers
    (command line holds the id) and their trials (NNI_EXP_ID in the environment)."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            stat = (pid_dir / "stat").read_text()
            if stat[stat.rfind(")") + 2] in "ZX":
                continue
            cmdline = (pid_dir / "cmdline").read_bytes().split(b"\0")
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        args = {a.decode(errors="replace") for a in cmdline}
        env_ids = {e.split(b"=", 1)[1].decode(errors="replace") for e in environ if e.startswith(b"NNI_EXP_ID=")}
        if experiment_ids & (args | env_ids):
            found.append(int(pid_dir.name))
    return found


@pytest.fixture(autouse=True)
def _bytecode_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the CLI, manager and trial subprocesses keep their compiled modules: with
    PYTHONDONTWRITEBYTECODE every one of the many processes these tests start recompiles
    nni-core from source."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)


@pytest.fixture
def nni_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in tmp_path: NNI's manager keeps its own registry under $HOME/nni-experiments."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: an end-to-end test that takes more than a few seconds")


@pytest.fixture(autouse=True)
def _stop_leftovers() -> Any:
    """Whatever a test launched is stopped afterwards, also when the test failed half-way."""
    yield
    from nni_core.launch import connect
    from nni_core.registry import ENDED, Registry

    for entry in Registry().all():
        if entry.get("status") not in ENDED:
            connect(entry["id"]).stop(timeout=15)
