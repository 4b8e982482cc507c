#!/usr/bin/env bash
# Create .venv (once) and install nni-core, every first-party plugin and the test tools, editable.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip_args=(-q --disable-pip-version-check)
editables=(-e .)
for plugin in plugins/*/; do editables+=(-e "$plugin"); done
.venv/bin/python -m pip install "${pip_args[@]}" "${editables[@]}" -r requirements-dev.txt
