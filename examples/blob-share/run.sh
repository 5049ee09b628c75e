#!/usr/bin/env bash
# One command: starts Azurite, puts the example driver archive in a container, signs a
# read+list SAS URI for it, then applies this configuration (the embedded emulator
# downloads the archive over the Blob REST API), plans again (no changes) and destroys.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../scripts/lib/examples.sh
. "$here/../../scripts/lib/examples.sh"
example_dmsform

azurite_start
azurite_container drivers
azurite_upload drivers "$EXAMPLES_ROOT/examples/oci-driver/drivers/instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
# The SAS URI is a secret: it goes to dmsform through the environment, never a flag.
DMSFORM_VAR_driver_sas_uri="$AZURITE_BASE/drivers?$(azurite_sas rl 2099-01-01T00:00:00Z)"
export DMSFORM_VAR_driver_sas_uri

# Run in a scratch copy, so the example folder stays as it is in the repository.
example_scratch "$here"
"$DMSFORM" apply -auto-approve
echo
echo "==> dmsform plan -detailed-exitcode"
"$DMSFORM" plan -detailed-exitcode
echo
"$DMSFORM" destroy -auto-approve
