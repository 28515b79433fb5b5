#!/usr/bin/env bash
# Starts the local PostgreSQL cluster the store's tests run against and creates
# role `ivr` (password `ivr`) and databases `ivr_test` and `ivr_bench`. Safe to run repeatedly.
set -euo pipefail
bash "$(dirname "$0")/system-deps.sh"
ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >/dev/null
fi
if ! pg_lsclusters -h | grep -q "^$ver main .* online"; then
  pg_ctlcluster "$ver" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"select 1 from pg_roles where rolname='ivr'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"create role ivr login password 'ivr'\""
# ivr_test for make test, ivr_bench for make bench (bench/scale.py empties it).
for db in ivr_test ivr_bench; do
  su postgres -c "psql -qtAc \"select 1 from pg_database where datname='$db'\"" | grep -q 1 \
    || su postgres -c "psql -qc 'create database $db owner ivr'"
done
echo "PostgreSQL $ver is running on 127.0.0.1:5432 (databases ivr_test, ivr_bench)." >&2
