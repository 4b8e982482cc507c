"""RemoteTrainingService, its agent and upload against real sshd servers on loopback."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path

from nni_plugin_remote.training_service import RemoteTrainingService

from .helpers import Recorder, code_dir, context, run_all, runs, spec


def service_for(machines, tmp_path: Path, experiment_id: str, **extra) -> RemoteTrainingService:
    config = {"platform": "remote", "machineList": [machines.entry(s) for s in machines.servers], **extra}
    return RemoteTrainingService(config, context(tmp_path, experiment_id))


def test_24_trials_at_16_across_two_machines(machines, ssh_home, tmp_path):
    code = code_dir(tmp_path / "code")
    service = service_for(machines, tmp_path, "many")
    recorder = Recorder()
    specs = [spec(i, code, step=0.3) for i in range(24)]

    async def scenario():
        await service.start(recorder)
        try:
            await run_all(service, recorder, specs, concurrency=16)
        finally:
            await service.stop()

    asyncio.run(scenario())
    assert set(recorder.ended) == {s.trial_id for s in specs}
    assert all(v == (0, None) for v in recorder.ended.values()), recorder.ended
    for i, s in enumerate(specs):
        finals = [m for m in recorder.metrics[s.trial_id] if m["type"] == "FINAL"]
        assert [m["value"] for m in finals] == [str(i * 10)]
        assert [m["sequence"] for m in recorder.metrics[s.trial_id] if m["type"] == "PERIODICAL"] == [0, 1, 2]
    assert runs(machines, "many") == Counter({s.trial_id: 1 for s in specs})
    # more trials ran at once than both sshds allow channels (MaxSessions 4 each)
    assert recorder.peak_running > 8, recorder.peak_running
    # both machines ran trials
    per_machine = [len(list((srv.remote_root / "many" / "trials").iterdir())) for srv in machines.servers]
    assert min(per_machine) >= 8, per_machine
    # each trial's output files were copied back into its local folder
    assert all((code.parent / "local-trials" / s.trial_id / "trial.stdout").exists() for s in specs)


def test_sshd_killed_and_restarted_mid_experiment(machines, ssh_home, tmp_path):
    code = code_dir(tmp_path / "code")
    service = service_for(machines, tmp_path, "drop")
    recorder = Recorder()
    specs = [spec(i, code, step=0.4) for i in range(8)]
    state = {"killed": False}

    async def kill_once_running():
        if not state["killed"] and len(recorder.started) >= 4 and sum(map(len, recorder.metrics.values())) >= 4:
            state["killed"] = True
            for server in machines.servers:
                server.kill()
            await asyncio.sleep(0)  # let the drop be seen before the servers come back
            await asyncio.get_running_loop().run_in_executor(None, lambda: [s.start() for s in machines.servers])

    async def scenario():
        await service.start(recorder)
        try:
            await run_all(service, recorder, specs, concurrency=8, on_started=kill_once_running)
        finally:
            await service.stop()

    asyncio.run(scenario())
    assert state["killed"]
    assert sum(h.machine.reconnects for h in service.hosts) >= 1
    assert all(v == (0, None) for v in recorder.ended.values()), recorder.ended
    for i, s in enumerate(specs):
        kinds = [(m["type"], m["sequence"]) for m in recorder.metrics[s.trial_id]]
        assert kinds == [("PERIODICAL", 0), ("PERIODICAL", 1), ("PERIODICAL", 2), ("FINAL", 0)], (s.trial_id, kinds)
    assert runs(machines, "drop") == Counter({s.trial_id: 1 for s in specs})


CHILDISH_TRIAL = r'''
import os, subprocess, time
subprocess.Popen(["sleep", "300"])  # a grandchild: must die with the trial
open(os.path.join(os.environ["NNI_SYS_DIR"], "running"), "w").close()
time.sleep(300)
'''


def _processes_of(trial_id: str) -> list[int]:
    found = []
    marker = f"NNI_TRIAL_JOB_ID={trial_id}".encode()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.append(int(name))
    return found


def test_cancel_leaves_no_process(machines, ssh_home, tmp_path):
    code = code_dir(tmp_path / "code", CHILDISH_TRIAL)
    service = service_for(machines, tmp_path, "cancel")
    recorder = Recorder()
    trial = spec(0, code)
    trial_dir = None

    async def scenario():
        nonlocal trial_dir
        await service.start(recorder)
        try:
            info = await service.submit(trial)
            trial_dir = Path(info["dir"])
            await recorder.wait_for(lambda: (trial_dir / "running").exists() and len(_processes_of("t000")) >= 2,
                                    what="the trial and its child")
            # wait_for is event-driven; the file appears without an event, so poll it cheaply
            await service.cancel(trial.trial_id)
            await recorder.wait_for(lambda: trial.trial_id in recorder.ended, timeout=30, what="the end")
        finally:
            await service.stop()

    asyncio.run(scenario())
    exit_code, signal = recorder.ended["t000"]
    assert exit_code is None and signal in (2, 9)
    assert _processes_of("t000") == []


def test_upload_respects_nniignore_and_sends_only_what_changed(machines, ssh_home, tmp_path):
    from nni_plugin_remote.connection import Machine, MachineSpec
    from nni_plugin_remote.upload import scan, upload_code

    code = tmp_path / "code"
    (code / "data").mkdir(parents=True)
    (code / "logs").mkdir()
    (code / "main.py").write_text("print(1)\n")
    (code / "lib.py").write_text("X = 1\n")
    (code / "data" / "big.bin").write_bytes(b"\0" * 4096)
    (code / "data" / "keep.bin").write_bytes(b"k")
    (code / "logs" / "old.txt").write_text("old")
    (code / "run.sh").write_text("#!/bin/sh\n")
    (code / "run.sh").chmod(0o755)
    (code / ".nniignore").write_text("logs/\ndata/*.bin\n!data/keep.bin\n")
    assert [f.path for f in scan(str(code))] == [".nniignore", "lib.py", "main.py", "run.sh", "data/keep.bin"]

    server = machines.servers[0]
    spec = MachineSpec.from_config(machines.entry(server))

    async def noop() -> None:
        return None

    async def scenario():
        machine = Machine(spec, lambda event: None, noop, lambda message: None)
        await machine.start()
        try:
            root = machine.info.root
            first = await upload_code(machine, str(code), f"{root}/up1/code")
            again = await upload_code(machine, str(code), f"{root}/up2/code")  # a repeated experiment
            (code / "lib.py").write_text("X = 2\n")
            changed = await upload_code(machine, str(code), f"{root}/up3/code")
            return first, again, changed
        finally:
            await machine.close()

    first, again, changed = asyncio.run(scenario())
    assert (first.files, first.sent_files) == (5, 5)
    assert (again.files, again.sent_files, again.sent_bytes) == (5, 0, 0)
    assert (changed.sent_files, changed.sent_bytes) == (1, len("X = 2\n"))
    remote = server.remote_root
    assert (remote / "up2" / "code" / "lib.py").read_text() == "X = 1\n"
    assert (remote / "up3" / "code" / "lib.py").read_text() == "X = 2\n"
    assert (remote / "up3" / "code" / "data" / "keep.bin").read_bytes() == b"k"
    assert not (remote / "up3" / "code" / "data" / "big.bin").exists()
    assert not (remote / "up3" / "code" / "logs").exists()
    assert os.access(remote / "up3" / "code" / "run.sh", os.X_OK)


GPU_TRIAL = r'''
import os, time
from nni_core import trial as nni
params = nni.get_next_parameter()
time.sleep(params["step"])  # hold the GPU while the test checks the slots
nni.report_final_result(os.environ.get("CUDA_VISIBLE_DEVICES", "unset"))
'''


def test_gpu_slots_bound_concurrency_and_set_cuda_visible_devices(machines, ssh_home, tmp_path):
    import shutil

    import pytest

    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi; the test relies on gpuIndices alone")
    code = code_dir(tmp_path / "code", GPU_TRIAL)
    first, second = machines.servers
    config = {"platform": "remote", "trialGpuNumber": 1, "machineList": [
        machines.entry(first, gpuIndices="0,1"), machines.entry(second, gpuIndices=[3], maxTrialNumberPerGpu=2)]}
    service = RemoteTrainingService(config, context(tmp_path, "gpus"))
    recorder = Recorder()
    specs = [spec(i, code, step=2.0) for i in range(4)]

    async def scenario():
        await service.start(recorder)
        try:
            for s in specs:
                assert service.can_submit()
                await service.submit(s)
            assert not service.can_submit()  # 2 GPUs x 1 + 1 GPU x 2 slots
            await recorder.wait_for(lambda: len(recorder.ended) == 4, what="4 trials")
            assert service.can_submit()
        finally:
            await service.stop()

    asyncio.run(scenario())
    devices = sorted(json.loads(m["value"]) for t in recorder.metrics.values() for m in t if m["type"] == "FINAL")
    assert devices == ["0", "1", "3", "3"]


def test_a_restarted_manager_reattaches_without_repeating_metrics(machines, ssh_home, tmp_path):
    code = code_dir(tmp_path / "code")
    trial = spec(0, code, step=0.5)
    first, later = Recorder(), Recorder()
    config = {"platform": "remote", "machineList": [machines.entry(machines.servers[0])]}

    async def scenario():
        before = RemoteTrainingService(config, context(tmp_path, "reattach"))
        await before.start(first)
        info = await before.submit(trial)
        await first.wait_for(lambda: len(first.metrics["t000"]) >= 1, what="a first metric")
        await before._close()  # the manager process goes away: connections drop, the trial runs on
        after = RemoteTrainingService(config, context(tmp_path, "reattach"))
        await after.start(later)
        try:
            assert await after.reattach(trial, info)
            await later.wait_for(lambda: "t000" in later.ended, what="the end")
        finally:
            await after.stop()

    asyncio.run(scenario())
    seen = [(m["type"], m["sequence"]) for m in first.metrics["t000"] + later.metrics["t000"]]
    assert seen == [("PERIODICAL", 0), ("PERIODICAL", 1), ("PERIODICAL", 2), ("FINAL", 0)]
    assert later.metrics["t000"] and later.ended["t000"] == (0, None)
    assert runs(machines, "reattach") == Counter({"t000": 1})


def test_encrypted_key_with_passphrase(machines, ssh_home, tmp_path):
    from nni_plugin_remote.connection import MachineSpec, check_machines

    from .sshd import keygen

    server = machines.servers[0]
    key = keygen(tmp_path / "locked_key", passphrase="open sesame")
    with open(server.folder / "authorized_keys", "a") as file:
        file.write(Path(f"{key}.pub").read_text())
    good = MachineSpec.from_config(machines.entry(server, sshKeyFile=str(key), sshPassphrase="open sesame"))
    wrong = MachineSpec.from_config(machines.entry(server, sshKeyFile=str(key), sshPassphrase="nope"))
    assert asyncio.run(check_machines([good])) == []
    [problem] = asyncio.run(check_machines([wrong]))
    assert problem.startswith(f"remote machine {wrong.label}: cannot read sshKeyFile {key} (")
    assert problem.endswith("check the file and sshPassphrase")
