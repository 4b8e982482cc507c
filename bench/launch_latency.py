"""Launch, first-trial and stop latency of `nni-core` beside NNI 3.0's `nnictl`, in one run.

    python bench/launch_latency.py [--runs 5] [--nni-runs 3] [--json]

For each tool, in fresh home folders, with the same config (Random tuner, one trial that sleeps):

* launch:      from starting `nni-core launch` / `nnictl create` until the command returned; the
               experiment's status is then checked to be RUNNING over REST;
* first trial: from the same start until the REST API lists a trial in RUNNING (polled every 5 ms);
* stop:        `nni-core stop ID` / `nnictl stop --all` with that trial still running, until the
               command returned (both wait for the manager process to exit);
* --help:      `nni-core --help` and `nnictl --help`.

Medians are printed with the ratio NNI / nni-core. Each tool runs once untimed first, with
PYTHONDONTWRITEBYTECODE unset, so that both start from compiled modules as on a user's machine. NNI's environment comes from bench/nni_env.py
(NNI_PYTHON, or a .venv-nni30 created once).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nni_env import nni_bin  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NNI_CORE = [sys.executable, "-m", "nni_core"]
CONFIG = """\
experimentName: launch-latency
searchSpace:
  x: {_type: uniform, _value: [0, 1]}
trialCommand: sleep 60
trialCodeDirectory: .
trialConcurrency: 1
maxTrialNumber: 2
tuner:
  name: Random
trainingService:
  platform: local
"""
TARGETS = {"launch": 5.0, "first_trial": 5.0, "stop": 5.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def first_running(api: str, start: float, timeout: float = 60) -> float:
    session = requests.Session()
    session.trust_env = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = session.get(f"{api}/trial-jobs", timeout=5).json() or []
        except (requests.RequestException, ValueError):
            trials = []
        if any(t.get("status") in ("RUNNING", "SUCCEEDED", "FAILED") for t in trials):
            return time.perf_counter() - start
        if not trials:
            with contextlib.suppress(requests.RequestException, ValueError):
                status = session.get(f"{api}/check-status", timeout=5).json()
                if status.get("status") == "ERROR":
                    raise RuntimeError(f"the experiment failed: {status.get('errors')}")
        time.sleep(0.005)
    raise RuntimeError(f"no trial started within {timeout} s at {api}")


def check_running(api: str) -> None:
    status = requests.get(f"{api}/check-status", timeout=5).json()["status"]
    if status != "RUNNING":
        raise RuntimeError(f"expected RUNNING right after launch, got {status}")


def run_nni_core(folder: Path) -> dict[str, float]:
    env = dict(os.environ, NNI_CORE_HOME=str(folder / "home"))
    start = time.perf_counter()
    out = subprocess.run([*NNI_CORE, "launch", str(folder / "config.yml"), "--json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    launch = time.perf_counter() - start
    launched = json.loads(out)
    api = f"{launched['url']}/api/v1/nni"
    try:
        check_running(api)
        first = first_running(api, start)
    finally:
        start = time.perf_counter()
        subprocess.run([*NNI_CORE, "stop", launched["id"]], env=env, capture_output=True, check=True)
        stop = time.perf_counter() - start
    return {"launch": launch, "first_trial": first, "stop": stop}


def run_nnictl(folder: Path) -> dict[str, float]:
    nnictl = str(nni_bin("nnictl"))
    home = folder / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    env.pop("NNI_CORE_HOME", None)
    port = free_port()
    start = time.perf_counter()
    result = subprocess.run([nnictl, "create", "--config", str(folder / "config.yml"), "--port", str(port)],
                            env=env, capture_output=True, text=True, cwd=folder)
    launch = time.perf_counter() - start
    if result.returncode != 0 or "Experiment ID" not in result.stdout:
        raise RuntimeError(f"nnictl create failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    api = f"http://127.0.0.1:{port}/api/v1/nni"
    experiment_id = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).split("Experiment ID:")[1].split()[0]
    try:
        check_running(api)
        first = first_running(api, start)
    finally:
        start = time.perf_counter()
        subprocess.run([nnictl, "stop", experiment_id], env=env, capture_output=True, check=True)
        stop = time.perf_counter() - start
    return {"launch": launch, "first_trial": first, "stop": stop}


def attempt(tool: str, run, folder: Path, failures: dict[str, list[str]], tries: int = 3) -> dict[str, float] | None:  # noqa: ANN001
    """One measured run; a run that fails (NNI's manager errs on busy machines) is counted in
    ``failures`` and tried again in a fresh folder; None after ``tries`` failures."""
    for number in range(tries):
        target = folder if number == 0 else folder.with_name(f"{folder.name}-retry{number}")
        if number:
            target.mkdir()
            (target / "config.yml").write_text(CONFIG)
        try:
            return run(target)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            failures[tool].append(str(error)[:300])
            print(f"{tool}: run failed ({str(error)[:200]}); trying again", file=sys.stderr)
    return None


def help_time(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="nni-core runs (default 5)")
    parser.add_argument("--nni-runs", type=int, default=3, help="nnictl runs (default 3; each takes ~15 s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    results: dict[str, list[dict[str, float]]] = {"nni-core": [], "nnictl": []}
    failures: dict[str, list[str]] = {"nni-core": [], "nnictl": []}
    with tempfile.TemporaryDirectory(prefix="launch-latency-") as tmp:
        for tool, run in (("nni-core", run_nni_core), ("nnictl", run_nnictl)):  # warm-up, untimed
            folder = Path(tmp, f"{tool}-warmup")
            folder.mkdir()
            (folder / "config.yml").write_text(CONFIG)
            attempt(tool, run, folder, failures)
        for i in range(max(args.runs, args.nni_runs)):  # interleaved: both see the same machine load
            for tool, run, count in (("nni-core", run_nni_core, args.runs), ("nnictl", run_nnictl, args.nni_runs)):
                if i >= count:
                    continue
                folder = Path(tmp, f"{tool}-{i}")
                folder.mkdir()
                (folder / "config.yml").write_text(CONFIG)
                measured = attempt(tool, run, folder, failures)
                if measured is None:
                    continue
                results[tool].append(measured)
                print(f"{tool} run {i + 1}: " + ", ".join(f"{k} {v:.3f} s" for k, v in results[tool][-1].items()),
                      file=sys.stderr)
    core_bin = [str(Path(sys.executable).parent / "nni-core")]
    if not all(results.values()):
        print(f"no successful run of {[t for t, r in results.items() if not r]}: {failures}", file=sys.stderr)
        return 2
    medians = {tool: {k: statistics.median(r[k] for r in runs) for k in TARGETS} for tool, runs in results.items()}
    medians["nni-core"]["help"] = help_time(core_bin, 10)
    medians["nnictl"]["help"] = help_time([str(nni_bin("nnictl"))], 3)
    rows = []
    for key in (*TARGETS, "help"):
        core, nni = medians["nni-core"][key], medians["nnictl"][key]
        target = f">= {TARGETS[key]:g}x" if key in TARGETS else "< 0.2 s"
        ok = (nni / core >= TARGETS[key]) if key in TARGETS else core < 0.2
        rows.append({"measure": key, "nni_core_s": round(core, 3), "nnictl_s": round(nni, 3),
                     "speedup": round(nni / core, 1), "target": target, "met": ok})
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"medians": rows, "runs": results, "failures": failures, "loadavg": load}, indent=2))
    else:
        print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the end")
        print(f"{'measure':12} {'nni-core':>9} {'nnictl':>9} {'speedup':>8}  target")
        for row in rows:
            print(f"{row['measure']:12} {row['nni_core_s']:>8.3f}s {row['nnictl_s']:>8.3f}s {row['speedup']:>7.1f}x  "
                  f"{row['target']} {'met' if row['met'] else 'NOT met'}")
        for tool, failed in failures.items():
            if failed:
                print(f"{tool}: {len(failed)} failed run(s), retried: {failed[0]}")
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
