#!/usr/bin/env bash
# Starts the local Redis the scale-out tests run against (127.0.0.1:6379, nothing saved to
# disk: it holds only ephemeral shared state). Safe to run repeatedly. `make run` needs none.
set -euo pipefail
bash "$(dirname "$0")/system-deps.sh"
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  exit 0
fi
redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no \
  --logfile /tmp/ivr-test-redis.log --pidfile /tmp/ivr-test-redis.pid
for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.2
done
echo "Redis is running on 127.0.0.1:6379." >&2
