# A local Azure Blob Storage emulator (Azurite) for the Azure tests. Source it, then:
#   azurite_server_start   # installs npm `azurite` into .azurite/ if missing, starts
#                          # azurite-blob on a free port of 127.0.0.1, creates a container
#                          # and exports STRATA_AZURE_* for the tests
#   azurite_server_stop    # stops the server by its PID and removes its directory
# scripts/test.sh does both; source it by hand to run `cargo test -p strata-tests --test azure`.
#
# Installed project-locally (`npm install --prefix .azurite`), pinned: no root, no global
# npm state, and the same version on every machine; a second run reuses it.
# `--disableTelemetry` is required: without it Azurite tries to reach an outside host.
# `--inMemoryPersistence`: the tests need a server, not durability.

AZURITE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURITE_DIR="$AZURITE_ROOT/.azurite"
AZURITE_VERSION="3.35.0"
# The emulator's well-known account and key (public, documented by Microsoft).
AZURITE_ACCOUNT="devstoreaccount1"
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

azurite_server_install() {
  [ -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] && return 0
  command -v npm >/dev/null || { echo "npm is missing: install Node.js" >&2; return 1; }
  echo "installing azurite@$AZURITE_VERSION into $AZURITE_DIR" >&2
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2
}

azurite_server_start() {
  azurite_server_install || { echo "could not install azurite" >&2; return 1; }
  AZURITE_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/strata-azurite.XXXXXX")
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Started in its own directory (Azurite refuses `--location` with `--inMemoryPersistence`,
  # and would otherwise leave files in the caller's).
  (cd "$AZURITE_RUN_DIR" && exec "$AZURITE_DIR/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence --disableTelemetry \
    --skipApiVersionCheck --loose) >"$AZURITE_RUN_DIR/server.log" 2>&1 &
  AZURITE_SERVER_PID=$!
  local endpoint="http://127.0.0.1:$port/$AZURITE_ACCOUNT"
  local container="strata-test"
  local status
  for _ in $(seq 1 300); do
    status=0
    python3 "$AZURITE_ROOT/scripts/azurite-create-container.py" \
      "$endpoint" "$AZURITE_ACCOUNT" "$AZURITE_KEY" "$container" 2>/dev/null || status=$?
    if [ "$status" -eq 0 ]; then
      export STRATA_AZURE_ENDPOINT="$endpoint"
      export STRATA_AZURE_ACCOUNT="$AZURITE_ACCOUNT"
      export STRATA_AZURE_ACCESS_KEY="$AZURITE_KEY"
      export STRATA_AZURE_CONTAINER="$container"
      echo "azurite on $endpoint (pid $AZURITE_SERVER_PID), container $container" >&2
      return 0
    fi
    # 2: the server answered with a refusal, which waiting does not change.
    if [ "$status" -eq 2 ] || ! kill -0 "$AZURITE_SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "azurite did not come up (or the container could not be created); its log:" >&2
  tail -n 20 "$AZURITE_RUN_DIR/server.log" >&2
  python3 "$AZURITE_ROOT/scripts/azurite-create-container.py" \
    "$endpoint" "$AZURITE_ACCOUNT" "$AZURITE_KEY" "$container" || true
  azurite_server_stop
  return 1
}

azurite_server_stop() {
  if [ -n "${AZURITE_SERVER_PID:-}" ]; then
    kill "$AZURITE_SERVER_PID" 2>/dev/null || true
    wait "$AZURITE_SERVER_PID" 2>/dev/null || true
    AZURITE_SERVER_PID=
  fi
  if [ -n "${AZURITE_RUN_DIR:-}" ]; then
    rm -rf "$AZURITE_RUN_DIR"
    AZURITE_RUN_DIR=
  fi
}
