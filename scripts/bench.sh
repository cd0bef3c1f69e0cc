#!/usr/bin/env bash
# Every benchmark, with what they need installed first: the Fashion-MNIST data and a venv
# with hnswlib (the vector bench's peer, measured in the same run), and moto for the S3
# bench (tests/benches/s3.rs starts its own when STRATA_S3_* is unset), and throwaway
# PostgreSQL and Redis servers for their benches.
#
#   scripts/bench.sh                 # all benches
#   scripts/bench.sh redb tiered     # the named ones (tests/benches/<name>.rs)
#
# STRATA_BENCH_ROUNDS sets the paired rounds per comparison (default 7, tests/src/bench.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so the peer's figures stay comparable between runs.
BENCH_PIP=('hnswlib==0.8.0' 'numpy==2.2.6')

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q dataset-fashion-mnist \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q dataset-fashion-mnist; }
fi

if ! .bench-venv/bin/python -c 'import hnswlib, numpy' 2>/dev/null; then
  echo "installing ${BENCH_PIP[*]} into .bench-venv" >&2
  python3 -m venv .bench-venv
  .bench-venv/bin/pip install -q "${BENCH_PIP[@]}"
fi

source scripts/s3-server.sh
s3_server_install

# The PostgreSQL and Redis benches need their servers (throwaway ones, as for the tests).
source scripts/postgres-server.sh
source scripts/redis-server.sh
servers_stop() { s3_server_stop; pg_server_stop; redis_server_stop; }
trap servers_stop EXIT
pg_server_start
redis_server_start
# moto for the DynamoDB bench and the GC bench's S3 half (the S3 bench starts its own).
s3_server_start
export STRATA_DYNAMODB_ENDPOINT="$STRATA_S3_ENDPOINT"
export STRATA_DYNAMODB_ACCESS_KEY_ID="$STRATA_S3_ACCESS_KEY_ID" STRATA_DYNAMODB_SECRET_ACCESS_KEY="$STRATA_S3_SECRET_ACCESS_KEY"

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(stats tiered redb lmdb file s3 vector postgres redis dynamodb layers gc)
for bench in "${benches[@]}"; do
  printf '\n==> cargo bench -p strata-tests --bench %s\n' "$bench"
  cargo bench -p strata-tests --bench "$bench"
done
