# A local Redis server for the Redis tests. Source it, then:
#   redis_server_start   # installs Debian's redis-server if missing, starts it on a free
#                        # port of 127.0.0.1 in a temporary directory, waits for PING and
#                        # exports STRATA_REDIS_URL for the tests
#   redis_server_stop    # stops the server by its PID and removes the directory
# scripts/test.sh does both; source it by hand to run `cargo test -p strata-tests --test redis`.
#
# The server keeps nothing on disk (`--save '' --appendonly no`): the tests need a server,
# not durability, and the store declares durability `None` for these settings.

redis_server_install() {
  command -v redis-server >/dev/null && return 0
  echo "installing redis-server from Debian's packages" >&2
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get install -y -q redis-server ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q redis-server; }; } >&2
}

redis_server_start() {
  redis_server_install || { echo "could not install redis-server" >&2; return 1; }
  REDIS_SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/strata-redis.XXXXXX")
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$port" --dir "$REDIS_SERVER_DIR" --save '' \
    --appendonly no --daemonize no --logfile "$REDIS_SERVER_DIR/server.log" &
  REDIS_SERVER_PID=$!
  for _ in $(seq 1 100); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
      export STRATA_REDIS_URL="redis://127.0.0.1:$port/0"
      echo "redis-server on $STRATA_REDIS_URL (pid $REDIS_SERVER_PID)" >&2
      return 0
    fi
    if ! kill -0 "$REDIS_SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "redis-server did not answer PING; its log:" >&2
  cat "$REDIS_SERVER_DIR/server.log" >&2
  redis_server_stop
  return 1
}

redis_server_stop() {
  if [ -n "${REDIS_SERVER_PID:-}" ]; then
    kill "$REDIS_SERVER_PID" 2>/dev/null || true
    wait "$REDIS_SERVER_PID" 2>/dev/null || true
    REDIS_SERVER_PID=
  fi
  if [ -n "${REDIS_SERVER_DIR:-}" ]; then
    rm -rf "$REDIS_SERVER_DIR"
    REDIS_SERVER_DIR=
  fi
}
