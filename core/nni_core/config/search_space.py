"""Search-space checks: every NNI parameter type, its shape and its bounds.

NNI 3.0 accepts any search space when an experiment is created; its tuners check later and fail at
run time. Here a parameter whose ``_type`` is one of NNI's types must be well formed (errors);
anything NNI's built-in tuners would not understand but a custom tuner might (a list, a bare
value, an unknown ``_type``) is a warning. See docs/config.md.
"""

from __future__ import annotations

from typing import Any

from nni_core.config.problems import Problems

TWO_VALUES = {"randint", "uniform", "loguniform", "normal", "lognormal"}
THREE_VALUES = {"quniform", "qloguniform", "qnormal", "qlognormal"}
TYPES = ("choice",) + tuple(sorted(TWO_VALUES | THREE_VALUES))

_MEANING = {
    "randint": "[lower, upper]", "uniform": "[low, high]", "loguniform": "[low, high]",
    "normal": "[mu, sigma]", "lognormal": "[mu, sigma]",
    "quniform": "[low, high, q]", "qloguniform": "[low, high, q]",
    "qnormal": "[mu, sigma, q]", "qlognormal": "[mu, sigma, q]",
}


def check_search_space(space: Any, problems: Problems, path: str = "searchSpace") -> None:
    if space is None:
        problems.warn(path, "the search space is empty; tuners get no parameters to choose")
        return
    if not isinstance(space, dict):
        problems.warn(path, f"is a {_kind(space)}, not a mapping of parameter names; "
                            "only a custom tuner can read it")
        return
    for name, spec in space.items():
        _check_parameter(str(name), spec, problems, f"{path}.{name}")


def _check_parameter(name: str, spec: Any, problems: Problems, path: str) -> None:
    if not isinstance(spec, dict):
        problems.warn(path, f"is a {_kind(spec)}, not {{_type: ..., _value: ...}}; "
                            "only a custom tuner can read it")
        return
    if "_type" not in spec or "_value" not in spec:
        missing = " and ".join(k for k in ("_type", "_value") if k not in spec)
        problems.warn(path, f"has no {missing}; NNI's tuners need both")
        return
    kind, args = spec["_type"], spec["_value"]
    if kind not in TYPES:
        problems.warn(f"{path}._type", f"{kind!r} is not one of NNI's types ({', '.join(TYPES)}); "
                                       "only a custom tuner can read it")
        return
    where = f"{path}._value"
    if not isinstance(args, list):
        problems.add(where, f"{kind} needs a list", got=args,
                     expected="a list of options" if kind == "choice" else _MEANING[kind])
        return
    if kind == "choice":
        _check_choice(args, problems, where)
        return
    size = 3 if kind in THREE_VALUES else 2
    if len(args) != size:
        problems.add(where, f"{kind} takes {size} values", got=args, expected=_MEANING[kind])
        return
    numeric = True
    for i, arg in enumerate(args):
        if kind == "randint" and not (isinstance(arg, int) and not isinstance(arg, bool)):
            problems.add(f"{where}[{i}]", "randint bounds must be integers", got=arg, expected="an integer")
            numeric = False
        elif not _is_number(arg):
            problems.add(f"{where}[{i}]", _not_a_number(arg), got=arg, expected="a number")
            numeric = False
    if not numeric:
        return
    if "normal" in kind:
        if args[1] <= 0:
            problems.add(f"{where}[1]", f"{kind} needs sigma > 0", got=args[1], expected="a positive number")
    else:
        if args[0] >= args[1]:
            problems.add(where, f"{kind} needs low < high", got=args, expected=_MEANING[kind])
        elif "log" in kind and args[0] <= 0:
            problems.add(f"{where}[0]", f"{kind} needs low > 0 (it samples the logarithm)",
                         got=args[0], expected="a positive number")
    if size == 3 and args[2] <= 0:
        problems.add(f"{where}[2]", f"{kind} needs q > 0", got=args[2], expected="a positive number")


def _check_choice(options: list, problems: Problems, where: str) -> None:
    if not options:
        problems.add(where, "choice has no options", got=options, expected="a non-empty list")
        return
    nested = [isinstance(o, dict) and "_name" in o for o in options]
    if any(nested):
        # Nested search space: each option names itself with _name, its other keys are parameters.
        for i, option in enumerate(options):
            if not nested[i]:
                problems.add(f"{where}[{i}]", "in a nested choice every option needs _name",
                             got=option, expected="a mapping with _name")
                continue
            for key, sub in option.items():
                if key != "_name":
                    _check_parameter(str(key), sub, problems, f"{where}[{i}].{key}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _not_a_number(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "is not a number"
        return ("is a string, not a number (PyYAML reads 1e-7 as text; "
                "write it with a dot, 1.0e-7)")
    return "is not a number"


def _kind(value: Any) -> str:
    return {list: "list", dict: "mapping", str: "string", bool: "boolean"}.get(type(value), type(value).__name__)
