#!/usr/bin/env bash
# The driver workflow against the local emulator, step by step: check → upload → install →
# check, each task polled until it finishes, exactly as the real service is driven.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
data=$(mktemp -d)
log="$data/emulator.log"
./target/debug/dmsform emulator --listen 127.0.0.1:0 --data-dir "$data/emulator" \
  --share-root "fileserver/drivers=$PWD/examples/oci-driver/drivers" \
  --queued-for 500ms --run-for 1500ms >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do grep -q 'listening on' "$log" && break; sleep 0.1; done
base=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log")
echo "emulator at $base"
tasks="$base/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/demo/providers/Microsoft.DataMigration/services/dms1/serviceTasks"
auth=(-H "Authorization: Bearer demo-token" -H "Content-Type: application/json")

run_task() { # name body
  curl -sf -X PUT "${auth[@]}" "$tasks/$1?api-version=2025-06-30" -d "$2" >/dev/null
  local state=""
  while :; do
    body=$(curl -sf "${auth[@]}" "$tasks/$1?api-version=2025-06-30&\$expand=output")
    new=$(jq -r .properties.state <<<"$body")
    [ "$new" != "$state" ] && echo "  $1: $new" && state=$new
    case $state in Succeeded|Failed|FailedInputValidation|Faulted|Canceled) break ;; esac
    sleep 0.25
  done
  jq -c .properties.output <<<"$body"
}

echo "1. check the installed driver"
run_task checkOCIDriver '{"properties":{"taskType":"Service.Check.OCI","input":{"serverVersion":"19.0"}}}'
echo "2. upload the driver from \\\\fileserver\\drivers"
out=$(run_task uploadOCIDriver '{"properties":{"taskType":"Service.Upload.OCI","input":{"driverShare":{"path":"\\\\fileserver\\drivers"}}}}')
echo "$out"
pkg=$(tail -n 1 <<<"$out" | jq -r '.[0].driverPackageName')
echo "3. install $pkg"
run_task installOCIDriver "{\"properties\":{\"taskType\":\"Service.Install.OCI\",\"input\":{\"driverPackageName\":\"$pkg\"}}}"
echo "4. check again"
run_task checkOCIDriver '{"properties":{"taskType":"Service.Check.OCI","input":{"serverVersion":"19.0"}}}'
