#!/bin/bash
# bench/slow_dg.sh: does a slow disk group stall requests that do not touch
# it? (issue 3: "GET rate of objects on other disk groups drops by less than
# 20%"). Starts swiftlet on 4 disk groups with the test fault injector
# (build/libfaultinject.so, `make build/libfaultinject.so`) loaded in both
# runs, so both use the same (synchronous) I/O path; uploads SLOW_OBJECTS
# 4 KiB objects; keeps those with no replica on dg4; measures their GET rate
# with wrk (../shared/bench/swiftbench.lua), then again while every I/O call
# on dg4 sleeps SLOW_DELAY_MS first (alternating the two); prints the rates
# and the ratio. swiftlet runs with --no-ratelimit (raw speed, not the
# per-container write limit). Run it on a quiet machine: on a busy one the noise is larger
# than the effect.
#
#   bench/slow_dg.sh                 # defaults below
#   SLOW_DURATION=5 SLOW_DELAY_MS=100 bench/slow_dg.sh
#
# Knobs: SLOW_PORT (8187), SLOW_OBJECTS (400), SLOW_DURATION (s per run, 10),
# SLOW_CONNS (16), SLOW_DELAY_MS (50), SLOW_ROUNDS (baseline/slowed pairs,
# alternated, 2), SWIFTLET_BIN, SWIFTLET_FAULTINJECT.
# Loopback only; its data lives in a temp directory removed at exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SWIFTLET_BIN:-$HERE/build/swiftlet}
FI=${SWIFTLET_FAULTINJECT:-$HERE/build/libfaultinject.so}
PORT=${SLOW_PORT:-8187}
N=${SLOW_OBJECTS:-400}
DURATION=${SLOW_DURATION:-10}
CONNS=${SLOW_CONNS:-16}
DELAY=${SLOW_DELAY_MS:-50}
ROUNDS=${SLOW_ROUNDS:-2}
LUA=""
for d in "$HERE/../shared/bench" "$HERE/../../shared/bench" /work/shared/bench; do
    if [ -f "$d/swiftbench.lua" ]; then LUA="$d/swiftbench.lua"; break; fi
done
for need in "$BIN" "$FI" "$LUA"; do
    [ -n "$need" ] && [ -e "$need" ] || { echo "slow_dg: missing ${need:-swiftbench.lua}" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "slow_dg: needs wrk (apt-get install wrk)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/swiftlet-slowdg-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

DATA=$TMP/data
URL=http://127.0.0.1:$PORT
: > "$TMP/faults"
printf '[server]\naccess_log = false\n' > "$TMP/conf"
SWIFTLET_FAULTS=$TMP/faults LD_PRELOAD=$FI "$BIN" serve -c "$TMP/conf" --data "$DATA" \
    --disk-groups 4 --listen "127.0.0.1:$PORT" --user test:tester:testing:admin \
    --log-level warn --no-ratelimit 2> "$TMP/log" &
PID=$!
for _ in $(seq 100); do
    curl -sf "$URL/healthcheck" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "$URL/healthcheck" >/dev/null || { echo "slow_dg: server did not start" >&2; cat "$TMP/log" >&2; exit 1; }

TOKEN=$(curl -si -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$URL/auth/v1.0" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "x-auth-token" {print $2}')
BASE=/v1/AUTH_test
curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" "$URL$BASE/c"
head -c 4096 /dev/urandom > "$TMP/body"
for i in $(seq "$N"); do
    curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOKEN" --data-binary @"$TMP/body" \
        "$URL$BASE/c/o$i"
done

# The objects with no replica on dg4: hash = MD5(cluster id + "/account/container/object").
CLUSTER=$(sed -n 's/^cluster=//p' "$DATA/dg1/.swiftlet-dg")
: > "$TMP/names"
for i in $(seq "$N"); do
    h=$(printf '%s' "$CLUSTER/AUTH_test/c/o$i" | md5sum | cut -c1-32)
    compgen -G "$DATA/dg4/objects/*/${h: -3}/$h" >/dev/null || echo "c/o$i" >> "$TMP/names"
done
echo "objects: $N uploaded, $(wc -l < "$TMP/names") with no replica on dg4"

rate() {    # rate <label>: GET/s of 200 answers, from swiftbench.lua's summary
    SB_MODE=get SB_BASE=$BASE SB_TOKEN=$TOKEN SB_NAMES=$TMP/names SB_THREADS=2 \
        SB_OUT=$TMP/$1.json wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$LUA" "$URL" >/dev/null
    python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))
ok = s["status"].get("200", 0)
bad = s["requests"] - ok
print("%.1f %d %d" % (ok / (s["duration_us"] / 1e6), bad, s["latency_us"]["p99"]))' "$TMP/$1.json"
}

# Alternate the two modes so both see the same machine noise; report the
# mean of each.
BASE_RATES=(); SLOW_RATES=(); BAD=0
for round in $(seq "$ROUNDS"); do
    read -r r bad p99 < <(rate "base$round")
    BASE_RATES+=("$r"); BAD=$((BAD + bad))
    echo "round $round: baseline     $r GET/s (p99 $p99 us)"
    echo "$DATA/dg4 delay=$DELAY" > "$TMP/faults"
    sleep 0.3
    read -r r bad p99 < <(rate "slow$round")
    SLOW_RATES+=("$r"); BAD=$((BAD + bad))
    echo "round $round: dg4 +${DELAY}ms $r GET/s (p99 $p99 us)"
    : > "$TMP/faults"
    sleep 0.3
done
echo "non-200 answers: $BAD"
python3 -c 'import sys
n = len(sys.argv) // 2
b = sum(map(float, sys.argv[1:1 + n])) / n
s = sum(map(float, sys.argv[1 + n:])) / n
print("mean GET/s of objects not on dg4: baseline %.1f, dg4 delayed %.1f" % (b, s))
print("ratio slowed/baseline: %.3f (drop %.1f%%; target: drop < 20%%)" % (s / b, 100 * (1 - s / b)))' \
    "${BASE_RATES[@]}" "${SLOW_RATES[@]}"
