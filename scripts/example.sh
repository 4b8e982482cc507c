#!/usr/bin/env bash
# Set up .venv (scripts/bootstrap.sh), then run the example experiment examples/sklearn-digits to
# completion in the foreground: a progress line until it ends; Ctrl-C stops it cleanly.
# Extra arguments go to `nni-core launch` (e.g. --manager nni, --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The example's trialCommand runs `python3`: make it the environment's, which has scikit-learn.
export PATH="$PWD/.venv/bin:$PATH"
exec nni-core launch examples/sklearn-digits/config.yml --foreground "$@"
