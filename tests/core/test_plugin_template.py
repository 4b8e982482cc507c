"""A third party's plugin, pip-installed from outside the repository, is found and used.

examples/plugin-template is installed into a fresh virtual environment beside nni-core (as a
user would install nni-plugin-<platform>); nni-core lists it, validates its configs, runs the
template's own tests, and runs an experiment on its platform through its training service.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, make_venv_beside_nni_core, pip_install, run_cli

TEMPLATE = REPO_ROOT / "examples" / "plugin-template"


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    python = make_venv_beside_nni_core(tmp_path_factory.mktemp("template-venv") / "venv")
    pip_install(python, str(TEMPLATE))
    return str(python)


def test_nni_core_lists_the_installed_plugin(venv_python: str) -> None:
    result = run_cli("plugins", python=venv_python)
    assert result.returncode == 0, result.stderr
    template = {row["name"]: row for row in json.loads(result.stdout)}["template"]
    assert template["distribution"] == "nni-plugin-template"
    assert template["platforms"] == ["template"]
    assert {"register_platforms", "validate_config"} <= set(template["hooks"])


def test_nni_core_validates_a_config_on_its_platform(venv_python: str) -> None:
    result = run_cli("validate", str(TEMPLATE / "example.yml"), python=venv_python)
    assert result.returncode == 0, result.stderr
    canonical = json.loads(run_cli("validate", "--canonical", str(TEMPLATE / "example.yml"),
                                   python=venv_python).stdout)
    assert canonical["trainingService"]["platform"] == "template"
    assert canonical["trainingService"]["niceness"] == 5


def test_without_the_plugin_the_platform_is_unknown_and_the_package_named() -> None:
    result = run_cli("validate", str(TEMPLATE / "example.yml"))
    assert result.returncode == 2
    assert "nni-plugin-template" in result.stderr and "Traceback" not in result.stderr


def test_the_template_passes_its_own_tests(venv_python: str) -> None:
    result = subprocess.run([venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            cwd=TEMPLATE, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_an_experiment_runs_on_the_plugins_training_service(venv_python: str) -> None:
    # trials run `python3` from PATH, as when the user's virtual environment is active
    active = {"PATH": f"{Path(venv_python).parent}{os.pathsep}{os.environ['PATH']}"}
    launched = run_cli("launch", "--json", "--foreground", str(TEMPLATE / "example.yml"),
                       python=venv_python, timeout=300, env=active)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    listed = json.loads(run_cli("list", "--all", "--json", python=venv_python).stdout)
    (experiment,) = listed
    assert run_cli("view", experiment["id"], python=venv_python).returncode == 0
    try:
        exported = json.loads(run_cli("export", experiment["id"], "--format", "json", python=venv_python).stdout)
    finally:
        run_cli("stop", experiment["id"], python=venv_python)
    assert len(exported) == 4
    # each trial reported the CPU priority it ran at: the template's training service set it
    assert all(json.loads(row["value"])["niceness"] == 5 for row in exported)
