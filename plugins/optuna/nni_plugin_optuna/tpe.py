"""TPE: NNI's TPE tuner on Optuna's ``TPESampler``, driven with ask/tell.

Each ``generate_parameters`` asks the study for a trial and walks the NNI search space in
order, suggesting only the parameters that are active (a nested ``choice`` decides which branch's
parameters exist), so Optuna sees NNI's conditional spaces as define-by-run parameters. Trials
are asked while others still run (Optuna's constant liar keeps parallel suggestions apart); a
result is told when it arrives; a trial that ends without one is told FAIL.

How each search-space type maps onto an Optuna distribution (docs/algorithms.md has the table):

==========================  ==========================================================
choice (also nested)        CategoricalDistribution over the candidate indices
randint [low, high)         IntDistribution(low, high - 1)
uniform                     FloatDistribution(low, high)
loguniform                  FloatDistribution(low, high, log=True)
quniform(low, high, q)      IntDistribution over k = round(low/q) .. round(high/q);
                            value clip(k·q, low, high): exactly NNI's set of values
qloguniform(low, high, q)   FloatDistribution(low, high, log=True), then NNI's rounding
                            clip(round(x/q)·q, low, high)
normal(mu, sigma)           FloatDistribution over the CDF position u in (0, 1); value
                            mu + sigma·Φ⁻¹(u), so the prior is exactly normal
lognormal(mu, sigma)        the same in log space; value exp(mu + sigma·Φ⁻¹(u))
qnormal, qlognormal         as above, then round(x/q)·q (no clipping: no bounds)
==========================  ==========================================================

Class arguments follow NNI's TPE: ``optimize_mode`` (default minimize), ``seed``, ``tpe_args``
with ``n_startup_jobs`` (random trials first; default 20), ``n_ei_candidates`` (24),
``constant_liar_type`` (null turns the liar off; 'best', 'worst' and 'mean' all turn on Optuna's
liar, which ranks running trials as bad, i.e. NNI's 'worst'). NNI's ``gamma``,
``linear_forgetting`` and ``prior_weight`` are accepted but Optuna's own schedule is used
(Optuna deprecated those knobs). Unlike NNI's TPE, Optuna's default multivariate TPE is used,
so correlations between parameters are modelled.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from nni_core.algorithms import OptimizeMode, Tuner, extract_scalar_reward
from nni_core.algorithms.model_based import fitting_parameters, imported_results
from nni_core.algorithms.random_tuner import Deduplicator, new_rng
from nni_core.algorithms.space import (
    FormattedSpace, ParameterSpec, deformat_parameters, format_search_space, randint_lower,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna logs every trial at INFO

EPSILON = 1e-9  # the CDF position never reaches 0 or 1 (infinite values)
LIAR_TYPES = ("best", "worst", "mean")
TPE_ARGS = {
    "constant_liar_type": "best",
    "n_startup_jobs": 20,
    "n_ei_candidates": 24,
    "linear_forgetting": 25,
    "prior_weight": 1.0,
    "gamma": 0.25,
}


class OptunaParameter:
    """One NNI parameter as an Optuna distribution, and the conversions between the two."""

    def __init__(self, spec: ParameterSpec) -> None:
        self.spec = spec
        self.name = "/".join(str(part) for part in spec.key)
        self.distribution = self._distribution()

    def _distribution(self) -> BaseDistribution:
        spec = self.spec
        if spec.type == "randint":
            lower = randint_lower(spec)
            return IntDistribution(lower, lower + spec.size - 1)
        if spec.categorical:
            return CategoricalDistribution(list(range(spec.size)))
        if spec.normal_distributed:
            return FloatDistribution(EPSILON, 1.0 - EPSILON)
        if spec.type == "quniform":
            return IntDistribution(round(spec.clip[0] / spec.q), round(spec.clip[1] / spec.q))
        if spec.log_distributed:
            return FloatDistribution(math.exp(spec.low), math.exp(spec.high), log=True)
        return FloatDistribution(spec.low, spec.high)

    def to_internal(self, value: Any) -> float:
        """An Optuna value → the internal value ``nni_core.algorithms.space`` deformats."""
        spec = self.spec
        if spec.type == "randint":
            return value - randint_lower(spec)
        if spec.categorical:
            return value
        if spec.normal_distributed:
            return spec.mu if spec.sigma == 0 else NormalDist(spec.mu, spec.sigma).inv_cdf(value)
        if spec.type == "quniform":
            return value * spec.q
        return math.log(value) if spec.log_distributed else value

    def to_optuna(self, internal: float) -> Any:
        """The inverse of ``to_internal`` (for imported results), kept inside the distribution."""
        spec, dist = self.spec, self.distribution
        if spec.type == "randint":
            return int(internal) + randint_lower(spec)
        if spec.categorical:
            return int(internal)
        if spec.normal_distributed:
            u = 0.5 if spec.sigma == 0 else NormalDist(spec.mu, spec.sigma).cdf(internal)
            return min(max(u, dist.low), dist.high)
        if spec.type == "quniform":
            return min(max(round(internal / spec.q), dist.low), dist.high)
        value = math.exp(internal) if spec.log_distributed else internal
        return min(max(value, dist.low), dist.high)

    def suggest(self, trial: optuna.Trial) -> Any:
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return trial.suggest_categorical(self.name, dist.choices)
        if isinstance(dist, IntDistribution):
            return trial.suggest_int(self.name, dist.low, dist.high)
        return trial.suggest_float(self.name, dist.low, dist.high, log=dist.log)


class TpeTuner(Tuner):
    def __init__(self, optimize_mode: str = "minimize", seed: int | None = None,
                 tpe_args: dict | None = None) -> None:
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.args = _tpe_args(tpe_args)
        if seed is None:  # draw one so that rebuilt studies stay reproducible within a run
            seed = new_rng(None).randrange(2 ** 31)
        new_rng(seed)  # validates it
        self.seed = seed
        self.parameters: dict[tuple, OptunaParameter] = {}
        self.space: FormattedSpace = {}
        self.dedup = Deduplicator({})
        self.study: optuna.Study | None = None
        self.running: dict[int, optuna.Trial] = {}   # parameter_id -> asked, not yet told
        self.results: list[tuple[Any, float]] = []   # (parameters, reward), to rebuild a study

    # --- NNI's interface --------------------------------------------------------------------

    def update_search_space(self, search_space: dict) -> None:
        self.space = format_search_space(search_space)
        self.parameters = {key: OptunaParameter(spec) for key, spec in self.space.items()}
        self.dedup = Deduplicator(self.space)
        nested = any(spec.is_nested() for spec in self.space.values())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=self.seed,
                n_startup_trials=self.args["n_startup_jobs"],
                n_ei_candidates=self.args["n_ei_candidates"],
                constant_liar=self.args["constant_liar_type"] is not None,
                group=nested,  # conditional parameters get their own groups
            )
        # A new study per search space: Optuna's distributions must not change under a name.
        # Earlier results that fit the new space are carried over; trials still running under
        # the old space are added when their results arrive.
        self.study = optuna.create_study(direction=self.optimize_mode.value, sampler=sampler)
        self.running = {}
        for parameters, reward in self.results:
            self._add_completed(parameters, reward)

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict:
        if self.study is None:
            raise RuntimeError("TPE: update_search_space must come before generate_parameters")
        trial, formatted = self._ask()
        unique = self.dedup(formatted)  # NoMoreTrialError once a finite space is used up
        if unique is not formatted:
            # Optuna proposed a point already tried; run the replacement under a trial of its own
            self.study.tell(trial, state=TrialState.FAIL)
            self.study.enqueue_trial(self._optuna_params(unique))
            trial, formatted = self._ask()
        self.running[parameter_id] = trial
        return deformat_parameters(formatted, self.space)

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any) -> None:
        reward = float(extract_scalar_reward(value))
        self.results.append((parameters, reward))
        trial = self.running.pop(parameter_id, None)
        if trial is not None:
            self.study.tell(trial, reward)
        else:  # asked under an earlier search space, or resumed: add it as a finished trial
            self._add_completed(parameters, reward)

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        trial = self.running.pop(parameter_id, None)
        if trial is not None:  # ended without a result
            self.study.tell(trial, state=TrialState.FAIL)

    def import_data(self, data: list[dict]) -> None:
        for parameters, reward in imported_results(data):
            self.results.append((parameters, reward))
            self._add_completed(parameters, reward)

    # --- helpers ----------------------------------------------------------------------------

    def _ask(self) -> tuple[optuna.Trial, dict]:
        trial = self.study.ask()
        formatted: dict = {}
        for key, spec in self.space.items():
            if spec.is_activated_in(formatted):
                parameter = self.parameters[key]
                formatted[key] = parameter.to_internal(parameter.suggest(trial))
        return trial, formatted

    def _optuna_params(self, formatted: dict) -> dict:
        return {self.parameters[key].name: self.parameters[key].to_optuna(x) for key, x in formatted.items()}

    def _add_completed(self, parameters: Any, reward: float) -> None:
        formatted = fitting_parameters(parameters, self.space)
        if formatted is None or self.study is None or not math.isfinite(reward):
            return
        self.dedup.add(deformat_parameters(formatted, self.space))
        self.study.add_trial(optuna.trial.create_trial(
            params=self._optuna_params(formatted),
            distributions={self.parameters[key].name: self.parameters[key].distribution for key in formatted},
            value=reward,
        ))


def _tpe_args(tpe_args: dict | None) -> dict:
    if tpe_args is None:
        tpe_args = {}
    if not isinstance(tpe_args, dict):
        raise ValueError(f"tpe_args must be a mapping, got {tpe_args!r}")
    unknown = sorted(set(tpe_args) - set(TPE_ARGS))
    if unknown:
        raise ValueError(f"unknown tpe_args {', '.join(map(repr, unknown))} (accepted: {', '.join(TPE_ARGS)})")
    args = {**TPE_ARGS, **tpe_args}
    if args["constant_liar_type"] is not None and args["constant_liar_type"] not in LIAR_TYPES:
        raise ValueError(f"tpe_args.constant_liar_type must be one of {LIAR_TYPES} or null, "
                         f"got {args['constant_liar_type']!r}")
    for name in ("n_startup_jobs", "n_ei_candidates"):
        value = args[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "n_startup_jobs" else 1):
            raise ValueError(f"tpe_args.{name} must be a positive integer, got {value!r}")
    return args
