"""The manager-side training-service interface, and the trial file protocol shared by services.

A platform plugin names its training service in ``Platform(training_service="pkg.mod:Class")``;
the manager finds it through the plugin registry and drives it with the small async interface
below. The manager owns the experiment (tuner, store, scheduling, the trial HTTP channel); the
service only runs trials where its platform runs them and tells the manager what happened:

    manager                                 training service
    -------                                 ----------------
    TrainingService(config, context)  --->  (constructor: platform section, experiment context)
    await start(events)               --->  connect / check resources
    can_submit()                      --->  is there room for one more trial now (GPUs, ...)?
    await submit(TrialSpec)           --->  start the trial; returns what is needed to re-attach
                                      <---  events.trial_started(trial_id, start_ms)
                                      <---  events.trial_metric(trial_id, metric_text)
                                      <---  events.trial_ended(trial_id, end_ms, exit_code, signal)
                                      <---  events.trial_message(trial_id, text)  (why it waits, ...)
    await cancel(trial_id)            --->  kill it (trial_ended follows)
    await reattach(TrialSpec, info)   --->  after a manager restart: follow a trial still running
    await stop()                      --->  kill everything, release resources

Metrics travel however the platform likes: the manager's HTTP channel (``/env/<env>/<trial>``)
when trials can reach the manager, otherwise the file protocol below over the service's own
connection. ``trial_metric`` takes the metric record text as a trial writes it; the manager
validates, stores and forwards it (a service never has to parse values).

File protocol (NNI's legacy trial channel, still spoken by the ``nni`` 3.0 SDK):

* ``<trial dir>/parameter.cfg``: the parameter record as JSON, written before the trial starts
  (``write_parameter_file``);
* ``<trial dir>/.nni/metrics``: records framed as ``ME`` + 6-digit zero-padded length + payload
  (``MetricsFileReader`` parses it incrementally while the file grows).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ExperimentContext",
    "MetricsFileReader",
    "TrainingService",
    "TrainingServiceError",
    "TrialEvents",
    "TrialSpec",
    "encode_metrics_record",
    "trial_environment",
    "write_parameter_file",
]


class TrainingServiceError(Exception):
    """A training service cannot do what was asked (bad platform settings, no resources ever)."""


@dataclass(frozen=True)
class ExperimentContext:
    """What a training service knows about the experiment it serves.

    channel_url: base URL of the manager's trial command channel (``http://host:port[/prefix]``),
        None when the manager is unreachable for trials. A trial's channel is
        ``f"{channel_url}/env/{service.environment_id}/{trial_id}"`` (plus ``channel_query``).
    channel_query: query string appended to channel URLs (``?token=...``), or "".
    """

    experiment_id: str
    experiment_dir: str
    channel_url: str | None = None
    channel_query: str = ""
    log_level: str = "info"


@dataclass(frozen=True)
class TrialSpec:
    """One trial to run.

    parameter: the parameter record (``parameter_id``, ``parameter_source``, ``parameters``,
        ``parameter_index``) the trial receives from ``get_next_parameter()``.
    env: NNI's trial environment variables (see ``trial_environment``); the service adds its own
        (CUDA_VISIBLE_DEVICES, ...) and may rewrite paths for a remote machine.
    use_channel: true when the trial talks to the manager's HTTP channel; false when it must use
        the file protocol (then ``parameter.cfg`` is written and ``.nni/metrics`` tailed).
    """

    trial_id: str
    sequence_id: int
    parameter: dict[str, Any]
    command: str
    code_dir: str
    trial_dir: str
    env: dict[str, str] = field(default_factory=dict)
    use_channel: bool = True


class TrialEvents(Protocol):
    """Callbacks into the manager. Called on the manager's event loop thread, in order per trial."""

    def trial_started(self, trial_id: str, start_ms: int) -> None: ...

    def trial_metric(self, trial_id: str, metric_text: str) -> None: ...

    def trial_ended(self, trial_id: str, end_ms: int, exit_code: int | None, signal: int | None) -> None:
        """``exit_code`` None and ``signal`` None: the service lost track of the exit status."""

    def trial_message(self, trial_id: str, message: str | None) -> None:
        """A note for people about a trial that has not ended (why it waits, ...); shown as the
        trial's ``message`` over REST until replaced, cleared with None, or the trial ends."""


class TrainingService:
    """Base class of manager-side training services. Subclasses override the async methods.

    config: the platform's ``trainingService`` section as posted (camelCase JSON).
    context: the experiment it serves.
    """

    #: NNI's environment id, shown as ``envId`` in trial records and used in channel URLs.
    environment_id = "local-env"
    #: How its trials report unless the manager's ``NNI_CORE_TRIAL_PROTOCOL`` says otherwise:
    #: ``"http"`` (the manager's channel, NNI 3.0's) or ``"file"`` (``parameter.cfg`` and
    #: ``.nni/metrics``, which the service reads and passes to ``events.trial_metric``).
    trial_protocol = "http"

    def __init__(self, config: dict[str, Any], context: ExperimentContext) -> None:
        self.config = config
        self.context = context

    def place(self, trial_id: str, info: dict[str, Any] | None = None) -> "TrainingService":
        """The service that runs the trial (given ``info``, its start record: that ran it), whose
        ``trial_dir``, ``environment_id`` and ``config`` shape the trial's spec. Itself, unless it
        spreads trials over member services (``Platform.runs_lists``); asked right before
        ``submit`` or, on resume, ``reattach``."""
        return self

    def trial_dir(self, trial_id: str) -> str:
        """Where a trial's output lives (``logPath`` over REST). NNI 3.0's layout by default."""
        return os.path.join(self.context.experiment_dir, "environments", self.environment_id, "trials", trial_id)

    async def start(self, events: TrialEvents) -> None:
        """Called once before the first submit; keep ``events`` to report trial events."""
        self.events = events

    def can_submit(self) -> bool:
        """True when one more trial could start now. The manager asks before it draws parameters
        from the tuner and asks again after every ``trial_ended``."""
        return True

    async def submit(self, spec: TrialSpec) -> dict[str, Any]:
        """Start a trial. Returns JSON-able facts the manager stores to ``reattach`` later (pid, ...).
        ``events.trial_started`` must follow (it may be called before this returns)."""
        raise NotImplementedError

    async def reattach(self, spec: TrialSpec, info: dict[str, Any]) -> bool:
        """Follow a trial started by an earlier manager process (``info`` = what submit returned).
        False when it no longer runs; the manager then runs it again."""
        return False

    async def cancel(self, trial_id: str) -> None:
        """Stop a running trial; ``events.trial_ended`` follows. Unknown or ended trials: no-op."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Cancel every trial and release resources; called once when the experiment stops."""

    async def set_cluster_metadata(self, key: str, value: str) -> None:
        """NNI's legacy ``PUT /experiment/cluster-metadata``; only v1 platforms need it."""
        raise TrainingServiceError(
            f"cluster-metadata is not used by the {self.config.get('platform', 'this')!r} platform"
        )


def trial_environment(
    spec_trial_id: str,
    sequence_id: int,
    context: ExperimentContext,
    trial_dir: str,
    code_dir: str,
    platform: str,
    channel_path: str | None,
) -> dict[str, str]:
    """NNI 3.0's trial environment variables (trial protocol §3).

    channel_path: ``/env/<env>/<trial>`` when the trial uses the HTTP channel, else None (the
    SDKs then fall back to the file protocol because ``NNI_PLATFORM`` is set).
    """
    env = {
        "NNI_PLATFORM": platform,
        "NNI_EXP_ID": context.experiment_id,
        "NNI_TRIAL_JOB_ID": spec_trial_id,
        "NNI_TRIAL_SEQ_ID": str(sequence_id),
        "NNI_SYS_DIR": trial_dir,
        "NNI_OUTPUT_DIR": trial_dir,
        "NNI_CODE_DIR": code_dir,
    }
    if channel_path is not None and context.channel_url:
        env["NNI_TRIAL_COMMAND_CHANNEL"] = context.channel_url + channel_path + context.channel_query
    return env


# --- the file protocol ----------------------------------------------------------------------------


def write_parameter_file(trial_dir: str, record: dict[str, Any], index: int = 0) -> str:
    """Write ``parameter.cfg`` (``parameter_<index>.cfg`` for index > 0) atomically.

    Atomic (temp file + rename) because the SDK polls for the file and must never read half of it.
    """
    name = "parameter.cfg" if index == 0 else f"parameter_{index}.cfg"
    os.makedirs(trial_dir, exist_ok=True)
    path = os.path.join(trial_dir, name)
    write_json_atomic(path, record)
    return path


def write_json_atomic(path: str, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON in one step (temp file + rename): a reader never sees
    half of it. For files only this process writes (the temp name is the path plus our pid)."""
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "wb") as file:
        file.write(json.dumps(data).encode())
    os.replace(tmp, path)


METRICS_FILE = os.path.join(".nni", "metrics")
_HEADER = 8  # "ME" + 6 digits


def encode_metrics_record(payload: str, kind: str = "ME") -> bytes:
    """One framed record, as NNI's SDK writes it (the payload gets a trailing newline)."""
    data = (payload + "\n").encode("utf-8")
    if len(data) >= 1_000_000:
        raise ValueError("metric record too large (limit 999999 bytes)")
    return kind.encode("ascii") + b"%06d" % len(data) + data


class MetricsFileReader:
    """Incremental reader of ``<trial dir>/.nni/metrics``: call ``read()`` whenever the file may
    have grown; it returns the complete new records as ``(kind, payload_text)`` pairs.

    A partly written record stays buffered until its remaining bytes arrive. A corrupt header
    (not ``XX`` + 6 digits) is reported once in ``errors`` and the rest of the file is skipped,
    since framing cannot be recovered.
    """

    def __init__(self, trial_dir: str) -> None:
        self.path = os.path.join(trial_dir, METRICS_FILE)
        self.offset = 0
        self.buffer = b""
        self.errors: list[str] = []
        self._broken = False

    def read(self) -> list[tuple[str, str]]:
        if self._broken:
            return []
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except FileNotFoundError:
            return []
        return self.feed(chunk)

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """Parse the file's next bytes, however they arrived (read here, or sent over a
        service's own connection); returns the records they complete."""
        self.offset += len(data)
        self.buffer += data
        return self._parse()

    def _parse(self) -> list[tuple[str, str]]:
        records = []
        buffer = self.buffer
        while len(buffer) >= _HEADER:
            kind = buffer[:2]
            digits = buffer[2:_HEADER]
            if not (kind.isalpha() and digits.isdigit()):
                self.errors.append(f"{self.path}: bad record header {buffer[:_HEADER]!r} at byte "
                                   f"{self.offset - len(buffer)}; ignoring the rest of the file")
                self._broken = True
                buffer = b""
                break
            length = int(digits)
            if len(buffer) < _HEADER + length:
                break  # the writer has not finished this record yet
            payload = buffer[_HEADER:_HEADER + length]
            buffer = buffer[_HEADER + length:]
            records.append((kind.decode("ascii"), payload.decode("utf-8", errors="replace").rstrip("\n")))
        self.buffer = buffer
        return records
