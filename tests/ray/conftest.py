"""A real Ray cluster on loopback for the ray tests: one per test module, started by the tests.

Head on 127.0.0.2, a second node on 127.0.0.3 (Ray rewrites 127.0.0.1), every port explicit, an
80 MB object store, a start deadline, and teardown that stops only these nodes (never ``ray stop``).
"""

from __future__ import annotations

import os
import sys
from typing import Iterator

import pytest

pytest.importorskip("ray.job_submission")

from nni_plugin_ray.cluster import LocalRayCluster  # noqa: E402

HEAD = "127.0.0.2"
WORKER = "127.0.0.3"
WORKER_RESOURCE = "worker_marker"  # only the second node has it: a trial asking for it proves placement

# Node death is noticed after period x threshold; Ray's default (3 s x 5) only makes tests slower.
FAST_FAILURE_DETECTION = {
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "2000",
    "RAY_health_check_failure_threshold": "6",
}


def path_without_this_venv() -> str:
    """PATH minus this interpreter's folder: a bare `python` in a trial must not find the venv by luck."""
    venv_bin = os.path.dirname(sys.executable)
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and os.path.abspath(p) != os.path.abspath(venv_bin))


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalRayCluster]:
    env = {**FAST_FAILURE_DETECTION, "PATH": path_without_this_venv()}
    cluster = LocalRayCluster(host=HEAD, num_cpus=2, object_store_mb=80, env=env)
    cluster.start()
    try:
        cluster.add_node(WORKER, num_cpus=2, resources={WORKER_RESOURCE: 2})
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def code_dir(tmp_path):
    path = tmp_path / "code"
    path.mkdir()
    (path / "trial.py").write_text(TRIAL)
    return path


# A trial for both SDKs: the real `import nni` (NNI 3.0) when NNI_TEST_SDK=nni, or unset and the
# sequence id is a multiple of 5; else nni-core's trial SDK. It reports one intermediate result,
# waits for its `release` file if it has one, then reports the final result.
TRIAL = '''
import json, os, sys, time
SDK = os.environ.get("NNI_TEST_SDK") or ("nni" if int(os.environ["NNI_TRIAL_SEQ_ID"]) % 5 == 0 else "core")
if SDK == "nni":
    import nni
else:
    import nni_core.trial as nni
params = nni.get_next_parameter()
print("interpreter", sys.executable)
print("to stderr", file=sys.stderr)
nni.report_intermediate_result(params["x"])
release = params.get("release")
while release and not os.path.exists(release):
    time.sleep(0.05)
time.sleep(params.get("sleep", 0))
if params.get("fail"):
    sys.exit(3)
nni.report_final_result({"default": params["x"] * 2, "sdk": SDK})
'''

