"""GPUs of this machine and which trial holds which (``trialGpuNumber`` and friends).

GPUs are read with ``nvidia-smi`` when it is on PATH. ``NNI_CORE_FAKE_GPUS`` (or the
``gpus`` argument of ``LocalTrainingService``) replaces the device list, for tests and for
machines where nvidia-smi lies: a JSON list of indices (``[0, 1]``) or of objects
(``[{"index": 0, "active": true}]``; ``active`` = busy with another user's processes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Iterable

FAKE_GPUS_ENV = "NNI_CORE_FAKE_GPUS"


@dataclass(frozen=True)
class Gpu:
    index: int
    active: bool = False  # running processes that are not ours


def parse_gpu_list(value: Any) -> list[Gpu]:
    """``[0, 1]`` / ``[{"index": 0, "active": true}]`` (or its JSON text) → Gpu list."""
    if isinstance(value, str):
        value = json.loads(value)
    gpus = []
    for item in value:
        if isinstance(item, Gpu):
            gpus.append(item)
        elif isinstance(item, dict):
            gpus.append(Gpu(int(item["index"]), bool(item.get("active", False))))
        else:
            gpus.append(Gpu(int(item)))
    return gpus


def detect_gpus(own_pids: Iterable[int] = ()) -> list[Gpu]:
    """The GPUs of this machine; [] without nvidia-smi. A GPU running a compute process whose
    process group is not one of ``own_pids`` (our trials' groups) counts as active."""
    if os.environ.get(FAKE_GPUS_ENV):
        return parse_gpu_list(os.environ[FAKE_GPUS_ENV])
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "--query-gpu=index,uuid", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout
        apps = subprocess.run([smi, "--query-compute-apps=gpu_uuid,pid", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    own = set(own_pids)
    busy = set()
    for line in apps.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[1].isdigit():
            continue
        try:
            group = os.getpgid(int(parts[1]))
        except OSError:
            group = None
        if group not in own:
            busy.add(parts[0])
    gpus = []
    for line in listing.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit():
            gpus.append(Gpu(int(parts[0]), parts[1] in busy))
    return gpus


class GpuScheduler:
    """Hands out GPU indices to trials: ``gpu_number`` GPUs each, at most ``max_per_gpu`` trials
    on one GPU, only among ``indices`` when given, skipping active GPUs unless ``use_active``."""

    def __init__(self, gpu_number: int, indices: list[int] | None, max_per_gpu: int, use_active: bool,
                 read_gpus: Callable[[], list[Gpu]]) -> None:
        self.gpu_number = gpu_number
        self.indices = indices
        self.max_per_gpu = max(1, max_per_gpu)
        self.use_active = use_active
        self.read_gpus = read_gpus
        self.holders: dict[str, list[int]] = {}

    def eligible(self) -> list[Gpu]:
        gpus = self.read_gpus()
        if self.indices is not None:
            gpus = [g for g in gpus if g.index in self.indices]
        return gpus

    def problem(self) -> str | None:
        """Why no trial could ever run (too few GPUs), or None."""
        count = len(self.eligible())
        if self.gpu_number > count:
            where = f" among gpuIndices {self.indices}" if self.indices is not None else ""
            return (f"trialGpuNumber is {self.gpu_number} but this machine has {count} usable GPU(s){where}; "
                    "lower trialGpuNumber or change gpuIndices")
        return None

    def _load(self) -> dict[int, int]:
        load: dict[int, int] = {}
        for held in self.holders.values():
            for index in held:
                load[index] = load.get(index, 0) + 1
        return load

    def free(self) -> list[int]:
        load = self._load()
        return [g.index for g in self.eligible()
                if load.get(g.index, 0) < self.max_per_gpu and (self.use_active or not g.active)]

    def can_allocate(self) -> bool:
        return len(self.free()) >= self.gpu_number

    def allocate(self, trial_id: str) -> list[int] | None:
        load = self._load()
        # least-loaded first, then lowest index: spreads trials as NNI does
        candidates = sorted(self.free(), key=lambda i: (load.get(i, 0), i))
        if len(candidates) < self.gpu_number:
            return None
        chosen = sorted(candidates[: self.gpu_number])
        self.holders[trial_id] = chosen
        return chosen

    def hold(self, trial_id: str, indices: list[int]) -> None:
        """Record the GPUs of a re-attached trial."""
        self.holders[trial_id] = list(indices)

    def release(self, trial_id: str) -> None:
        self.holders.pop(trial_id, None)
