#!/usr/bin/env bash
# One command: starts Azurite, creates the state container, points the backend at it,
# then init, apply, state list, plan (no changes) and destroy with the state in the blob.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../../scripts/lib/azurite.sh
. "$root/scripts/lib/azurite.sh"
dmsform="${DMSFORM_BIN:-}"
if [ -z "$dmsform" ]; then
  (cd "$root" && cargo build --quiet)
  dmsform="$root/target/debug/dmsform"
fi

azurite_start
azurite_container dmsform-state
export ARM_ACCESS_KEY="$AZURITE_KEY"

# A copy of the example whose backend points at this Azurite's port.
work="$(mktemp -d)"
trap 'azurite_stop; rm -rf "$work"' EXIT
cp -r "$here/." "$work/"
rm -rf "$work/.dmsform" "$work"/dmsform.state.json*
sed -i "s#http://127.0.0.1:10000/devstoreaccount1#$AZURITE_BASE#" "$work/main.hcl"
cd "$work"
"$dmsform" init
"$dmsform" apply -auto-approve
echo
echo "==> dmsform state list (read from the blob; no local state file)"
"$dmsform" state list
test ! -e dmsform.state.json
echo
echo "==> dmsform plan -detailed-exitcode"
"$dmsform" plan -detailed-exitcode
echo
"$dmsform" destroy -auto-approve
