"""The experiment registry: ids, atomic entries, concurrent writers, liveness, id lookup."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
import sys
from pathlib import Path

import pytest

from nni_core.errors import UsageError
from nni_core.registry import Registry, process_alive, process_start_time


def _entry(experiment_id: str, **extra: object) -> dict:
    return {"id": experiment_id, "status": "RUNNING", "pid": None, "startTime": 1, **extra}


def _reserve_and_write(home: str, count: int, queue: multiprocessing.Queue) -> None:
    registry = Registry(home)
    ids = []
    for _ in range(count):
        experiment_id = registry.new_id()
        registry.put(_entry(experiment_id))
        ids.append(experiment_id)
    queue.put(ids)


def _bump(home: str, experiment_id: str, count: int) -> None:
    registry = Registry(home)
    for _ in range(count):
        with registry._locked(experiment_id):  # the read-modify-write `update` relies on
            entry = registry.get(experiment_id)
            entry["counter"] += 1
            registry._write(entry)


def test_concurrent_processes_get_distinct_ids_and_intact_entries(tmp_path: Path) -> None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_reserve_and_write, args=(str(tmp_path), 25, queue)) for _ in range(8)]
    for worker in workers:
        worker.start()
    ids = [i for _ in workers for i in queue.get(timeout=60)]
    for worker in workers:
        worker.join(60)
    assert len(ids) == len(set(ids)) == 200
    assert sorted(e["id"] for e in Registry(tmp_path).all()) == sorted(ids)
    assert not list((tmp_path / "registry").glob(".*")), "no temporary file left behind"


def test_concurrent_updates_of_one_entry_lose_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.put(_entry("shared01", counter=0))
    workers = [multiprocessing.Process(target=_bump, args=(str(tmp_path), "shared01", 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert registry.get("shared01")["counter"] == 200


def test_entries_are_private_json_files(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.put(_entry("abc12345", token="secret"))
    path = tmp_path / "registry" / "abc12345.json"
    assert json.loads(path.read_text())["token"] == "secret"
    assert path.stat().st_mode & 0o077 == 0


def test_dead_manager_is_marked_stopped(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    registry = Registry(tmp_path)
    registry.put(_entry("dead0001", pid=process.pid))
    entry = registry.refresh(registry.get("dead0001"))
    assert entry["status"] == "STOPPED" and entry["endTime"]
    assert registry.get("dead0001")["status"] == "STOPPED"


def test_reused_pid_is_not_mistaken_for_the_manager(tmp_path: Path) -> None:
    # This test process stands in for "someone else now has the manager's pid".
    registry = Registry(tmp_path)
    start = process_start_time(os.getpid())
    assert start is not None and process_alive(os.getpid(), start)
    registry.put(_entry("reused01", pid=os.getpid(), pidStartTime=start - 1))
    assert registry.refresh(registry.get("reused01"), ask_manager=False)["status"] == "STOPPED"
    registry.put(_entry("alive001", pid=os.getpid(), pidStartTime=start))
    assert registry.refresh(registry.get("alive001"), ask_manager=False)["status"] == "RUNNING"


def test_resolve_by_prefix_and_errors(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.put(_entry("abcd0001", pid=os.getpid()))
    registry.put(_entry("abce0002", status="STOPPED"))
    assert registry.resolve("abcd")["id"] == "abcd0001"
    assert registry.resolve("abce0002")["id"] == "abce0002"
    with pytest.raises(UsageError, match="ambiguous: it matches abcd0001, abce0002"):
        registry.resolve("abc")
    with pytest.raises(UsageError, match="no experiment with id 'zzz'"):
        registry.resolve("zzz")
    assert registry.resolve(None)["id"] == "abcd0001"  # the only one running
    registry.put(_entry("other003", pid=os.getpid()))
    with pytest.raises(UsageError, match="2 experiments are running"):
        registry.resolve(None)


def test_launch_that_ended_before_its_manager_started_is_failed(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    registry = Registry(tmp_path)
    registry.put(_entry("early001", status="INITIALIZED", launcherPid=process.pid))
    registry.put(_entry("early002", status="INITIALIZED", launcherPid=os.getpid(),
                        launcherStartTime=process_start_time(os.getpid())))
    assert registry.refresh(registry.get("early001"))["status"] == "FAILED"
    assert registry.refresh(registry.get("early002"))["status"] == "INITIALIZED"  # still launching


def test_an_id_reserved_by_a_launch_that_died_is_dropped_after_an_hour(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    fresh, abandoned = registry.new_id(), registry.new_id()
    registry.put(_entry("written"))
    two_hours_ago = time.time() - 7200
    os.utime(registry.directory / f"{abandoned}.json", (two_hours_ago, two_hours_ago))
    assert [e["id"] for e in registry.all()] == ["written"]
    assert (registry.directory / f"{fresh}.json").exists()  # a launch may still be reading its config
    assert not (registry.directory / f"{abandoned}.json").exists()
