"""The manager process: URL prefix, access token, bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import requests

from tests.manager.harness import PYTHON, make_config

QUICK_TRIAL = "import nni_core.trial as nni; p = nni.get_next_parameter(); nni.report_final_result(p['x'])\n"


def test_url_prefix_and_token(manager_factory, code_dir: Path) -> None:
    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory(env={"NNI_CORE_TRIAL_PROTOCOL": "http"})
    manager.start("create", "--url-prefix", "pfx", "--token", "s3cret")
    assert manager.url.endswith("/pfx") and manager.info["urlPrefix"] == "pfx"
    base = manager.url + "/api/v1/nni"
    assert requests.get(base + "/check-status", timeout=10).status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    assert requests.get(base + "/check-status", headers=auth, timeout=10).json()["status"] == "INITIALIZED"
    assert requests.get(base + "/check-status?token=s3cret", timeout=10).status_code == 200
    # a browser opening the dashboard with ?token= gets a cookie its page's own requests then carry
    browser = requests.Session()
    assert browser.get(manager.url + "/?token=s3cret", timeout=10).status_code == 200
    assert browser.get(base + "/check-status", timeout=10).status_code == 200
    assert requests.get(base + "/check-status", cookies={"nni_core_token": "wrong"}, timeout=10).status_code == 401
    outside = requests.get(manager.url.removesuffix("/pfx") + "/api/v1/nni/check-status", headers=auth, timeout=10)
    assert (outside.status_code, outside.text) == (404, 'Outside prefix "/pfx"')
    response = requests.post(base + "/experiment", headers=auth, timeout=30,
                             json=make_config(code_dir, f"{PYTHON} trial.py", maxTrialNumber=2))
    assert response.status_code == 200
    # trials reach the channel through the prefix, with the token
    from tests.support import wait_for

    wait_for(lambda: requests.get(base + "/check-status", headers=auth, timeout=10).json()["status"] == "DONE",
             60, "DONE")
    trials = requests.get(base + "/trial-jobs", headers=auth, timeout=10).json()
    assert [t["status"] for t in trials] == ["SUCCEEDED", "SUCCEEDED"]
    # over the channel: no trial fell back to writing its metric into its folder
    assert not [t for t in trials if (Path(t["logPath"]) / ".nni" / "metrics").exists()]


def test_bad_arguments_are_one_line(tmp_path: Path) -> None:
    base = [PYTHON, "-m", "nni_core.manager", "--port", "0", "--experiment-id", "e1",
            "--experiments-directory", str(tmp_path), "--log-level", "info"]
    cases = [
        (["--action", "create", "--host", "0.0.0.0"], 2, "give --token TOKEN"),
        (["--action", "create", "--url-prefix", "/x"], 2, "must not start or end with '/'"),
        (["--action", "resume"], 1, "no experiment folder"),
        (["--action", "start"], 2, "invalid choice"),
    ]
    for extra, status, message in cases:
        result = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        assert result.returncode == status, result.stderr
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


HOLD_TRIAL = r"""
import os, time
here = os.path.dirname(os.path.abspath(__file__))
while os.path.exists(os.path.join(here, "hold")):
    time.sleep(0.05)
"""


def test_trial_channel_speaks_nni_3(manager_factory, code_dir: Path) -> None:
    """``/env/local-env/<trial>``: PUT 200; GET 408 when nothing is queued (after ~1 s), 200 with
    a command, 410 once the trial has ended (trial protocol §5)."""
    from tests.support import wait_for

    (code_dir / "trial.py").write_text(HOLD_TRIAL)  # never talks to the channel itself
    (code_dir / "hold").write_text("")
    manager = manager_factory().start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=1, maxTrialNumber=1))
    trial = wait_for(lambda: manager.trials("RUNNING"), 30, "a running trial")[0]
    channel = f"{manager.url}/env/local-env/{trial['trialJobId']}"
    waited = requests.get(channel, timeout=10)
    assert waited.status_code == 408 and waited.elapsed.total_seconds() >= 0.9
    assert requests.put(channel, json={"type": "request_parameter"}, timeout=10).status_code == 200
    answer = requests.get(channel, timeout=10)
    assert answer.status_code == 200 and answer.json()["type"] == "parameter"
    assert json.loads(answer.json()["parameter"]) == json.loads(trial["hyperParameters"][0])
    metric = {"parameter_id": 0, "trial_job_id": trial["trialJobId"], "type": "FINAL", "sequence": 0, "value": "0.5"}

    assert requests.put(channel, json={"type": "metric", "metric": json.dumps(metric)}, timeout=10).status_code == 200
    assert manager.get(f"/metric-data/{trial['trialJobId']}")[0]["data"] == '"0.5"'  # stored before the 200
    (code_dir / "hold").unlink()
    manager.wait_status("DONE")
    assert requests.get(channel, timeout=10).status_code == 410
    assert requests.put(channel, json={"type": "metric", "metric": json.dumps(metric)}, timeout=10).status_code == 410
    assert manager.trials()[0]["status"] == "SUCCEEDED"


def test_status_changes_reach_the_registry(manager_factory, code_dir: Path) -> None:
    from nni_core.registry import Registry
    from tests.support import wait_for

    (code_dir / "trial.py").write_text(QUICK_TRIAL)
    manager = manager_factory()
    registry = Registry(manager.root / "home")
    registry.put({"id": manager.id, "status": "INITIALIZED", "name": "test"})
    manager.start()
    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", maxTrialNumber=1))
    manager.wait_status("DONE")
    entry = wait_for(lambda: (e := registry.get(manager.id))["status"] == "DONE" and e, 10, "DONE in the registry")
    assert isinstance(entry["endTime"], int) and entry["name"] == "test"
    assert manager.stop() == 0
    assert registry.get(manager.id)["status"] == "STOPPED"


def test_a_waiting_manager_takes_its_arguments_from_stdin(tmp_path: Path) -> None:
    """``--wait-for-arguments``: end of input exits 0 without touching anything; a message
    completes the command line and moves the output into the files it names."""
    command = [PYTHON, "-m", "nni_core.manager", "--port", "0", "--experiment-id", "e1", "--action", "create",
               "--wait-for-arguments"]
    untouched = tmp_path / "untouched"
    abandoned = subprocess.run([*command, "--experiments-directory", str(untouched)], input="",
                               capture_output=True, text=True, timeout=60)
    assert (abandoned.returncode, abandoned.stderr) == (0, "")
    assert not untouched.exists()

    garbled = subprocess.run(command, input="not json\n", capture_output=True, text=True, timeout=60)
    assert garbled.returncode == 2 and len(garbled.stderr.strip().splitlines()) == 1, garbled.stderr
    assert "unreadable arguments on stdin" in garbled.stderr

    experiments = tmp_path / "experiments"
    stderr_file = tmp_path / "manager.stderr"
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process.stdin.write(json.dumps({"arguments": ["--experiments-directory", str(experiments)],
                                        "stdout": str(tmp_path / "manager.stdout"),
                                        "stderr": str(stderr_file)}) + "\n")
        process.stdin.close()
        from tests.support import wait_for

        info_path = experiments / "e1" / "manager.json"
        wait_for(info_path.exists, 60, "manager.json")
        info = json.loads(info_path.read_text())
        assert info["pid"] == process.pid and info["action"] == "create"
        status = requests.get(info["url"] + "/api/v1/nni/check-status", timeout=10).json()
        assert status["status"] == "INITIALIZED"
        assert os.readlink(f"/proc/{process.pid}/fd/2") == str(stderr_file)
    finally:
        process.terminate()
        assert process.wait(30) == 0
    assert process.stderr.read() == ""  # nothing went to the original stderr


def test_accepted_connections_send_without_delay() -> None:
    """Replies on a keep-alive connection must not wait for the client's delayed ACK: asyncio
    turns TCP_NODELAY on for connections accepted from the manager's listening socket."""
    import asyncio
    import socket

    from nni_core.manager.server import listening_socket

    async def accept_one() -> int:
        sock = listening_socket("127.0.0.1", 0)
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("socket")
            accepted.set_result(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            result = await asyncio.wait_for(accepted, 30)
            writer.close()
        return result

    assert asyncio.run(accept_one()) != 0


def test_a_waiting_manager_that_cannot_import_reports_it_in_its_output_files(tmp_path: Path) -> None:
    """A broken install makes the early imports fail while nobody reads the output: the failure
    must still reach the files the launcher shows (here starlette cannot be imported)."""
    broken = tmp_path / "broken" / "starlette"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('starlette is broken in this test')\n")
    env = {**os.environ, "PYTHONPATH": f"{broken.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    experiments = tmp_path / "experiments"
    stderr_file = tmp_path / "manager.stderr"
    message = json.dumps({"arguments": ["--experiments-directory", str(experiments)],
                          "stdout": str(tmp_path / "manager.stdout"), "stderr": str(stderr_file)})
    result = subprocess.run([PYTHON, "-m", "nni_core.manager", "--port", "0", "--experiment-id", "e1",
                             "--action", "create", "--wait-for-arguments"], input=message + "\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr == ""
    assert "crashed" in stderr_file.read_text()
    assert "starlette is broken in this test" in (experiments / "e1" / "log" / "nnimanager.log").read_text()


def test_check_status_long_poll(manager_factory, code_dir: Path) -> None:
    """``check-status?changedFrom=S&timeout=T`` answers once the status is not S, at the latest
    after T seconds; without ``changedFrom`` it answers at once, as NNI's."""
    import threading
    import time

    (code_dir / "trial.py").write_text(HOLD_TRIAL)
    (code_dir / "hold").write_text("")
    manager = manager_factory().start()
    url = manager.url + "/api/v1/nni/check-status"
    started = time.monotonic()
    answer = requests.get(url, params={"changedFrom": "INITIALIZED", "timeout": "0.5"}, timeout=10)
    assert answer.json()["status"] == "INITIALIZED" and time.monotonic() - started >= 0.5
    assert requests.get(url, params={"changedFrom": "RUNNING"}, timeout=10).json()["status"] == "INITIALIZED"
    for bad in ("-1", "61", "soon", "nan"):
        refused = requests.get(url, params={"changedFrom": "INITIALIZED", "timeout": bad}, timeout=10)
        assert refused.status_code == 400 and "timeout must be a number of seconds from 0 to 60" in refused.text

    manager.submit(make_config(code_dir, f"{PYTHON} trial.py", trialConcurrency=1, maxTrialNumber=1))
    assert manager.wait_status("NO_MORE_TRIAL") == "NO_MORE_TRIAL"  # the one trial holds
    seen: list[tuple[str, float]] = []

    def long_poll() -> None:
        asked = time.monotonic()
        status = requests.get(url, params={"changedFrom": "NO_MORE_TRIAL", "timeout": "50"}, timeout=60).json()
        seen.append((status["status"], time.monotonic() - asked))

    poller = threading.Thread(target=long_poll)
    poller.start()
    (code_dir / "hold").unlink()  # the trial ends, and with it the experiment
    poller.join(60)
    assert seen and seen[0][0] == "DONE" and seen[0][1] < 40, seen
