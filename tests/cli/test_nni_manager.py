"""The real NNI 3.0 manager, started by nni-core (`--manager nni`, plugin nni-plugin-nnimanager)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.cli.conftest import cli_json, processes_of, status_of, write_experiment
from tests.support import wait_for

pytest.importorskip("nni_node", reason="needs nni==3.0 (requirements-dev.txt)")

NNI_TRIAL = """\
import nni
params = nni.get_next_parameter()
nni.report_intermediate_result(params["x"] / 2)
nni.report_final_result(params["x"])
"""


@pytest.mark.slow
def test_small_experiment_runs_to_done_on_nni(tmp_path: Path, nni_home: Path) -> None:
    config = write_experiment(tmp_path / "exp", trials=2, concurrency=2, trial=NNI_TRIAL)
    launched = cli_json("launch", str(config), "--manager", "nni", "--url-prefix", "nni/x")
    experiment_id, url = launched["id"], launched["url"]
    assert launched["manager"] == "nni" and url.endswith("/nni/x")
    assert requests.get(f"{url}/api/v1/nni/version", timeout=10).text == "3.0.0"  # the real thing
    final = wait_for(lambda: (s := status_of(experiment_id)) in ("DONE", "ERROR") and s, timeout=120, interval=0.5,
                     what="DONE on NNI")
    assert final == "DONE", cli_json("show", experiment_id)["progress"]
    trials = cli_json("trials", experiment_id)
    assert [t["status"] for t in trials] == ["SUCCEEDED", "SUCCEEDED"]
    exported = cli_json("export", experiment_id)
    assert sorted(float(json.loads(r["value"])) for r in exported) == sorted(r["parameter"]["x"] for r in exported)
    assert Path(launched["experimentDir"], "db", "nni.sqlite").is_file()
    stopped = cli_json("stop", experiment_id)
    assert stopped[0]["wasRunning"] and processes_of({experiment_id}) == []


def test_without_nni_the_option_says_how_to_get_it(tmp_path: Path) -> None:
    config = write_experiment(tmp_path / "exp")
    # Hide the installed nni_node package from this one process.
    code = ("import sys; sys.modules['nni_node'] = None; from nni_core.cli import main; "
            f"sys.exit(main(['launch', {str(config)!r}, '--manager', 'nni']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pip install 'nni==3.0'" in result.stderr
    assert cli_json("list", "--all") == []
