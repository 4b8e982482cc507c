"""The launch pipeline through the embedding API: stages, failures after the manager started,
and the small validators the CLI shares."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import nni_core
from nni_core import hookimpl
from nni_core.errors import LaunchError, UsageError
from nni_core.launch import export_csv, parse_duration, validate_url_prefix
from nni_core.registry import Registry, process_alive
from nni_core.testing import registered_plugins
from tests.cli.conftest import processes_of, write_experiment


class FailingPlatformSetup:
    """A plugin whose configure_platform refuses, as a platform with a broken cluster would."""

    __name__ = "failing_setup"

    @hookimpl
    def configure_platform(self, launch):  # noqa: ANN001
        raise LaunchError("the cluster refused the setup")


def test_failure_after_manager_start_stops_it_and_closes_the_entry(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp")
    with registered_plugins(FailingPlatformSetup()) as plugins:
        with pytest.raises(LaunchError) as raised:
            nni_core.launch(config, plugins=plugins)
    message = str(raised.value)
    assert "failed at stage configure_platform: the cluster refused the setup" in message
    assert "last lines of the manager's output" in message
    [entry] = Registry().all()
    assert entry["status"] == "FAILED" and entry["error"].startswith("configure_platform:")
    assert entry["pid"] and not process_alive(entry["pid"])
    assert processes_of({entry["id"]}) == []


def _children_waiting_for_arguments() -> list[int]:
    """Live child processes of this test that are managers still waiting for their arguments."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            stat = (pid_dir / "stat").read_text()
            cmdline = (pid_dir / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, parent = stat[stat.rfind(")") + 2:].split()[:2]
        if int(parent) == os.getpid() and state not in "ZX" and b"--wait-for-arguments" in cmdline:
            found.append(int(pid_dir.name))
    return found


class WaitingManagersSpy:
    """Records, while the config is being validated, which managers wait for their arguments."""

    __name__ = "waiting_managers_spy"

    def __init__(self) -> None:
        self.waiting: list[int] | None = None

    @hookimpl
    def validate_config(self, config, problems):  # noqa: ANN001
        self.waiting = _children_waiting_for_arguments()


def test_the_manager_process_starts_before_the_config_is_read(tmp_path: Path) -> None:
    """``prepare_manager`` starts the manager's process first; ``start_manager`` hands that very
    process the experiment's folder and output files, and it runs the experiment."""
    config = write_experiment(tmp_path / "exp", trials=2)
    spy = WaitingManagersSpy()
    with registered_plugins(spy) as plugins:
        experiment = nni_core.launch(config, plugins=plugins)
    try:
        assert spy.waiting is not None and len(spy.waiting) == 1
        assert experiment.entry["pid"] == spy.waiting[0]
        command_line = Path(f"/proc/{spy.waiting[0]}/cmdline").read_bytes().split(b"\0")
        assert experiment.id.encode() in command_line  # `ps` shows which experiment it serves
        log_dir = experiment.experiment_dir / "log"
        assert os.readlink(f"/proc/{spy.waiting[0]}/fd/2") == str(log_dir / "manager.stderr")
        assert "--experiments-directory" in (log_dir / "manager.stderr").read_text()  # the header
        assert experiment.wait(timeout=60) == "DONE"
    finally:
        experiment.stop()


def test_a_launch_refused_before_the_manager_starts_leaves_nothing(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp")
    config.write_text(config.read_text().replace("name: Random", "name: NoSuchTuner"))
    with pytest.raises(UsageError, match="NoSuchTuner"):
        nni_core.launch(config)
    assert _children_waiting_for_arguments() == []  # the prepared manager is gone, not left importing
    registry = Registry()
    assert registry.all() == [] and list(registry.directory.glob("*.json")) == []  # nor the reserved id


def test_embedding_api_round_trip(tmp_path: Path) -> None:
    import yaml

    config = yaml.safe_load(write_experiment(tmp_path / "exp", trials=3, concurrency=3).read_text())
    config["trialCodeDirectory"] = str(tmp_path / "exp")
    config["experimentWorkingDirectory"] = str(tmp_path / "work")  # instead of NNI_CORE_HOME
    experiment = nni_core.launch(config)  # a dict, as a tool embedding nni-core builds it
    assert experiment.experiment_dir == tmp_path / "work" / experiment.id
    assert (experiment.experiment_dir / "db" / "nni.sqlite").is_file()
    try:
        assert experiment.status() in ("RUNNING", "NO_MORE_TRIAL", "DONE")
        # the manager answers the wait's long poll when the status changes: with polling every
        # hour instead, this would time out
        assert experiment.wait(timeout=60, interval=3600) == "DONE"
        assert len(experiment.trials()) == 3
        records = experiment.export(intermediate=True)
        assert len(records) == 3 and all(len(r["intermediate"]) == 3 for r in records)
    finally:
        assert experiment.stop()
    assert experiment.status() == "STOPPED"
    viewed = nni_core.view(experiment.id)
    try:
        assert viewed.status() == "VIEWED" and len(viewed.trials()) == 3
        with pytest.raises(LaunchError, match="readonly|read-only"):
            viewed.update(concurrency=2)
    finally:
        viewed.stop()


def test_url_prefix_rule() -> None:
    assert validate_url_prefix(None) == ""
    assert validate_url_prefix("nni/exp-1_a/") == "nni/exp-1_a"
    for bad in ("/nni", "a b", "a//b", "ä"):
        with pytest.raises(UsageError):
            validate_url_prefix(bad)


def test_durations() -> None:
    assert [parse_duration(v) for v in ("90", "30s", "10m", "2h", "1d", "1.5h", 7)] == [90, 30, 600, 7200, 86400, 5400, 7]
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration("2 weeks")


def test_csv_export_matches_nnictl_columns() -> None:
    records = [{"parameter": {"lr": 0.1, "units": 32}, "value": "0.5", "trialJobId": "abcde", "intermediate": [0.25, 0.5]},
               {"parameter": {"lr": 0.2, "units": 16}, "value": json.dumps({"default": 0.7, "loss": 1.2}),
                "trialJobId": "fghij", "intermediate": [0.7]}]
    lines = export_csv(records).splitlines()
    assert lines[0] == "default,intermediate,loss,lr,reward,trialJobId,units"
    assert lines[1] == ',"[0.25,0.5]",,0.1,0.5,abcde,32'
