"""GridSearch and Batch: exact sequences, compared with NNI 3.0's own tuners where they exist."""

import math

import pytest

from nni_core.algorithms import NoMoreTrialError, create_algorithm

from .spaces import FINITE, FINITE_SIZE

nni_grid = pytest.importorskip("nni.algorithms.hpo.gridsearch_tuner")
nni_batch = pytest.importorskip("nni.algorithms.hpo.batch_tuner")
import nni  # noqa: E402  (after the skip: the oracle is NNI 3.0 itself)


def sequence(tuner, space, limit, no_more=Exception):
    tuner.update_search_space(space)
    out = []
    for parameter_id in range(limit):
        try:
            out.append(tuner.generate_parameters(parameter_id))
        except no_more:
            out.append("exhausted")
            break
    return out


def close(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("space", [
    FINITE,
    {"q": {"_type": "quniform", "_value": [0.5, 10, 2]}, "r": {"_type": "randint", "_value": [-2, 2]}},
    {"qlog": {"_type": "qloguniform", "_value": [1, 50, 5]}},
    {"one": {"_type": "choice", "_value": [{"_name": "only", "p": {"_type": "choice", "_value": [1, 2, 3]}}]}},
], ids=["nested", "q-and-randint", "qloguniform", "single-branch"])
def test_discrete_grid_is_nni_grid_then_no_more_trials(space):
    ours = sequence(create_algorithm("tuner", {"name": "GridSearch"}), space, 500, NoMoreTrialError)
    theirs = sequence(nni_grid.GridSearchTuner(), space, 500, nni.NoMoreTrialError)
    assert ours[-1] == "exhausted"
    assert ours == theirs


def test_finite_grid_has_every_combination_once():
    ours = sequence(create_algorithm("tuner", {"name": "GridSearch"}), FINITE, 500, NoMoreTrialError)
    assert len(ours) == FINITE_SIZE + 1
    assert len({repr(sorted(p.items())) for p in ours[:-1]}) == FINITE_SIZE


def test_continuous_grid_refines_like_nni():
    space = {
        "c": {"_type": "choice", "_value": ["a", "b"]},
        "u": {"_type": "uniform", "_value": [0, 1]},
        "lu": {"_type": "loguniform", "_value": [1e-3, 1]},
        "n": {"_type": "normal", "_value": [0, 1]},
        "qn": {"_type": "qlognormal", "_value": [2, 1, 1]},
    }
    ours = sequence(create_algorithm("tuner", {"name": "GridSearch"}), space, 400)
    theirs = sequence(nni_grid.GridSearchTuner(), space, 400)
    assert len(ours) == len(theirs) == 400
    assert all(close(a, b) for a, b in zip(ours, theirs)), next(
        (a, b) for a, b in zip(ours, theirs) if not close(a, b))
    assert ours[0] == {"c": "a", "u": 0.5, "lu": pytest.approx(math.exp((math.log(1e-3)) / 2)), "n": 0.0,
                       "qn": round(math.exp(2))}


def test_gridsearch_skips_imported_parameters():
    space = {"a": {"_type": "choice", "_value": [1, 2, 3]}}
    tuner = create_algorithm("tuner", {"name": "GridSearch"})
    tuner.update_search_space(space)
    tuner.import_data([{"parameter": {"a": 2}, "value": 0.5}])
    assert tuner.generate_multiple_parameters([0, 1, 2]) == [{"a": 1}, {"a": 3}]


BATCH_SPACE = {"combined": {"_type": "choice", "_value": [
    {"optimizer": "Adam", "lr": 0.001}, {"optimizer": "SGD", "lr": 0.01}, {"optimizer": "SGD", "lr": 0.1},
]}}


@pytest.mark.parametrize("name", ["Batch", "BatchTuner", "batch"])
def test_batch_runs_the_listed_sets_in_order_like_nni(name):
    ours = sequence(create_algorithm("tuner", {"name": name}), BATCH_SPACE, 10, NoMoreTrialError)
    theirs = sequence(nni_batch.BatchTuner(), BATCH_SPACE, 10, nni.NoMoreTrialError)
    assert ours == theirs == [*BATCH_SPACE["combined"]["_value"], "exhausted"]


def test_batch_import_data_drops_sets_that_already_ran():
    tuner = create_algorithm("tuner", {"name": "Batch"})
    tuner.update_search_space(BATCH_SPACE)
    tuner.import_data([{"parameter": {"optimizer": "SGD", "lr": 0.01}, "value": 0.9},
                       {"parameter": {"optimizer": "SGD", "lr": 0.1}, "value": None}])  # no result: kept
    assert tuner.generate_multiple_parameters([0, 1, 2, 3]) == [
        {"optimizer": "Adam", "lr": 0.001}, {"optimizer": "SGD", "lr": 0.1}]


def test_batch_new_search_space_starts_with_its_sets_not_run_yet():
    tuner = create_algorithm("tuner", {"name": "Batch"})
    tuner.update_search_space(BATCH_SPACE)
    first = tuner.generate_parameters(0)
    extended = {"combined": {"_type": "choice", "_value": [first, {"optimizer": "RMSprop", "lr": 1}]}}
    tuner.update_search_space(extended)
    assert tuner.generate_multiple_parameters([1, 2]) == [{"optimizer": "RMSprop", "lr": 1}]


@pytest.mark.parametrize("space", [
    {"a": {"_type": "choice", "_value": [1]}, "b": {"_type": "choice", "_value": [2]}},
    {"a": {"_type": "uniform", "_value": [0, 1]}},
])
def test_batch_rejects_a_standard_search_space(space):
    tuner = create_algorithm("tuner", {"name": "Batch"})
    with pytest.raises(ValueError, match="Batch: "):
        tuner.update_search_space(space)
