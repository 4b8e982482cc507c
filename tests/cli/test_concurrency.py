"""Many launches at once: distinct experiments, a consistent registry, and `stop --all` that
leaves no manager or trial process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.cli.conftest import cli_json, processes_of, write_experiment
from tests.support import wait_for

LAUNCHES = 20


def test_twenty_concurrent_launches_then_stop_all(tmp_path: Path) -> None:
    # Trials sleep long enough to be running when `stop --all` comes.
    config = write_experiment(tmp_path / "exp", trials=2, concurrency=1, sleep=60)
    command = [sys.executable, "-m", "nni_core", "launch", str(config), "--json"]
    launches = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
                for _ in range(LAUNCHES)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in launches]
    assert [code for code, _, _ in results] == [0] * LAUNCHES, [err for _, _, err in results]
    launched = [json.loads(out) for _, out, _ in results]
    ids = {item["id"] for item in launched}
    assert len(ids) == LAUNCHES and len({item["port"] for item in launched}) == LAUNCHES

    registered = cli_json("list")
    assert {e["id"] for e in registered} == ids
    for entry in registered:
        answer = requests.get(f"{entry['url']}/api/v1/nni/check-status", timeout=10).json()
        assert answer["status"] in ("RUNNING", "NO_MORE_TRIAL")
    # every experiment gets a trial running before we stop them
    urls = [e["url"] for e in registered]

    def all_have_a_running_trial() -> bool:
        return all(any(t["status"] == "RUNNING" for t in requests.get(f"{u}/api/v1/nni/trial-jobs", timeout=10).json())
                   for u in urls)

    wait_for(all_have_a_running_trial, timeout=120, interval=0.5, what="a running trial in every experiment")
    assert processes_of(ids), "the managers and trials are visible to the check below"

    stopped = cli_json("stop", "--all", timeout=180)
    assert {row["id"] for row in stopped} == ids and all(row["wasRunning"] for row in stopped)
    assert processes_of(ids) == []
    assert {e["status"] for e in cli_json("list", "--all")} == {"STOPPED"}
    assert cli_json("list") == []
