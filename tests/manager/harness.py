"""Running a real manager process in a test: start on port 0, talk REST, wait on conditions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.support import wait_for

API = "/api/v1/nni"
PYTHON = sys.executable




def make_config(code_dir: Path, command: str, **fields: Any) -> dict[str, Any]:
    """The canonical JSON body of POST /experiment, as the launcher sends it."""
    training_service = {"platform": "local", "trialCommand": command, "trialCodeDirectory": str(code_dir),
                        "debug": False, "maxTrialNumberPerGpu": 1, "reuseMode": False}
    training_service.update(fields.pop("trainingService", {}))
    config = {
        "experimentName": "test",
        "experimentType": "hpo",
        "searchSpace": {"x": {"_type": "uniform", "_value": [0, 1]}, "y": {"_type": "choice", "_value": [1, 2, 3]}},
        "trialCommand": command,
        "trialCodeDirectory": str(code_dir),
        "trialConcurrency": 4,
        "maxTrialNumber": 20,
        "useAnnotation": False,
        "debug": False,
        "logLevel": "info",
        "tuner": {"name": "Random"},
        "trainingService": training_service,
    }
    config.update(fields)
    return config


class Manager:
    """One ``python -m nni_core.manager`` process."""

    def __init__(self, root: Path, experiment_id: str = "exp1", env: dict[str, str] | None = None) -> None:
        self.root = root
        self.experiments = root / "experiments"
        self.id = experiment_id
        self.dir = self.experiments / experiment_id
        self.env = {**os.environ, "NNI_CORE_HOME": str(root / "home"), "HOME": str(root / "home"), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, action: str = "create", *extra: str, timeout: float = 30) -> "Manager":
        info_path = self.dir / "manager.json"
        if info_path.exists():
            info_path.unlink()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "nni_core.manager", "--port", "0", "--experiment-id", self.id, "--action", action,
             "--experiments-directory", str(self.experiments), "--log-level", "debug", *extra],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def ready() -> dict | None:
            if self.process.poll() is not None:
                raise AssertionError(f"manager exited with {self.process.returncode}: {self.process.stderr.read()}")
            if info_path.exists():
                info = json.loads(info_path.read_text())
                return info if info["pid"] == self.process.pid else None
            return None

        self.info = wait_for(ready, timeout, "manager.json")
        self.url = self.info["url"]
        return self

    # REST

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.url + API + path, timeout=30, **kwargs)

    def get(self, path: str) -> Any:
        response = self.request("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def status(self) -> str:
        return self.get("/check-status")["status"]

    def wait_status(self, *statuses: str, timeout: float = 60) -> str:
        return wait_for(lambda: (s := self.status()) in statuses and s, timeout, f"status in {statuses}")

    def trials(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.get("/trial-jobs" + (f"?status={status}" if status else ""))

    def submit(self, config: dict[str, Any]) -> requests.Response:
        response = self.request("POST", "/experiment", json=config)
        assert response.status_code == 200, response.text
        return response

    def update(self, update_type: str, **params: Any) -> requests.Response:
        profile = self.get("/experiment")
        profile["params"].update(params)
        return self.request("PUT", f"/experiment?update_type={update_type}", json=profile)

    # process

    def stop(self, timeout: float = 15) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        path = self.dir / "log" / "nnimanager.log"
        return path.read_text() if path.exists() else ""


def final_value(trial: dict[str, Any]) -> Any:
    """The decoded final metric of a TrialJobInfo (data is JSON-encoded twice)."""
    return json.loads(json.loads(trial["finalMetricData"][0]["data"]))
