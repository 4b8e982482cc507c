"""TPE on Optuna: the search-space mapping and the ask/tell bookkeeping."""

import math
import statistics

import pytest

from nni_core.algorithms import create_algorithm

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402


def tpe(**class_args):
    return create_algorithm("tuner", {"name": "TPE", "classArgs": {"seed": 0, **class_args}})


def states(tuner):
    return [t.state for t in tuner.study.get_trials(deepcopy=False)]


def test_trials_are_asked_in_parallel_told_on_result_and_failed_without_one():
    tuner = tpe(optimize_mode="maximize")
    tuner.update_search_space({"x": {"_type": "uniform", "_value": [0, 1]}})
    batch = tuner.generate_multiple_parameters([0, 1, 2, 3])
    assert states(tuner) == [TrialState.RUNNING] * 4
    tuner.receive_trial_result(2, batch[2], {"default": 0.5})
    tuner.trial_end(2, True)
    tuner.trial_end(0, False)   # failed
    tuner.trial_end(1, True)    # succeeded without reporting a final result
    assert states(tuner) == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE, TrialState.RUNNING]
    assert tuner.study.trials[2].value == 0.5
    assert tuner.study.direction == optuna.study.StudyDirection.MAXIMIZE


def test_results_from_before_a_resume_or_a_new_space_become_finished_trials():
    tuner = tpe()
    tuner.update_search_space({"x": {"_type": "uniform", "_value": [0, 1]}})
    tuner.import_data([{"parameter": {"x": 0.25}, "value": 1.0}, {"parameter": {"x": 7}, "value": 2.0},
                       {"parameter": {"x": 0.5}, "value": "garbage"}])
    tuner.receive_trial_result(99, {"x": 0.75}, 3.0)  # an id this tuner never generated (resumed)
    assert [(t.params, t.value) for t in tuner.study.trials] == [({"x": 0.25}, 1.0), ({"x": 0.75}, 3.0)]
    tuner.update_search_space({"x": {"_type": "uniform", "_value": [0.5, 1]}, "y": {"_type": "choice", "_value": [1]}})
    assert tuner.study.trials == []  # neither result has y
    tuner.update_search_space({"x": {"_type": "uniform", "_value": [0.5, 1]}})
    assert [t.params for t in tuner.study.trials] == [{"x": 0.75}]  # the one inside the new range


def test_quniform_maps_to_exactly_nni_values():
    space = {"q": {"_type": "quniform", "_value": [0.5, 10, 2]}, "r": {"_type": "randint", "_value": [-3, 3]}}
    tuner = tpe(tpe_args={"n_startup_jobs": 500})
    tuner.update_search_space(space)
    values = tuner.generate_multiple_parameters(list(range(400)))
    assert {p["q"] for p in values} == {0.5, 2, 4, 6, 8, 10}
    assert {p["r"] for p in values} == {-3, -2, -1, 0, 1, 2}
    assert tuner.study.trials[0].distributions["q"] == optuna.distributions.IntDistribution(0, 5)


def test_normal_types_keep_their_prior():
    space = {"n": {"_type": "normal", "_value": [1, 2]}, "ln": {"_type": "lognormal", "_value": [0, 0.5]},
             "qn": {"_type": "qnormal", "_value": [0, 3, 0.5]}}
    tuner = tpe(tpe_args={"n_startup_jobs": 1000})  # the random phase draws from the prior
    tuner.update_search_space(space)
    values = tuner.generate_multiple_parameters(list(range(600)))
    normal = [p["n"] for p in values]
    assert abs(statistics.mean(normal) - 1) < 0.25 and abs(statistics.stdev(normal) - 2) < 0.25
    assert min(normal) < -3 and max(normal) > 5  # unbounded tails, not a clipped range
    logs = [math.log(p["ln"]) for p in values]
    assert abs(statistics.mean(logs)) < 0.08 and abs(statistics.stdev(logs) - 0.5) < 0.08
    assert all(abs(p["qn"] / 0.5 - round(p["qn"] / 0.5)) < 1e-9 for p in values)


def test_nested_choices_are_conditional_parameters():
    space = {"m": {"_type": "choice", "_value": [
        {"_name": "a", "x": {"_type": "uniform", "_value": [0, 1]}},
        {"_name": "b", "x": {"_type": "randint", "_value": [5, 9]}},
    ]}}
    tuner = tpe()
    tuner.update_search_space(space)
    values = tuner.generate_multiple_parameters(list(range(30)))
    asked = [t for t in tuner.study.trials if t.state != TrialState.FAIL]  # FAIL: duplicates replaced
    assert len(asked) == len(values) == 30
    for trial, params in zip(asked, values):
        branch = params["m"]["_name"]
        assert set(trial.params) == {"m", f"m/{'0' if branch == 'a' else '1'}/x"}
        assert isinstance(params["m"]["x"], float if branch == "a" else int)
