"""The ``local`` training service: trials are processes on this machine.

Each trial runs ``/bin/bash -c <trialCommand>`` in ``trialCodeDirectory``, in its own session
(so cancel can kill the whole process group), stdin from /dev/null, stdout/stderr to
``trial.stdout`` / ``trial.stderr`` in ``<expDir>/environments/local-env/trials/<id>/`` (NNI 3.0's
layout). Exits are noticed through a pidfd registered with the event loop: no polling, no thread
per trial. A pidfd also works for a process this manager did not start, which is how trials of a
previous manager process are re-attached after ``resume`` (their exit status is then unknown).

Trials report through the file protocol by default (``trial_protocol``): they share this
machine's file system, so a metric costs the trial one ``write()`` instead of a connection and an
HTTP exchange, and the manager no request and no fsync per metric. Every trial gets
``parameter.cfg`` before it starts; its ``.nni/metrics`` is read every ``METRICS_POLL_S`` while it
runs and once more when it exits, before the exit is reported, so a final metric is never lost.
With ``NNI_CORE_TRIAL_PROTOCOL=http`` trials use the manager's HTTP channel instead; their file is
still read at exit, since the nni-core trial SDK falls back to it when the manager cannot be
reached.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from nni_core.registry import process_alive, process_start_time
from nni_core.training_service import (
    ExperimentContext,
    MetricsFileReader,
    TrainingService,
    TrainingServiceError,
    TrialEvents,
    TrialSpec,
    write_parameter_file,
)
from nni_plugin_local.gpu import Gpu, GpuScheduler, detect_gpus, parse_gpu_list

_logger = logging.getLogger("LocalTrainingService")

METRICS_POLL_S = 0.2
CANCEL_GRACE_S = 3.0  # SIGTERM, then SIGKILL if the group is still there


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Trial:
    spec: TrialSpec
    pid: int
    popen: subprocess.Popen | None  # None when re-attached (not our child)
    pidfd: int
    reader: MetricsFileReader
    tail: asyncio.Task | None = None
    ended: bool = False
    killer: asyncio.TimerHandle | None = None
    files: list[Any] = field(default_factory=list)


class LocalTrainingService(TrainingService):
    """Runs trials as local processes.

    gpus: the device list (``[0, 1]`` or ``[{"index": 0, "active": false}]``) instead of
        nvidia-smi; ``NNI_CORE_FAKE_GPUS`` does the same from the environment.
    """

    environment_id = "local-env"
    trial_protocol = "file"

    def __init__(self, config: dict[str, Any], context: ExperimentContext,
                 gpus: list[Any] | None = None, cancel_grace_s: float = CANCEL_GRACE_S) -> None:
        super().__init__(config, context)
        self.trials: dict[str, _Trial] = {}
        self.cancel_grace_s = cancel_grace_s
        # what every trial inherits, copied once (SDK_PROCESS would switch `import nni` into tuner mode)
        self.environ = {k: v for k, v in os.environ.items() if k != "SDK_PROCESS"}
        self._all_ended: asyncio.Event | None = None  # created by stop()
        self.gpu: GpuScheduler | None = None
        gpu_number = config.get("trialGpuNumber")
        if gpu_number is not None:
            fixed = parse_gpu_list(gpus) if gpus is not None else None
            indices = config.get("gpuIndices")
            if isinstance(indices, (int, str)):
                from nni_core.config.utils import canonical_gpu_indices
                indices = canonical_gpu_indices(indices)

            def read_gpus() -> list[Gpu]:
                return fixed if fixed is not None else detect_gpus(t.pid for t in self.trials.values())

            self.gpu = GpuScheduler(int(gpu_number), indices, int(config.get("maxTrialNumberPerGpu") or 1),
                                    bool(config.get("useActiveGpu", False)), read_gpus)

    async def start(self, events: TrialEvents) -> None:
        self.events = events
        self.loop = asyncio.get_running_loop()
        if self.gpu is not None and self.gpu.gpu_number > 0:
            problem = self.gpu.problem()
            if problem:
                raise TrainingServiceError(problem)

    def can_submit(self) -> bool:
        if self.gpu is None or self.gpu.gpu_number == 0:
            return True
        return self.gpu.can_allocate()

    # --- running trials ---------------------------------------------------------------------------

    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        os.makedirs(spec.trial_dir, exist_ok=True)
        # a re-run starts with a fresh metrics file: the old records are already stored
        try:
            os.unlink(os.path.join(spec.trial_dir, ".nni", "metrics"))
        except FileNotFoundError:
            pass
        # always written: file-protocol trials read it, and the nni-core SDK falls back to it when
        # the manager is unreachable (restarting), so such a trial survives the manager's death
        write_parameter_file(spec.trial_dir, spec.parameter)
        env = {**self.environ, **spec.env}
        gpus: list[int] | None = None
        if self.gpu is not None:
            if self.gpu.gpu_number > 0:
                gpus = self.gpu.allocate(spec.trial_id)
                if gpus is None:
                    raise TrainingServiceError("no free GPU for the trial (can_submit was not asked)")
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus or []))
        stdout = open(os.path.join(spec.trial_dir, "trial.stdout"), "wb")
        stderr = open(os.path.join(spec.trial_dir, "trial.stderr"), "wb")
        try:
            popen = subprocess.Popen(
                ["/bin/bash", "-c", spec.command], cwd=spec.code_dir, env=env,
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True,
            )
        except OSError as error:
            if self.gpu is not None:
                self.gpu.release(spec.trial_id)
            raise TrainingServiceError(f"cannot start trial {spec.trial_id}: {error}") from error
        finally:
            stdout.close()
            stderr.close()
        self._follow(spec, popen.pid, popen)
        self.events.trial_started(spec.trial_id, _now_ms())
        _logger.debug("trial %s started: pid %d, gpus %s", spec.trial_id, popen.pid, gpus)
        return {"pid": popen.pid, "procStart": process_start_time(popen.pid), "gpus": gpus}

    async def reattach(self, spec: TrialSpec, info: dict[str, Any]) -> bool:
        pid = info.get("pid")
        # alive, not a zombie, and the same process (not a reused pid)
        if info.get("procStart") is None or not process_alive(pid, info["procStart"]):
            _logger.info("trial %s (pid %s) no longer runs", spec.trial_id, pid)
            return False  # gone, or the pid now belongs to another process
        try:
            self._follow(spec, pid, None)
        except ProcessLookupError:
            return False
        if self.gpu is not None and info.get("gpus"):
            self.gpu.hold(spec.trial_id, info["gpus"])
        _logger.info("re-attached trial %s (pid %d)", spec.trial_id, pid)
        return True

    def _follow(self, spec: TrialSpec, pid: int, popen: subprocess.Popen | None) -> _Trial:
        pidfd = os.pidfd_open(pid)
        trial = _Trial(spec, pid, popen, pidfd, MetricsFileReader(spec.trial_dir))
        self.trials[spec.trial_id] = trial
        self.loop.add_reader(pidfd, self._exited, spec.trial_id)
        if not spec.use_channel or popen is None:
            trial.tail = self.loop.create_task(self._tail(trial))
        return trial

    async def _tail(self, trial: _Trial) -> None:
        while True:  # nothing to read before the trial has run a while; the exit reads the rest
            await asyncio.sleep(METRICS_POLL_S)
            if trial.ended:
                return
            self._drain(trial)

    def _drain(self, trial: _Trial) -> None:
        for kind, payload in trial.reader.read():
            if kind == "ME":
                self.events.trial_metric(trial.spec.trial_id, payload)
            # "RE"-style parameter requests need no answer: parameter.cfg is written up front
        while trial.reader.errors:
            _logger.warning("trial %s: %s", trial.spec.trial_id, trial.reader.errors.pop(0))

    def _exited(self, trial_id: str) -> None:
        trial = self.trials.pop(trial_id, None)
        if trial is None:
            return
        self.loop.remove_reader(trial.pidfd)
        os.close(trial.pidfd)
        trial.ended = True
        if trial.tail is not None:
            trial.tail.cancel()
        if trial.killer is not None:
            trial.killer.cancel()
        exit_code: int | None = None
        sig: int | None = None
        if trial.popen is not None:
            returncode = trial.popen.wait()
            if returncode < 0:
                sig = -returncode
            else:
                exit_code = returncode
        if trial.killer is not None or trial.popen is None:
            # the group may outlive its leader; cancel promised to kill all of it
            self._kill_group(trial.pid, signal.SIGKILL)
        self._drain(trial)  # the last records, before the end is reported
        if self.gpu is not None:
            self.gpu.release(trial_id)
        self.events.trial_ended(trial_id, _now_ms(), exit_code, sig)
        if not self.trials and self._all_ended is not None:
            self._all_ended.set()

    # --- stopping ---------------------------------------------------------------------------------

    @staticmethod
    def _kill_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def cancel(self, trial_id: str, grace_s: float | None = None) -> None:
        trial = self.trials.get(trial_id)
        if trial is None or trial.ended:
            return
        grace = self.cancel_grace_s if grace_s is None else grace_s
        self._kill_group(trial.pid, signal.SIGTERM)
        if trial.killer is None:
            trial.killer = self.loop.call_later(grace, self._kill_group, trial.pid, signal.SIGKILL)

    async def stop(self, grace_s: float = 0.5) -> None:
        """Kill every trial (SIGTERM, SIGKILL after ``grace_s``) and wait until they are gone."""
        self._all_ended = asyncio.Event()
        if not self.trials:
            return
        for trial in list(self.trials.values()):
            await self.cancel(trial.spec.trial_id, grace_s)
        try:  # set by _exited when the last trial is gone
            await asyncio.wait_for(self._all_ended.wait(), grace_s + 2)
        except asyncio.TimeoutError:
            _logger.warning("%d trial(s) still running after SIGKILL", len(self.trials))
