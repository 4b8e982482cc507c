"""The experiment engine: tuner, training service, store and scheduling, on one asyncio loop.

Event-driven: nothing runs on a timer except the deadlines the config asks for
(maxTrialDuration per trial, maxExperimentDuration). Anything that may free a slot or change
the budget (a trial ended, a live update, a customized trial) calls ``kick()``; the single
scheduler task then fills free slots at once. Only the scheduler task starts trials, so no two
starts race for one slot.

Tuner and assessor calls run in one worker thread, in the order they were issued: a slow tuner
never blocks the REST API or the trial channel, and it sees results before the next request.

Metrics: ``handle_metric`` validates a trial's record, commits it to the store, updates the
state, and only then returns, so the trial's PUT is acknowledged after the commit.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import logging
import math
import os
import secrets
import string
import time
from typing import Any, Callable

from nni_core.manager.state import RUNNING_STATUSES, TRIAL_TERMINAL, ExperimentState, Trial, compact, now_ms
from nni_core.manager.store import Store
from nni_core.training_service import (
    ExperimentContext,
    TrainingService,
    TrainingServiceError,
    TrialSpec,
    trial_environment,
)

_logger = logging.getLogger("NNIManager")

UPDATE_TYPES = ("TRIAL_CONCURRENCY", "MAX_EXEC_DURATION", "MAX_TRIAL_NUM", "SEARCH_SPACE")
# Manager environment variable choosing how trials report, "http" or "file"; without it each
# training service's ``trial_protocol`` decides.
TRIAL_PROTOCOL_ENV = "NNI_CORE_TRIAL_PROTOCOL"
CHANNEL_POLL_S = 1.0  # long-poll wait before 408, as NNI
CANCEL_WAIT_S = 10.0
MAX_LAUNCH_FAILURES = 3  # trials in a row the training service cannot start: stop with ERROR  # DELETE /trial-jobs/:id waits this long for the trial to exit


class ApiError(Exception):
    """An error answered over REST as ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_duration(value: Any, field: str) -> float | None:
    """Seconds from a config duration (number of seconds, or "8s" / "10m" / "1.5h" / "2d")."""
    if value is None:
        return None
    from nni_core.config.utils import parse_time

    try:
        seconds = parse_time(value)
    except ValueError as error:
        raise ApiError(f"{field}: {error}; use a number of seconds or a string like '10m'") from None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ApiError(f"{field} must be a positive duration, got {value!r}")
    return float(seconds)


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(f"{field} must be a positive integer, got {value!r}")
    return value


def metric_value_problem(value: Any) -> str | None:
    """Why a reported metric is unusable, or None: numbers (finite) or dicts with a numeric
    finite ``default``, as NNI's tuners accept."""
    scalar = value.get("default") if isinstance(value, dict) else value
    if isinstance(value, dict) and "default" not in value:
        return "a dict metric needs a 'default' key"
    if isinstance(scalar, bool) or not isinstance(scalar, (int, float)):
        return f"not a number: {scalar!r}"
    if not math.isfinite(scalar):
        return f"not a finite number: {scalar!r}"
    return None


class TrialChannel:
    """NNI 3.0's trial command channel of one trial: a FIFO of commands for the trial."""

    def __init__(self) -> None:
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.ready = asyncio.Event()
        self.closed = False

    def put(self, command: dict[str, Any]) -> None:
        self.queue.append(command)
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    async def get(self, timeout: float = CHANNEL_POLL_S) -> dict[str, Any] | None | bool:
        """A command; None after ``timeout`` (→ 408); False once closed (→ 410)."""
        if not self.queue and not self.closed:
            self.ready.clear()
            try:
                await asyncio.wait_for(self.ready.wait(), timeout)
            except asyncio.TimeoutError:
                return None
        if self.queue:
            return self.queue.popleft()
        return False if self.closed else None


def new_trial_id(taken: Any) -> str:
    """5 characters, a letter first, as NNI's."""
    letters = string.ascii_letters
    while True:
        trial_id = secrets.choice(letters) + "".join(secrets.choice(letters + string.digits) for _ in range(4))
        if trial_id not in taken:
            return trial_id


def warm_up() -> None:
    """What POST /experiment needs before it can build a tuner and a training service: the
    plugins and the algorithm factory (cached process-wide once loaded)."""
    from nni_core.algorithms import factory  # noqa: F401
    from nni_core.plugins import get_plugins

    get_plugins()


class Engine:
    """One experiment. The REST layer calls the ``api_*`` methods; ``state`` is read-only for it.

    experiment_dir: ``<experiments-directory>/<id>``; the store lives in ``db/nni.sqlite``.
    channel_url: how trials reach this manager (``http://127.0.0.1:port[/prefix]``).
    """

    def __init__(self, experiment_id: str, experiment_dir: str, action: str,
                 channel_url: str | None = None, channel_query: str = "",
                 manager_info: dict[str, Any] | None = None) -> None:
        self.state = ExperimentState(experiment_id, experiment_dir, action)
        self.action = action
        self.channel_url = channel_url
        self.channel_query = channel_query
        self.manager_info = manager_info or {}
        self.store: Store | None = None
        self.service: TrainingService | None = None
        self.tuner: Any = None
        self.assessor: Any = None
        self.channels: dict[str, TrialChannel] = {}
        self.stopping = False
        self.started = False
        self.submitted = 0  # trials counted against maxTrialNumber
        self.next_parameter_id = 0
        self.tuner_ids: set[Any] = set()  # parameter ids this tuner instance generated
        self.tuner_exhausted = False
        self.duration_exceeded = False
        self.resume_queue: collections.deque[Trial] = collections.deque()
        self.custom_queue: collections.deque[Trial] = collections.deque()
        self.kill_reasons: dict[str, tuple[str, str | None]] = {}  # trial id -> (status, message)
        self.trial_timers: dict[str, asyncio.TimerHandle] = {}
        self.submitting: set[str] = set()  # trials whose training-service submit() is running
        self.ended_waiters: dict[str, list[asyncio.Future]] = {}
        # re-attached trials: how often each intermediate sequence was stored before the restart,
        # so that a training service re-reading the trial's metrics file from its start adds none twice
        self.stored_before_restart: dict[str, collections.Counter] = {}
        self.duration_timer: asyncio.TimerHandle | None = None
        self.use_channel = True
        self.launch_failures = 0
        self.limits: dict[str, float | None] = {}  # maxTrialDuration / maxExperimentDuration in seconds
        self._wake = asyncio.Event()
        self._status_changed = asyncio.Event()  # replaced after each change (see wait_status_change)
        self._scheduler: asyncio.Task | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tuner")
        # metric commits (fsync) off the loop; every other store write stays on the loop thread
        self._store_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store")
        self._on_stop: list[Callable[[], None]] = []

    # --- opening --------------------------------------------------------------------------------

    @property
    def db_path(self) -> str:
        return os.path.join(self.state.experiment_dir, "db", "nni.sqlite")

    def open(self) -> None:
        """Open the store; for resume/view, rebuild the state from it. Raises ApiError-free
        ``FileNotFoundError``/``ValueError`` with a clear message for the process to print."""
        state = self.state
        if self.action == "create":
            self.store = Store(self.db_path)
            if self.store.latest_profile() is not None:
                raise ValueError(f"experiment {state.id} already exists in {state.experiment_dir}; "
                                 "use --action resume or view")
            return
        if not os.path.exists(self.db_path):
            raise FileNotFoundError(f"no stored experiment at {self.db_path}; "
                                    "check --experiment-id and --experiments-directory")
        self.store = Store(self.db_path, readonly=self.action == "view")
        state.restore(self.store)

    def prepare(self) -> None:
        """Load the plugins and the algorithm factory in the tuner thread while the launcher is
        still talking to us, so that POST /experiment does not wait for those imports."""
        if self.action == "view":
            return
        self._pool.submit(warm_up)

    # --- helpers --------------------------------------------------------------------------------

    def kick(self) -> None:
        """Something changed that may let the scheduler start trials or finish the experiment."""
        self._wake.set()

    async def _tuner_call(self, method: str, *args: Any) -> Any:
        obj = self.tuner if not method.startswith("assessor.") else self.assessor
        name = method.removeprefix("assessor.")
        return await asyncio.get_running_loop().run_in_executor(self._pool, getattr(obj, name), *args)

    def _tuner_notify(self, method: str, *args: Any) -> None:
        """Fire-and-forget tuner call, still ordered before later calls; errors → ERROR."""
        async def call() -> None:
            try:
                await self._tuner_call(method, *args)
            except Exception as error:  # noqa: BLE001 - a tuner bug must not kill the manager
                _logger.exception("%s failed", method)
                self._fail(f"{method} raised {type(error).__name__}: {error}")
        asyncio.get_running_loop().create_task(call())

    def _set_status(self, status: str) -> None:
        state = self.state
        if state.status == status:
            return
        _logger.info("Change NNIManager status from: %s to: %s", state.status, status)
        was_running = state.status in RUNNING_STATUSES
        now_running = status in RUNNING_STATUSES
        if was_running and not now_running and state.running_since is not None:
            state.exec_base_s += time.monotonic() - state.running_since
            state.running_since = None
        elif now_running and not was_running:
            state.running_since = time.monotonic()
        state.status = status
        if state.profile is not None:
            if status in ("DONE", "ERROR"):
                state.profile.setdefault("endTime", now_ms())
            elif now_running:
                state.profile.pop("endTime", None)
        self._save_profile()
        self._mirror_registry()
        self._announce_status()

    def _announce_status(self) -> None:
        self._status_changed.set()
        self._status_changed = asyncio.Event()

    async def wait_status_change(self, seen: str, timeout: float) -> None:
        """Return once the experiment's status is no longer ``seen``, or after ``timeout`` seconds
        (``check-status?changedFrom=``: a client learns of the end at once, without polling)."""
        if self.state.status == seen:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._status_changed.wait(), timeout)

    def _save_profile(self) -> None:
        state = self.state
        if state.profile is None or self.store is None or self.store.readonly:
            return
        state.profile["revision"] = state.profile.get("revision", 0) + 1
        state.profile["execDuration"] = state.exec_duration()
        self.store.save_profile(state.profile)

    def _mirror_registry(self) -> None:
        """NNI's manager writes every status change into the registry; so do we, when the
        experiment has an entry (a manager started by hand has none)."""
        try:
            from nni_core.registry import Registry

            registry = Registry()
            if registry.get(self.state.id) is None:
                return
            changes: dict[str, Any] = {"status": self.state.status}
            if self.state.profile is not None:
                changes["endTime"] = self.state.profile.get("endTime")
            registry.update(self.state.id, **changes)
        except Exception as error:  # noqa: BLE001 - the registry is advisory for the manager
            _logger.warning("cannot update the experiment registry: %s", error)

    def _fail(self, message: str) -> None:
        _logger.error(message)
        self.state.errors.append(message)
        self._set_status("ERROR")

    # --- POST /experiment -------------------------------------------------------------------------

    async def api_start(self, body: Any) -> dict[str, Any] | None:
        if self.started:
            raise ApiError("the experiment has already been started", 409)
        if self.action == "view":
            self.started = True
            self._set_status("VIEWED")
            return None
        if self.action == "create":
            if not isinstance(body, dict):
                raise ApiError("POST /experiment needs the experiment config as a JSON object")
            params = body
            self.state.profile = {"params": params, "id": self.state.id, "execDuration": 0,
                                  "logDir": self.state.experiment_dir, "startTime": now_ms(),
                                  "nextSequenceId": 0, "revision": 0}
        params = self.state.params
        try:
            limits = self._read_limits(params)
            service = await self._build_service(params)
            tuner, assessor = await self._build_algorithms(params)
        except ApiError:
            if self.action == "create":
                self.state.profile = None  # nothing started: a corrected config may be POSTed
            raise
        self.service, self.tuner, self.assessor = service, tuner, assessor
        self.started = True
        try:
            await service.start(self)
        except TrainingServiceError as error:
            self._fail(f"training service: {error}")
            return {"experiment_id": self.state.id} if self.action == "create" else None
        self.limits = limits
        await self._tuner_call("update_search_space", params.get("searchSpace") or {})
        if self.action == "resume":
            await self._resume()
        self._set_status("RUNNING")
        self._arm_duration_timer()
        self._scheduler = asyncio.get_running_loop().create_task(self._schedule_loop())
        self.kick()
        return {"experiment_id": self.state.id} if self.action == "create" else None

    def _read_limits(self, params: dict[str, Any]) -> dict[str, Any]:
        for field in ("trialCommand", "trialCodeDirectory"):
            if not self._ts_field(params, field):
                raise ApiError(f"the config has no {field}")
        _positive_int(params.get("trialConcurrency"), "trialConcurrency")
        if params.get("maxTrialNumber") is not None:
            _positive_int(params["maxTrialNumber"], "maxTrialNumber")
        return {"maxTrialDuration": parse_duration(params.get("maxTrialDuration"), "maxTrialDuration"),
                "maxExperimentDuration": parse_duration(params.get("maxExperimentDuration"),
                                                        "maxExperimentDuration")}

    @staticmethod
    def _ts_field(params: dict[str, Any], field: str) -> Any:
        section = params.get("trainingService")
        if isinstance(section, dict) and section.get(field) is not None:
            return section[field]
        return params.get(field)

    async def _build_service(self, params: dict[str, Any]) -> TrainingService:
        """The training service of the config: its platform's, or for a ``trainingService`` list
        of several, the service of the platform that runs lists (``Platform.runs_lists``), given
        every member's service."""
        from nni_core.plugins import get_plugins

        sections = params.get("trainingService")
        if not isinstance(sections, list):
            sections = [sections]
        if not sections or not all(isinstance(s, dict) and s.get("platform") for s in sections):
            raise ApiError("the config has no trainingService.platform")
        loop = asyncio.get_running_loop()
        plugins = await loop.run_in_executor(self._pool, get_plugins)  # after prepare()'s warm-up
        runner = None
        if len(sections) > 1:
            runner = next((p for p in plugins.platforms.values() if p.runs_lists and p.training_service), None)
            if runner is None:
                raise ApiError("several training services in one experiment need a platform plugin that runs "
                               "them (nni-plugin-hybrid); installed platforms: " + ", ".join(sorted(plugins.platforms)))
        classes = [await self._service_class(plugins, section["platform"]) for section in sections]
        cls = await self._service_class(plugins, runner.name) if runner is not None else classes[0]
        protocol = str(os.environ.get(TRIAL_PROTOCOL_ENV) or getattr(cls, "trial_protocol", "http")).lower()
        if protocol not in ("http", "file"):
            raise ApiError(f"{TRIAL_PROTOCOL_ENV} must be 'http' or 'file', got {protocol!r}")
        self.use_channel = protocol == "http" and self.channel_url is not None
        context = ExperimentContext(self.state.id, self.state.experiment_dir,
                                    self.channel_url if self.use_channel else None, self.channel_query,
                                    str(params.get("logLevel") or "info"))
        members = []
        for member_cls, section in zip(classes, sections):
            section = dict(section)
            for field in ("trialCommand", "trialCodeDirectory"):
                section.setdefault(field, params.get(field))
            members.append(member_cls(section, context))
        return members[0] if runner is None else cls(list(sections), context, members)

    async def _service_class(self, plugins: Any, platform_name: str) -> type:
        from nni_core.components import load_object

        platform = plugins.platforms.get(platform_name)
        if platform is None:
            raise ApiError(f"unknown platform {platform_name!r}; installed: {', '.join(sorted(plugins.platforms))}")
        if not platform.training_service:
            raise ApiError(f"platform {platform_name!r} ({platform.distribution}) has no training service "
                           "for the embedded manager yet")
        return await asyncio.get_running_loop().run_in_executor(self._pool, load_object, platform.training_service)

    async def _build_algorithms(self, params: dict[str, Any]) -> tuple[Any, Any]:
        from nni_core.algorithms import create_algorithm
        from nni_core.errors import NniCoreError

        base_dir = params.get("trialCodeDirectory")
        loop = asyncio.get_running_loop()
        spec = params.get("tuner") or params.get("advisor")
        if not isinstance(spec, dict):
            raise ApiError("the config has no tuner")
        kind = "tuner" if params.get("tuner") else "advisor"
        try:
            tuner = await loop.run_in_executor(self._pool, create_algorithm, kind, spec, None, base_dir)
            assessor = None
            if isinstance(params.get("assessor"), dict):
                assessor = await loop.run_in_executor(self._pool, create_algorithm, "assessor",
                                                      params["assessor"], None, base_dir)
        except NniCoreError as error:
            raise ApiError(str(error)) from None
        return tuner, assessor

    async def _resume(self) -> None:
        """Counters and tuner history from the store; unfinished trials re-attached or queued."""
        state = self.state
        assert self.store is not None and self.service is not None
        self.submitted = len(state.trials)
        ids = [t.parameter_id for t in state.trials.values() if isinstance(t.parameter_id, int)]
        self.next_parameter_id = max(ids, default=-1) + 1
        history = state.tuner_history() + [item for batch in state.imported for item in json.loads(batch)]
        if history:
            await self._tuner_call("import_data", history)
        processes = self.store.processes()
        for trial in state.trials.values():
            if trial.status in TRIAL_TERMINAL:
                continue
            if trial.status == "WAITING" and trial.start_time is None:
                self.custom_queue.append(trial)  # a customized trial that never started
                continue
            info = processes.get(trial.id)
            if info is not None and await self.service.reattach(
                    self._spec(trial, self.service.place(trial.id, info)), info):
                state.set_trial_status(trial, "RUNNING")
                self.stored_before_restart[trial.id] = collections.Counter(
                    m["sequence"] for m in trial.metrics
                    if m["type"] == "PERIODICAL" and m["timestamp"] >= (trial.start_time or 0))
                self.channels[trial.id] = TrialChannel()
                self._arm_trial_timer(trial, already_ran_ms=now_ms() - (trial.start_time or now_ms()))
                continue
            record = dict(trial.parameter, parameter_source="resumed")
            trial.parameter = record
            state.set_trial_status(trial, "WAITING")
            self.store.add_event(now_ms(), trial.id, "ADD_RESUMED", "")
            self.resume_queue.append(trial)
        _logger.info("resumed: %d trials, %d re-attached, %d to re-run", len(state.trials),
                     len(state.running), len(self.resume_queue))

    # --- scheduling -------------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while not self.stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._schedule()
            except Exception as error:  # noqa: BLE001 - report, keep serving REST
                _logger.exception("scheduler failed")
                self._fail(f"scheduler: {type(error).__name__}: {error}")

    def _budget_left(self) -> bool:
        limit = self.state.params.get("maxTrialNumber")
        return not self.duration_exceeded and (limit is None or self.submitted < limit)

    def _free_slot(self) -> bool:
        concurrency = self.state.params.get("trialConcurrency") or 1
        return (len(self.state.running) < concurrency and self.service is not None
                and self.service.can_submit())

    async def _schedule(self) -> None:
        while (not self.stopping and self.state.status in RUNNING_STATUSES and self._free_slot()):
            if self.resume_queue:
                await self._launch(self.resume_queue.popleft())
                continue
            if self.custom_queue:
                await self._launch(self.custom_queue.popleft())
                continue
            if not self._budget_left() or self.tuner_exhausted:
                break
            parameter_id = self.next_parameter_id
            try:
                parameters = await self._tuner_call("generate_parameters", parameter_id)
            except Exception as error:  # noqa: BLE001
                from nni_core.algorithms import NoMoreTrialError

                if isinstance(error, NoMoreTrialError):
                    _logger.info("the tuner has no more trials")
                    self.tuner_exhausted = True
                    if self.state.status == "RUNNING":
                        self._set_status("TUNER_NO_MORE_TRIAL")
                    break
                raise
            if self.stopping or self.state.status not in RUNNING_STATUSES:
                break
            self.next_parameter_id += 1
            self.tuner_ids.add(parameter_id)
            record = {"parameter_id": parameter_id, "parameter_source": "algorithm",
                      "parameters": parameters, "parameter_index": 0}
            trial = self._new_trial(record)
            self.submitted += 1
            await self._launch(trial)
        self._update_status()

    def _update_status(self) -> None:
        state = self.state
        if self.stopping or state.status not in RUNNING_STATUSES:
            return
        pending = bool(self.resume_queue or self.custom_queue)
        idle = not state.running and not pending
        if not self._budget_left():
            self._set_status("DONE" if idle else "NO_MORE_TRIAL")
        elif self.tuner_exhausted and idle:
            self._set_status("DONE")

    def _new_trial(self, record: dict[str, Any]) -> Trial:
        state = self.state
        sequence_id = state.profile["nextSequenceId"]
        state.profile["nextSequenceId"] = sequence_id + 1
        trial = Trial(new_trial_id(state.trials), sequence_id, record)
        trial.add_parameter(record)
        trial.log_path = self.service.trial_dir(trial.id) if self.service else None
        trial.env_id = self.service.environment_id if self.service else None
        state.trials[trial.id] = trial
        return trial

    def _spec(self, trial: Trial, runner: TrainingService) -> TrialSpec:
        """What ``runner`` needs to run the trial: the service, or the one it placed the trial on."""
        params = self.state.params

        def field(name: str) -> Any:  # the runner's section has them (see _build_service)
            return runner.config.get(name) if runner.config.get(name) is not None else params.get(name)

        trial_dir = trial.log_path or runner.trial_dir(trial.id)
        code_dir = field("trialCodeDirectory")
        channel_path = f"/env/{runner.environment_id}/{trial.id}" if self.use_channel else None
        env = trial_environment(trial.id, trial.sequence_id, runner.context, trial_dir, code_dir,
                                runner.config.get("platform", "local"), channel_path)
        return TrialSpec(trial.id, trial.sequence_id, trial.parameter, field("trialCommand"),
                         code_dir, trial_dir, env, self.use_channel)

    async def _launch(self, trial: Trial) -> None:
        assert self.service is not None and self.store is not None
        runner = self.service.place(trial.id)
        trial.log_path = runner.trial_dir(trial.id)
        trial.env_id = runner.environment_id
        self.state.set_trial_status(trial, "RUNNING")
        trial.start_time = now_ms()
        trial.end_time = None
        trial.message = None
        self.channels[trial.id] = TrialChannel()
        # the event carries the sequence id: a restart takes nextSequenceId from the events, so the
        # profile (the whole config) is not stored again for every trial
        self.store.add_event(trial.start_time, trial.id, "RUNNING", json.dumps(trial.parameter), trial.log_path,
                             trial.sequence_id, None, trial.env_id)
        _logger.info("submit trial %s (sequence %d): %s", trial.id, trial.sequence_id,
                     compact(trial.parameter))
        self.submitting.add(trial.id)
        try:
            info = await self.service.submit(self._spec(trial, runner))
        except TrainingServiceError as error:
            self._end_trial(trial, "FAILED", now_ms(), str(error))
            self.launch_failures += 1
            if self.launch_failures >= MAX_LAUNCH_FAILURES:  # e.g. a missing trialCodeDirectory
                self._fail(f"{self.launch_failures} trials in a row could not be started: {error}")
            return
        finally:
            self.submitting.discard(trial.id)
        self.launch_failures = 0
        self.store.add_process(trial.id, now_ms(), info)
        self._arm_trial_timer(trial)

    def _arm_trial_timer(self, trial: Trial, already_ran_ms: int = 0) -> None:
        limit = self.limits.get("maxTrialDuration")
        if limit is None:
            return
        delay = max(0.0, limit - already_ran_ms / 1000)
        self.trial_timers[trial.id] = asyncio.get_running_loop().call_later(
            delay, self._trial_timeout, trial.id, limit)

    def _trial_timeout(self, trial_id: str, limit: float) -> None:
        self.trial_timers.pop(trial_id, None)
        trial = self.state.trials.get(trial_id)
        if trial is None or trial.status != "RUNNING" or self.service is None:
            return
        _logger.info("trial %s exceeded maxTrialDuration (%gs): stopping it", trial_id, limit)
        self.kill_reasons[trial_id] = ("EARLY_STOPPED", f"exceeded maxTrialDuration ({limit:g}s)")
        asyncio.get_running_loop().create_task(self.service.cancel(trial_id))

    def _arm_duration_timer(self) -> None:
        if self.duration_timer is not None:
            self.duration_timer.cancel()
            self.duration_timer = None
        limit = self.limits.get("maxExperimentDuration")
        if limit is None:
            self.duration_exceeded = False
            return
        left = limit - self.state.exec_duration()
        self.duration_exceeded = left <= 0
        if not self.duration_exceeded:
            self.duration_timer = asyncio.get_running_loop().call_later(left, self._duration_reached)

    def _duration_reached(self) -> None:
        _logger.info("maxExperimentDuration reached: no new trials")
        self.duration_timer = None
        self.duration_exceeded = True
        self._update_status()

    # --- events from the training service ---------------------------------------------------------

    def trial_started(self, trial_id: str, start_ms: int) -> None:
        """The trial's process began. A start reported after ``submit`` returned (a Ray job
        starts seconds after it was submitted) becomes the trial's start time, stored as a
        ``RUNNING`` event without data, and maxTrialDuration counts from it; one reported while
        ``submit`` runs leaves the submission time, already stored."""
        trial = self.state.trials.get(trial_id)
        if trial is None or trial.status != "RUNNING" or trial_id in self.submitting:
            return
        if trial.start_time is not None and start_ms <= trial.start_time:
            return
        trial.start_time = start_ms
        if self.store is not None and not self.store.readonly:
            self.store.add_event(start_ms, trial_id, "RUNNING", None, trial.log_path, trial.sequence_id, None,
                                 trial.env_id)
        timer = self.trial_timers.pop(trial_id, None)
        if timer is not None:  # armed at submission: count the whole limit from the real start
            timer.cancel()
            self._arm_trial_timer(trial)

    def trial_metric(self, trial_id: str, metric_text: str) -> None:
        try:  # read from a file or log that keeps it, and acknowledged to nobody: no fsync needed
            self.handle_metric(trial_id, metric_text, fsync=False)
        except Exception:  # noqa: BLE001 - a bad record must never take the manager down
            _logger.exception("metric of trial %s ignored", trial_id)

    def trial_message(self, trial_id: str, message: str | None) -> None:
        trial = self.state.trials.get(trial_id)
        if trial is not None and trial.status in ("WAITING", "RUNNING"):
            trial.message = message

    def trial_ended(self, trial_id: str, end_ms: int, exit_code: int | None, signal: int | None) -> None:
        if self.stopping:
            return  # NNI leaves trials stopped with the experiment RUNNING in the store: resume re-runs them
        trial = self.state.trials.get(trial_id)
        if trial is None or trial.status != "RUNNING":
            return
        reason = self.kill_reasons.pop(trial_id, None)
        if reason is not None:
            status, message = reason
        elif exit_code == 0:
            status, message = "SUCCEEDED", None
        elif exit_code is None and signal is None:  # re-attached: the exit status is lost
            status = "SUCCEEDED" if trial.final is not None else "FAILED"
            message = "exit status unknown (re-attached after a manager restart)"
        elif signal is not None:
            status, message = "USER_CANCELED", f"killed by signal {signal}"
        else:
            status, message = "FAILED", f"exit code {exit_code}"
        self._end_trial(trial, status, end_ms, message)

    def _end_trial(self, trial: Trial, status: str, end_ms: int, message: str | None) -> None:
        assert self.store is not None
        timer = self.trial_timers.pop(trial.id, None)
        if timer is not None:
            timer.cancel()
        self.state.set_trial_status(trial, status)
        trial.end_time = end_ms
        trial.message = message
        self.store.add_event(end_ms, trial.id, status, None, trial.log_path, trial.sequence_id, message,
                             trial.env_id)
        _logger.info("trial %s %s%s", trial.id, status, f" ({message})" if message else "")
        channel = self.channels.pop(trial.id, None)
        if channel is not None:
            channel.close()
        self.stored_before_restart.pop(trial.id, None)
        success = status == "SUCCEEDED"
        if trial.parameter_id in self.tuner_ids:
            self._tuner_notify("trial_end", trial.parameter_id, success)
        if self.assessor is not None:
            self._tuner_notify("assessor.trial_end", trial.id, success)
        for waiter in self.ended_waiters.pop(trial.id, []):
            if not waiter.done():
                waiter.set_result(status)
        self.kick()

    # --- metrics ----------------------------------------------------------------------------------

    def handle_metric(self, trial_id: str, metric_text: Any, fsync: bool = True) -> None:
        """Validate, store (committed; fsynced unless ``fsync`` is false), record and forward one
        metric record of a trial. Garbage is logged with the reason and dropped."""
        checked = self._check_metric(trial_id, metric_text)
        if checked is not None:
            assert self.store is not None
            self.store.add_metric(checked[0], fsync)
            self._apply_metric(*checked)

    async def handle_metric_async(self, trial_id: str, metric_text: Any) -> None:
        """``handle_metric`` with the commit (an fsync) in the store thread: the event loop keeps
        serving other trials meanwhile, and the caller still returns only once it is durable."""
        checked = self._check_metric(trial_id, metric_text)
        if checked is not None:
            assert self.store is not None
            await asyncio.get_running_loop().run_in_executor(self._store_pool, self.store.add_metric, checked[0])
            self._apply_metric(*checked)

    def _check_metric(self, trial_id: str, metric_text: Any) -> tuple[dict[str, Any], Trial, Any] | None:
        """(MetricData row, trial, decoded value) of a usable record; None (logged) otherwise."""
        def ignore(reason: str) -> None:
            _logger.warning("ignored a metric from trial %s: %s", trial_id, reason)

        try:
            record = json.loads(metric_text) if isinstance(metric_text, str) else metric_text
        except ValueError:
            return ignore(f"not JSON: {str(metric_text)[:200]!r}")
        if not isinstance(record, dict):
            return ignore(f"not a metric record: {str(metric_text)[:200]!r}")
        kind = record.get("type")
        if kind == "REQUEST_PARAMETER":
            return None
        if kind not in ("PERIODICAL", "FINAL"):
            return ignore(f"unknown metric type {kind!r}")
        if record.get("trial_job_id") != trial_id:
            return ignore(f"it names trial {record.get('trial_job_id')!r}")
        trial = self.state.trials.get(trial_id)
        if trial is None or trial.status != "RUNNING":
            return ignore("the trial is not running")
        value_text = record.get("value")
        try:
            value = json.loads(value_text) if isinstance(value_text, str) else None
        except ValueError:
            value = None
        if value is None:
            return ignore(f"value is not a JSON-encoded metric: {str(value_text)[:200]!r}")
        problem = metric_value_problem(value)
        if problem:
            return ignore(problem)
        if kind == "FINAL" and trial.final is not None:
            if trial_id in self.stored_before_restart:
                return None  # re-read after a restart: this is the one stored
            return ignore("a final result was already reported")
        sequence = record.get("sequence") if kind == "PERIODICAL" else 0
        if isinstance(sequence, bool) or not isinstance(sequence, int):
            sequence = len(trial.metrics)
        stored = self.stored_before_restart.get(trial_id)
        if kind == "PERIODICAL" and stored and stored[sequence] > 0:
            stored[sequence] -= 1
            _logger.debug("trial %s: intermediate result %d was stored before the restart", trial_id, sequence)
            return None
        parameter_id = record.get("parameter_id")
        entry = {"timestamp": now_ms(), "trialJobId": trial_id,
                 "parameterId": None if parameter_id is None else str(parameter_id),
                 "type": kind, "sequence": sequence, "data": json.dumps(value_text)}
        return entry, trial, value

    def _apply_metric(self, entry: dict[str, Any], trial: Trial, value: Any) -> None:
        """Record a committed metric in the state and tell the tuner or the assessor."""
        if entry["type"] == "FINAL" and trial.final is not None:
            _logger.warning("ignored a metric from trial %s: a final result was already reported", trial.id)
            return
        self.state.metrics.append(entry)
        trial.metrics.append(entry)
        if entry["type"] == "FINAL":
            trial.final = entry
            if trial.parameter_id in self.tuner_ids:
                self._tuner_notify("receive_trial_result", trial.parameter_id,
                                   trial.parameter.get("parameters"), value)
            else:  # customized or resumed: the tuner never issued this id
                self._tuner_notify("import_data", [{"parameter": trial.parameter.get("parameters"),
                                                    "value": value}])
        elif self.assessor is not None:
            history = [json.loads(json.loads(m["data"])) for m in trial.metrics if m["type"] == "PERIODICAL"]
            history = [h["default"] if isinstance(h, dict) else h for h in history]
            asyncio.get_running_loop().create_task(self._assess(trial.id, history))

    async def _assess(self, trial_id: str, history: list[Any]) -> None:
        try:
            result = await self._tuner_call("assessor.assess_trial", trial_id, history)
        except Exception as error:  # noqa: BLE001
            _logger.exception("assessor failed")
            self._fail(f"assessor.assess_trial raised {type(error).__name__}: {error}")
            return
        bad = getattr(result, "value", result) is False or getattr(result, "name", None) == "Bad"
        trial = self.state.trials.get(trial_id)
        if bad and trial is not None and trial.status == "RUNNING" and self.service is not None:
            _logger.info("assessor: stop trial %s early", trial_id)
            self.kill_reasons.setdefault(trial_id, ("EARLY_STOPPED", "stopped by the assessor"))
            await self.service.cancel(trial_id)

    # --- trial channel ------------------------------------------------------------------------------

    async def channel_command(self, trial_id: str, command: Any) -> int:
        """A PUT on ``/env/<env>/<trial>``: the HTTP status to answer."""
        channel = self.channels.get(trial_id)
        if channel is None or channel.closed:
            return 410
        if not isinstance(command, dict):
            return 400
        kind = command.get("type")
        if kind == "request_parameter":
            trial = self.state.trials[trial_id]
            # every request gets the trial's own record: no multi-phase, and a second
            # get_next_parameter() must not block the trial forever
            channel.put({"type": "parameter", "parameter": json.dumps(trial.parameter)})
        elif kind == "metric":
            await self.handle_metric_async(trial_id, command.get("metric"))
        else:
            _logger.warning("trial %s sent an unknown command %r", trial_id, kind)
        return 200

    # --- REST mutations -------------------------------------------------------------------------

    def _refuse_readonly(self, what: str) -> None:
        if self.action == "view":
            raise ApiError(f"Error: can not {what} in readonly mode!", 500)

    async def api_update(self, update_type: str | None, body: Any) -> None:
        self._refuse_readonly("update experiment profile")
        if update_type not in UPDATE_TYPES:
            raise ApiError(f"update_type must be one of {', '.join(UPDATE_TYPES)}, got {update_type!r}")
        if self.state.profile is None:
            raise ApiError("the experiment has not been started (POST /experiment first)", 409)
        params_in = body.get("params") if isinstance(body, dict) else None
        if not isinstance(params_in, dict):
            raise ApiError("the body must be an experiment profile with a 'params' object")
        params = self.state.params
        if update_type == "TRIAL_CONCURRENCY":
            params["trialConcurrency"] = _positive_int(params_in.get("trialConcurrency"), "params.trialConcurrency")
        elif update_type == "MAX_TRIAL_NUM":
            params["maxTrialNumber"] = _positive_int(params_in.get("maxTrialNumber"), "params.maxTrialNumber")
        elif update_type == "MAX_EXEC_DURATION":
            value = params_in.get("maxExperimentDuration")
            seconds = parse_duration(value, "params.maxExperimentDuration")
            params["maxExperimentDuration"] = value
            self.limits["maxExperimentDuration"] = seconds
        else:
            space = params_in.get("searchSpace")
            if not isinstance(space, dict):
                raise ApiError("params.searchSpace must be an object")
            if self.tuner is not None:
                try:
                    await self._tuner_call("update_search_space", space)
                except Exception as error:  # noqa: BLE001
                    raise ApiError(f"the tuner rejected the search space: {error}") from None
            params["searchSpace"] = space
            self.tuner_exhausted = False
            if self.state.status == "TUNER_NO_MORE_TRIAL":
                self._set_status("RUNNING")
        _logger.info("experiment updated: %s", update_type)
        if self.started and self.state.status not in ("ERROR", "VIEWED"):
            if update_type == "MAX_EXEC_DURATION":
                self._arm_duration_timer()
            if self.state.status in ("DONE", "NO_MORE_TRIAL") and self._budget_left():
                self._set_status("RUNNING")
        self._save_profile()
        self.kick()

    async def api_add_customized(self, body: Any) -> dict[str, Any]:
        self._refuse_readonly("add customized trial job")
        if not self.started or self.service is None:
            raise ApiError("the experiment has not been started (POST /experiment first)", 409)
        if not isinstance(body, dict):
            raise ApiError("the body must be the trial's parameters as a JSON object")
        limit = self.state.params.get("maxTrialNumber")
        if limit is not None and self.submitted >= limit:
            raise ApiError("reach maxTrialNum", 500)
        record = {"parameter_id": None, "parameter_source": "customized", "parameters": body,
                  "parameter_index": 0}
        trial = self._new_trial(record)
        self.submitted += 1
        assert self.store is not None
        self.store.add_event(now_ms(), trial.id, "ADD_CUSTOMIZED", json.dumps(record), trial.log_path,
                             trial.sequence_id, None, trial.env_id)
        self.custom_queue.append(trial)
        if self.state.status == "DONE":  # reopened to run it; the other running statuses just queue it
            self._set_status("RUNNING" if self._budget_left() else "NO_MORE_TRIAL")
        self.kick()
        return {"sequenceId": trial.sequence_id}

    async def api_cancel(self, trial_id: str) -> None:
        self._refuse_readonly("cancel trial job")
        trial = self.state.trials.get(trial_id)
        if trial is None:
            raise ApiError(f"no trial job {trial_id!r} in this experiment", 404)
        if trial.status in TRIAL_TERMINAL:
            return  # already over: nothing to cancel (NNI would re-label it USER_CANCELED)
        assert self.store is not None
        self.store.add_event(now_ms(), trial.id, "USER_TO_CANCEL", "")
        if trial.status == "WAITING":
            for queue in (self.custom_queue, self.resume_queue):
                if trial in queue:
                    queue.remove(trial)
            self._end_trial(trial, "USER_CANCELED", now_ms(), "canceled before it started")
            return
        self.kill_reasons.setdefault(trial_id, ("USER_CANCELED", "canceled by the user"))
        waiter = asyncio.get_running_loop().create_future()
        self.ended_waiters.setdefault(trial_id, []).append(waiter)
        assert self.service is not None
        await self.service.cancel(trial_id)
        try:
            await asyncio.wait_for(waiter, CANCEL_WAIT_S)
        except asyncio.TimeoutError:
            _logger.warning("trial %s did not exit within %gs of its cancel", trial_id, CANCEL_WAIT_S)

    async def api_import_data(self, body: Any) -> None:
        self._refuse_readonly("import data")
        if not isinstance(body, list) or not all(isinstance(i, dict) and "parameter" in i for i in body):
            raise ApiError('the body must be a JSON array of {"parameter": {...}, "value": ...}')
        if self.tuner is None:
            raise ApiError("tuner has not been setup", 500)
        assert self.store is not None
        self.store.add_event(now_ms(), "", "IMPORT_DATA", json.dumps(body))
        self.state.imported.append(compact(body))
        self._tuner_notify("import_data", body)

    async def api_cluster_metadata(self, body: Any) -> None:
        self._refuse_readonly("set cluster metadata")
        if not isinstance(body, dict):
            raise ApiError("the body must be an object of key: value pairs")
        if self.service is None:
            raise ApiError("cluster-metadata is only accepted after POST /experiment by platforms that use it; "
                           "v2 configs carry these settings in trainingService")
        for key, value in body.items():
            try:
                await self.service.set_cluster_metadata(key, json.dumps(value))
            except TrainingServiceError as error:
                raise ApiError(str(error)) from None

    # --- stopping ---------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Graceful stop: trials killed, profile saved with endTime, registry STOPPED."""
        if self.stopping:
            return
        self.stopping = True
        _logger.info("stopping the experiment")
        self.kick()
        for channel in self.channels.values():
            channel.close()
        if self.duration_timer is not None:
            self.duration_timer.cancel()
        for timer in self.trial_timers.values():
            timer.cancel()
        if self.service is not None:
            try:
                await self.service.stop()
            except Exception:  # noqa: BLE001
                _logger.exception("training service stop failed")
        state = self.state
        if state.status in RUNNING_STATUSES and state.running_since is not None:
            state.exec_base_s += time.monotonic() - state.running_since
            state.running_since = None
        if state.profile is not None and self.action != "view":
            state.profile.setdefault("endTime", now_ms())
            self._save_profile()
        state.status = "STOPPED"
        self._mirror_registry()
        self._announce_status()
        self._store_pool.shutdown(wait=True)  # pending metric commits finish before the close
        if self.store is not None:
            self.store.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        _logger.info("experiment stopped")
