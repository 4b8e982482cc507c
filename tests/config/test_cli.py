"""``nni-core validate`` and ``nni-core convert`` as a user runs them (a subprocess each)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.config.corpus import CONFIGS, expected_for, needs_corpus, placeholder_pairs, substitute
from tests.support import run_cli

LINE = re.compile(r"^\S[^\n]*: [^\n]+$")


@pytest.fixture()
def home(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("")
    return {"HOME": str(home)}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


GOOD = """\
trialCommand: python3 trial.py
trialConcurrency: 2
searchSpace:
  lr: {_type: loguniform, _value: [0.0001, 0.1]}
tuner: {name: TPE}
trainingService: {platform: local}
"""


def test_validate_valid_prints_one_summary_line(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", GOOD)
    result = run_cli("validate", str(config), env=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{config}: valid (v2, platform local)"]
    assert "Traceback" not in result.stderr


def test_validate_invalid_one_line_per_problem(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", """\
trialCommand: python3 trial.py
trialConcurrency: 0
maxExperimentDuration: 10x
searchSpace:
  lr: {_type: uniform, _value: [1, 0.1]}
tuner: {name: TPE}
trainingService: {platform: local, gpuIndices: "0,0"}
""")
    result = run_cli("validate", str(config), env=home)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        "trialConcurrency: must be greater than 0 (got 0)",
        "maxExperimentDuration: is not a duration: unknown unit (supported: d, h, m, s); "
        "write a number with a unit s, m, h or d, e.g. 1.5h (got '10x')",
        "trainingService.gpuIndices: GPU indices repeat (got [0, 0])",
        "searchSpace.lr._value: uniform needs low < high (got [1, 0.1]; expected [low, high])",
    ], result.stderr
    assert all(LINE.match(line) for line in lines)


def test_validate_reports_search_space_bounds(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", GOOD.replace("[0.0001, 0.1]", "[0, 0.1]"))
    result = run_cli("validate", str(config), env=home)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "searchSpace.lr._value[0]: loguniform needs low > 0 (it samples the logarithm) "
        "(got 0; expected a positive number)"]


def test_validate_yaml_syntax_error_names_file_line_column(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", "trialCommand: x\ntuner: {name: TPE\ntrialConcurrency: 1\n")
    result = run_cli("validate", str(config), env=home)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{config}: line 3, column 17: YAML syntax error")


def test_validate_missing_file(tmp_path: Path, home: dict[str, str]) -> None:
    result = run_cli("validate", str(tmp_path / "nope.yml"), env=home)
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'nope.yml'}: cannot read the config file: No such file or directory"


def test_unknown_platform_names_installed_ones_and_the_package(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", GOOD.replace("platform: local", "platform: slurm"))
    result = run_cli("validate", str(config), env=home)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("trainingService.platform: unknown platform; the package nni-plugin-slurm "
                           "would provide it (got 'slurm'; expected one of the installed platforms: ")
    for platform in ("local", "remote", "kubeflow", "frameworkcontroller", "aml", "dlc", "openpai"):
        assert platform in line


@needs_corpus
def test_validate_canonical_is_nnis_json(tmp_path: Path, home: dict[str, str]) -> None:
    rel = "examples/trials/mnist-tfv1/config_assessor.yml"  # v1, converted
    result = run_cli("validate", str(CONFIGS / rel), "--canonical", env=home, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pairs = placeholder_pairs({"${CONFIG_ROOT}": CONFIGS, "${HOME}": home["HOME"]})
    assert substitute(json.loads(result.stdout), pairs) == expected_for(rel)["canonical"]
    assert "warning: authorName: not supported by NNI v2; ignored (was 'default')" in result.stderr.splitlines()


@needs_corpus
def test_convert_prints_nnis_v2_yaml(home: dict[str, str]) -> None:
    rel = "examples/trials/mnist-pytorch/config_kubeflow.yml"
    result = run_cli("convert", str(CONFIGS / rel), env=home)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == expected_for(rel)["converted"]
    assert "warning: authorName: not supported by NNI v2; ignored (was 'default')" in result.stderr.splitlines()


def test_convert_carries_max_trial_duration_and_names_dropped_fields(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "v1.yml", """\
authorName: me
experimentName: e
trialConcurrency: 1
maxTrialDuration: 10m
trainingServicePlatform: local
searchSpacePath: ss.json
useAnnotation: false
fooBar: 1
tuner: {builtinTunerName: TPE, includeIntermediateResults: true}
trial: {command: python3 t.py, codeDir: ., shmMB: 64}
""")
    result = run_cli("convert", str(config), env=home)
    assert result.returncode == 0, result.stderr
    converted = yaml.safe_load(result.stdout)
    assert converted["maxTrialDuration"] == "10m"
    assert converted["trainingService"] == {"platform": "local"}
    assert result.stderr.splitlines() == [
        "warning: authorName: not supported by NNI v2; ignored (was 'me')",
        "warning: tuner.includeIntermediateResults: not supported by NNI v2; ignored (was true)",
        "warning: trial.shmMB: has no v2 equivalent; ignored (was 64)",
        "warning: fooBar: has no v2 equivalent; ignored (was 1)",
    ]


def test_convert_refuses_a_v2_config(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "exp.yml", GOOD)
    result = run_cli("convert", str(config), env=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"nni-core: error: {config}: not a v1 config (it has no "
                                     "trainingServicePlatform); v2 configs need no conversion")


def test_convert_unconvertible_exits_2(tmp_path: Path, home: dict[str, str]) -> None:
    config = write(tmp_path, "v1.yml", "trainingServicePlatform: local\nmultiPhase: true\ntrialConcurrency: 1\n")
    result = run_cli("convert", str(config), env=home)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "multiPhase: multi-phase experiments are no longer supported (got true; expected no multiPhase "
        "(NNI 2.0 removed it))"]
