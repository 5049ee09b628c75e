#!/usr/bin/env bash
# One command: starts Azurite, creates the state container, points the backend at it,
# then init, apply, state list, plan (no changes) and destroy with the state in the blob.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../scripts/lib/examples.sh
. "$here/../../scripts/lib/examples.sh"
example_dmsform

azurite_start
azurite_container dmsform-state
export ARM_ACCESS_KEY="$AZURITE_KEY"

# A copy of the example whose backend points at this Azurite's port.
example_scratch "$here"
sed -i "s#http://127.0.0.1:10000/devstoreaccount1#$AZURITE_BASE#" main.hcl
"$DMSFORM" init
"$DMSFORM" apply -auto-approve
echo
echo "==> dmsform state list (read from the blob; no local state file)"
"$DMSFORM" state list
test ! -e dmsform.state.json
echo
echo "==> dmsform plan -detailed-exitcode"
"$DMSFORM" plan -detailed-exitcode
echo
"$DMSFORM" destroy -auto-approve
