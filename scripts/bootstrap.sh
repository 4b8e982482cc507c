#!/usr/bin/env bash
# Create .venv (once) and install nni-core, every first-party plugin and the test tools, editable.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip_args=(-q --disable-pip-version-check)
# compat mode puts each source folder on sys.path with a plain .pth line, as an installed package
# would be found; the default mode's import hooks cost every Python start ~25 ms (every trial,
# every manager, every CLI call), which would skew bench/ against NNI's regular install.
pip_args+=(--config-settings editable_mode=compat)
editables=(-e .)
for plugin in plugins/*/; do editables+=(-e "$plugin"); done
.venv/bin/python -m pip install "${pip_args[@]}" "${editables[@]}" -r requirements-dev.txt
