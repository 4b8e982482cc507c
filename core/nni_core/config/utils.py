"""Small helpers shared by the config model: NNI's key rules, paths, durations, GPU indices."""

from __future__ import annotations

import math
import os
from typing import Any


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, with libyaml's parser when PyYAML has it (same result, ~10x faster)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def normalize_key(key: Any) -> str:
    """NNI compares field names ignoring case and underscores: ``trial_command`` = ``trialCommand``."""
    return str(key).lower().replace("_", "")


def camel_case(name: str) -> str:
    words = name.strip("_").split("_")
    return words[0] + "".join(word.title() for word in words[1:])


# realpath() asks the file system for every path component; one config names the same folders
# many times. ``load_config`` clears this at its start, so a later load sees a changed disk.
realpath_cache: dict[str, str] = {}


def resolve_path(path: str, base_dir: str) -> str:
    """``~`` expanded, relative paths joined to the config's folder, symlinks resolved (as NNI)."""
    path = os.path.expanduser(str(path))
    if not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    resolved = realpath_cache.get(path)
    if resolved is None:
        resolved = realpath_cache[path] = os.path.realpath(path)
    return resolved


_TIME_UNITS = {"d": 24 * 3600, "h": 3600, "m": 60, "s": 1}
_SIZE_UNITS = {"tb": 1024 ** 4, "gb": 1024 ** 3, "mb": 1024 ** 2, "kb": 1024, "b": 1}


def _parse_unit(value: Any, target: str, units: dict[str, int]) -> Any:
    if not isinstance(value, str):
        return value
    text = value.lower()
    for unit, factor in units.items():
        if text.endswith(unit):
            number = text[: -len(unit)]
            try:
                amount = float(number) * factor
            except ValueError:
                raise ValueError(f"{number!r} is not a number") from None
            return math.ceil(amount / units[target])
    raise ValueError(f"unknown unit (supported: {', '.join(units)})")


def parse_time(value: Any) -> Any:
    """``"1.5h"`` -> 5400 seconds; numbers are seconds already. Raises ValueError on a bad unit."""
    return _parse_unit(value, "s", _TIME_UNITS)


def parse_memory_size(value: Any) -> Any:
    """``"8gb"`` -> 8192 megabytes; numbers are megabytes already."""
    return _parse_unit(value, "mb", _SIZE_UNITS)


def canonical_gpu_indices(indices: Any) -> Any:
    """``"0,1"`` or ``0`` -> ``[0, 1]`` / ``[0]``; raises ValueError on a non-integer part."""
    if isinstance(indices, str):
        return [int(part) for part in indices.split(",")]
    if isinstance(indices, int) and not isinstance(indices, bool):
        return [indices]
    return indices


def gpu_indices_problem(indices: Any) -> str | None:
    if not isinstance(indices, list):
        return None
    if len(set(indices)) != len(indices):
        return "GPU indices repeat"
    if any(i < 0 for i in indices):
        return "GPU indices must not be negative"
    return None
