"""The experiment as the manager knows it, in memory: profile, status, trials, metrics.

``ExperimentState`` is the read model behind the REST API and the dashboard. It is updated by
the engine (``nni_core.manager.engine``) right after each change reaches the store, and rebuilt
from the store on ``resume``/``view`` (``replay``). Its query methods return NNI 3.0's JSON shapes
(``../shared/spec/nni-manager-rest.md`` §3), so a new read endpoint is a one-line route.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

# NNI's statuses (spec §4)
RUNNING_STATUSES = ("RUNNING", "NO_MORE_TRIAL", "TUNER_NO_MORE_TRIAL")  # execDuration counts
TRIAL_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "USER_CANCELED", "SYS_CANCELED", "EARLY_STOPPED"})


def now_ms() -> int:
    return int(time.time() * 1000)


def compact(value: Any) -> str:
    """JSON text as NNI's Node side prints it (``JSON.stringify``: no spaces)."""
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Trial:
    """One trial job. ``parameter`` is the parameter record the trial receives."""

    id: str
    sequence_id: int
    parameter: dict[str, Any]
    status: str = "WAITING"
    log_path: str | None = None
    env_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    message: str | None = None
    hyper_parameters: list[str] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None  # the accepted FINAL metric record

    @property
    def parameter_id(self) -> Any:
        return self.parameter.get("parameter_id")

    def add_parameter(self, record: dict[str, Any]) -> None:
        """One hyperParameters entry per parameter_index; the first one wins (as NNI)."""
        index = record.get("parameter_index", 0)
        for text in self.hyper_parameters:
            if json.loads(text).get("parameter_index", 0) == index:
                return
        self.hyper_parameters.append(compact(record))

    def info(self) -> dict[str, Any]:
        """TrialJobInfo (spec §3.12)."""
        info: dict[str, Any] = {"trialJobId": self.id, "status": self.status,
                                "hyperParameters": list(self.hyper_parameters)}
        if self.start_time is not None:
            info["startTime"] = self.start_time
        if self.log_path is not None:
            info["logPath"] = self.log_path
        info["sequenceId"] = self.sequence_id
        if self.env_id is not None:
            info["envId"] = self.env_id
        if self.end_time is not None:
            info["endTime"] = self.end_time
        if self.message:
            info["message"] = self.message
        if self.status == "SUCCEEDED" and self.final is not None:
            info["finalMetricData"] = [self.final]
        if self.status == "FAILED" and self.log_path is not None:
            info["stderrPath"] = self.log_path + "/trial.stderr"  # the real file (NNI names a missing one)
        return info


@dataclass
class ExperimentState:
    """Everything the REST API reads. Mutated only by the engine."""

    id: str
    experiment_dir: str
    action: str
    status: str = "INITIALIZED"
    errors: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None  # None until POST /experiment (create) or the store has one
    trials: dict[str, Trial] = field(default_factory=dict)  # in order of creation
    metrics: list[dict[str, Any]] = field(default_factory=list)  # every accepted record, arrival order
    imported: list[str] = field(default_factory=list)  # compact JSON text of each import batch
    running: dict[str, Trial] = field(default_factory=dict)  # the RUNNING ones (see set_trial_status)
    exec_base_s: float = 0.0  # execDuration accumulated before the current running stretch
    running_since: float | None = None  # time.monotonic() when a running status began

    # --- derived values -------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        return self.profile["params"] if self.profile else {}

    def exec_duration(self) -> int:
        extra = time.monotonic() - self.running_since if self.running_since is not None else 0.0
        return int(self.exec_base_s + extra)

    def profile_json(self) -> dict[str, Any] | None:
        if self.profile is None:
            return None
        profile = dict(self.profile)
        profile["execDuration"] = self.exec_duration()
        return profile

    def set_trial_status(self, trial: Trial, status: str) -> None:
        """The engine's way to change a trial's status: the scheduler counts running trials for
        every start, which must not cost a walk over all of them."""
        trial.status = status
        if status == "RUNNING":
            self.running[trial.id] = trial
        else:
            self.running.pop(trial.id, None)

    # --- REST views -------------------------------------------------------------------------------

    def trial_jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        return [t.info() for t in self.trials.values() if status is None or t.status == status]

    def job_statistics(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for trial in self.trials.values():
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return [{"trialJobStatus": s, "trialJobNumber": n} for s, n in counts.items()]

    def metric_data(self, trial_id: str | None = None, type_: str | None = None) -> list[dict[str, Any]]:
        source: Iterable[dict[str, Any]] = self.metrics if trial_id is None else (
            self.trials[trial_id].metrics if trial_id in self.trials else [])
        return [m for m in source if type_ is None or m["type"] == type_]

    def metric_data_range(self, min_seq: int, max_seq: int) -> list[dict[str, Any]]:
        ids = {t.id for t in self.trials.values() if min_seq <= t.sequence_id <= max_seq}
        return [m for m in self.metrics if m["trialJobId"] in ids]

    def metric_data_latest(self) -> list[dict[str, Any]]:
        """Every non-PERIODICAL record, then each trial's PERIODICAL record of highest sequence."""
        result = [m for m in self.metrics if m["type"] != "PERIODICAL"]
        latest: dict[str, dict[str, Any]] = {}
        for m in self.metrics:
            if m["type"] == "PERIODICAL":
                held = latest.get(m["trialJobId"])
                if held is None or m["sequence"] >= held["sequence"]:
                    latest[m["trialJobId"]] = m
        return result + list(latest.values())

    def export_data(self) -> list[dict[str, Any]]:
        rows = []
        for trial in self.trials.values():
            if trial.status == "SUCCEEDED" and trial.final is not None:
                rows.append({"parameter": trial.parameter.get("parameters"),
                             "value": json.loads(trial.final["data"]), "trialJobId": trial.id})
        return rows

    def tuner_history(self) -> list[dict[str, Any]]:
        """``[{"parameter", "value"}]`` of every final result, for a tuner rebuilt on resume."""
        history = []
        for trial in self.trials.values():
            if trial.final is not None:
                value = json.loads(json.loads(trial.final["data"]))
                history.append({"parameter": trial.parameter.get("parameters"), "value": value})
        return history

    # --- rebuilding from the store ----------------------------------------------------------------

    def restore(self, store: Any) -> None:
        """Profile, trials and metrics from a ``Store`` (resume, view, reading a stopped
        experiment). Raises ValueError when the store holds no experiment."""
        profile = store.latest_profile()
        if profile is None:
            raise ValueError(f"{store.path} holds no experiment profile")
        self.profile = profile
        self.exec_base_s = float(profile.get("execDuration") or 0)
        self.replay(store.events(), store.metrics())
        # the profile is saved on status changes, not per trial: the events know the last sequence id
        profile["nextSequenceId"] = max([profile.get("nextSequenceId") or 0] +
                                        [t.sequence_id + 1 for t in self.trials.values()])

    def replay(self, events: Iterable[tuple], metrics: Iterable[dict[str, Any]]) -> None:
        """Rebuild trials from ``TrialJobEvent`` rows and metrics from ``MetricData`` rows.

        The status is the last event, with NNI's mapping: USER_TO_CANCEL → USER_CANCELED,
        ADD_CUSTOMIZED → WAITING, ADD_RESUMED → WAITING, ADD_HYPERPARAMETER → unchanged.
        """
        for timestamp, trial_id, event, data, log_path, sequence_id, message, env_id in events:
            if event == "IMPORT_DATA":
                self.imported.append(compact(json.loads(data)))
                continue
            trial = self.trials.get(trial_id)
            if trial is None:
                record = json.loads(data) if data else {}
                trial = Trial(trial_id, sequence_id if sequence_id is not None else -1, record)
                self.trials[trial_id] = trial
            if data and event in ("RUNNING", "WAITING", "ADD_CUSTOMIZED", "ADD_HYPERPARAMETER"):
                record = json.loads(data)
                trial.add_parameter(record)
                if event != "ADD_HYPERPARAMETER":
                    trial.parameter = record
            if log_path is not None:
                trial.log_path = log_path
            if env_id is not None:
                trial.env_id = env_id
            if sequence_id is not None:
                trial.sequence_id = sequence_id
            if event == "ADD_HYPERPARAMETER":
                continue
            if event == "RUNNING":
                # with data: the launch (the first one's time is kept); without: the training
                # service reported the real start later (see Engine.trial_started)
                trial.start_time = timestamp if not data else (trial.start_time or timestamp)
                trial.end_time = None
            if event in TRIAL_TERMINAL or event == "USER_TO_CANCEL":
                trial.end_time = timestamp
            trial.message = message or trial.message
            trial.status = {"USER_TO_CANCEL": "USER_CANCELED", "ADD_CUSTOMIZED": "WAITING",
                            "ADD_RESUMED": "WAITING"}.get(event, event)
        self.running = {t.id: t for t in self.trials.values() if t.status == "RUNNING"}
        for record in metrics:
            self.metrics.append(record)
            trial = self.trials.get(record["trialJobId"])
            if trial is not None:
                trial.metrics.append(record)
                if record["type"] == "FINAL" and trial.final is None:
                    trial.final = record
