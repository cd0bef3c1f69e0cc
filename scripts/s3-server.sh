# A local S3-compatible server (moto) for the S3 tests. Source it, then:
#   s3_server_start   # installs moto into .s3-server/venv if missing, starts it on a free
#                     # port, creates a bucket and exports STRATA_S3_* for the tests
#   s3_server_stop    # stops the server by its PID
# scripts/test.sh does both; source it by hand to run `cargo test -p strata-tests --test s3`.
#
# moto runs single-threaded (scripts/moto-server.py): the threaded `moto_server` checks
# If-Match / If-None-Match and then writes without a lock, and lost compare-and-swap
# updates (a 5 x 10 counter ended at 49 in 4 of 11 runs).

S3_SERVER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3_SERVER_DIR="$S3_SERVER_ROOT/.s3-server"
# moto serves DynamoDB too (tests/tests/dynamodb.rs): its extra brings what that needs.
S3_SERVER_PIP=('moto[s3,dynamodb]==5.2.5' 'flask==3.1.3' 'flask-cors==6.0.1' 'werkzeug==3.1.9')

s3_server_install() {
  if [ -x "$S3_SERVER_DIR/venv/bin/moto_server" ] &&
    "$S3_SERVER_DIR/venv/bin/python" -c 'import docker, py_partiql_parser' 2>/dev/null; then return 0; fi
  echo "installing moto into $S3_SERVER_DIR/venv" >&2
  mkdir -p "$S3_SERVER_DIR"
  if ! python3 -m venv "$S3_SERVER_DIR/venv"; then
    # Debian splits venv support out of python3.
    rm -rf "$S3_SERVER_DIR/venv"
    { apt-get update -q && apt-get install -y -q python3-venv; } >&2 &&
      python3 -m venv "$S3_SERVER_DIR/venv"
  fi
  "$S3_SERVER_DIR/venv/bin/pip" install -q "${S3_SERVER_PIP[@]}"
}

s3_server_start() {
  command -v curl >/dev/null || { apt-get update -q && apt-get install -y -q curl; } >&2
  s3_server_install || { echo "could not install moto" >&2; return 1; }
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$S3_SERVER_DIR/venv/bin/python" "$S3_SERVER_ROOT/scripts/moto-server.py" 127.0.0.1 "$port" \
    >"$S3_SERVER_DIR/server.log" 2>&1 &
  S3_SERVER_PID=$!
  local endpoint="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null "$endpoint/moto-api/"; then break; fi
    if ! kill -0 "$S3_SERVER_PID" 2>/dev/null; then
      echo "moto exited; its log:" >&2
      cat "$S3_SERVER_DIR/server.log" >&2
      return 1
    fi
    sleep 0.2
  done
  export STRATA_S3_ENDPOINT="$endpoint"
  export STRATA_S3_BUCKET="strata-test"
  export STRATA_S3_ACCESS_KEY_ID="strata-test-key"
  export STRATA_S3_SECRET_ACCESS_KEY="strata-test-secret"
  # curl signs but does not add the payload hash header S3 requires.
  curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$STRATA_S3_ACCESS_KEY_ID:$STRATA_S3_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/$STRATA_S3_BUCKET" >/dev/null ||
    { echo "could not create bucket $STRATA_S3_BUCKET at $endpoint" >&2; return 1; }
  echo "moto S3 server on $endpoint (pid $S3_SERVER_PID), bucket $STRATA_S3_BUCKET" >&2
}

s3_server_stop() {
  if [ -n "${S3_SERVER_PID:-}" ]; then
    kill "$S3_SERVER_PID" 2>/dev/null || true
    wait "$S3_SERVER_PID" 2>/dev/null || true
    S3_SERVER_PID=
  fi
}
