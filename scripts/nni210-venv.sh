#!/usr/bin/env bash
# The oracle for the annotation plugin: NNI 2.10.1 (the last NNI with nni.tools.annotation) in its
# own virtual environment, .venv-nni210/ at the repository root. Idempotent; safe to run from two
# test workers at once. Prints the environment's python.
# NNI 2.10.1 installs on Python 3.11 as is (its wheel is py3-none; the newest numpy/scipy work for
# the annotation tools); astor is pinned because the annotation output depends on its formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-nni210
python=${PYTHON:-python3}
mkdir -p "$venv"
exec 9>"$venv/.lock"
flock 9
check='import nni, nni.tools.annotation; assert nni.__version__ == "2.10.1", nni.__version__'
if ! "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "nni==2.10.1" "astor==0.8.1" >&2
  "$venv/bin/python" -c "$check"
fi
echo "$PWD/$venv/bin/python"
