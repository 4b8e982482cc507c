"""Bad input: one clear line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.cli.conftest import cli, cli_json, write_experiment


def assert_one_line_error(result, *fragments: str) -> None:  # noqa: ANN001
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("nni-core: warning:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_config_file(tmp_path: Path) -> None:
    assert_one_line_error(cli("launch", str(tmp_path / "nope.yml")), "nope.yml", "does not exist")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    config = write_experiment(tmp_path)
    config.write_text(config.read_text() + "tuner: [unclosed\n  name: x\n")
    assert_one_line_error(cli("launch", str(config)), "line ", "column ")


def test_unknown_platform_lists_installed_ones(tmp_path: Path) -> None:
    config = write_experiment(tmp_path)
    config.write_text(config.read_text().replace("platform: local", "platform: nosuchcloud"))
    result = cli("launch", str(config))
    assert_one_line_error(result, "nosuchcloud", "local", "remote")


@pytest.mark.parametrize("prefix", ["/leading", "bad prefix", "a/b?c"])
def test_invalid_url_prefix(tmp_path: Path, prefix: str) -> None:
    config = write_experiment(tmp_path)
    assert_one_line_error(cli("launch", str(config), "--url-prefix", prefix), "--url-prefix")


def test_port_in_use_names_the_process(tmp_path: Path) -> None:
    config = write_experiment(tmp_path)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert_one_line_error(cli("launch", str(config), "--port", str(port)),
                              f"port {port} is in use", f"pid {os.getpid()}")
    assert cli_json("list", "--all") == []  # nothing left in the registry


@pytest.mark.parametrize("command", [["show", "zzzz9999"], ["stop", "zzzz9999"], ["resume", "zzzz9999"],
                                     ["trials", "zzzz9999"], ["logs", "zzzz9999"]])
def test_unknown_experiment_id(command: list[str]) -> None:
    assert_one_line_error(cli(*command), "no experiment with id 'zzzz9999'")


def test_unknown_manager(tmp_path: Path) -> None:
    config = write_experiment(tmp_path)
    assert_one_line_error(cli("launch", str(config), "--manager", "nope"), "unknown --manager 'nope'", "embedded")


def test_update_needs_a_change() -> None:
    assert_one_line_error(cli("update", "whatever"), "nothing to update")


def test_a_stopped_experiment_without_its_store(tmp_path: Path) -> None:
    """Reading a stopped experiment needs its store; without it, one line says what to do."""
    import shutil

    launched = cli_json("launch", str(write_experiment(tmp_path, trials=1)))
    assert cli("stop", launched["id"]).returncode == 0
    shutil.rmtree(Path(launched["experimentDir"]) / "db")
    for command in (["trials", launched["id"]], ["export", launched["id"], "--format", "csv"]):
        assert_one_line_error(cli(*command), launched["id"], "store cannot be read", "nni-core view")
    shown = cli("show", launched["id"])  # what the registry knows is still shown
    assert shown.returncode == 0 and "STOPPED" in shown.stdout
