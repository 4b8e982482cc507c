"""Medianstop: the median stopping rule, with NNI 3.0's exact decisions.

A running trial is Bad at step S (its S-th intermediate result) when its best result so far is
strictly worse than the median, over the trials that completed successfully with at least S
results, of their running averages at step S. Before ``start_step`` results, and while no
completed trial reached step S, a trial is Good. With an even count the median is the lower
middle value when maximizing and the upper one when minimizing, as in NNI. Intermediate
results may be numbers or dicts with a ``default`` key.
"""

from __future__ import annotations

from typing import Any

from nni_core.algorithms import AssessResult, Assessor, OptimizeMode, extract_scalar_reward


class MedianstopAssessor(Assessor):
    def __init__(self, optimize_mode: str = "maximize", start_step: int = 0) -> None:
        if not isinstance(start_step, int) or isinstance(start_step, bool) or start_step < 0:
            raise ValueError(f"start_step must be a non-negative integer, got {start_step!r}")
        self.high_better = OptimizeMode.parse(optimize_mode) is OptimizeMode.Maximize
        self.start_step = start_step
        self.running: dict[str, list[float]] = {}
        self.completed_averages: dict[str, list[float]] = {}

    def assess_trial(self, trial_job_id: str, trial_history: list[Any]) -> AssessResult:
        step = len(trial_history)
        if step < self.start_step:
            return AssessResult.Good
        history = [float(extract_scalar_reward(x)) for x in trial_history]
        known = self.running.setdefault(trial_job_id, [])
        known.extend(history[len(known):])
        best = max(history) if self.high_better else min(history)
        averages = sorted(a[step - 1] for a in self.completed_averages.values() if len(a) >= step)
        if not averages:
            return AssessResult.Good
        if self.high_better:
            return AssessResult.Bad if best < averages[(len(averages) - 1) // 2] else AssessResult.Good
        return AssessResult.Bad if best > averages[len(averages) // 2] else AssessResult.Good

    def trial_end(self, trial_job_id: str, success: bool) -> None:
        history = self.running.pop(trial_job_id, None)
        if history is None or not success:
            return
        averages, total = [], 0.0
        for count, value in enumerate(history, start=1):
            total += value
            averages.append(total / count)
        self.completed_averages[trial_job_id] = averages
