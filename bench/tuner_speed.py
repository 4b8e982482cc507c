"""Suggestion latency of TPE with a long history: nni-core's (Optuna) next to NNI 3.0's.

Each side feeds its TPE ``--history`` finished trials of the same objective, one at a time
(generate, then report), and then times ``--measure`` more suggestions: the latency a manager
waits for each new trial's parameters once an experiment is long. NNI 3.0 runs in its own
environment (see ``nni_env.py``). A third row drives Optuna's TPE directly with the same space
and settings, to show what nni-core's search-space mapping adds. Run from the repository root:

    .venv/bin/python bench/tuner_speed.py [--history 1000] [--measure 50]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SPACE = {
    "lr": {"_type": "loguniform", "_value": [1e-5, 1e-1]},
    "momentum": {"_type": "uniform", "_value": [0.0, 0.99]},
    "batch": {"_type": "choice", "_value": [16, 32, 64, 128, 256]},
    "layers": {"_type": "randint", "_value": [1, 8]},
    "dropout": {"_type": "quniform", "_value": [0.0, 0.8, 0.1]},
    "act": {"_type": "choice", "_value": ["relu", "tanh", "gelu"]},
}


def objective(p: dict) -> float:
    """A smooth, cheap stand-in for a validation loss (lower is better)."""
    return ((math.log10(p["lr"]) + 3) ** 2 + (p["momentum"] - 0.9) ** 2 + (p["layers"] - 4) ** 2 / 10
            + abs(p["dropout"] - 0.3) + (0 if p["batch"] == 64 else 0.2) + (0 if p["act"] == "gelu" else 0.1))


class BareOptuna:
    """Optuna's TPE on the same space with nni-core's settings, without nni-core in between."""

    def __init__(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=20, n_ei_candidates=24, constant_liar=True)
        self.study = optuna.create_study(sampler=sampler)
        self.trials: dict = {}

    def update_search_space(self, space: dict) -> None:
        pass

    def generate_parameters(self, parameter_id: int) -> dict:
        trial = self.trials[parameter_id] = self.study.ask()
        return {
            "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "momentum": trial.suggest_float("momentum", 0.0, 0.99),
            "batch": [16, 32, 64, 128, 256][trial.suggest_categorical("batch", [0, 1, 2, 3, 4])],
            "layers": trial.suggest_int("layers", 1, 7),
            "dropout": trial.suggest_int("dropout", 0, 8) * 0.1,
            "act": ["relu", "tanh", "gelu"][trial.suggest_categorical("act", [0, 1, 2])],
        }

    def receive_trial_result(self, parameter_id: int, parameters: dict, value: float) -> None:
        self.study.tell(self.trials.pop(parameter_id), value)

    def trial_end(self, parameter_id: int, success: bool) -> None:
        pass


def make_tuner(side: str):
    if side == "optuna":
        return BareOptuna()
    if side == "nni":
        from nni.algorithms.hpo.tpe_tuner import TpeTuner

        return TpeTuner(optimize_mode="minimize", seed=0)
    from nni_core.algorithms import create_algorithm

    return create_algorithm("tuner", {"name": "TPE", "classArgs": {"optimize_mode": "minimize", "seed": 0}})


def worker(side: str, history: int, measure: int) -> dict:
    import logging

    logging.disable(logging.INFO)  # NNI logs every suggestion
    tuner = make_tuner(side)
    tuner.update_search_space(SPACE)
    latencies, best = [], math.inf
    started = time.perf_counter()
    for parameter_id in range(history + measure):
        t0 = time.perf_counter()
        params = tuner.generate_parameters(parameter_id)
        elapsed = time.perf_counter() - t0
        if parameter_id >= history:
            latencies.append(elapsed)
        value = objective(params)
        best = min(best, value)
        tuner.receive_trial_result(parameter_id, params, value)
        tuner.trial_end(parameter_id, True)
    return {
        "side": side,
        "history_s": round(time.perf_counter() - started - sum(latencies), 2),
        "median_ms": round(statistics.median(latencies) * 1000, 2),
        "p90_ms": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))] * 1000, 2),
        "best": round(best, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=1000, help="finished trials before measuring")
    parser.add_argument("--measure", type=int, default=50, help="suggestions timed")
    parser.add_argument("--worker", choices=["nni", "nni-core", "optuna"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.history, args.measure)))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nni_env import nni_python

    # The three run at the same time so that they share whatever else loads the machine; one
    # thread each (numpy) keeps them from crowding each other.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    workers = []
    for side, python in (("nni-core", sys.executable), ("nni", str(nni_python())), ("optuna", sys.executable)):
        command = [python, __file__, "--worker", side, "--history", str(args.history), "--measure", str(args.measure)]
        workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env))
    rows = []
    for worker_process in workers:
        output, _ = worker_process.communicate()
        if worker_process.returncode != 0:
            raise SystemExit(f"tuner_speed: worker {worker_process.args[3]} failed ({worker_process.returncode})")
        rows.append(json.loads(output.strip().splitlines()[-1]))
    print(f"TPE suggestion latency after {args.history} trials ({args.measure} timed, 6 parameters)")
    print(f"{'':10} {'median ms':>10} {'p90 ms':>8} {'history s':>10} {'best loss':>10}")
    for row in rows:
        print(f"{row['side']:10} {row['median_ms']:>10} {row['p90_ms']:>8} {row['history_s']:>10} {row['best']:>10}")
    ours, theirs, bare = rows
    print(f"ratio NNI/nni-core median latency: {theirs['median_ms'] / ours['median_ms']:.2f}x; "
          f"nni-core/bare Optuna: {ours['median_ms'] / bare['median_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
