"""Medianstop decisions: hand-checked cases, then NNI 3.0's assessor as the oracle."""

import random

import pytest

from nni_core.algorithms import AssessResult, create_algorithm
from nni_core.errors import UsageError

nni_medianstop = pytest.importorskip("nni.algorithms.hpo.medianstop_assessor")


def medianstop(**class_args):
    return create_algorithm("assessor", {"name": "Medianstop", "classArgs": class_args})


def complete(assessor, trial_id, history):
    for step in range(1, len(history) + 1):
        assessor.assess_trial(trial_id, history[:step])
    assessor.trial_end(trial_id, True)


def test_a_trial_below_the_median_of_completed_averages_is_stopped():
    assessor = medianstop(optimize_mode="maximize", start_step=2)
    complete(assessor, "A", [0.5, 0.7, 0.9])   # running averages 0.5, 0.6, 0.7
    complete(assessor, "B", [0.3, 0.5, 0.7])   # 0.3, 0.4, 0.5
    complete(assessor, "C", [0.6, 0.8, 1.0])   # 0.6, 0.7, 0.8
    assert assessor.assess_trial("D", [0.1]) is AssessResult.Good            # before start_step
    assert assessor.assess_trial("D", [0.1, 0.59]) is AssessResult.Bad       # step-2 median 0.6
    assert assessor.assess_trial("E", [0.1, 0.61]) is AssessResult.Good
    assert assessor.assess_trial("D", [0.1, 0.59, 0.6]) is AssessResult.Bad  # step-3 median 0.7
    assert assessor.assess_trial("D", [0.1, 0.59, 0.75]) is AssessResult.Good


def test_maximize_takes_the_lower_middle_of_an_even_count():
    assessor = medianstop()
    complete(assessor, "A", [0.5])
    complete(assessor, "B", [0.3])
    assert assessor.assess_trial("C", [0.4]) is AssessResult.Good   # median 0.3, not 0.4 or 0.5
    assert assessor.assess_trial("D", [0.2]) is AssessResult.Bad


def test_minimize_takes_the_upper_middle_and_ignores_failed_trials():
    assessor = medianstop(optimize_mode="minimize")
    complete(assessor, "A", [1.0, 1.0])
    complete(assessor, "B", [3.0, 3.0])
    assessor.assess_trial("F", [0.0])
    assessor.assess_trial("F", [0.0, 0.0])
    assessor.trial_end("F", False)  # counted, the step-1 median would be 1.0 and X below Bad
    assert assessor.assess_trial("X", [2.5]) is AssessResult.Good     # median 3.0
    assert assessor.assess_trial("W", [3.5]) is AssessResult.Bad
    assert assessor.assess_trial("Y", [4.0, 0.5]) is AssessResult.Good  # best so far counts
    # no completed trial reached step 3, and dict metrics are read through "default"
    assert assessor.assess_trial("Z", [{"default": 9.0}, 9.0, 9.0]) is AssessResult.Good


@pytest.mark.parametrize("mode,start_step", [("maximize", 0), ("minimize", 3), ("maximize", 5)])
def test_decisions_equal_nni(mode, start_step):
    rng = random.Random(f"{mode}{start_step}")
    ours = medianstop(optimize_mode=mode, start_step=start_step)
    theirs = nni_medianstop.MedianstopAssessor(optimize_mode=mode, start_step=start_step)
    waiting = [f"t{i}" for i in range(40)]
    running = {}  # trial -> (history, length it stops at)
    decisions = 0
    while waiting or running:
        while waiting and len(running) < 4:
            running[waiting.pop(0)] = ([], rng.randint(1, 9))
        trial = rng.choice(sorted(running))
        history, length = running[trial]
        history.append(round(rng.gauss(len(history) * 0.1, 1.0), 3))
        a = ours.assess_trial(trial, list(history))
        b = theirs.assess_trial(trial, list(history))
        assert a.value == b.value, (trial, history)
        decisions += a is AssessResult.Bad
        if len(history) >= length:
            success = rng.random() > 0.2
            ours.trial_end(trial, success)
            theirs.trial_end(trial, success)
            del running[trial]
    assert decisions > 0  # the comparison covered Bad decisions too


@pytest.mark.parametrize("class_args,word", [
    ({"optimize_mode": "up"}, "optimize_mode"), ({"start_step": -1}, "start_step"), ({"start": 1}, "'start'"),
])
def test_bad_class_args_are_one_line_errors(class_args, word):
    with pytest.raises(UsageError, match=word):
        medianstop(**class_args)
