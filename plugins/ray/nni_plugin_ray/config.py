"""The ``ray`` training service's config section.

```yaml
trainingService:
  platform: ray
  address: http://head:8265        # the dashboard's Job API, or a Ray client address ray://head:10001
  trialCpuNumber: 1                # per trial; also trialGpuNumber, trialMemorySize
  resources: {accelerator_a: 1}    # custom Ray resources per trial
  pip: [scikit-learn]              # runtime environment of every trial
  envVars: {OMP_NUM_THREADS: "1"}
  # rayInit: {numCpus: 4}          # instead of address: a local cluster started with the experiment
```
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from nni_core.config import Problems, Section, T, TrainingServiceConfig, field
from nni_core.config.utils import parse_memory_size

ADDRESS_SCHEMES = ("http://", "https://", "ray://")

NUMBER = T.Type("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
NUMBER_DICT = T.Type(
    "a mapping of resource names to numbers",
    lambda v: isinstance(v, dict) and all(isinstance(k, str) and NUMBER.check(n) for k, n in v.items()),
)
STR_LIST = T.Type("a list of strings", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v))
ENV_DICT = T.Type("a mapping of names to strings",
                  lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(s, str)
                                                        for k, s in v.items()))


def _not_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must not be negative"


def _resources(value: Any) -> str | None:
    if not value:
        return None
    negative = [name for name, amount in value.items() if amount < 0]
    if negative:
        return f"amounts must not be negative ({', '.join(negative)})"
    reserved = [name for name in value if name in ("CPU", "GPU", "memory")]
    if reserved:
        return (f"{', '.join(reserved)} is set with trialCpuNumber / trialGpuNumber / "
                "trialMemorySize, not in resources")
    return None


def _size(value: Any) -> str | None:
    if value is None:
        return None
    try:
        megabytes = parse_memory_size(value)
    except ValueError as error:
        return f"is not a size: {error}; write e.g. 512mb or 2gb"
    return None if megabytes > 0 else "must be more than 0"


@attrs.frozen(kw_only=True)
class RayInitConfig(Section):
    """A Ray head node on this machine, started with the experiment and stopped with it."""

    nni_name: ClassVar[str] = "RayInitConfig"

    host: str = field(T.STR, "127.0.0.2")
    num_cpus: int = field(T.INT, 2, check=_not_negative)
    num_gpus: int = field(T.INT, 0, check=_not_negative)
    resources: dict | None = field(T.optional(NUMBER_DICT), None, check=_resources)
    object_store_memory: Any = field(T.optional(T.SIZE), "200mb", check=_size)
    dashboard_port: int | None = field(T.optional(T.INT), None)


@attrs.frozen(kw_only=True)
class RayConfig(TrainingServiceConfig):
    nni_name: ClassVar[str] = "RayConfig"
    # Trials never call the manager: parameters and metrics travel through Ray.
    needs_manager_ip: ClassVar[bool] = False

    platform: str = field(T.literal("ray"), "ray")
    address: str | None = field(T.optional(T.STR), None)
    ray_init: RayInitConfig | None = field(T.optional(T.section(RayInitConfig)), None)
    trial_cpu_number: float = field(NUMBER, 1, check=_not_negative)
    trial_memory_size: Any = field(T.optional(T.SIZE), None, check=_size)
    resources: dict | None = field(T.optional(NUMBER_DICT), None, check=_resources)
    pip: list | None = field(T.optional(STR_LIST), None)
    env_vars: dict | None = field(T.optional(ENV_DICT), None)
    runtime_env: dict | None = field(T.optional(T.STR_DICT), None)
    upload_code: bool = field(T.BOOL, True)
    python_interpreter: str | None = field(T.optional(T.STR), None)
    node_failure_retries: int = field(T.INT, 0, check=_not_negative)


def check(ts: RayConfig, problems: Problems, path: str) -> None:
    """Cross-field rules of a ``ray`` section (each a one-line problem)."""
    if ts.address is None and ts.ray_init is None:
        problems.add(f"{path}.address", "is not set",
                     expected="the cluster's Job API (http://head:8265) or Ray client address "
                              "(ray://head:10001), or rayInit for a local cluster")
    elif ts.address is not None and ts.ray_init is not None:
        problems.add(f"{path}.rayInit", "cannot be used with address", got=ts.address,
                     expected="either address (an existing cluster) or rayInit (a local one)")
    elif ts.address is not None and not ts.address.startswith(ADDRESS_SCHEMES):
        problems.add(f"{path}.address", "has no known scheme", got=ts.address,
                     expected="http://host:8265 (Job API) or ray://host:10001 (Ray client)")
    if ts.runtime_env:
        owned = {"working_dir": "trialCodeDirectory", "pip": "pip", "env_vars": "envVars"}
        for key, field_name in owned.items():
            if key in ts.runtime_env:
                problems.add(f"{path}.runtimeEnv.{key}", f"is set by {field_name}", got=ts.runtime_env[key],
                             expected=f"use {field_name} instead")
    if ts.trial_cpu_number == 0 and not ts.trial_gpu_number and not ts.resources:
        problems.warn(f"{path}.trialCpuNumber",
                      "0 with no other resource: Ray places every trial on the head node")
