"""The ``ray`` training service on a real two-node Ray cluster on loopback.

One cluster for the module (see conftest): head 127.0.0.2 (2 CPUs), worker 127.0.0.3 (2 CPUs and
the custom resource ``worker_marker``). Experiments run through the real embedded manager; the
node-failure test drives the training service directly, and runs after the others that use the
module's cluster because it kills the worker. Then ``rayInit``: a local Ray cluster started with
the experiment on 127.0.0.4 and stopped with it (only it). Every Ray test is in this one module so
that no two Ray clusters start at the same time on the two cores (starting one loads them both;
Ray then fails jobs it would run on a quieter machine).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from nni_plugin_ray.cluster import processes_naming

from tests.manager.harness import Manager, final_value, make_config
from tests.support import wait_for
from tests.ray.conftest import HEAD, WORKER, WORKER_RESOURCE
from tests.ray.support import Harness

pytestmark = pytest.mark.timeout(900)


def ray_jobs(cluster, experiment_id: str) -> list:
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(cluster.dashboard_url).list_jobs()
    return [job for job in jobs if (job.metadata or {}).get("nni_experiment") == experiment_id]


def job_of(cluster, experiment_id: str, trial_id: str):
    found = [job for job in ray_jobs(cluster, experiment_id) if job.metadata.get("nni_trial") == trial_id]
    assert len(found) == 1, found
    return found[0]


def node_of(job) -> str | None:
    return urlsplit(job.driver_agent_http_address).hostname if job.driver_agent_http_address else None


def experiment(tmp_path: Path, code_dir: Path, cluster, experiment_id: str, **fields) -> tuple[Manager, dict]:
    training_service = {"platform": "ray", "address": cluster.dashboard_url,
                        "trialCommand": "python3 trial.py", "trialCodeDirectory": str(code_dir),
                        "trialCpuNumber": 1, **fields.pop("trainingService", {})}
    config = make_config(code_dir, "python3 trial.py", **fields)
    config["trainingService"] = training_service
    manager = Manager(tmp_path, experiment_id).start()
    manager.submit(config)
    return manager, config


def pid_of(trial: dict) -> int | None:
    path = Path(trial["logPath"]) / "trial.stdout"
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith("pid "):
            return int(line.split()[1])
    return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def pid_trial(code_dir: Path) -> Path:
    """The module's trial, printing its pid first (nni-core's SDK leaves stdout alone)."""
    path = code_dir / "trial.py"
    path.write_text('import os\nprint("pid", os.getpid(), flush=True)\n' + path.read_text())
    return path


def test_twenty_trials_at_concurrency_four_use_both_nodes(ray_cluster, tmp_path, code_dir):
    manager, _ = experiment(tmp_path, code_dir, ray_cluster, "rayexp20",
                            trialConcurrency=4, maxTrialNumber=20)
    try:
        manager.wait_status("DONE", timeout=600)
        trials = manager.trials()
    finally:
        manager.stop()
    assert len(trials) == 20
    assert {t["status"] for t in trials} == {"SUCCEEDED"}, [(t["trialJobId"], t["status"]) for t in trials]
    sdks = []
    for trial in trials:
        x = json.loads(trial["hyperParameters"][0])["parameters"]["x"]
        final = final_value(trial)
        assert final["default"] == pytest.approx(2 * x), trial
        sdks.append(final["sdk"])
        out = Path(trial["logPath"]) / ("trial.log" if final["sdk"] == "nni" else "trial.stdout")
        # the nodes' PATH has no venv: `python3` is the experiment's interpreter only by our doing
        interpreter = next(line.split("interpreter ")[1] for line in out.read_text().splitlines() if "interpreter " in line)
        assert os.path.dirname(interpreter) == os.path.dirname(sys.executable), interpreter
        assert "to stderr" in (Path(trial["logPath"]) / "trial.stderr").read_text()
    assert sdks.count("nni") == 4 and sdks.count("core") == 16  # unchanged `import nni` trials too
    jobs = wait_for(lambda: len(js := ray_jobs(ray_cluster, "rayexp20")) == 20
                    and {str(j.status.value) for j in js} == {"SUCCEEDED"} and js, 30, "20 Ray jobs SUCCEEDED")
    assert {node_of(j) for j in jobs} == {HEAD, WORKER}


def test_custom_resource_places_trials_on_the_node_that_has_it(ray_cluster, tmp_path, code_dir):
    """Also: a Ray client address (ray://) works; the service finds the Job API through it."""

    async def run() -> Harness:
        harness = await Harness(tmp_path, code_dir, {"address": ray_cluster.client_address,
                                                     "resources": {WORKER_RESOURCE: 1},
                                                     "envVars": {"NNI_TEST_SDK": "core"}}).start()
        for i in range(3):
            await harness.submit(f"mark{i}", x=i)
        await harness.events.wait(lambda: len(harness.events.ended) == 3, 300, "3 trials")
        await harness.service.stop()
        return harness

    harness = asyncio.run(run())
    assert harness.service.api_url == ray_cluster.dashboard_url
    assert harness.events.ended == {f"mark{i}": (0, None) for i in range(3)}
    assert [harness.events.final(f"mark{i}")["default"] for i in range(3)] == [0, 2, 4]
    assert set(harness.service.placements.values()) == {WORKER}
    for i in range(3):
        assert node_of(job_of(ray_cluster, "rayexp", f"mark{i}")) == WORKER


def test_unsatisfiable_resource_waits_and_the_experiment_says_why(ray_cluster, tmp_path, code_dir):
    manager, _ = experiment(tmp_path, code_dir, ray_cluster, "raywait", trialConcurrency=1, maxTrialNumber=1,
                            trainingService={"resources": {"no_such_accelerator": 1}})
    try:
        log = wait_for(lambda: "no_such_accelerator" in (text := manager.log()) and "waiting in Ray" in text
                       and text, 120, "the waiting reason in the manager log")
        assert "no node of the Ray cluster has the resources" in log
        trial = manager.trials()[0]
        # ... and over REST, as the trial's message
        assert "no_such_accelerator" in trial["message"] and "waiting in Ray" in trial["message"]
        assert "finalMetricData" not in trial or not trial["finalMetricData"]
        assert str(job_of(ray_cluster, "raywait", trial["trialJobId"]).status.value) == "PENDING"
        # a waiting trial can be canceled: it ends at once; Ray keeps the stop for the job
        assert manager.request("DELETE", f"/trial-jobs/{trial['trialJobId']}").status_code == 200
        wait_for(lambda: manager.trials()[0]["status"] == "USER_CANCELED", 30, "USER_CANCELED")
        assert "canceled while waiting" in (Path(trial["logPath"]) / "trial.stderr").read_text()
        assert str(job_of(ray_cluster, "raywait", trial["trialJobId"]).status.value) in ("PENDING", "STOPPED")
    finally:
        manager.stop()


def test_cancel_and_max_trial_duration_stop_the_ray_job(ray_cluster, tmp_path, code_dir, pid_trial):
    release = tmp_path / "never"  # the trials wait for it forever
    code = pid_trial.read_text().replace('release = params.get("release")', f'release = {str(release)!r}')
    pid_trial.write_text('import time\nprint("started", time.time(), flush=True)\n' + code)
    limit_s = 20  # counted from the trial's start, not from its submission (Ray's job start-up takes seconds)
    manager, _ = experiment(tmp_path, code_dir, ray_cluster, "raystop", trialConcurrency=2, maxTrialNumber=2,
                            maxTrialDuration=f"{limit_s}s", trainingService={"envVars": {"NNI_TEST_SDK": "core"}})
    try:
        trials = wait_for(lambda: len(t := manager.trials()) == 2 and all(pid_of(x) for x in t) and t,
                          100, "two trials running")
        pids = {t["trialJobId"]: pid_of(t) for t in trials}
        assert all(alive(pid) for pid in pids.values())
        canceled, timed = sorted(pids)
        assert manager.request("DELETE", f"/trial-jobs/{canceled}").status_code == 200
        wait_for(lambda: {t["trialJobId"]: t["status"] for t in manager.trials()}[canceled] == "USER_CANCELED",
                 60, "the canceled trial")
        wait_for(lambda: {t["trialJobId"]: t["status"] for t in manager.trials()}[timed] == "EARLY_STOPPED",
                 150, "the trial past maxTrialDuration")
        stopped = {t["trialJobId"]: t for t in manager.trials()}[timed]
        stdout = (Path(stopped["logPath"]) / "trial.stdout").read_text()
        process_start = float(next(line.split()[1] for line in stdout.splitlines() if line.startswith("started ")))
        # the whole limit ran after the process began (up to Ray's status poll and interpreter start)
        assert stopped["endTime"] / 1000 - process_start >= limit_s - 2, (stopped, process_start)
        assert stopped["startTime"] / 1000 >= process_start - 2
        for trial_id, pid in pids.items():
            wait_for(lambda: str(job_of(ray_cluster, "raystop", trial_id).status.value) == "STOPPED", 30,
                     f"Ray job of {trial_id} STOPPED")
            wait_for(lambda: not alive(pid), 30, f"trial process {pid} gone")
    finally:
        manager.stop()


def test_killing_a_node_fails_or_retries_its_trials_and_the_experiment_goes_on(ray_cluster, tmp_path, code_dir):
    """Runs last: it kills the worker node.

    Capacity decides placement: ``pinned`` needs the worker's resource; then three retried trials
    fill the 3 CPUs left, so exactly one of them runs on the worker.
    """
    release = tmp_path / "release"

    async def run() -> tuple[Harness, Harness]:
        address = {"address": ray_cluster.dashboard_url, "envVars": {"NNI_TEST_SDK": "core"}}
        pinned = await Harness(tmp_path / "a", code_dir, {**address, "resources": {WORKER_RESOURCE: 1}},
                               "raypin").start()
        retried = await Harness(tmp_path / "b", code_dir, {**address, "nodeFailureRetries": 1},
                                "rayretry").start()
        await pinned.submit("pinned", x=1, release=str(release))
        await pinned.events.wait(lambda: pinned.events.intermediates("pinned"), 180, "pinned running")
        for i in range(3):
            await retried.submit(f"r{i}", x=i, release=str(release))
        await retried.events.wait(lambda: all(retried.events.intermediates(f"r{i}") for i in range(3)),
                                  180, "three retried trials running")
        placements = dict(retried.service.placements)
        assert pinned.service.placements == {"pinned": WORKER}
        on_worker = [t for t, node in placements.items() if node == WORKER]
        assert len(on_worker) == 1 and list(placements.values()).count(HEAD) == 2, placements

        ray_cluster.kill_node(ray_cluster.nodes[-1])
        await pinned.events.wait(lambda: "pinned" in pinned.events.ended, 180, "the pinned trial to fail")
        exit_code, sig = pinned.events.ended["pinned"]
        assert sig is None and exit_code not in (0, None)
        assert "failed" in pinned.read("pinned", "trial.stderr")
        assert not retried.events.ended  # the worker's trial was submitted again, not ended

        release.touch()
        await retried.events.wait(lambda: len(retried.events.ended) == 3, 300, "all retried trials")
        assert retried.events.ended == {f"r{i}": (0, None) for i in range(3)}
        assert retried.service.placements[on_worker[0]] == HEAD  # its second run
        # the experiment goes on: a new trial runs on the surviving node
        await retried.submit("after", x=5)
        await retried.events.wait(lambda: "after" in retried.events.ended, 180, "a trial after the failure")
        assert retried.events.ended["after"] == (0, None) and retried.events.final("after")["default"] == 10
        for harness in (pinned, retried):
            await harness.service.stop()
        return pinned, retried

    asyncio.run(run())


# --- rayInit ---------------------------------------------------------------------------------------


def test_ray_init_starts_a_cluster_for_the_experiment_and_stops_it(tmp_path, code_dir):
    config = {"rayInit": {"host": "127.0.0.4", "numCpus": 1, "objectStoreMemory": "80mb"},
              "envVars": {"NNI_TEST_SDK": "core"}}

    async def run() -> tuple[Harness, str, list[int]]:
        harness = await Harness(tmp_path, code_dir, config).start()
        cluster = harness.service.cluster
        assert cluster is not None and harness.service.api_url == cluster.dashboard_url
        assert cluster.dashboard_url.startswith("http://127.0.0.4:")
        temp_dir = cluster.temp_dir
        running = processes_naming(temp_dir)
        await harness.submit("init0", x=4)
        await harness.events.wait(lambda: "init0" in harness.events.ended, 300, "the trial")
        await harness.service.stop()
        return harness, temp_dir, running

    harness, temp_dir, running = asyncio.run(run())
    assert harness.events.ended["init0"] == (0, None)
    assert harness.events.final("init0")["default"] == 8
    assert harness.service.placements["init0"] == "127.0.0.4"
    assert running  # the cluster's processes existed ...
    assert processes_naming(temp_dir) == []  # ... and are gone, with their folder
    assert not os.path.exists(temp_dir)


def process_group(pgid: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in "ZX" and int(fields[2]) == pgid:
            found.append(int(pid))
    return found


def test_a_ray_init_cluster_ends_with_the_manager_even_when_the_manager_is_killed():
    """rayInit passes the manager's pid: a manager killed before it could stop its cluster
    takes the cluster, and its temporary folder, along (a stand-in process plays the manager)."""
    import subprocess

    from nni_plugin_ray.cluster import LocalRayCluster

    from tests.support import wait_for

    manager = subprocess.Popen(["sleep", "600"])
    cluster = LocalRayCluster(host="127.0.0.4", num_cpus=1, object_store_mb=80, stop_with_pid=manager.pid)
    try:
        cluster.start()
        head = cluster.nodes[0].process.pid
        members = process_group(head)
        assert len(members) > 2 and processes_naming(cluster.temp_dir)  # ray start, GCS, raylet, ...
        manager.kill()
        manager.wait()
        wait_for(lambda: process_group(head) == [] and processes_naming(cluster.temp_dir) == [], 60,
                 "the cluster's processes to end with the manager")
        wait_for(lambda: not os.path.exists(cluster.temp_dir), 60, "the cluster's temporary folder to go")
    finally:
        manager.kill()
        cluster.stop()
