# Shell helpers for the examples' one-command scripts (examples/*/run.sh): find or build
# dmsform, work on a scratch copy of the example, and, for those that need Azure Blob
# Storage, start Azurite (installed from npm into node_modules/ by the project's
# package-lock.json) on a free loopback port, sign account SAS tokens with its well-known
# development key, create containers and upload blobs over the Blob REST API with curl.
# Source it; everything it starts or copies is removed on exit.

EXAMPLES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# example_dmsform: sets DMSFORM to $DMSFORM_BIN, or builds dmsform and uses the debug build.
example_dmsform() {
  DMSFORM="${DMSFORM_BIN:-}"
  if [ -z "$DMSFORM" ]; then
    (cd "$EXAMPLES_ROOT" && cargo build --quiet)
    DMSFORM="$EXAMPLES_ROOT/target/debug/dmsform"
  fi
}

# example_scratch DIR: copies the example DIR (without state) to a scratch directory,
# removed on exit, and changes into it; sets EXAMPLE_WORK.
example_scratch() {
  EXAMPLE_WORK="$(mktemp -d)"
  cp -r "$1/." "$EXAMPLE_WORK/"
  rm -rf "$EXAMPLE_WORK/.dmsform" "$EXAMPLE_WORK"/dmsform.state.json*
  cd "$EXAMPLE_WORK"
}

# Stops Azurite and removes the scratch copy, whichever exist.
example_cleanup() {
  azurite_stop
  if [ -n "${EXAMPLE_WORK:-}" ]; then
    rm -rf "$EXAMPLE_WORK"
  fi
}
trap example_cleanup EXIT

AZURITE_ACCOUNT=devstoreaccount1
# Azurite's published development key (the same for every Azurite installation).
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
AZURITE_VERSION=2025-11-05

azurite_start() {
  local main log port tool
  for tool in node npm python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "This example needs $tool (Node.js and npm run Azurite, python3 signs SAS tokens, curl talks to it)." >&2
      return 1
    fi
  done
  main="${AZURITE_BLOB_MAIN:-$EXAMPLES_ROOT/node_modules/azurite/dist/src/blob/main.js}"
  if [ ! -f "$main" ]; then
    (cd "$EXAMPLES_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  AZURITE_DIR="$(mktemp -d)"
  log="$AZURITE_DIR/azurite.log"
  node "$main" --inMemoryPersistence --disableTelemetry --extentMemoryLimit 256 \
    --blobHost 127.0.0.1 --blobPort 0 >"$log" 2>&1 &
  AZURITE_PID=$!
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*successfully listens on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "Azurite did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  AZURITE_BASE="http://127.0.0.1:$port/$AZURITE_ACCOUNT"
}

azurite_stop() {
  if [ -n "${AZURITE_PID:-}" ]; then
    kill "$AZURITE_PID" 2>/dev/null || true
    wait "$AZURITE_PID" 2>/dev/null || true
    AZURITE_PID=
  fi
  [ -n "${AZURITE_DIR:-}" ] && rm -rf "$AZURITE_DIR"
}

# azurite_sas PERMISSIONS EXPIRY: an account SAS query string (blob service, every
# resource type), e.g. azurite_sas rl 2099-01-01T00:00:00Z.
azurite_sas() {
  python3 - "$AZURITE_ACCOUNT" "$AZURITE_KEY" "$1" "$2" "$AZURITE_VERSION" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
account, key, perms, expiry, version = sys.argv[1:]
to_sign = "\n".join([account, perms, "b", "sco", "", expiry, "", "https,http", version, "", ""])
sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
print(urllib.parse.urlencode({"sv": version, "ss": "b", "srt": "sco", "sp": perms, "se": expiry, "spr": "https,http", "sig": sig}))
PY
}

# azurite_container NAME: creates the container.
azurite_container() {
  curl -fsS -o /dev/null -X PUT -H "x-ms-version: $AZURITE_VERSION" \
    "$AZURITE_BASE/$1?restype=container&$(azurite_sas rwdlac 2099-01-01T00:00:00Z)"
}

# azurite_upload CONTAINER FILE: uploads FILE as a block blob named after it.
azurite_upload() {
  curl -fsS -o /dev/null -X PUT -H "x-ms-version: $AZURITE_VERSION" \
    -H "x-ms-blob-type: BlockBlob" --data-binary "@$2" \
    "$AZURITE_BASE/$1/$(basename "$2")?$(azurite_sas rwdlac 2099-01-01T00:00:00Z)"
}
