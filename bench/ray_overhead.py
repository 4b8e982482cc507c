"""Per-trial overhead of the ray training service against the local one, on one machine.

A Ray head node is started on 127.0.0.2 (``nni_plugin_ray.cluster``, stopped at the end; no other
Ray cluster is touched), and the same experiment — N trivial trials that read their parameters
and report one final result through ``nni_core.trial`` — runs three ways:

* bare: the trial command run N times in a row by a plain loop (process start-up cost only);
* local: ``nni-core launch`` with ``platform: local``;
* ray: ``nni-core launch`` with ``platform: ray`` against the head's Job API, one CPU per trial
  (each trial is a Ray job: job supervisor actor, runtime environment, entrypoint, log relay).

Per-trial time = (last trial end - first trial start) / N, at concurrency 1 and at a higher
concurrency (the head offers that many CPUs). Every trial must end SUCCEEDED with its final
metric, or the run fails. NNI 3.0 has no Ray training service, so there is no NNI column.
Run from the repository root:

    .venv/bin/python bench/ray_overhead.py [--trials 10] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from remote_overhead import TRIAL, bare, run_experiment  # same experiment, same measurement

from nni_plugin_ray.cluster import LocalRayCluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    n, c = args.trials, args.concurrency

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        tmp_path = Path(tmp)
        env = {**os.environ, "HOME": str(tmp_path / "home"), "NNI_CORE_HOME": str(tmp_path / "nni-core-home")}
        code = tmp_path / "code"
        code.mkdir()
        (code / "trial.py").write_text(TRIAL)
        cluster = LocalRayCluster(host="127.0.0.2", num_cpus=c, object_store_mb=80).start()
        try:
            services = {
                "local": "trainingService:\n  platform: local\n",
                "ray": f"trainingService:\n  platform: ray\n  address: {cluster.dashboard_url}\n"
                       "  trialCpuNumber: 1\n",
            }
            results = {"bare": {1: bare(code, n)}}
            for name, service in services.items():
                results[name] = {k: run_experiment(code, env, n, k, service) for k in (1, c)}
        finally:
            cluster.stop()

    per = {name: {k: t / n * 1000 for k, t in r.items()} for name, r in results.items()}
    print(f"{n} trials of nni_core.trial, Ray head on loopback ({c} CPUs); "
          "ms per trial (window first start .. last end / N)")
    print(f"{'':>6} {'concurrency 1':>14} {'concurrency ' + str(c):>16}")
    for name in ("bare", "local", "ray"):
        row = per[name]
        print(f"{name:>6} {row[1]:>14.0f} {row.get(c, float('nan')):>16.0f}")
    print(f"ray - local: {per['ray'][1] - per['local'][1]:+.0f} ms per trial at concurrency 1, "
          f"{per['ray'][c] - per['local'][c]:+.0f} ms at concurrency {c}")


if __name__ == "__main__":
    sys.exit(main())
