#!/usr/bin/env bash
# The whole test suite: formatting, lints, docs, and every test in the workspace.
# CI runs exactly this (via .ci/run); it installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

step "test data: dataset-fashion-mnist (vector-index recall tests and benchmark)"
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q dataset-fashion-mnist \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q dataset-fashion-mnist; } \
    || echo "could not install dataset-fashion-mnist: the vector-index tests will fail" >&2
fi

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc --workspace --no-deps (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "local S3 and DynamoDB server (moto) for the S3 and DynamoDB tests"
source scripts/s3-server.sh
source scripts/postgres-server.sh
source scripts/redis-server.sh
source scripts/azurite-server.sh
servers_stop() { s3_server_stop; pg_server_stop; redis_server_stop; azurite_server_stop; }
trap servers_stop EXIT
s3_server_start
export STRATA_S3_REQUIRED=1
# The same moto serves DynamoDB (each test makes a table of its own).
export STRATA_DYNAMODB_ENDPOINT="$STRATA_S3_ENDPOINT" STRATA_DYNAMODB_REQUIRED=1
export STRATA_DYNAMODB_ACCESS_KEY_ID="$STRATA_S3_ACCESS_KEY_ID" STRATA_DYNAMODB_SECRET_ACCESS_KEY="$STRATA_S3_SECRET_ACCESS_KEY"

step "local PostgreSQL cluster for the PostgreSQL tests"
pg_server_start
export STRATA_POSTGRES_REQUIRED=1

step "local Redis server for the Redis tests"
redis_server_start
export STRATA_REDIS_REQUIRED=1

step "local Azure Blob emulator (Azurite) for the Azure tests"
azurite_server_start
export STRATA_AZURE_REQUIRED=1

step "cargo test --workspace"
cargo test --workspace
