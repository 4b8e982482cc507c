"""``create_algorithm``: a config's ``tuner`` / ``assessor`` / ``advisor`` section → an object.

Two forms, as in NNI:

* built-in: ``{"name": "TPE", "classArgs": {...}}``, found among the algorithms plugins
  registered (``register_algorithms``); names match case-insensitively, as NNI's do.
* custom: ``{"className": "module.Class", "codeDirectory": "dir", "classArgs": {...}}``;
  ``codeDirectory`` (relative to ``base_dir``) goes on ``sys.path`` and the class is imported.
  A custom object is wrapped so that the manager sees nni-core's types whatever the class is
  based on (``nni.tuner.Tuner``, ``nni_core.algorithms.Tuner`` or nothing): NNI's
  ``NoMoreTrialError`` and ``AssessResult`` are translated and missing optional methods are
  no-ops.

``classArgs`` are keyword arguments of the constructor. Every failure is a ``UsageError`` with
one line saying what to fix. ``find_algorithm`` is the name lookup alone, for checks that must
not import anything.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from nni_core.algorithms import AssessResult, Assessor, NoMoreTrialError, Tuner
from nni_core.components import ALGORITHM_KINDS, Algorithm, load_object
from nni_core.errors import UsageError


# NNI names that are not nni-core built-ins: the first-party plugin that provides them, or NNI's
# class for those only NNI has (usable as className when nni is installed).
ELSEWHERE = {
    "tpe": ("tuner", "nni-plugin-optuna (pip install nni-plugin-optuna)"),
    "tpe_legacy": ("-", "nni.algorithms.hpo.hyperopt_tuner.HyperoptTuner"),
    "smac": ("-", "nni.algorithms.hpo.smac_tuner.SMACTuner"),
    "metis": ("-", "nni.algorithms.hpo.metis_tuner.MetisTuner"),
    "gp": ("-", "nni.algorithms.hpo.gp_tuner.GPTuner"),
    "pbt": ("-", "nni.algorithms.hpo.pbt_tuner.PBTTuner"),
    "dngo": ("-", "nni.algorithms.hpo.dngo_tuner.DNGOTuner"),
    "ppo": ("-", "nni.algorithms.hpo.ppo_tuner.PPOTuner"),
    "networkmorphism": ("-", "nni.algorithms.hpo.networkmorphism_tuner.NetworkMorphismTuner"),
    "regularizedevolutiontuner": ("-", "nni.algorithms.hpo.regularized_evolution_tuner.RegularizedEvolutionTuner"),
    "curvefitting": ("-", "nni.algorithms.hpo.curvefitting_assessor.CurvefittingAssessor"),
}


def create_algorithm(kind: str, spec: dict, plugins: Any = None, base_dir: Any = None) -> Any:
    if kind not in ALGORITHM_KINDS:
        raise ValueError(f"kind must be one of {ALGORITHM_KINDS}, got {kind!r}")
    if not isinstance(spec, dict):
        raise UsageError(f"{kind}: expected a section with 'name' or 'className', got {spec!r}")
    class_args = _get(spec, "classArgs", "class_args") or {}
    if not isinstance(class_args, dict):
        raise UsageError(f"{kind}.classArgs must be a mapping of argument names to values")
    name = _get(spec, "name", "builtinName")
    class_name = _get(spec, "className", "class_name")
    if name:
        cls, label = _builtin_class(kind, str(name), plugins)
        return _adapt(kind, _construct(cls, class_args, label))
    if class_name:
        code_dir = _get(spec, "codeDirectory", "code_directory")
        cls = _custom_class(kind, str(class_name), code_dir, base_dir)
        return _adapt(kind, _construct(cls, class_args, f"{kind} {class_name}"))
    raise UsageError(f"{kind}: set 'name' (a built-in algorithm) or 'className' and 'codeDirectory'")


def _get(spec: dict, *keys: str) -> Any:
    for key in keys:
        if spec.get(key) is not None:
            return spec[key]
    return None


def find_algorithm(kind: str, name: str, plugins: Any = None) -> Algorithm:
    """The registered algorithm a config's ``name`` means (NNI matches names case-insensitively).

    Cheap: nothing is imported. UsageError, one line, when no plugin registered it: it lists the
    installed names and, for NNI names nni-core does not ship as built-ins, says where they are.
    """
    if plugins is None:
        from nni_core.plugins import get_plugins

        plugins = get_plugins()
    algorithm = plugins.algorithm(kind, name)
    if algorithm is None:
        matches = [a for (k, n), a in plugins.algorithms.items() if k == kind and n.lower() == name.lower()]
        algorithm = matches[0] if matches else None
    if algorithm is not None:
        return algorithm
    known = ", ".join(plugins.algorithm_names(kind)) or "none installed"
    provider = ELSEWHERE.get(name.lower())
    if provider is not None and provider[0] == kind:
        raise UsageError(f"{kind} {name!r} is provided by {provider[1]}; install it "
                         f"(installed {kind}s: {known})")
    hint = f"or className and codeDirectory for a custom {kind}"
    if provider is not None:  # one of NNI's own algorithms nni-core does not ship
        hint = f"NNI's own class works through className {provider[1]!r} with nni installed"
    raise UsageError(f"unknown {kind} {name!r}; known {kind}s: {known} ({hint})")


def _builtin_class(kind: str, name: str, plugins: Any) -> tuple[type, str]:
    algorithm = find_algorithm(kind, name, plugins)
    label = f"{kind} {algorithm.name}"
    try:
        cls = load_object(algorithm.class_path)
    except ImportError as error:
        install = algorithm.requires or algorithm.distribution or "the package that provides it"
        raise UsageError(f"{label} cannot be loaded ({error}); install {install}") from None
    return cls, label


def _custom_class(kind: str, class_name: str, code_dir: Any, base_dir: Any) -> type:
    module_name, _, attribute = class_name.rpartition(".")
    if not module_name:
        raise UsageError(f"{kind}.className {class_name!r} must be 'module.ClassName'")
    if code_dir:
        directory = Path(os.fspath(code_dir)).expanduser()
        if not directory.is_absolute() and base_dir is not None:
            directory = Path(os.fspath(base_dir)) / directory
        if not directory.is_dir():
            raise UsageError(f"{kind}.codeDirectory {str(directory)!r} is not a directory")
        directory = directory.resolve()
        _forget_module_from_elsewhere(module_name, directory)
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        where = f" in codeDirectory {str(code_dir)!r}" if code_dir else ""
        raise UsageError(f"{kind}.className {class_name!r}: cannot import module {module_name!r}{where}: {error}") from None
    except Exception as error:  # the user's module itself failed
        raise UsageError(f"{kind}.className {class_name!r}: importing {module_name!r} failed: "
                         f"{type(error).__name__}: {error}") from None
    cls = getattr(module, attribute, None)
    if cls is None:
        raise UsageError(f"{kind}.className {class_name!r}: module {module_name!r} has no {attribute!r}")
    return cls


def _forget_module_from_elsewhere(module_name: str, directory: Path) -> None:
    """Two experiments in one process may use different files under the same module name."""
    top = module_name.split(".")[0]
    module = sys.modules.get(top)
    origin = getattr(module, "__file__", None) if module is not None else None
    if origin and not Path(origin).resolve().is_relative_to(directory):
        if (directory / f"{top}.py").exists() or (directory / top).is_dir():
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]


def _construct(cls: Any, class_args: dict, label: str) -> Any:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**class_args)
        except TypeError:
            accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
            accepted = [n for n, p in signature.parameters.items()
                        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            unknown = [n for n in class_args if n not in accepted]
            missing = [n for n, p in signature.parameters.items()
                       if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                       and n not in class_args]
            if unknown and not accepts_any:
                raise UsageError(
                    f"{label}: unknown classArgs {', '.join(map(repr, unknown))} "
                    f"(accepted: {', '.join(accepted) or 'none'})"
                ) from None
            if missing:
                raise UsageError(f"{label}: missing classArgs {', '.join(map(repr, missing))}") from None
    try:
        return cls(**class_args)
    except (ValueError, TypeError) as error:
        raise UsageError(f"{label}: bad classArgs: {error}") from None
    except Exception as error:
        raise UsageError(f"{label}: could not be created: {type(error).__name__}: {error}") from None


# --- custom objects ---------------------------------------------------------------------------


def _adapt(kind: str, obj: Any) -> Any:
    """nni-core's own classes as they are; anything else (NNI's, a user's) behind an adapter."""
    if kind == "assessor":
        return obj if isinstance(obj, Assessor) else CustomAssessor(obj)
    return obj if isinstance(obj, Tuner) else CustomTuner(obj)


def _is_no_more_trial(error: BaseException) -> bool:
    # nni.NoMoreTrialError, or a class of that name from the user's own code
    return type(error).__name__ == "NoMoreTrialError"


class CustomTuner(Tuner):
    """A user's tuner (or advisor) seen through nni-core's ``Tuner`` interface."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> Any:  # anything else the manager or a test looks up
        return getattr(self.__dict__["wrapped"], name)

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        try:
            return self.wrapped.generate_parameters(parameter_id, **kwargs)
        except Exception as error:
            if _is_no_more_trial(error):
                raise NoMoreTrialError(str(error)) from error
            raise

    def generate_multiple_parameters(self, parameter_id_list: list[int], **kwargs: Any) -> list[Any]:
        method = getattr(self.wrapped, "generate_multiple_parameters", None)
        if method is None:
            return super().generate_multiple_parameters(parameter_id_list, **kwargs)
        try:
            return list(method(parameter_id_list, **kwargs))
        except Exception as error:
            if _is_no_more_trial(error):
                return []
            raise

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        self.wrapped.receive_trial_result(parameter_id, parameters, value, **kwargs)

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        method = getattr(self.wrapped, "trial_end", None)
        if method is not None:
            method(parameter_id, success, **kwargs)

    def update_search_space(self, search_space: dict) -> None:
        method = getattr(self.wrapped, "update_search_space", None)
        if method is not None:
            method(search_space)

    def import_data(self, data: list[dict]) -> None:
        method = getattr(self.wrapped, "import_data", None)
        if method is not None:
            method(data)


class CustomAssessor(Assessor):
    """A user's assessor seen through nni-core's ``Assessor`` interface."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["wrapped"], name)

    def assess_trial(self, trial_job_id: str, trial_history: list[Any]) -> AssessResult:
        result = self.wrapped.assess_trial(trial_job_id, trial_history)
        if isinstance(result, AssessResult):
            return result
        # nni.assessor.AssessResult (Good=True, Bad=False) or a plain bool
        value = getattr(result, "value", result)
        return AssessResult.Good if value else AssessResult.Bad

    def trial_end(self, trial_job_id: str, success: bool) -> None:
        method = getattr(self.wrapped, "trial_end", None)
        if method is not None:
            method(trial_job_id, success)
