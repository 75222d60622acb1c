#!/usr/bin/env bash
# bench/ratelimit.sh: accuracy of the per-container write limit (issue 4):
# with RL_WRITERS (64) concurrent writers PUTting 4 KiB objects into one
# container for RL_DURATION (30) s against swiftlet's default limit (100
# writes/s per container, mode swift), accepted writes/s must stay within
# +-5% of 100, and a second container written at RL_CALM_RATE (40/s) must
# keep its rate. Starts `swiftlet --ephemeral` with its default limits (no
# fsync, so the disk is not the bottleneck); the client is bench/ratelimit.py.
# Prints a JSON summary and PASS/FAIL; exits 1 on FAIL.
# Knobs: RL_DURATION, RL_WRITERS, RL_CALM_RATE, RL_CALM_SECONDS (10),
#        BENCH_PORT (8184).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/swiftlet
[ -x "$bin" ] || make -s all
port=${BENCH_PORT:-8184}
log=$(mktemp /tmp/swiftlet-rlbench.XXXXXX)
"$bin" --ephemeral --listen "127.0.0.1:$port" --log-level warn >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && break
    sleep 0.1
done
/usr/bin/python3 bench/ratelimit.py "http://127.0.0.1:$port/auth/v1.0" test:tester testing
