"""The plugin's hooks and the expanded code's runtime, with real configs and real trial processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nni_core.config import canonical_json, config_from_json
from nni_core.errors import UsageError
from nni_plugin_annotation import expand_trial_code
from nni_plugin_annotation.plugin import annotate

from tests.annotation.compare import DATA, E2E_SPACE, digest, files_under
from tests.support import REPO_ROOT, run_cli

def make_config(code: Path, **extra: object) -> object:
    data = {"trialCommand": "python3 trial.py", "trialCodeDirectory": str(code), "trialConcurrency": 1,
            "tuner": {"name": "Random"}, "trainingService": {"platform": "local"}, **extra}
    return config_from_json(data)


def test_hook_expands_a_copy_and_sets_the_search_space(tmp_path: Path) -> None:
    code = DATA / "e2e"
    before = digest(code)
    config = make_config(code, useAnnotation=True)
    result = expand_trial_code(config=config, experiment_dir=str(tmp_path))
    copy = tmp_path / "trial_code"
    assert result.search_space == E2E_SPACE
    assert result.trial_code_directory == str(copy)
    assert result.training_service.trial_code_directory == str(copy)
    assert result.use_annotation is False  # the copy is plain code now, as NNI had it
    assert files_under(copy) == {"trial.py", "_nni_annotation.py"}
    assert "key='trial/x/choice'" in (copy / "trial.py").read_text()
    assert digest(code) == before
    # the derived config is a valid config: its canonical JSON builds again (what resume does)
    rebuilt = config_from_json(canonical_json(result))
    assert rebuilt.search_space == E2E_SPACE and rebuilt.trial_code_directory == str(copy)


def test_hook_does_nothing_without_use_annotation(tmp_path: Path) -> None:
    config = make_config(DATA / "e2e", searchSpace={"a": {"_type": "choice", "_value": [1]}})
    assert expand_trial_code(config=config, experiment_dir=str(tmp_path)) is None
    assert list(tmp_path.iterdir()) == []


def test_hook_rejects_code_without_annotations(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "trial.py").write_text("print('no annotations')\n")
    with pytest.raises(UsageError, match="useAnnotation is true but no NNI annotation"):
        expand_trial_code(config=make_config(code, useAnnotation=True), experiment_dir=str(tmp_path / "exp"))


def test_experiment_folder_inside_the_trial_code_is_not_copied_into_itself(tmp_path: Path) -> None:
    (tmp_path / "trial.py").write_text((DATA / "e2e" / "trial.py").read_text())
    experiment = tmp_path / "nni-experiments" / "abc"
    experiment.mkdir(parents=True)
    (experiment / "old.log").write_text("x")
    space = annotate(str(tmp_path), str(experiment / "trial_code"))
    assert space == E2E_SPACE
    assert files_under(experiment / "trial_code") == {"trial.py", "_nni_annotation.py"}


def test_ss_gen_prints_and_writes(tmp_path: Path) -> None:
    out = tmp_path / "space.json"
    printed = run_cli("ss-gen", "--trial-dir", str(DATA / "e2e"))
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == E2E_SPACE
    written = run_cli("ss-gen", "--trial-dir", str(DATA / "e2e"), "-o", str(out))
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(out.read_text()) == E2E_SPACE
    assert not (DATA / "e2e" / "_nni_annotation.py").exists()


# --- the runtime, in real trial processes (NNI's file protocol: parameter.cfg and .nni/metrics) -------

TRIAL_RUNNER = """
import json, runpy, sys
if sys.argv[2] == 'hide-nni-core':
    sys.modules['nni_core'] = None  # as if nni-core were not installed: importing it fails
sys.path.insert(0, '.')
runpy.run_path('trial.py', run_name='__main__')
import _nni_annotation
with open(sys.argv[1], 'w') as f:
    f.write(_nni_annotation._sdk.__name__)
"""


def run_expanded_trial(python: str, tmp_path: Path, parameters: dict,
                       hide_nni_core: bool = False) -> tuple[str, list[dict]]:
    """Expand data/e2e, run it as a trial with ``parameters``; returns (SDK module, metrics)."""
    code, sys_dir = tmp_path / "code", tmp_path / "trial"
    annotate(str(DATA / "e2e"), str(code))
    sys_dir.mkdir()
    (sys_dir / "parameter.cfg").write_text(json.dumps({"parameter_id": 5, "parameters": parameters}))
    env = {**os.environ, "HOME": str(tmp_path), "NNI_PLATFORM": "local", "NNI_SYS_DIR": str(sys_dir),
           "NNI_OUTPUT_DIR": str(sys_dir), "NNI_TRIAL_JOB_ID": "Abc12", "NNI_EXP_ID": "exp", "NNI_TRIAL_SEQ_ID": "0"}
    env.pop("NNI_TRIAL_COMMAND_CHANNEL", None)
    done = subprocess.run([python, "-c", TRIAL_RUNNER, str(tmp_path / "sdk"),
                           "hide-nni-core" if hide_nni_core else "-"], cwd=code, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    records = []
    raw = (sys_dir / ".nni" / "metrics").read_text()
    while raw:  # "ME" + 6-digit length + JSON, NNI's framing
        assert raw.startswith("ME"), raw[:40]
        size = int(raw[2:8])
        records.append(json.loads(raw[8:8 + size]))
        raw = raw[8 + size:].lstrip("\n")
    return (tmp_path / "sdk").read_text(), records


def metric_values(records: list[dict]) -> list[tuple[str, float]]:
    return [(r["type"], float(json.loads(r["value"]))) for r in records if r["type"] in ("PERIODICAL", "FINAL")]


PARAMS = {"trial/x/choice": 3, "trial/y/uniform": 0.25, "trial/op/function_choice": "cube(x)"}


def test_runtime_reports_through_nni_core_trial(tmp_path: Path) -> None:
    sdk, records = run_expanded_trial(sys.executable, tmp_path, PARAMS)
    assert sdk == "nni_core.trial"
    assert metric_values(records) == [("PERIODICAL", 27.0), ("FINAL", 27.25)]
    assert {r["parameter_id"] for r in records} == {5}


def test_runtime_reports_through_real_nni_3_without_nni_core(tmp_path: Path) -> None:
    """NNI 3.0 (the test environment's) when nni_core cannot be imported."""
    sdk, records = run_expanded_trial(sys.executable, tmp_path, PARAMS, hide_nni_core=True)
    assert sdk == "nni"
    assert metric_values(records) == [("PERIODICAL", 27.0), ("FINAL", 27.25)]


def test_runtime_reports_through_real_nni_2_10_without_nni_core(tmp_path: Path) -> None:
    """The expanded code in an environment with NNI 2.10.1 and no nni-core (or this plugin)."""
    found = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "nni210-venv.sh")], capture_output=True,
                           text=True, timeout=900)
    assert found.returncode == 0, found.stderr[-2000:]
    python = found.stdout.strip().splitlines()[-1]
    assert subprocess.run([python, "-c", "import nni_core"], capture_output=True).returncode != 0
    sdk, records = run_expanded_trial(python, tmp_path, {**PARAMS, "trial/op/function_choice": "square(x)"})
    assert sdk == "nni"
    assert metric_values(records) == [("PERIODICAL", 9.0), ("FINAL", 9.25)]


def test_plugin_is_found_through_its_entry_point() -> None:
    from nni_core.plugins import load_plugins

    rows = {row["name"]: row for row in load_plugins().describe()}
    assert rows["annotation"]["distribution"] == "nni-plugin-annotation"
    assert rows["annotation"]["hooks"] == ["expand_trial_code", "register_commands"]


def test_files_are_read_in_their_declared_encoding(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "latin.py").write_bytes("# -*- coding: latin-1 -*-\n'''@nni.variable(nni.choice('caf\u00e9', 'th\u00e9'), "
                                   "name=drink)'''\ndrink = 'caf\u00e9'\n".encode("latin-1"))
    (src / "legacy.py").write_bytes(b"print 'caf\xe9'\n")  # no nni: copied untouched, never decoded
    space = annotate(str(src), str(tmp_path / "code"))
    assert space == {"latin/drink/choice": {"_type": "choice", "_value": ["caf\u00e9", "th\u00e9"]}}
    assert (tmp_path / "code" / "legacy.py").read_bytes() == b"print 'caf\xe9'\n"
    (src / "broken.py").write_bytes(b"import nni\nx = nni.choice({1: 1})  # caf\xe9\n")
    with pytest.raises(UsageError, match=f"^{src / 'broken.py'}:1: cannot decode the file"):
        annotate(str(src), str(tmp_path / "code2"))
