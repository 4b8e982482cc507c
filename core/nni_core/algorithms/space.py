"""NNI search spaces flattened into one spec per parameter, and back.

A search space is NNI's JSON: ``{"lr": {"_type": "loguniform", "_value": [1e-4, 0.1]}, ...}``;
a ``choice`` whose candidates are all dicts with ``_name`` nests a sub-space per candidate.

Tuners work on the flat form: ``format_search_space`` gives a ``ParameterSpec`` per parameter,
keyed by its path (``("model", 1, "depth")`` is ``depth`` inside the second candidate of
``model``). A tuner picks an internal value per active spec (an index for ``choice``/``randint``,
a float in log space for ``log*`` types) and ``deformat_parameters`` turns that into what the
trial receives: index → candidate, ``exp`` for log types, ``round(x / q) * q`` then clipping to
``[low, high]`` for ``q*`` types, nesting rebuilt with ``_name``. These are NNI 3.0's rules
(``nni.common.hpo_utils.formatting``), reimplemented without numpy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

ParameterKey = tuple  # of str (names) and int (index of the nested candidate)

TYPES = (
    "choice", "randint",
    "uniform", "quniform", "loguniform", "qloguniform",
    "normal", "qnormal", "lognormal", "qlognormal",
)


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a search space.

    For log types ``low``/``high``/``mu``/``sigma`` are in log space (like NNI's formatting).
    """

    name: str
    type: str
    values: list
    key: ParameterKey
    categorical: bool
    size: int | None = None          # candidates of a categorical parameter
    low: float | None = None
    high: float | None = None
    normal_distributed: bool = False
    mu: float | None = None
    sigma: float | None = None
    q: float | None = None
    clip: tuple[float, float] | None = None   # q-uniform types: the original [low, high]
    log_distributed: bool = False

    def is_nested(self) -> bool:
        return len(self.key) >= 2 and isinstance(self.key[-2], int)

    def is_activated_in(self, partial: dict) -> bool:
        """Whether this parameter is used, given the choices already made (in space order)."""
        if self.is_nested():
            return partial.get(self.key[:-2]) == self.key[-2]
        return True

    @property
    def nested_choice(self) -> bool:
        return self.type == "choice" and is_nested_choices(self.values)


FormattedSpace = dict  # ParameterKey -> ParameterSpec, in search-space order


def format_search_space(search_space: dict) -> FormattedSpace:
    """Flatten and check a search space; ValueError names the bad parameter."""
    if not isinstance(search_space, dict):
        raise ValueError(f"search space must be a JSON object, got {type(search_space).__name__}")
    return {spec.key: spec for spec in _format(tuple(), search_space)}


def _format(parent: ParameterKey, space: dict) -> list[ParameterSpec]:
    formatted = []
    for name, entry in space.items():
        if name == "_name":
            continue
        key = (*parent, name)
        where = _path(key)
        if not isinstance(entry, dict) or "_type" not in entry or "_value" not in entry:
            raise ValueError(f"search space parameter {where}: expected {{\"_type\": ..., \"_value\": [...]}}")
        spec = _format_parameter(key, entry["_type"], entry["_value"])
        formatted.append(spec)
        if spec.nested_choice:
            for index, sub_space in enumerate(spec.values):
                formatted += _format((*parent, name, index), sub_space)
    return formatted


def _format_parameter(key: ParameterKey, type_: Any, values: Any) -> ParameterSpec:
    where = _path(key)
    if type_ not in TYPES:
        raise ValueError(f"search space parameter {where}: unknown _type {type_!r} (known: {', '.join(TYPES)})")
    if not isinstance(values, list) or not values:
        raise ValueError(f"search space parameter {where}: _value must be a non-empty list")
    if type_ == "choice":
        return ParameterSpec(key[-1], type_, values, key, categorical=True, size=len(values))
    numbers = _numbers(where, type_, values)
    if type_ == "randint":
        lower, upper = math.ceil(numbers[0]), math.ceil(numbers[1])
        if upper <= lower:
            raise ValueError(f"search space parameter {where}: randint needs lower < upper, got {values}")
        return ParameterSpec(key[-1], type_, values, key, categorical=True, size=upper - lower)
    q = numbers[2] if type_.startswith("q") else None
    if q is not None and q <= 0:
        raise ValueError(f"search space parameter {where}: q must be positive, got {q}")
    log = "log" in type_
    if "normal" in type_:
        if numbers[1] < 0:
            raise ValueError(f"search space parameter {where}: sigma must not be negative")
        return ParameterSpec(key[-1], type_, values, key, categorical=False, normal_distributed=True,
                             mu=numbers[0], sigma=numbers[1], q=q, log_distributed=log)
    low, high = numbers[0], numbers[1]
    if low > high:
        raise ValueError(f"search space parameter {where}: low {low} is above high {high}")
    if log and low <= 0:
        raise ValueError(f"search space parameter {where}: {type_} needs a positive low, got {low}")
    clip = (low, high) if q is not None else None
    if log:
        low, high = math.log(low), math.log(high)
    return ParameterSpec(key[-1], type_, values, key, categorical=False, low=low, high=high,
                         q=q, clip=clip, log_distributed=log)


def _numbers(where: str, type_: str, values: list) -> list[float]:
    needed = 3 if type_.startswith("q") else 2
    if len(values) < needed or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[:needed]
    ):
        raise ValueError(f"search space parameter {where}: {type_} needs {needed} numbers, got {values}")
    return [float(v) for v in values[:needed]]


def is_nested_choices(values: list) -> bool:
    return bool(values) and all(isinstance(v, dict) and "_name" in v for v in values)


def randint_lower(spec: ParameterSpec) -> int:
    return math.ceil(float(spec.values[0]))


def deformat_parameters(formatted: dict, space: FormattedSpace) -> dict:
    """Internal values (see module doc) → the parameters a trial receives."""
    params: dict = {}
    for key, x in formatted.items():
        spec = space[key]
        if spec.categorical:
            index = int(x)
            if spec.type == "randint":
                value: Any = randint_lower(spec) + index
            elif spec.nested_choice:
                _assign(params, (*key, "_name"), spec.values[index]["_name"])
                continue
            else:
                value = spec.values[index]
        else:
            value = float(x)
            if spec.log_distributed:
                value = math.exp(value)
            if spec.q is not None:
                value = round(value / spec.q) * spec.q
            if spec.clip:
                value = min(max(value, spec.clip[0]), spec.clip[1])
        _assign(params, key, value)
    return params


def format_parameters(parameters: dict, space: FormattedSpace, strict: bool = False) -> dict:
    """Trial parameters → internal values, for ``import_data`` and resuming.

    Inexact where NNI's is (``q*`` values are kept as given; a duplicate choice candidate maps to
    its first index). ValueError when ``parameters`` does not fit the space; with ``strict``, also
    when a bounded numeric value lies outside its range (results from an older, wider space).
    """
    formatted: dict = {}
    for key, spec in space.items():
        if not spec.is_activated_in(formatted):
            continue
        value: Any = parameters
        for name in key:
            if isinstance(name, str):
                if not isinstance(value, dict) or name not in value:
                    raise ValueError(f"parameters have no value for {_path(key)}")
                value = value[name]
        if spec.categorical:
            if spec.type == "randint":
                index = int(value) - randint_lower(spec)
                if not 0 <= index < spec.size:
                    raise ValueError(f"parameter {_path(key)}={value!r} is outside the randint range")
                formatted[key] = index
            elif spec.nested_choice:
                names = [candidate["_name"] for candidate in spec.values]
                chosen = value.get("_name") if isinstance(value, dict) else None
                if chosen not in names:
                    raise ValueError(f"parameter {_path(key)}: _name {chosen!r} is not one of {names}")
                formatted[key] = names.index(chosen)
            else:
                formatted[key] = _index_of(spec, value)
        else:
            number = float(value)
            if strict and not spec.normal_distributed and not _in_bounds(number, spec):
                raise ValueError(f"parameter {_path(key)}={value!r} is outside its range")
            if spec.log_distributed:
                if number <= 0:
                    raise ValueError(f"parameter {_path(key)}={value!r} must be positive")
                number = math.log(number)
            formatted[key] = number
    return formatted


def _index_of(spec: ParameterSpec, value: Any) -> int:
    for index, candidate in enumerate(spec.values):
        if candidate == value and type(candidate) is type(value) or canonical(candidate) == canonical(value):
            return index
    raise ValueError(f"parameter {_path(spec.key)}={value!r} is not one of the choices {spec.values}")


def canonical(parameters: Any) -> str:
    """A stable string for a parameter set, to recognise duplicates."""
    return json.dumps(parameters, sort_keys=True, default=str)


def contains(parameters: Any, search_space: dict) -> bool:
    """Whether ``parameters`` is a value the search space can produce (for tests and checks)."""
    try:
        space = format_search_space(search_space)
        formatted = format_parameters(parameters, space, strict=True)
    except (ValueError, TypeError):
        return False
    if canonical(_strip(parameters)) != canonical(_strip(deformat_parameters(formatted, space))):
        return False  # extra or missing keys
    for key in formatted:
        spec, value = space[key], _value(parameters, key)
        if spec.categorical or spec.q is None:
            continue
        if spec.clip and value in spec.clip:
            continue  # a clipped end need not be a multiple of q
        if not _is_multiple(value, spec.q):
            return False
    return True


def _in_bounds(value: float, spec: ParameterSpec) -> bool:
    low, high = (spec.clip if spec.clip else
                 (math.exp(spec.low), math.exp(spec.high)) if spec.log_distributed else (spec.low, spec.high))
    return low - 1e-9 * max(1.0, abs(low)) <= value <= high + 1e-9 * max(1.0, abs(high))


def _strip(parameters: Any) -> Any:
    """Values replaced by None: compares only the shape (keys and nesting)."""
    if isinstance(parameters, dict):
        return {k: (_strip(v) if isinstance(v, dict) else (v if k == "_name" else None)) for k, v in parameters.items()}
    return None


def _value(parameters: dict, key: ParameterKey) -> Any:
    value: Any = parameters
    for name in key:
        if isinstance(name, str):
            value = value[name]
    return value


def _is_multiple(value: float, q: float) -> bool:
    return abs(value / q - round(value / q)) < 1e-6


def _assign(params: dict, key: ParameterKey, value: Any) -> None:
    names = [name for name in key if isinstance(name, str)]
    for name in names[:-1]:
        params = params.setdefault(name, {})
    params[names[-1]] = value


def _path(key: Iterable) -> str:
    return ".".join(str(name) for name in key if isinstance(name, str)) or "<root>"
