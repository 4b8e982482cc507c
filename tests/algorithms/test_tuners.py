"""Properties every built-in tuner must have, run against each of them.

Each tuner is driven like the manager drives it: parameters asked in batches (trials running in
parallel), results reported, trials ended; some trials fail without a result.
"""

import json
import statistics

import pytest

from nni_core.algorithms import NoMoreTrialError, create_algorithm
from nni_core.algorithms.space import canonical, contains

from .spaces import ALL_TYPES, FINITE, FINITE_SIZE, QUADRATIC, quadratic

# name -> classArgs without seed / optimize_mode
LEARNING = {
    "Anneal": {},
    "Evolution": {"population_size": 8},
    "TPE": {"tpe_args": {"n_startup_jobs": 8}},
}
SEEDED = {"Random": {}, **LEARNING}


def make(name, seed=None, mode=None, **extra):
    args = dict(SEEDED.get(name, {}), **extra)
    if seed is not None:
        args["seed"] = seed
    if mode is not None:
        args["optimize_mode"] = mode
    return create_algorithm("tuner", {"name": name, "classArgs": args})


def drive(tuner, objective, trials, batch=4, fail_every=0):
    """Run `trials` trials, `batch` at a time; returns [(parameters, value)] in order."""
    done, next_id = [], 0
    while next_id < trials:
        ids = list(range(next_id, min(trials, next_id + batch)))
        generated = tuner.generate_multiple_parameters(ids)
        if not generated:
            break
        for parameter_id, params in zip(ids, generated):
            if fail_every and parameter_id % fail_every == fail_every - 1:
                tuner.trial_end(parameter_id, False)
                continue
            value = objective(params)
            # half the results as NNI's dict form
            metric = {"default": value, "other": 1} if parameter_id % 2 else value
            tuner.receive_trial_result(parameter_id, params, metric)
            tuner.trial_end(parameter_id, True)
            done.append((params, value))
        next_id += len(ids)
    return done


def score(params):
    """Any deterministic number from any parameters, so learning tuners have signal."""
    return (len(canonical(params)) % 17) / 17.0


@pytest.mark.parametrize("name", ["Random", "GridSearch", "Anneal", "Evolution", "TPE"])
def test_every_parameter_is_inside_the_search_space(name):
    seeds = range(12) if name != "GridSearch" else [None]
    for seed in seeds:
        tuner = make(name, seed=seed)
        tuner.update_search_space(ALL_TYPES)
        results = drive(tuner, score, trials=30, fail_every=7)
        assert len(results) >= 25
        for params, _ in results:
            assert contains(params, ALL_TYPES), (name, seed, params)
            json.dumps(params)  # plain JSON types, nothing from numpy
            assert type(params["ri"]) is int
            assert params["qu"] in (0.5, 2, 4, 6, 8, 10)
        branches = {params["model"]["_name"] for params, _ in results}
        if name != "GridSearch":  # the grid's first pass stays on the first branch
            assert branches == {"a", "b"}, (name, seed)


@pytest.mark.parametrize("name", list(SEEDED))
def test_a_seed_makes_the_tuner_reproducible(name):
    def run(seed):
        tuner = make(name, seed=seed)
        tuner.update_search_space(ALL_TYPES)
        return [params for params, _ in drive(tuner, score, trials=24)]

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize("name", ["Random", "GridSearch", "Anneal", "Evolution", "TPE"])
def test_a_finite_space_is_used_up_without_duplicates(name):
    tuner = make(name, seed=1 if name != "GridSearch" else None)
    tuner.update_search_space(FINITE)
    results = drive(tuner, score, trials=FINITE_SIZE + 10)
    seen = [canonical(params) for params, _ in results]
    assert len(seen) == FINITE_SIZE == len(set(seen))
    assert all(contains(params, FINITE) for params, _ in results)
    with pytest.raises(NoMoreTrialError):
        tuner.generate_parameters(10_000)


@pytest.mark.parametrize("name", list(LEARNING))
def test_optimize_mode_sets_the_direction(name):
    """Minimizing ends with lower values than maximizing the same function, for every seed."""
    for seed in range(3):
        tails = {}
        for mode in ("minimize", "maximize"):
            tuner = make(name, seed=seed, mode=mode)
            tuner.update_search_space(QUADRATIC)
            values = [v for _, v in drive(tuner, quadratic, trials=60)]
            tails[mode] = statistics.median(values[-20:])
        assert tails["minimize"] < tails["maximize"] / 2, (name, seed, tails)


def test_tpe_beats_random_on_a_quadratic():
    def best(name, seed):
        tuner = make(name, seed=seed, mode="minimize")
        tuner.update_search_space(QUADRATIC)
        return min(v for _, v in drive(tuner, quadratic, trials=60))

    tpe = [best("TPE", seed) for seed in range(5)]
    rand = [best("Random", seed) for seed in range(5)]
    assert statistics.mean(tpe) < statistics.mean(rand) / 2, (tpe, rand)
    assert sum(t < r for t, r in zip(tpe, rand)) >= 4, (tpe, rand)


@pytest.mark.parametrize("name", list(LEARNING))
def test_imported_results_guide_the_next_suggestions(name):
    """After importing good results near the optimum, suggestions land near it sooner."""
    good = [{"parameter": {"x": 1.2 + dx, "y": -2.3 + dy, "z": 3.0}, "value": -((dx) ** 2 + dy ** 2)}
            for dx in (-0.3, 0.0, 0.3) for dy in (-0.3, 0.0, 0.3)]
    bad = [{"parameter": {"x": x, "y": y, "z": -5.0}, "value": -(quadratic({"x": x, "y": y, "z": -5.0}))}
           for x in (-4.0, 4.5) for y in (-4.0, 4.0)]
    tails = []
    for imported in (False, True):
        tuner = make(name, seed=0, mode="maximize")
        tuner.update_search_space(QUADRATIC)
        if imported:
            tuner.import_data(good + bad + [{"parameter": {"x": 0.0}, "value": 1.0}])  # last: not in space
        values = [v for _, v in drive(tuner, lambda p: -quadratic(p), trials=12)]
        tails.append(statistics.median(values))
    assert tails[1] > tails[0], tails


@pytest.mark.parametrize("name", ["Random", "GridSearch", "Anneal", "Evolution", "TPE"])
def test_a_new_search_space_applies_to_the_next_trials(name):
    tuner = make(name, seed=2 if name != "GridSearch" else None)
    tuner.update_search_space(QUADRATIC)
    first = drive(tuner, quadratic, trials=10)
    assert all(contains(p, QUADRATIC) for p, _ in first)
    narrowed = {"x": {"_type": "uniform", "_value": [0, 0.5]}, "lr": {"_type": "choice", "_value": [0.1, 0.01]}}
    tuner.update_search_space(narrowed)
    ids = range(100, 112)
    after = tuner.generate_multiple_parameters(list(ids))
    assert after and all(contains(p, narrowed) for p in after), after
    for parameter_id, params in zip(ids, after):  # results under the new space are accepted
        tuner.receive_trial_result(parameter_id, params, params["x"])
        tuner.trial_end(parameter_id, True)
    assert all(contains(p, narrowed) for p in tuner.generate_multiple_parameters([200, 201]))


def test_random_skips_imported_points():
    tuner = make("Random", seed=5)
    tuner.update_search_space(FINITE)
    imported = drive(_grid(FINITE), score, trials=10)
    tuner.import_data([{"parameter": p, "value": v} for p, v in imported])
    rest = drive(tuner, score, trials=100)
    assert len(rest) == FINITE_SIZE - 10
    assert not {canonical(p) for p, _ in imported} & {canonical(p) for p, _ in rest}


def _grid(space):
    tuner = make("GridSearch")
    tuner.update_search_space(space)
    return tuner
