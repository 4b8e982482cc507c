"""Per-trial overhead of the remote (SSH) training service against the local one, on loopback.

Two real sshd servers are started on 127.0.0.1 (as in tests/remote; needs openssh-server and
root), and the same experiment — N trivial trials that read their parameters and report one
final result through ``nni_core.trial`` — runs three ways:

* bare: the trial command run N times in a row by a plain loop (process start-up cost only);
* local-http: ``nni-core launch`` with ``platform: local``, trials reporting over the manager's
  HTTP channel (``NNI_CORE_TRIAL_PROTOCOL=http``);
* local-file: the same with the file protocol (the local platform's default), which is what
  remote trials speak, so remote - local-file is the cost of SSH itself;
* remote: ``nni-core launch`` with ``platform: remote``, both sshd "machines" in machineList.

Per-trial time = (last trial end - first trial start) / N at concurrency 1 (set-up such as
starting the manager, connecting and uploading the code is outside that window), and the same
window at a higher concurrency for throughput. Every trial must end SUCCEEDED with its final
metric, or the run fails. Run from the repository root:

    .venv/bin/python bench/remote_overhead.py [--trials 30] [--concurrency 8]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.remote.sshd import SshServer, keygen  # noqa: E402

TRIAL = """\
import nni_core.trial as nni
params = nni.get_next_parameter()
nni.report_final_result(params.get("x", 0.5) * 2)
"""


def config_text(trials: int, concurrency: int, service: str) -> str:
    return ("searchSpace:\n  x: {_type: uniform, _value: [0, 1]}\n"
            f"trialCommand: {sys.executable} trial.py\ntrialCodeDirectory: .\n"
            f"trialConcurrency: {concurrency}\nmaxTrialNumber: {trials}\n"
            "tuner:\n  name: Random\n" + service)


def run_experiment(folder: Path, env: dict[str, str], trials: int, concurrency: int, service: str) -> float:
    """Runs one experiment to DONE; returns (last end - first start) in seconds."""
    config = folder / f"config-{concurrency}.yml"
    config.write_text(config_text(trials, concurrency, service))
    launched = subprocess.run([sys.executable, "-m", "nni_core", "launch", "--json", str(config)],
                              env=env, capture_output=True, text=True, timeout=300)
    if launched.returncode != 0:
        raise SystemExit(f"launch failed: {launched.stderr}")
    info = json.loads(launched.stdout)
    url = info["url"]
    try:
        deadline = time.monotonic() + 600
        while requests.get(url + "/api/v1/nni/check-status", timeout=5).json()["status"] != "DONE":
            if time.monotonic() > deadline:
                raise SystemExit("the experiment did not finish in 600 s")
            time.sleep(0.05)
        jobs = requests.get(url + "/api/v1/nni/trial-jobs", timeout=5).json()
    finally:
        subprocess.run([sys.executable, "-m", "nni_core", "stop", info["id"]], env=env, capture_output=True,
                       timeout=120)
    bad = [j for j in jobs if j["status"] != "SUCCEEDED" or not j.get("finalMetricData")]
    if len(jobs) != trials or bad:
        raise SystemExit(f"{len(bad)} of {len(jobs)} trials failed or lack a final metric: {bad[:2]}")
    return (max(j["endTime"] for j in jobs) - min(j["startTime"] for j in jobs)) / 1000


def bare(folder: Path, trials: int) -> float:
    start = time.perf_counter()
    for _ in range(trials):
        subprocess.run(["/bin/bash", "-c", f"{sys.executable} trial.py"], cwd=folder, check=True,
                       capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    n = args.trials

    with tempfile.TemporaryDirectory(prefix="remote-bench-") as tmp:
        tmp_path = Path(tmp)
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        key = keygen(home / ".ssh" / "id_bench")
        servers = [SshServer(tmp_path / f"machine{i}", Path(f"{key}.pub")) for i in range(2)]
        for server in servers:
            server.start()
        (home / ".ssh" / "known_hosts").write_text("".join(s.known_hosts_line() for s in servers))
        env = {**os.environ, "HOME": str(home), "NNI_CORE_HOME": str(tmp_path / "nni-core-home")}
        env.pop("SSH_AUTH_SOCK", None)
        code = tmp_path / "code"
        code.mkdir()
        (code / "trial.py").write_text(TRIAL)
        machines = "".join(f"    - {{host: {s.host}, port: {s.port}, user: root, sshKeyFile: {key}}}\n"
                           for s in servers)
        local = "trainingService:\n  platform: local\n"
        services = {
            "local-http": (local, {"NNI_CORE_TRIAL_PROTOCOL": "http"}),
            "local-file": (local, {}),
            "remote": ("trainingService:\n  platform: remote\n  machineList:\n" + machines, {}),
        }
        try:
            results = {"bare": {1: bare(code, n)}}
            for name, (service, extra) in services.items():
                results[name] = {c: run_experiment(code, {**env, **extra}, n, c, service)
                                 for c in (1, args.concurrency)}
        finally:
            for server in servers:
                server.kill()

    per = {name: {c: t / n * 1000 for c, t in r.items()} for name, r in results.items()}
    print(f"{n} trials of nni_core.trial, loopback sshd x2; ms per trial (window first start .. last end / N)")
    print(f"{'':>10} {'concurrency 1':>14} {'concurrency ' + str(args.concurrency):>16}")
    for name in ("bare", "local-http", "local-file", "remote"):
        row = per[name]
        print(f"{name:>10} {row[1]:>14.0f} {row.get(args.concurrency, float('nan')):>16.0f}")
    c = args.concurrency
    for base in ("local-file", "local-http"):
        print(f"remote - {base}: {per['remote'][1] - per[base][1]:+.0f} ms per trial at concurrency 1, "
              f"{per['remote'][c] - per[base][c]:+.0f} ms at concurrency {c}")


if __name__ == "__main__":
    main()
