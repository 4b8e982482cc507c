"""The ``ray`` training service: every trial is a job on a Ray cluster (Ray's Job Submission API).

How a trial travels:

* **submit**: one Ray job per trial, with the trial's resources as the job entrypoint's
  (``entrypoint_num_cpus``/``_gpus``/``_memory``/``_resources``, so Ray places it on a node that has
  them) and a runtime environment holding the trial code (``working_dir``), pip packages and
  environment. The entrypoint is ``job_entry.py``, shipped as source in the job's environment and
  run by the experiment's interpreter.
* **parameters** go in the job's environment; the entrypoint writes them to ``parameter.cfg`` on
  the node, where both ``import nni`` and nni-core's trial SDK read them (NNI's file protocol).
* **metrics and logs** come back through Ray: the entrypoint relays the trial's stdout, stderr,
  ``trial.log`` and ``.nni/metrics`` records as lines of the job's log, which this service follows
  over the Job API's log stream and writes into the trial folder. A trial therefore never needs
  the manager's address, nor a filesystem shared with it. The entrypoint's exit record ends the
  trial; a job that ends without one has its complete log read once more, so a record the stream
  missed is not lost.
* **status**: Ray's PENDING / RUNNING / SUCCEEDED / FAILED / STOPPED; a trial that waits for
  resources is explained in the experiment's log (which resources, and whether any node has them).
* **cancel** (and maxTrialDuration, which the manager turns into a cancel) stops the job; Ray
  signals the entrypoint's process group, the trial included.
* **node failure**: Ray fails a job whose node died; the trial is reported failed, or submitted
  again when ``nodeFailureRetries`` allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nni_core.config.utils import parse_memory_size
from nni_core.training_service import (
    ExperimentContext,
    TrainingService,
    TrainingServiceError,
    TrialEvents,
    TrialSpec,
)
from nni_plugin_ray import job_entry
from nni_plugin_ray.job_entry import RELAY_PREFIX

_logger = logging.getLogger("nni_core.manager.ray")

STATUS_POLL_S = 1.0  # job status while the log stream is open; the stream's end wakes it at once
WAIT_REPORT_S = 5.0  # a trial pending this long gets its reason logged ...
WAIT_REPEAT_S = 60.0  # ... and again every this many seconds
TAIL_GRACE_S = 3.0  # after the job ended, how long the log stream may take to deliver its rest
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# Connecting through a Ray client address (ray://) starts a driver process on the head for the
# connection; on a busy head that start can fail once and succeed the next time.
CONNECT_ATTEMPTS = 3
CONNECT_RETRY_S = 2.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _wrapper_source() -> str:
    with open(job_entry.__file__, encoding="utf-8") as file:
        return file.read()


def _show(resources: dict[str, float]) -> str:
    """Ray resources as a user reads them: memory in GiB, no internal node: markers."""
    parts = []
    for name, amount in sorted(resources.items()):
        if name.startswith("node:") or name == "object_store_memory":
            continue
        parts.append(f"{name}={amount / 2**30:.1f}GiB" if name == "memory" else f"{name}={amount:g}")
    return ", ".join(parts)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]


@dataclass
class _Relay:
    """Parses relayed lines of one job's log and applies them (files, metric events)."""

    trial_id: str
    trial_dir: str
    events: TrialEvents
    applied: int = 0  # relay records already applied, in log order
    partial: str = ""  # a line the stream has not finished yet
    exit: dict[str, Any] | None = None
    started: bool = False

    def open_files(self) -> None:
        os.makedirs(self.trial_dir, exist_ok=True)
        for name in ("trial.stdout", "trial.stderr", "trial.log"):
            open(os.path.join(self.trial_dir, name), "wb").close()

    def records(self, text: str) -> list[dict[str, Any]]:
        out = []
        for line in text.splitlines():
            if line.startswith(RELAY_PREFIX):
                try:
                    out.append(json.loads(line[len(RELAY_PREFIX):]))
                except ValueError:
                    continue  # a line cut by Ray's log rotation; nothing to do with it
        return out

    def feed(self, chunk: str) -> None:
        """Live stream: apply complete lines; keep the unfinished one."""
        text = self.partial + chunk
        cut = text.rfind("\n") + 1
        self.partial = text[cut:]
        for record in self.records(text[:cut]):
            self.apply(record)

    def replay(self, full_log: str) -> None:
        """The job's whole log: apply the records the stream did not deliver."""
        self.partial = ""
        for record in self.records(full_log)[self.applied:]:
            self.apply(record)

    def apply(self, record: dict[str, Any]) -> None:
        self.applied += 1
        kind = record.get("k")
        if kind == "metric":
            self.events.trial_metric(self.trial_id, record.get("d", ""))
        elif kind in ("out", "err", "log"):
            name = {"out": "trial.stdout", "err": "trial.stderr", "log": "trial.log"}[kind]
            with open(os.path.join(self.trial_dir, name), "a", encoding="utf-8") as file:
                file.write(record.get("d", ""))
        elif kind == "exit":
            self.exit = record
        elif kind == "start":
            self.started = True


@dataclass
class _Trial:
    spec: TrialSpec
    job_id: str
    relay: _Relay
    attempt: int = 0
    started: bool = False
    node: str | None = None  # IP of the node the job's entrypoint runs on
    monitor: asyncio.Task | None = None
    tail: asyncio.Task | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    canceled: bool = False


class RayTrainingService(TrainingService):
    """Runs each trial as a Ray job. ``config``: the ``ray`` trainingService section (camelCase)."""

    environment_id = "ray-env"

    def __init__(self, config: dict[str, Any], context: ExperimentContext) -> None:
        super().__init__(config, context)
        self.trials: dict[str, _Trial] = {}
        self.placements: dict[str, str] = {}  # trial id -> node IP, for everyone to see
        self.waiting_reasons: dict[str, str] = {}  # pending trial id -> why it waits
        self.cluster: Any = None  # the LocalRayCluster of rayInit
        self.client: Any = None
        self.api_url = ""
        self.python = config.get("pythonInterpreter") or sys.executable
        self.wrapper = _wrapper_source()
        self.request = self._resource_request(config)

    @staticmethod
    def _resource_request(config: dict[str, Any]) -> dict[str, float]:
        request: dict[str, float] = {"CPU": float(config.get("trialCpuNumber", 1))}
        if config.get("trialGpuNumber"):
            request["GPU"] = float(config["trialGpuNumber"])
        if config.get("trialMemorySize") is not None:
            request["memory"] = float(parse_memory_size(config["trialMemorySize"]) * 1024 * 1024)
        for name, amount in (config.get("resources") or {}).items():
            request[name] = float(amount)
        return {name: amount for name, amount in request.items() if amount > 0}

    # --- connecting ---------------------------------------------------------------------------------

    async def start(self, events: TrialEvents) -> None:
        self.events = events
        self.loop = asyncio.get_running_loop()
        address = self.config.get("address")
        if self.config.get("rayInit") is not None:
            address = await asyncio.to_thread(self._start_local_cluster, self.config["rayInit"])
        if not address:
            raise TrainingServiceError("trainingService.address is not set (or use rayInit)")
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                self.client = await asyncio.to_thread(self._connect, address)
                break
            except Exception as error:  # noqa: BLE001 - Ray raises many kinds; the user needs one line
                if attempt == CONNECT_ATTEMPTS or not address.startswith("ray://"):
                    raise TrainingServiceError(f"cannot reach the Ray cluster at {address}: {_one_line(error)}") from None
                _logger.warning("connecting to %s failed (attempt %d of %d): %s", address, attempt, CONNECT_ATTEMPTS,
                                _one_line(error))
                await asyncio.sleep(CONNECT_RETRY_S)
        self.api_url = self.client.get_address()
        _logger.info("Ray cluster at %s (Job API %s); each trial asks for %s", address, self.api_url,
                     self.request)
        reason = await self._unsatisfiable()
        if reason:
            _logger.warning("no trial can start yet: %s", reason)

    @staticmethod
    def _connect(address: str) -> Any:
        from ray.job_submission import JobSubmissionClient

        # RAY_ADDRESS would override the configured address inside the client.
        for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
            os.environ.pop(name, None)
        return JobSubmissionClient(address)

    def _start_local_cluster(self, init: dict[str, Any]) -> str:
        from nni_plugin_ray.cluster import ClusterError, LocalRayCluster

        size = init.get("objectStoreMemory", "200mb")
        cluster = LocalRayCluster(
            host=init.get("host", "127.0.0.2"), num_cpus=int(init.get("numCpus", 2)),
            num_gpus=int(init.get("numGpus", 0)), resources=init.get("resources") or {},
            object_store_mb=int(parse_memory_size(size)), dashboard_port=init.get("dashboardPort"),
            stop_with_pid=os.getpid(),  # the cluster must not outlive a manager that is killed
        )
        try:
            cluster.start()
        except ClusterError as error:
            raise TrainingServiceError(f"rayInit: the local Ray cluster did not start: {_one_line(error)}") from None
        self.cluster = cluster
        _logger.info("rayInit: started a local Ray cluster, Job API %s", cluster.dashboard_url)
        return cluster.dashboard_url

    # --- resources --------------------------------------------------------------------------------

    async def _nodes(self) -> list[dict[str, Any]]:
        """Alive nodes and their total resources (Ray's state API, through the dashboard)."""
        import requests

        def get() -> list[dict[str, Any]]:
            response = requests.get(f"{self.api_url}/api/v0/nodes?detail=1", timeout=10)
            response.raise_for_status()
            return response.json()["data"]["result"]["result"]

        nodes = await asyncio.to_thread(get)
        return [node for node in nodes if node.get("state") == "ALIVE"]

    async def _unsatisfiable(self) -> str | None:
        """Why no alive node can ever run a trial, or None when some node could."""
        try:
            nodes = await self._nodes()
        except Exception as error:  # noqa: BLE001 - only an explanation is lost
            _logger.debug("cannot list Ray nodes: %s", error)
            return None
        for node in nodes:
            total = node.get("resources_total") or {}
            if all(total.get(name, 0) >= amount for name, amount in self.request.items()):
                return None
        offered = "; ".join(f"{node.get('node_ip')}: {_show(node.get('resources_total') or {})}"
                            for node in nodes) or "no alive node"
        return f"no node of the Ray cluster has the resources a trial asks for ({_show(self.request)}); nodes offer: {offered}"

    async def _explain_wait(self, trial: _Trial, ray_message: str) -> None:
        """Say in the experiment's log why a trial has not started. A request no alive node can
        satisfy is a warning (it waits until such a node joins); a busy cluster is not."""
        reason = await self._unsatisfiable()
        if reason is None:
            text = (f"trial {trial.spec.trial_id} is still pending in Ray (job {trial.job_id}): a node has "
                    f"the resources ({_show(self.request)}) but they are in use, or the runtime environment is being set up")
            _logger.info("%s", text)
        else:
            text = f"trial {trial.spec.trial_id} is waiting in Ray (job {trial.job_id}): {reason}"
            _logger.warning("%s", text)
        self.waiting_reasons[trial.spec.trial_id] = text
        self.events.trial_message(trial.spec.trial_id, text)
        if ray_message:
            _logger.debug("Ray says about job %s: %s", trial.job_id, ray_message)

    # --- running trials ---------------------------------------------------------------------------

    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        if self.client is None:
            raise TrainingServiceError("the Ray training service was not started")
        relay = _Relay(spec.trial_id, spec.trial_dir, self.events)
        relay.open_files()
        trial = _Trial(spec, "", relay)
        await self._submit_job(trial)
        self.trials[spec.trial_id] = trial
        trial.monitor = self.loop.create_task(self._follow(trial))
        return {"jobId": trial.job_id, "jobApi": self.api_url}

    def _job_request(self, trial: _Trial) -> dict[str, Any]:
        spec = trial.spec
        env = {name: value for name, value in spec.env.items()
               if name not in ("NNI_TRIAL_COMMAND_CHANNEL", "NNI_SYS_DIR", "NNI_OUTPUT_DIR")}
        env.update(self.config.get("envVars") or {})
        env.update(NNI_RAY_COMMAND=spec.command, NNI_RAY_PARAMETER=json.dumps(spec.parameter),
                   NNI_RAY_WRAPPER=self.wrapper)
        runtime_env: dict[str, Any] = dict(self.config.get("runtimeEnv") or {})
        if self.config.get("uploadCode", True):
            runtime_env["working_dir"] = spec.code_dir
        else:  # the code folder is on a filesystem every node mounts at the same path
            env["NNI_RAY_CWD"] = spec.code_dir
        if self.config.get("pip"):
            runtime_env["pip"] = list(self.config["pip"])
        runtime_env["env_vars"] = env
        request = dict(self.request)
        return {
            "entrypoint": f'exec {shlex.quote(self.python)} -c "$NNI_RAY_WRAPPER"',
            # unique per attempt: a cluster keeps every job it ran, and resume re-runs trials
            "submission_id": f"nni-{self.context.experiment_id}-{spec.trial_id}-{secrets.token_hex(3)}",
            "runtime_env": runtime_env,
            "metadata": {"nni_experiment": self.context.experiment_id, "nni_trial": spec.trial_id},
            "entrypoint_num_cpus": request.pop("CPU", 0),
            "entrypoint_num_gpus": request.pop("GPU", 0),
            "entrypoint_memory": int(request.pop("memory", 0)),
            "entrypoint_resources": request or None,
        }

    async def _submit_job(self, trial: _Trial) -> None:
        request = self._job_request(trial)
        try:
            trial.job_id = await asyncio.to_thread(lambda: self.client.submit_job(**request))
        except Exception as error:  # noqa: BLE001
            raise TrainingServiceError(f"Ray refused trial {trial.spec.trial_id}: {_one_line(error)}") from None
        _logger.info("trial %s is Ray job %s", trial.spec.trial_id, trial.job_id)

    async def reattach(self, spec: TrialSpec, info: dict[str, Any]) -> bool:
        job_id = info.get("jobId")
        if not job_id or self.client is None:
            return False
        try:
            status = (await asyncio.to_thread(self.client.get_job_info, job_id)).status
        except Exception:  # noqa: BLE001 - unknown to this cluster
            return False
        if str(getattr(status, "value", status)) in TERMINAL:
            return False
        trial = _Trial(spec, job_id, _Relay(spec.trial_id, spec.trial_dir, self.events))
        trial.relay.open_files()  # the whole log is streamed again from its start
        self.trials[spec.trial_id] = trial
        trial.monitor = self.loop.create_task(self._follow(trial))
        _logger.info("re-attached trial %s (Ray job %s)", spec.trial_id, job_id)
        return True

    async def _follow(self, trial: _Trial) -> None:
        """Watch one trial's job until it ends (or is submitted again after a node failure)."""
        try:
            while True:
                info = await self._watch_job(trial)
                if await self._retry_after_node_failure(trial, info):
                    continue
                self._finish(trial, info)
                return
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a trial must end, never hang unseen
            _logger.exception("lost track of trial %s (Ray job %s)", trial.spec.trial_id, trial.job_id)
            self._write_note(trial, f"lost track of Ray job {trial.job_id}: {_one_line(error)}")
            self._end(trial, None, None)

    async def _watch_job(self, trial: _Trial) -> Any:
        """Poll the job until it is terminal, streaming its log while it runs. Returns its info."""
        pending_since = time.monotonic()
        next_report = pending_since + WAIT_REPORT_S
        failures = 0
        while True:
            try:
                info = await asyncio.to_thread(self.client.get_job_info, trial.job_id)
                failures = 0
            except Exception as error:  # noqa: BLE001 - the dashboard may be briefly busy
                failures += 1
                if failures >= 30:
                    raise
                _logger.debug("job %s: status unavailable (%s)", trial.job_id, error)
                info = None
            status = str(getattr(info.status, "value", info.status)) if info else "UNKNOWN"
            if status == "PENDING" and time.monotonic() >= next_report:
                await self._explain_wait(trial, info.message or "")
                next_report = time.monotonic() + WAIT_REPEAT_S
            if status in ("RUNNING",) + TERMINAL and not trial.started:
                trial.started = True
                if self.waiting_reasons.pop(trial.spec.trial_id, None) is not None:
                    self.events.trial_message(trial.spec.trial_id, None)  # no longer waiting
                agent = getattr(info, "driver_agent_http_address", None)
                trial.node = urlsplit(agent).hostname if agent else None
                if trial.node:
                    self.placements[trial.spec.trial_id] = trial.node
                self.events.trial_started(trial.spec.trial_id, _now_ms())
                _logger.info("trial %s runs on node %s", trial.spec.trial_id, trial.node)
                if status == "RUNNING":
                    trial.tail = self.loop.create_task(self._tail(trial))
            if status in TERMINAL:
                await self._drain(trial)
                return info
            if trial.relay.exit is not None and info is not None:
                # The entrypoint's last record: everything before it is applied, and the trial is
                # over even if Ray has not marked the job yet (it frees the job's resources itself).
                if trial.tail is not None:
                    trial.tail.cancel()
                    trial.tail = None
                return info
            trial.wake.clear()
            try:
                await asyncio.wait_for(trial.wake.wait(), STATUS_POLL_S)
            except asyncio.TimeoutError:
                pass

    async def _tail(self, trial: _Trial) -> None:
        try:
            async for chunk in self.client.tail_job_logs(trial.job_id):
                trial.relay.feed(chunk)
                if trial.relay.exit is not None:
                    trial.wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the full log is read at the end anyway
            _logger.debug("log stream of job %s ended: %s", trial.job_id, error)
        trial.wake.set()

    async def _drain(self, trial: _Trial) -> None:
        """The job ended: let the stream finish, then apply whatever it missed from the full log."""
        if trial.tail is not None:
            try:
                await asyncio.wait_for(asyncio.shield(trial.tail), TAIL_GRACE_S)
            except asyncio.TimeoutError:
                trial.tail.cancel()
            trial.tail = None
        if trial.relay.exit is not None:
            return  # the entrypoint's last record arrived: nothing can be missing
        try:
            full = await asyncio.to_thread(self.client.get_job_logs, trial.job_id)
        except Exception as error:  # noqa: BLE001 - e.g. the node holding the log died
            _logger.warning("trial %s: cannot read the log of Ray job %s: %s", trial.spec.trial_id,
                            trial.job_id, _one_line(error))
            return
        trial.relay.replay(full)

    def _node_failure(self, trial: _Trial, info: Any) -> bool:
        """Failed without the entrypoint reporting an exit: the job's node or worker died."""
        status = str(getattr(info.status, "value", info.status))
        return status == "FAILED" and trial.relay.exit is None and trial.started

    async def _retry_after_node_failure(self, trial: _Trial, info: Any) -> bool:
        retries = int(self.config.get("nodeFailureRetries") or 0)
        if trial.canceled or not self._node_failure(trial, info) or trial.attempt >= retries:
            return False
        trial.attempt += 1
        _logger.warning("trial %s: Ray job %s failed with its node (%s); submitting it again (%d of %d)",
                        trial.spec.trial_id, trial.job_id, info.message, trial.attempt, retries)
        trial.relay = _Relay(trial.spec.trial_id, trial.spec.trial_dir, self.events)
        trial.relay.open_files()
        trial.started = False
        await self._submit_job(trial)
        return True

    def _finish(self, trial: _Trial, info: Any) -> None:
        status = str(getattr(info.status, "value", info.status))
        exit_record = trial.relay.exit
        exit_code: int | None
        sig: int | None
        if status == "STOPPED" or (trial.canceled and exit_record is None):
            exit_code = None
            sig = (exit_record or {}).get("signal") or signal.SIGTERM
        elif exit_record is not None:
            exit_code, sig = exit_record.get("code"), exit_record.get("signal")
        elif status == "SUCCEEDED":
            exit_code, sig = 0, None
        else:  # the entrypoint never reported: runtime environment setup, or the node, failed
            exit_code = info.driver_exit_code if getattr(info, "driver_exit_code", None) else 1
            sig = None
            self._write_note(trial, f"Ray job {trial.job_id} failed: {info.message}")
        if status in ("FAILED", "STOPPED") and info.message:
            _logger.info("trial %s: Ray job %s %s: %s", trial.spec.trial_id, trial.job_id, status, info.message)
        if not trial.started:  # ended while pending (canceled): it still gets a start for the record
            self.events.trial_started(trial.spec.trial_id, _now_ms())
        self._end(trial, exit_code, sig)

    def _write_note(self, trial: _Trial, text: str) -> None:
        """A line in trial.stderr, so the trial's own folder says why it failed."""
        try:
            with open(os.path.join(trial.spec.trial_dir, "trial.stderr"), "a", encoding="utf-8") as file:
                file.write(f"[nni-core ray] {text}\n")
        except OSError:
            pass

    def _end(self, trial: _Trial, exit_code: int | None, sig: int | None) -> None:
        self.trials.pop(trial.spec.trial_id, None)
        self.waiting_reasons.pop(trial.spec.trial_id, None)
        self.events.trial_ended(trial.spec.trial_id, _now_ms(), exit_code, sig)

    # --- stopping ---------------------------------------------------------------------------------

    async def cancel(self, trial_id: str) -> None:
        trial = self.trials.get(trial_id)
        if trial is None or trial.canceled:
            return
        trial.canceled = True
        try:
            await asyncio.to_thread(self.client.stop_job, trial.job_id)
        except Exception as error:  # noqa: BLE001 - already ended: the monitor reports it
            _logger.debug("stop_job %s: %s", trial.job_id, error)
        if not trial.started:
            # A job still pending has no supervisor yet: Ray queues the stop and honours it if
            # the job is ever placed (it then ends STOPPED at once), but keeps it PENDING until
            # then, possibly forever. The trial ends now.
            if trial.monitor is not None:
                trial.monitor.cancel()
            self._write_note(trial, f"canceled while waiting; Ray job {trial.job_id} is stopped if it is ever placed")
            self.events.trial_started(trial_id, _now_ms())
            self._end(trial, None, signal.SIGTERM)
            return
        trial.wake.set()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every trial's job, wait until each is reported ended, then stop rayInit's cluster."""
        monitors = [trial.monitor for trial in self.trials.values() if trial.monitor is not None]
        await asyncio.gather(*(self.cancel(trial_id) for trial_id in list(self.trials)))
        if monitors:
            done, pending = await asyncio.wait(monitors, timeout=timeout_s)
            for task in pending:
                task.cancel()
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop)
            self.cluster = None
