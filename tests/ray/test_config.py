"""The ``ray`` trainingService section: ``nni-core validate`` as a user runs it (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import run_cli

BASE = """\
trialCommand: python3 trial.py
trialConcurrency: 2
searchSpace:
  x: {_type: uniform, _value: [0, 1]}
tuner: {name: Random}
trainingService:
"""


def validate(tmp_path: Path, section: str):
    path = tmp_path / "exp.yml"
    path.write_text(BASE + "".join(f"  {line}\n" for line in section.strip().splitlines()))
    return path, run_cli("validate", str(path), env={"HOME": str(tmp_path)})


def test_a_full_ray_section_is_valid(tmp_path: Path) -> None:
    path, result = validate(tmp_path, """
platform: ray
address: ray://head.example:10001
trialCpuNumber: 0.5
trialGpuNumber: 1
trialMemorySize: 2gb
resources: {accelerator_a: 1}
pip: [scikit-learn]
envVars: {OMP_NUM_THREADS: "1"}
runtimeEnv: {excludes: ["*.ckpt"]}
nodeFailureRetries: 2
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{path}: valid (v2, platform ray)"]


def test_ray_init_alone_is_valid(tmp_path: Path) -> None:
    _, result = validate(tmp_path, "platform: ray\nrayInit: {numCpus: 2, resources: {big: 1}}")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("section, line", [
    ("platform: ray",
     "trainingService.address: is not set (expected the cluster's Job API (http://head:8265) or Ray client "
     "address (ray://head:10001), or rayInit for a local cluster)"),
    ("platform: ray\naddress: head:8265",
     "trainingService.address: has no known scheme (got 'head:8265'; expected http://host:8265 (Job API) "
     "or ray://host:10001 (Ray client))"),
    ("platform: ray\naddress: http://h:8265\nrayInit: {numCpus: 1}",
     "trainingService.rayInit: cannot be used with address (got 'http://h:8265'; expected either address "
     "(an existing cluster) or rayInit (a local one))"),
    ("platform: ray\naddress: http://h:8265\nresources: {GPU: 1}",
     "trainingService.resources: GPU is set with trialCpuNumber / trialGpuNumber / trialMemorySize, "
     "not in resources (got {'GPU': 1})"),
    ("platform: ray\naddress: http://h:8265\nresources: {a: -1}",
     "trainingService.resources: amounts must not be negative (a) (got {'a': -1})"),
    ("platform: ray\naddress: http://h:8265\ntrialMemorySize: 2zb",
     "trainingService.trialMemorySize: is not a size: '2z' is not a number; write e.g. 512mb or 2gb "
     "(got '2zb')"),
    ("platform: ray\naddress: http://h:8265\nruntimeEnv: {pip: [x]}",
     "trainingService.runtimeEnv.pip: is set by pip (got ['x']; expected use pip instead)"),
    ("platform: ray\naddress: http://h:8265\ntrialCpuNumber: many",
     "trainingService.trialCpuNumber: has the wrong type (got 'many'; expected a number)"),
])
def test_bad_ray_sections_get_one_line_each(tmp_path: Path, section: str, line: str) -> None:
    _, result = validate(tmp_path, section)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert "Traceback" not in result.stderr
