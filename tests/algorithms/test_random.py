"""Random tuner: values inside the space, reproducible with a seed, exhausts finite spaces."""

import pytest

from nni_core.algorithms import NoMoreTrialError, create_algorithm
from nni_core.algorithms.space import canonical, contains

FINITE = {
    "a": {"_type": "choice", "_value": [1, "two", 3.5]},
    "b": {"_type": "randint", "_value": [0, 3]},
    "m": {"_type": "choice", "_value": [
        {"_name": "x", "d": {"_type": "quniform", "_value": [0, 1, 0.5]}},
        {"_name": "y"},
    ]},
}


def test_seed_makes_random_reproducible():
    def run(seed):
        tuner = create_algorithm("tuner", {"name": "Random", "classArgs": {"seed": seed}})
        tuner.update_search_space(FINITE)
        return [tuner.generate_parameters(i) for i in range(10)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_finite_space_is_exhausted_without_duplicates():
    tuner = create_algorithm("tuner", {"name": "Random", "classArgs": {"seed": 3}})
    tuner.update_search_space(FINITE)
    seen = tuner.generate_multiple_parameters(list(range(100)))
    assert len(seen) == 3 * 3 * (3 + 1)
    assert len({canonical(p) for p in seen}) == len(seen)
    assert all(contains(p, FINITE) for p in seen)
    with pytest.raises(NoMoreTrialError):
        tuner.generate_parameters(100)
