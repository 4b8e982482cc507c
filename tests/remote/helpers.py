"""A tiny stand-in for the manager's scheduling loop, to drive RemoteTrainingService directly."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from nni_core.training_service import ExperimentContext, TrialSpec

# A trial speaking the file protocol with the stdlib only: reads parameter.cfg, writes framed
# records to .nni/metrics, and appends its id to runs.log beside the experiment's code (to
# catch a trial that runs twice). STEP seconds between reports.
FILE_PROTOCOL_TRIAL = r'''
import json, os, time
d = os.environ["NNI_SYS_DIR"]
with open(os.path.join(d, "parameter.cfg")) as f:
    p = json.load(f)
with open(os.path.join(os.environ["NNI_CODE_DIR"], "..", "runs.log"), "a") as f:
    f.write(os.environ["NNI_TRIAL_JOB_ID"] + "\n")
os.makedirs(os.path.join(d, ".nni"), exist_ok=True)
def report(kind, seq, value):
    data = (json.dumps({"parameter_id": p["parameter_id"], "trial_job_id": os.environ["NNI_TRIAL_JOB_ID"],
                        "type": kind, "sequence": seq, "value": json.dumps(value)}) + "\n").encode()
    with open(os.path.join(d, ".nni", "metrics"), "ab") as f:
        f.write(b"ME%06d" % len(data) + data)
x = p["parameters"]["x"]
step = float(os.environ.get("STEP") or p["parameters"].get("step", 0))
for i in range(3):
    report("PERIODICAL", i, x + i)
    time.sleep(step)
report("FINAL", 0, x * 10)
'''

NNI_TRIAL = r'''
import nni
p = nni.get_next_parameter()
for i in range(2):
    nni.report_intermediate_result(p["x"] + i)
nni.report_final_result(p["x"] * 10)
'''


def runs(machines, experiment_id: str) -> Counter:
    """How often each trial id ran, from the runs.log the test trials append to on each machine."""
    counts: Counter = Counter()
    for server in machines.servers:
        log = server.remote_root / experiment_id / "runs.log"
        if log.exists():
            counts.update(log.read_text().split())
    return counts


def code_dir(folder: Path, source: str = FILE_PROTOCOL_TRIAL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trial.py").write_text(source)
    return folder


class Recorder:
    """TrialEvents that remembers everything, in order."""

    def __init__(self) -> None:
        self.started: dict[str, int] = {}
        self.metrics: dict[str, list[dict]] = defaultdict(list)
        self.ended: dict[str, tuple] = {}
        self.messages: dict[str, str | None] = {}
        self.changed = asyncio.Event()
        self.peak_running = 0

    @property
    def running(self) -> int:
        return len(self.started) - len([t for t in self.ended if t in self.started])

    def trial_started(self, trial_id: str, start_ms: int) -> None:
        assert trial_id not in self.started, f"{trial_id} started twice"
        self.started[trial_id] = start_ms
        self.peak_running = max(self.peak_running, self.running)
        self.changed.set()

    def trial_metric(self, trial_id: str, metric_text: str) -> None:
        assert trial_id not in self.ended, f"metric after the end of {trial_id}"
        self.metrics[trial_id].append(json.loads(metric_text))
        self.changed.set()

    def trial_message(self, trial_id: str, message: str | None) -> None:
        self.messages[trial_id] = message
        self.changed.set()

    def trial_ended(self, trial_id: str, end_ms: int, exit_code, signal) -> None:
        assert trial_id not in self.ended, f"{trial_id} ended twice"
        self.ended[trial_id] = (exit_code, signal)
        self.changed.set()

    async def wait_for(self, condition, timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))  # also re-checks file conditions
            except asyncio.TimeoutError:
                pass


def context(tmp_path: Path, experiment_id: str = "exp1") -> ExperimentContext:
    return ExperimentContext(experiment_id=experiment_id, experiment_dir=str(tmp_path / "exp"))


def spec(index: int, code: Path, python: str = sys.executable, step: float = 0.0,
         source: str = "trial.py") -> TrialSpec:
    trial_id = f"t{index:03d}"
    return TrialSpec(trial_id=trial_id, sequence_id=index,
                     parameter={"parameter_id": index, "parameter_source": "algorithm",
                                "parameters": {"x": index, "step": step}, "parameter_index": 0},
                     command=f"{python} {source}", code_dir=str(code),
                     trial_dir=str(code.parent / "local-trials" / trial_id),
                     env={"NNI_PLATFORM": "remote", "NNI_TRIAL_COMMAND_CHANNEL": "http://10.255.255.1:1/x"},
                     use_channel=False)


async def run_all(service, recorder: Recorder, specs: list[TrialSpec], concurrency: int,
                  timeout: float = 120.0, on_started=None) -> None:
    """Submit ``specs`` keeping at most ``concurrency`` running, as the manager does."""
    pending = list(specs)
    deadline = time.monotonic() + timeout
    while pending or len(recorder.ended) < len(specs):
        running = sum(1 for s in specs if s.trial_id not in recorder.ended) - len(pending)
        while pending and running < concurrency and service.can_submit():
            await service.submit(pending.pop(0))
            running += 1
        if on_started is not None:
            await on_started()
        recorder.changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {len(recorder.ended)} of {len(specs)} trials ended in time")
        try:
            await asyncio.wait_for(recorder.changed.wait(), min(left, 1.0))
        except asyncio.TimeoutError:
            pass
