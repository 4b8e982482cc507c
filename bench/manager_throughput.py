"""Experiment throughput of the embedded manager, side by side with NNI 3.0 and a bare process pool.

One run measures, on the same 40 trivial trials at concurrency 4 (a Python script that gets its
parameters and reports one final result through ``nni_core.trial``, which speaks both NNI trial
protocols, so the very same command runs under both managers: through files under nni-core's
local platform, over NNI 3.0's HTTP channel under NNI):

* nni-core: ``python -m nni_core.manager`` started, config POSTed, until ``check-status`` is DONE
  (asked as a long poll, ``changedFrom=``, so the manager answers the moment it is);
* NNI 3.0: ``nnictl create`` started, until its ``check-status`` is DONE (polled: NNI answers at once);
* a bare 4-wide process pool running the same 40 commands (``/bin/bash -c`` in the same folder);

then prints the ratios; the manager's memory (peak RSS, with the Random tuner); and the import
cost of ``nni_core.trial`` against ``import nni``. Every trial must end SUCCEEDED with its final
metric, or the run fails. Run from the repository root:

    .venv/bin/python bench/manager_throughput.py [--trials 40] [--concurrency 4] [--no-nni]

NNI 3.0 is found through ``NNI_PYTHON`` (see nni_env.py).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nni_env import REPO_ROOT, nni_bin, nni_python  # noqa: E402

TRIAL = """\
import nni_core.trial as nni
params = nni.get_next_parameter()
nni.report_final_result(params.get("x", 0.5) * 2)  # standalone in the bare pool: {}
"""
SPACE = {"x": {"_type": "uniform", "_value": [0, 1]}}
POLL_S = 0.01  # how late a poll may see DONE; the bare pool has no such delay


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_done(url: str, timeout: float = 600) -> None:
    """Until ``check-status`` says DONE. nni-core's manager answers ``changedFrom=`` when the
    status changes (a long poll); NNI's ignores it and answers at once, and is polled every POLL_S."""
    deadline = time.monotonic() + timeout
    status = None
    with requests.Session() as session:
        while time.monotonic() < deadline:
            asked = time.monotonic()
            try:
                status = session.get(url + "/api/v1/nni/check-status", params={"changedFrom": status or "",
                                     "timeout": 30}, timeout=60).json()["status"]
            except (requests.RequestException, ValueError):
                status = None
            if status == "DONE":
                return
            if status == "ERROR":
                raise SystemExit(f"experiment at {url} went to ERROR")
            time.sleep(max(0.0, POLL_S - (time.monotonic() - asked)))
    raise SystemExit(f"experiment at {url} not DONE after {timeout}s")


def check_trials(url: str, expected: int, who: str) -> None:
    trials = requests.get(url + "/api/v1/nni/trial-jobs", timeout=30).json()
    good = [t for t in trials if t["status"] == "SUCCEEDED" and t.get("finalMetricData")]
    if len(trials) != expected or len(good) != expected:
        raise SystemExit(f"{who}: {len(good)} of {len(trials)} trials succeeded with a metric, expected {expected}")


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_nni_core(work: Path, code: Path, trials: int, concurrency: int) -> tuple[float, float, float, float]:
    command = f"{sys.executable} trial.py"
    config = {"experimentName": "bench", "searchSpace": SPACE, "trialCommand": command,
              "trialCodeDirectory": str(code), "trialConcurrency": concurrency, "maxTrialNumber": trials,
              "tuner": {"name": "Random"},
              "trainingService": {"platform": "local", "trialCommand": command, "trialCodeDirectory": str(code)}}
    work.mkdir(parents=True, exist_ok=True)
    experiments = work / "nni-core-experiments"
    env = {**os.environ, "NNI_CORE_HOME": str(work / "nni-core-home")}
    info_path = experiments / "bench" / "manager.json"
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "nni_core.manager", "--port", "0", "--experiment-id", "bench",
                                "--action", "create", "--experiments-directory", str(experiments),
                                "--log-level", "info"], env=env)
    while not info_path.exists():
        if process.poll() is not None:
            raise SystemExit("the nni-core manager exited at start")
        time.sleep(0.005)
    url = json.loads(info_path.read_text())["url"]
    while True:  # the socket listens before manager.json is written
        try:
            requests.post(url + "/api/v1/nni/experiment", json=config, timeout=30).raise_for_status()
            break
        except requests.ConnectionError:
            time.sleep(0.005)
    wait_done(url)
    elapsed = time.monotonic() - started
    rss, peak = peak_rss_mb(process.pid)
    cpu = cpu_seconds(process.pid)
    check_trials(url, trials, "nni-core")
    process.terminate()
    process.wait(30)
    return elapsed, rss, peak, cpu


def nni_config(code: Path, trials: int, concurrency: int) -> dict:
    command = f"{sys.executable} trial.py"
    return {"experimentName": "bench", "searchSpace": SPACE, "trialCommand": command,
            "trialCodeDirectory": str(code), "trialConcurrency": concurrency, "maxTrialNumber": trials,
            "tuner": {"name": "Random"}, "trainingService": {"platform": "local"}}


def run_nni(work: Path, code: Path, trials: int, concurrency: int) -> tuple[float, str]:
    """NNI 3.0 through ``nnictl create``. On a loaded machine nnictl gives up (it allows its
    manager 3 s to answer, and the manager allows its tuner dispatcher 10 s to connect); then the
    manager is started with nnictl's command line plus ``--tuner-command-channel``, its dispatcher
    beside it as the ``nnimanager`` plugin does (which favours NNI slightly: the dispatcher's
    import overlaps the manager's start), and the config POSTed once both are up."""
    import yaml

    port = free_port()
    home = work / "nni-home"
    home.mkdir(exist_ok=True)
    config_path = work / "nni.yml"
    config_path.write_text(yaml.safe_dump(nni_config(code, trials, concurrency)))
    env = {**os.environ, "HOME": str(home)}
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    created = subprocess.run([str(nni_bin("nnictl")), "create", "--config", str(config_path), "--port", str(port)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if created.returncode != 0:
        return run_nni_manager(work, code, trials, concurrency), "NNI's manager started directly (nnictl timed out)"
    url = f"http://localhost:{port}"
    wait_done(url)
    elapsed = time.monotonic() - started
    check_trials(url, trials, "NNI 3.0")
    subprocess.run([str(nni_bin("nnictl")), "stop", "--all"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return elapsed, "nnictl create"


def run_nni_manager(work: Path, code: Path, trials: int, concurrency: int) -> float:
    python = str(nni_python())
    node_dir = subprocess.run([python, "-c", "import nni_node, os; print(os.path.dirname(nni_node.__file__))"],
                              capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    experiments = work / "nni-direct"
    experiments.mkdir()
    (work / "nni-home" / "nni-experiments").mkdir(parents=True, exist_ok=True)  # its registry
    env = {**os.environ, "HOME": str(work / "nni-home")}
    env.pop("VIRTUAL_ENV", None)
    config = nni_config(code, trials, concurrency)
    config["trainingService"].update(trialCommand=config["trialCommand"], trialCodeDirectory=str(code))
    channel = f"ws://localhost:{port}/tuner"
    log_dir = experiments / "nnibench" / "log"
    log_dir.mkdir(parents=True)
    ready = log_dir / "dispatcher.ready"
    params = base64.b64encode(json.dumps({k: v for k, v in config.items() if k != "searchSpace"}).encode()).decode()
    dispatcher_env = {**env, "SDK_PROCESS": "dispatcher", "NNI_MODE": "start", "NNI_LOG_DIRECTORY": str(log_dir),
                      "NNI_CHECKPOINT_DIRECTORY": str(log_dir.parent / "checkpoint"), "NNI_LOG_LEVEL": "info",
                      "NNI_INCLUDE_INTERMEDIATE_RESULTS": "false", "NNI_TUNER_COMMAND_CHANNEL": channel,
                      "CUDA_VISIBLE_DEVICES": ""}
    started = time.monotonic()
    process = subprocess.Popen(
        [os.path.join(node_dir, "node"), "--max-old-space-size=4096", "--trace-uncaught",
         os.path.join(node_dir, "main.js"), "--port", str(port), "--experiment-id", "nnibench",
         "--action", "create", "--experiments-directory", str(experiments), "--log-level", "info",
         "--foreground", "false", "--python-interpreter", python, "--tuner-command-channel", channel],
        cwd=node_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    dispatcher = subprocess.Popen(
        [python, str(REPO_ROOT / "plugins" / "nnimanager" / "nni_plugin_nnimanager" / "dispatcher.py"),
         "nnibench", str(port), str(ready), params],
        cwd=log_dir, env=dispatcher_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                # plain-text INITIALIZING until its API router is mounted
                if requests.get(url + "/api/v1/nni/check-status", timeout=5).json()["status"] == "INITIALIZED":
                    break
            except (requests.ConnectionError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("NNI's manager did not answer within 120 s")
            time.sleep(POLL_S)
        while not ready.exists():
            if dispatcher.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("NNI's tuner dispatcher did not connect")
            time.sleep(POLL_S)
        requests.post(url + "/api/v1/nni/experiment", json=config, timeout=30).raise_for_status()
        wait_done(url)
        elapsed = time.monotonic() - started
        check_trials(url, trials, "NNI 3.0")
    finally:
        for child in (dispatcher, process):
            if child.poll() is None:
                os.killpg(child.pid, 15)
        process.wait(30)
        dispatcher.wait(30)
    return elapsed


def run_pool(code: Path, trials: int, concurrency: int) -> float:
    command = f"{sys.executable} trial.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNI_")}

    def one(_: int) -> int:
        return subprocess.run(["/bin/bash", "-c", command], cwd=code, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        codes = list(pool.map(one, range(trials)))
    elapsed = time.monotonic() - started
    if any(codes):
        raise SystemExit(f"bare pool: exit codes {codes}")
    return elapsed


def import_cost_ms(python: str, module: str, runs: int = 7) -> tuple[float, float]:
    """(median import time reported by -X importtime, in ms; median wall clock of ``python -c "import
    module"`` minus that of ``python -c pass``, in ms)."""
    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env={k: v for k, v in os.environ.items()
                                                               if not k.startswith("NNI_")})
        return time.perf_counter() - started

    cumulative, with_import, bare = [], [], []
    for _ in range(runs):
        result = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                                text=True, check=True)
        # the module and its parent packages, each a top-level entry (``-X importtime`` nests the rest)
        wanted = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        top = [ln.split("|") for ln in result.stderr.splitlines() if ln.startswith("import time:")]
        cumulative.append(sum(int(f[1]) for f in top if f[2].startswith(" ") and not f[2].startswith("  ")
                              and f[2].strip() in wanted) / 1000)
        with_import.append(wall(f"import {module}"))
        bare.append(wall("pass"))
    return statistics.median(cumulative), (statistics.median(with_import) - statistics.median(bare)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the pool and of nni-core, alternated; medians are reported")
    parser.add_argument("--no-nni", action="store_true", help="skip NNI 3.0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="manager-bench-") as tmp:
        work = Path(tmp)
        code = work / "code"
        code.mkdir()
        (code / "trial.py").write_text(TRIAL)
        pools, runs = [], []
        for attempt in range(args.repeat):  # alternated, so that a busy spell hits both alike
            pools.append(run_pool(code, args.trials, args.concurrency))
            runs.append(run_nni_core(work / f"run{attempt}", code, args.trials, args.concurrency))
        pool = statistics.median(pools)
        ours = statistics.median(r[0] for r in runs)
        rss, peak, cpu = (max(r[i] for r in runs) for i in (1, 2, 3))
        nni, how = (None, "") if args.no_nni else run_nni(work, code, args.trials, args.concurrency)
    print(f"{args.trials} trials at concurrency {args.concurrency} (start to DONE; medians of {args.repeat}):")
    print(f"  bare process pool  {pool:6.2f} s   runs: {', '.join(f'{t:.2f}' for t in pools)}")
    print(f"  nni-core manager   {ours:6.2f} s   runs: {', '.join(f'{r[0]:.2f}' for r in runs)}"
          f"   = {ours / pool:.2f}x the bare pool (target <= 1.5x)")
    if nni is not None:
        print(f"  NNI 3.0            {nni:6.2f} s   nni-core is {nni / ours:.1f}x faster (target >= 8x); {how}")
    print(f"manager memory with Random (worst run): {rss:.1f} MB RSS at DONE, peak {peak:.1f} MB "
          f"(target <= 60 MB); manager CPU {cpu:.2f} s for the whole experiment")
    ours_import, ours_extra = import_cost_ms(sys.executable, "nni_core.trial")
    print(f"import nni_core.trial: {ours_import:.1f} ms (importtime), +{ours_extra:.0f} ms wall over `python -c pass`"
          " (target <= 30 ms)")
    if not args.no_nni:
        nni_import, nni_extra = import_cost_ms(str(nni_python()), "nni", runs=3)
        print(f"import nni (3.0):      {nni_import:.1f} ms (importtime), +{nni_extra:.0f} ms wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
