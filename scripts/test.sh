#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine, then the whole suite.
# System packages (sshd, Chromium) are installed when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
