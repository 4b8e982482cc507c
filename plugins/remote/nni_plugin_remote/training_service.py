"""The manager side of ``platform: remote``: trials on machines reached over SSH.

One ``Machine`` (connection + agent) per ``machineList`` entry. A trial is placed on the
least-loaded machine with room (GPU slots when ``trialGpuNumber`` > 0), its code comes from the
experiment's copy on that machine (``upload.py``), and it is started, watched and killed by the
machine's agent (``agent.py``). Parameters and metrics use NNI's file protocol and travel over the
SSH connection, so the remote machine never has to reach the manager (``nniManagerIp`` is
accepted and unused).

Trials are started with ``NNI_PLATFORM=local``: with any other value the stock ``nni`` SDK's file
channel prints metrics to stdout (``NNISDK_MEb'...'``) instead of writing ``.nni/metrics``.

Dropped connection: the machine reconnects with back-off and re-sends every unfinished trial to
the new agent with the number of metric bytes already received; launching is idempotent on the
remote side, so a trial is never started twice, and its metrics continue exactly where they
stopped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from nni_core.training_service import (
    ExperimentContext,
    MetricsFileReader,
    TrainingService,
    TrainingServiceError,
    TrialEvents,
    TrialSpec,
)
from nni_plugin_local.gpu import Gpu, GpuScheduler

from nni_plugin_remote.connection import Machine, MachineSpec, RemoteError, config_value
from nni_plugin_remote.upload import upload_code

log = logging.getLogger("nni_core.remote")

KILL_GRACE = 5.0  # SIGINT, then SIGKILL after this many seconds (NNI's timing)
STOP_WAIT = 20.0
LOGS_WAIT = 10.0  # at stop, for the output files of the last trials
LOG_FILES = ("trial.stdout", "trial.stderr", "trial.log")


class MetricsStream(MetricsFileReader):
    """The core's ``.nni/metrics`` parser, fed with bytes that arrive over SSH instead of read
    from a local file. ``offset`` = bytes received so far; a repeated chunk is trimmed."""

    def __init__(self) -> None:
        super().__init__("")

    @property
    def consumed(self) -> int:
        """Bytes of complete records handed on (a partly received record is not counted)."""
        return self.offset - len(self.buffer)

    def receive(self, offset: int, data: bytes) -> list[tuple[str, str]]:
        """The bytes of the remote file from ``offset`` on (a resend may overlap what we have)."""
        if offset > self.offset:
            self.errors.append(f"metrics bytes {self.offset}..{offset} never arrived")
            return []
        data = data[self.offset - offset:]
        return self.feed(data) if data else []


@dataclass
class RemoteTrial:
    spec: TrialSpec
    host: Host
    directory: str
    launch: dict[str, Any]
    stream: MetricsStream = field(default_factory=MetricsStream)
    sent: bool = False  # the launch op was handed to an agent at least once
    started: bool = False
    ended: bool = False
    cancelled: bool = False
    gpus: list[int] | None = None
    logs_copied: asyncio.Event = field(default_factory=asyncio.Event)


class Host:
    """A machine plus what the scheduler needs: its trials, GPU slots and uploaded code."""

    def __init__(self, service: RemoteTrainingService, spec: MachineSpec, gpu_number: int) -> None:
        self.service = service
        self.spec = spec
        self.machine = Machine(spec, self._event, self._connected, self._lost)
        self.trials: dict[str, RemoteTrial] = {}  # until their logs are copied
        self.running: set[str] = set()
        self.gpu_number = gpu_number
        self.gpus: GpuScheduler | None = None
        self.code: dict[str, asyncio.Future] = {}
        self.lost = False

    @property
    def load(self) -> int:
        return len(self.running)

    def has_room(self) -> bool:
        if self.lost:
            return False
        return self.gpus.can_allocate() if self.gpus is not None else True

    async def start(self, code_dir: str | None) -> None:
        await self.machine.start()
        if code_dir:  # upload now, so the first trials do not wait for it
            await self.code_dir(code_dir)
        if self.gpu_number > 0:
            gpus = await self._read_gpus()
            self.gpus = GpuScheduler(self.gpu_number, list(self.spec.gpu_indices) if self.spec.gpu_indices else None,
                                     self.spec.max_trial_number_per_gpu, self.spec.use_active_gpu, lambda: gpus)
            problem = self.gpus.problem()
            if problem:
                raise RemoteError(f"remote machine {self.spec.label}: {problem}")

    async def _read_gpus(self) -> list[Gpu]:
        result = await self.machine.run("nvidia-smi --query-gpu=index --format=csv,noheader")
        text = (result.stdout or b"").decode()
        if result.exit_status == 0:
            return [Gpu(int(line)) for line in text.split() if line.strip().isdigit()]
        # No nvidia-smi: trust gpuIndices, as the user named the devices.
        return [Gpu(i) for i in self.spec.gpu_indices or ()]

    async def code_dir(self, local_dir: str) -> str:
        """The experiment's copy of ``local_dir`` on this machine, uploaded on first use."""
        future = self.code.get(local_dir)
        if future is None:
            future = self.code[local_dir] = asyncio.ensure_future(self._upload(local_dir))
        try:
            return await asyncio.shield(future)
        except Exception:
            self.code.pop(local_dir, None)  # let the next trial try again
            raise

    async def _upload(self, local_dir: str) -> str:
        await self.machine.wait_up()
        target = f"{self.service.remote_experiment_dir(self)}/code"
        if len(self.code) > 1:
            target += f"-{len(self.code)}"
        result = await upload_code(self.machine, local_dir, target)
        log.info("remote machine %s: code ready in %s (%d files, %d sent, %d bytes)", self.spec.label,
                 target, result.files, result.sent_files, result.sent_bytes)
        return target

    # --- agent callbacks ----------------------------------------------------------------------

    def _event(self, event: dict[str, Any]) -> None:
        trial = self.trials.get(event.get("id", ""))
        kind = event.get("ev")
        if trial is None:
            return
        if kind == "log":
            self._write_log(trial, event)
            return
        if kind == "logs":
            trial.logs_copied.set()
            self.service.forget(trial)
            return
        if trial.ended:
            return
        if kind == "started":
            if not trial.started:
                trial.started = True
                self.service.events.trial_started(trial.spec.trial_id, event.get("start_ms") or _now_ms())
        elif kind == "data":
            records = trial.stream.receive(event["offset"], base64.b64decode(event["b64"]))
            for record_kind, payload in records:
                if record_kind == "ME":
                    self.service.events.trial_metric(trial.spec.trial_id, payload)
            if records:
                save_offset(trial.spec.trial_dir, trial.stream.consumed)
        elif kind == "ended":
            self._finish(trial, event.get("end_ms") or _now_ms(), event.get("exit"), event.get("signal"))
        elif kind == "error":
            log.warning("remote machine %s: trial %s: %s", self.spec.label, trial.spec.trial_id, event.get("message"))

    async def _connected(self) -> None:
        # After a (re)connect: the new agent must follow every unfinished trial. Re-sending the
        # launch is safe (idempotent remotely); the offset makes metrics resume without repeats.
        for trial in self.trials.values():
            if trial.sent and not trial.ended:
                self._send_launch(trial)
                if trial.cancelled:
                    self.machine.send({"op": "kill", "id": trial.spec.trial_id, "grace": KILL_GRACE})

    def _lost(self, message: str) -> None:
        log.error("%s; its trials are reported as lost", message)
        self.lost = True
        for trial in list(self.trials.values()):
            if not trial.ended:
                self._finish(trial, _now_ms(), None, None)

    def _write_log(self, trial: RemoteTrial, event: dict[str, Any]) -> None:
        # The agent sends trial.stdout/stderr/log after the end; the copy in the local trial folder
        # (logPath) serves `nni-core logs` and the dashboard as for a local trial.
        name = event.get("name")
        if name not in LOG_FILES:
            return
        try:
            os.makedirs(trial.spec.trial_dir, exist_ok=True)
            with open(os.path.join(trial.spec.trial_dir, name), "r+b" if event["offset"] else "wb") as file:
                file.seek(event["offset"])
                file.write(base64.b64decode(event["b64"]))
        except OSError as error:
            log.warning("cannot copy %s of trial %s: %s", name, trial.spec.trial_id, error)

    # --- trials -------------------------------------------------------------------------------

    def _send_launch(self, trial: RemoteTrial) -> None:
        trial.sent = True
        self.machine.send({**trial.launch, "offset": trial.stream.offset})

    def _finish(self, trial: RemoteTrial, end_ms: int, exit_code: int | None, signal: int | None) -> None:
        trial.ended = True
        if self.gpus is not None:
            self.gpus.release(trial.spec.trial_id)
        self.service.events.trial_ended(trial.spec.trial_id, end_ms, exit_code, signal)
        self.service.trial_done(trial)
        if not trial.sent or self.lost:  # no output files will come
            self.service.forget(trial)


OFFSET_FILE = ".remote-metrics-offset"


def save_offset(trial_dir: str, offset: int) -> None:
    """Remember, beside the trial's local logs, how many metric bytes the manager has taken, so a
    restarted manager re-attaches without receiving them twice. Written after the manager stored
    them: a crash in between repeats one chunk at most, never loses one."""
    try:
        os.makedirs(trial_dir, exist_ok=True)
        tmp = os.path.join(trial_dir, OFFSET_FILE + ".tmp")
        with open(tmp, "w") as file:
            file.write(str(offset))
        os.replace(tmp, os.path.join(trial_dir, OFFSET_FILE))
    except OSError as error:
        log.warning("cannot record the metrics offset in %s: %s", trial_dir, error)


def load_offset(trial_dir: str) -> int:
    try:
        with open(os.path.join(trial_dir, OFFSET_FILE)) as file:
            return int(file.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _now_ms() -> int:
    return int(time.time() * 1000)


class RemoteTrainingService(TrainingService):
    environment_id = "remote-env"

    def __init__(self, config: dict[str, Any], context: ExperimentContext) -> None:
        super().__init__(config, context)
        machines = config_value(config, "machineList") or []
        if not machines:
            raise TrainingServiceError("trainingService.machineList is empty; list at least one machine")
        gpu_number = int(config_value(config, "trialGpuNumber", default=0) or 0)
        self.hosts = [Host(self, MachineSpec.from_config(m), gpu_number) for m in machines]
        self.trials: dict[str, RemoteTrial] = {}  # until their logs are copied
        self.running: set[str] = set()
        self._all_ended = asyncio.Event()

    def remote_experiment_dir(self, host: Host) -> str:
        assert host.machine.info is not None
        return f"{host.machine.info.root}/{self.context.experiment_id}"

    async def start(self, events: TrialEvents) -> None:
        await super().start(events)
        code_dir = config_value(self.config, "trialCodeDirectory")
        results = await asyncio.gather(*(h.start(code_dir) for h in self.hosts), return_exceptions=True)
        problems = [str(r) for r in results if isinstance(r, BaseException)]
        if problems:
            await self._close()
            raise TrainingServiceError("; ".join(problems))

    def can_submit(self) -> bool:
        return any(h.has_room() for h in self.hosts)

    def _place(self) -> Host:
        candidates = [h for h in self.hosts if h.has_room()]
        if not candidates:
            raise TrainingServiceError("no remote machine has room for another trial")
        # connected machines first (a trial for a reconnecting one waits), then the least loaded
        return min(candidates, key=lambda h: (not h.machine.up.is_set(), h.load, self.hosts.index(h)))

    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        host = self._place()
        gpus = host.gpus.allocate(spec.trial_id) if host.gpus is not None else None
        trial = RemoteTrial(spec=spec, host=host, directory="", launch={}, gpus=gpus)
        self._add(trial)  # counts against the machine's load from now on
        try:
            code = await host.code_dir(spec.code_dir)
        except (RemoteError, OSError) as error:
            # The manager records the failure itself when submit raises.
            self.trial_done(trial)
            self.forget(trial)
            if host.gpus is not None:
                host.gpus.release(spec.trial_id)
            raise TrainingServiceError(str(error)) from None
        trial.directory = f"{self.remote_experiment_dir(host)}/trials/{spec.trial_id}"
        trial.launch = {
            "op": "launch",
            "id": spec.trial_id,
            "dir": trial.directory,
            "code": code,
            "command": spec.command,
            "env": self._environment(spec, trial, code),
            "parameter": json.dumps(spec.parameter),
        }
        if trial.cancelled:  # cancelled while its code was uploading: never start it
            host._finish(trial, _now_ms(), None, None)
        else:
            host._send_launch(trial)
        return {"machine": host.spec.label, "dir": trial.directory, "code": code, "gpus": gpus}

    def _environment(self, spec: TrialSpec, trial: RemoteTrial, code: str) -> dict[str, str]:
        env = {k: v for k, v in spec.env.items() if k != "NNI_TRIAL_COMMAND_CHANNEL"}
        env.update({
            "NNI_PLATFORM": "local",  # the file protocol (see the module docstring)
            "NNI_SYS_DIR": trial.directory,
            "NNI_OUTPUT_DIR": trial.directory,
            "NNI_CODE_DIR": code,
            "NNI_TRIAL_JOB_ID": spec.trial_id,
            "NNI_TRIAL_SEQ_ID": str(spec.sequence_id),
            "NNI_EXP_ID": self.context.experiment_id,
        })
        if trial.gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in trial.gpus)
        return env

    async def reattach(self, spec: TrialSpec, info: dict[str, Any]) -> bool:
        host = next((h for h in self.hosts if h.spec.label == info.get("machine")), None)
        if host is None or host.lost or not info.get("dir"):
            return False
        marker = f"{info['dir']}/.nni-core/launched"
        result = await host.machine.run(f"test -e {shlex.quote(marker)}")
        if result.exit_status != 0:
            return False
        trial = RemoteTrial(spec=spec, host=host, directory=info["dir"], gpus=info.get("gpus"),
                            launch={"op": "launch", "id": spec.trial_id, "dir": info["dir"], "command": spec.command})
        if host.gpus is not None and trial.gpus:
            host.gpus.hold(spec.trial_id, trial.gpus)
        trial.stream.offset = load_offset(spec.trial_dir)
        self._add(trial)
        host._send_launch(trial)  # the remote marker exists, so this only follows it
        return True

    async def cancel(self, trial_id: str) -> None:
        trial = self.trials.get(trial_id)
        if trial is None or trial.ended or trial.cancelled:
            return
        trial.cancelled = True
        if trial.sent:
            trial.host.machine.send({"op": "kill", "id": trial_id, "grace": KILL_GRACE})

    def _add(self, trial: RemoteTrial) -> None:
        trial_id = trial.spec.trial_id
        trial.host.trials[trial_id] = self.trials[trial_id] = trial
        trial.host.running.add(trial_id)
        self.running.add(trial_id)
        self._all_ended.clear()

    def trial_done(self, trial: RemoteTrial) -> None:
        trial.host.running.discard(trial.spec.trial_id)
        self.running.discard(trial.spec.trial_id)
        if not self.running:
            self._all_ended.set()

    def forget(self, trial: RemoteTrial) -> None:
        trial.host.trials.pop(trial.spec.trial_id, None)
        self.trials.pop(trial.spec.trial_id, None)

    async def stop(self) -> None:
        for trial_id in list(self.running):
            await self.cancel(trial_id)
        if self.running:
            try:
                await asyncio.wait_for(self._all_ended.wait(), STOP_WAIT)
            except asyncio.TimeoutError:
                log.warning("remote trials still running after %.0f s: %s", STOP_WAIT,
                            ", ".join(sorted(self.running)))
        copies = [t.logs_copied.wait() for t in self.trials.values() if t.sent and not t.host.lost]
        if copies:
            await asyncio.wait([asyncio.ensure_future(c) for c in copies], timeout=LOGS_WAIT)
        await self._close()

    async def _close(self) -> None:
        await asyncio.gather(*(h.machine.close() for h in self.hosts), return_exceptions=True)
