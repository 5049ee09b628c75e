#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (a project-local
# Python venv with the Azure SDK, Azurite from npm), checks formatting and lints, builds,
# then runs the Rust tests and the Python SDK conformance tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python venv with the Azure SDK (tests/python/requirements.txt)"
stamp=.venv/.requirements.sha256
want=$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
  echo "$want" > "$stamp"
fi

step "Azurite from npm (package-lock.json)"
if [ ! -f node_modules/azurite/dist/src/blob/main.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
export AZURITE_BLOB_MAIN="$PWD/node_modules/azurite/dist/src/blob/main.js"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings

step "cargo check of the fuzz target (fuzz/, its own workspace; the fuzzer itself runs with cargo fuzz)"
CARGO_TARGET_DIR="$PWD/target" cargo check --quiet --locked --manifest-path fuzz/Cargo.toml

step "cargo build"
cargo build --quiet
export DMSFORM_BIN="$PWD/target/debug/dmsform"

step "Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -j 2 --no-fail-fast
else
  cargo test -j 2 --no-fail-fast
fi

step "Python SDK conformance tests"
.venv/bin/python -m pytest tests/python -q
