"""``rayInit``: a local Ray cluster started with the experiment and stopped with it (only it)."""

from __future__ import annotations

import asyncio
import os

from tests.ray.support import Harness


def processes_mentioning(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def test_ray_init_starts_a_cluster_for_the_experiment_and_stops_it(tmp_path, code_dir):
    config = {"rayInit": {"host": "127.0.0.4", "numCpus": 1, "objectStoreMemory": "80mb"},
              "envVars": {"NNI_TEST_SDK": "core"}}

    async def run() -> tuple[Harness, str, list[int]]:
        harness = await Harness(tmp_path, code_dir, config).start()
        cluster = harness.service.cluster
        assert cluster is not None and harness.service.api_url == cluster.dashboard_url
        assert cluster.dashboard_url.startswith("http://127.0.0.4:")
        temp_dir = cluster.temp_dir
        running = processes_mentioning(temp_dir)
        await harness.submit("init0", x=4)
        await harness.events.wait(lambda: "init0" in harness.events.ended, 300, "the trial")
        await harness.service.stop()
        return harness, temp_dir, running

    harness, temp_dir, running = asyncio.run(run())
    assert harness.events.ended["init0"] == (0, None)
    assert harness.events.final("init0")["default"] == 8
    assert harness.service.placements["init0"] == "127.0.0.4"
    assert running  # the cluster's processes existed ...
    assert processes_mentioning(temp_dir) == []  # ... and are gone, with their folder
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
    takes the cluster along (here a stand-in process plays the manager)."""
    import subprocess

    from nni_plugin_ray.cluster import LocalRayCluster

    from tests.support import wait_for

    manager = subprocess.Popen(["sleep", "600"])
    cluster = LocalRayCluster(host="127.0.0.4", num_cpus=1, object_store_mb=80, stop_with_pid=manager.pid)
    try:
        cluster.start()
        head = cluster.nodes[0].process.pid
        members = process_group(head)
        assert len(members) > 2 and processes_mentioning(cluster.temp_dir)  # ray start, GCS, raylet, ...
        manager.kill()
        manager.wait()
        wait_for(lambda: process_group(head) == [] and processes_mentioning(cluster.temp_dir) == [], 60,
                 "the cluster's processes to end with the manager")
    finally:
        manager.kill()
        cluster.stop()
