"""The template's own tests: found by nni-core, its config validated, its checks reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nni_plugin_template
from nni_core.config import load_config
from nni_core.testing import registered_plugins

HERE = Path(__file__).resolve().parent.parent


def nni_core_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nni_core", *args], capture_output=True, text=True,
                          env={**os.environ, "NNI_CORE_PLUGINS": "template,local"})


def test_the_platform_is_registered():
    with registered_plugins(nni_plugin_template, installed=False) as plugins:
        assert plugins.platforms["template"].training_service.endswith(":NiceTrainingService")


def test_the_example_config_is_valid_with_its_niceness(tmp_path):
    loaded = load_config(HERE / "example.yml")
    assert loaded.config.training_service.niceness == 5


def test_a_bad_niceness_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text((HERE / "example.yml").read_text().replace("niceness: 5", "niceness: 40")
                   .replace("trialCodeDirectory: trial", f"trialCodeDirectory: {HERE / 'trial'}"))
    result = nni_core_cli("validate", str(bad))
    assert result.returncode == 2
    assert "trainingService.niceness: is out of range (got 40; expected an integer from 0 to 19)" in result.stderr
    assert "Traceback" not in result.stderr
