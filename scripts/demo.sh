#!/usr/bin/env bash
# dmsform's main job on the example configuration: apply the check → upload → install
# workflow on the embedded emulator (no cloud account needed), then show that a second
# plan finds nothing to do (exit code 0 with -detailed-exitcode).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
dmsform="$PWD/target/debug/dmsform"
cd examples/oci-driver
"$dmsform" apply -auto-approve
echo
echo "==> dmsform plan -detailed-exitcode"
"$dmsform" plan -detailed-exitcode
echo "plan exit code: $? (0 = no changes)"
