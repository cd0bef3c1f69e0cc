# A throwaway PostgreSQL cluster for the PostgreSQL tests. Source it, then:
#   pg_server_start   # installs Debian's `postgresql` if initdb is missing, creates a cluster
#                     # in a temporary directory, starts it on 127.0.0.1 on a free port,
#                     # waits for pg_isready, creates the database and exports
#                     # STRATA_POSTGRES_URL (and STRATA_POSTGRES_BINDIR for tests that run
#                     # a cluster of their own)
#   pg_server_stop    # stops the server by its PID and removes the directory
# scripts/test.sh does both; source it by hand to run `cargo test -p strata-tests --test postgres`.
#
# Local connections over TCP need a password (scram-sha-256), so the wrong-password test
# meets a real check; the Unix socket in the cluster directory is trusted.

PG_SERVER_USER="strata"
PG_SERVER_PASSWORD="strata-test-password"
PG_SERVER_DB="strata_test"

pg_server_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$dir" ] && command -v initdb >/dev/null; then dir=$(dirname "$(readlink -f "$(command -v initdb)")"); fi
  echo "$dir"
}

pg_server_install() {
  if [ -n "$(pg_server_bindir)" ] && [ -x "$(pg_server_bindir)/initdb" ]; then return 0; fi
  echo "installing PostgreSQL from Debian's packages" >&2
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get install -y -q postgresql || { $sudo apt-get update -q && $sudo apt-get install -y -q postgresql; }; } >&2
}

# Runs a PostgreSQL tool as the cluster's owner: `postgres` when we are root (the server
# refuses to run as root), else ourselves.
pg_server_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_server_start() {
  pg_server_install || { echo "could not install PostgreSQL" >&2; return 1; }
  local bin port
  bin=$(pg_server_bindir)
  PG_SERVER_DIR=$(mktemp -d /tmp/strata-pg.XXXXXX)
  [ "$(id -u)" -ne 0 ] || chown postgres "$PG_SERVER_DIR"
  printf '%s\n' "$PG_SERVER_PASSWORD" >"$PG_SERVER_DIR/pwfile"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pg_server_as_owner "$bin/initdb" -D "$PG_SERVER_DIR/data" -U "$PG_SERVER_USER" \
    --pwfile="$PG_SERVER_DIR/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >"$PG_SERVER_DIR/initdb.log" 2>&1 ||
    { cat "$PG_SERVER_DIR/initdb.log" >&2; return 1; }
  pg_server_as_owner "$bin/pg_ctl" -w -t 60 -D "$PG_SERVER_DIR/data" -l "$PG_SERVER_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_SERVER_DIR -c max_connections=200" start >&2 ||
    { cat "$PG_SERVER_DIR/server.log" >&2; return 1; }
  PG_SERVER_PID=$(head -1 "$PG_SERVER_DIR/data/postmaster.pid")
  for _ in $(seq 1 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
  done
  pg_server_as_owner "$bin/createdb" -h "$PG_SERVER_DIR" -p "$port" -U "$PG_SERVER_USER" "$PG_SERVER_DB" ||
    { echo "could not create database $PG_SERVER_DB" >&2; return 1; }
  export STRATA_POSTGRES_URL="postgres://$PG_SERVER_USER:$PG_SERVER_PASSWORD@127.0.0.1:$port/$PG_SERVER_DB"
  export STRATA_POSTGRES_BINDIR="$bin"
  echo "PostgreSQL on 127.0.0.1:$port (pid $PG_SERVER_PID), database $PG_SERVER_DB" >&2
}

pg_server_stop() {
  if [ -n "${PG_SERVER_PID:-}" ]; then
    kill -INT "$PG_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PG_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    PG_SERVER_PID=
  fi
  if [ -n "${PG_SERVER_DIR:-}" ]; then rm -rf "$PG_SERVER_DIR"; PG_SERVER_DIR=; fi
}
