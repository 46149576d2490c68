#!/usr/bin/env bash
# A local PostgreSQL database for the backend tests. Prints the URL to export (everything else goes to stderr):
#   export TEST_DATABASE_URL="$(scripts/ci_postgres.sh)"
# Installs PostgreSQL with apt-get when it is missing, starts its cluster and creates the role and the
# database only if they do not exist yet, so it can run any number of times.
set -euo pipefail

db=${PG_TEST_DB:-onboarding_test}
user=${PG_TEST_USER:-onboarding}
password=${PG_TEST_PASSWORD:-onboarding}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null; then
  echo "Installing PostgreSQL..." >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
fi
if [ -z "$(pg_lsclusters --no-header)" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  as_root pg_createcluster "$version" main >&2
fi
cluster=$(pg_lsclusters --no-header | head -n 1)
read -r version name port status _ <<<"$cluster"
[ "$status" = online ] || as_root pg_ctlcluster "$version" "$name" start >&2

psql_admin() { as_root runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" ]; then
  psql_admin -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$password'" >&2
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
  psql_admin -c "CREATE DATABASE \"$db\" OWNER \"$user\"" >&2
fi
echo "postgresql+psycopg://$user:$password@127.0.0.1:$port/$db"
