"""One local trial that reports many intermediate results, under both trial protocols.

The trial (``nni_core.trial``) reports N intermediate results as fast as it can, then a final one.
The embedded manager runs it once with the local platform's default (the file protocol) and once
with ``NNI_CORE_TRIAL_PROTOCOL=http`` (NNI 3.0's HTTP channel: one request per metric, each
fsynced before it is answered). Printed per protocol: time from ``POST /experiment`` to DONE, the
manager's CPU for the whole run, and how many metrics were stored (all of them, or the run fails).
Run from the repository root:

    .venv/bin/python bench/metric_heavy_trial.py [--metrics 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from manager_throughput import SPACE, cpu_seconds

TRIAL = """\
import nni_core.trial as nni
nni.get_next_parameter()
for i in range({n}):
    nni.report_intermediate_result(i)
nni.report_final_result(1)
"""


def run(work: Path, metrics: int, protocol: str | None) -> tuple[float, float]:
    code = work / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "trial.py").write_text(TRIAL.format(n=metrics))
    command = f"{sys.executable} trial.py"
    config = {"experimentName": "bench", "searchSpace": SPACE, "trialCommand": command, "trialCodeDirectory": str(code),
              "trialConcurrency": 1, "maxTrialNumber": 1, "tuner": {"name": "Random"},
              "trainingService": {"platform": "local"}}
    env = {**os.environ, "NNI_CORE_HOME": str(work / "home")}
    if protocol:
        env["NNI_CORE_TRIAL_PROTOCOL"] = protocol
    experiments = work / "experiments"
    process = subprocess.Popen([sys.executable, "-m", "nni_core.manager", "--port", "0", "--experiment-id", "bench",
                                "--action", "create", "--experiments-directory", str(experiments)], env=env)
    try:
        info = experiments / "bench" / "manager.json"
        while not info.exists():
            if process.poll() is not None:
                raise SystemExit("the manager exited at start")
            time.sleep(0.005)
        api = json.loads(info.read_text())["url"] + "/api/v1/nni"
        started = time.monotonic()
        requests.post(api + "/experiment", json=config, timeout=30).raise_for_status()
        status = "RUNNING"
        while status != "DONE":
            status = requests.get(api + "/check-status", params={"changedFrom": status, "timeout": 60},
                                  timeout=90).json()["status"]
            if status == "ERROR":
                raise SystemExit("the experiment went to ERROR")
        elapsed = time.monotonic() - started
        stored = len(requests.get(api + "/metric-data", timeout=60).json())
        if stored != metrics + 1:
            raise SystemExit(f"{protocol or 'file'}: {stored} metrics stored, expected {metrics + 1}")
        return elapsed, cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metric-bench-") as tmp:
        results = {name: run(Path(tmp) / name, args.metrics, protocol)
                   for name, protocol in (("file (default)", None), ("http", "http"))}
    print(f"one local trial reporting {args.metrics} intermediate results and a final one:")
    for name, (elapsed, cpu) in results.items():
        print(f"  {name:15} {elapsed:7.2f} s from POST to DONE, manager CPU {cpu:6.2f} s")
    file_time, http_time = results["file (default)"][0], results["http"][0]
    print(f"the file protocol is {http_time / file_time:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
