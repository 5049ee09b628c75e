#!/usr/bin/env bash
# The benchmark harness: builds dmsform in release mode, makes sure the project's Python
# venv has the official Azure SDK, then runs bench/bench.py (all arguments are passed on;
# `bench/run.sh --help` lists them). Prints a table and writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin dmsform

if ! .venv/bin/python -c "import azure.mgmt.datamigration, requests" 2>/dev/null; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install --quiet -r tests/python/requirements.txt
fi

exec .venv/bin/python bench/bench.py --bin target/release/dmsform "$@"
