#!/usr/bin/env bash
# bench/auditor.sh: what the auditor at its default rate costs foreground
# GETs (issue 3: less than 10%).
#
# One data directory holds AUDIT_MIB MiB of 1 MiB objects (so an audit pass
# at the default 10 MB/s lasts longer than a run: the auditor is busy
# throughout) and 200 objects of 4 KiB that the load reads. The same
# swiftlet is measured twice on that data, with wrk and
# ../shared/bench/swiftbench.lua: first with [auditor] enabled = false, then
# enabled at the default bytes/files per second with interval = 1, and the
# script prints both GET rates and their ratio. BENCH_ROUNDS rounds run
# off,on then on,off alternately, and the rates are averaged. The auditor
# alone at its default rate costs ~3% of one core (`/usr/bin/time swiftlet
# audit --once`), so on a busy machine the ratio is mostly noise: run it on
# a quiet one. swiftlet runs with --no-ratelimit (raw speed, not the
# per-container write limit).
#
# Knobs: BENCH_DURATION (s per run, 10), BENCH_ROUNDS (2), BENCH_PORT (8183),
#        AUDIT_MIB (400), BENCH_CONNS (16), SHARED_BENCH (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED_BENCH:-../shared/bench}
port=${BENCH_PORT:-8183}
dur=${BENCH_DURATION:-10}
mib=${AUDIT_MIB:-400}
conns=${BENCH_CONNS:-16}
rounds=${BENCH_ROUNDS:-2}
bin=build/swiftlet
base=http://127.0.0.1:$port

data=$(mktemp -d /tmp/swiftlet-auditbench.XXXXXX)
pid=
stop() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    pid=
}
trap 'stop; rm -rf "$data" "$data.big" "$data.small"' EXIT

start() {   # start AUDITOR_ENABLED
    printf '[auditor]\nenabled = %s\ninterval = 1\n[expirer]\nenabled = false\n' "$1" \
        >"$data/swiftlet.ini"
    "$bin" serve -c "$data/swiftlet.ini" --data "$data/d" --listen "127.0.0.1:$port" \
        --user test:tester:testing:admin --log-level warn --no-ratelimit 2>>"$data/log" &
    pid=$!
    for _ in $(seq 200); do
        curl -fs "$base/healthcheck" >/dev/null && return 0
        sleep 0.05
    done
    echo "swiftlet did not start" >&2
    exit 1
}

token() {
    curl -fsi -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$base/auth/v1.0" |
        awk 'tolower($1) == "x-auth-token:" { sub(/\r$/, "", $2); print $2 }'
}

fill() {
    local tok=$1 big small
    big=$data.big        # beside the data dir: removed on exit even after an error
    small=$data.small
    head -c $((1 << 20)) /dev/urandom >"$big"
    head -c 4096 /dev/urandom >"$small"
    curl -fs -X PUT -H "X-Auth-Token: $tok" "$base/v1/AUTH_test/big" >/dev/null
    curl -fs -X PUT -H "X-Auth-Token: $tok" "$base/v1/AUTH_test/hot" >/dev/null
    local pids=()
    for i in $(seq "$mib"); do
        curl -fs -X PUT -H "X-Auth-Token: $tok" -T "$big" "$base/v1/AUTH_test/big/o$i" >/dev/null &
        pids+=($!)
        if [ "${#pids[@]}" -ge 8 ]; then wait "${pids[@]}"; pids=(); fi
    done
    if [ "${#pids[@]}" -gt 0 ]; then wait "${pids[@]}"; fi
    : >"$data/names"
    for i in $(seq 200); do
        curl -fs -X PUT -H "X-Auth-Token: $tok" -T "$small" "$base/v1/AUTH_test/hot/s$i" >/dev/null
        echo "hot/s$i" >>"$data/names"
    done
    rm -f "$big" "$small"
}

# GET rate (requests/s with status 200) of one run.
load() {
    local tok=$1 out=$data/wrk.json
    SB_MODE=get SB_BASE=/v1/AUTH_test SB_TOKEN=$tok SB_NAMES=$data/names SB_THREADS=2 \
        SB_OUT=$out wrk -t2 -c"$conns" -d"${dur}s" -s "$shared/swiftbench.lua" "$base" >/dev/null
    /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f" % (r["status"].get("200", 0) / (r["duration_us"] / 1e6)))' "$out"
}

audited() {
    curl -fs "$base/metrics" | awk '$1 == "swiftlet_auditor_bytes_total" { print $2 }'
}

run() {   # run AUDITOR_ENABLED -> prints the GET rate
    start "$1"
    local tok before after rate
    tok=$(token)
    sleep 1
    before=$(audited)
    rate=$(load "$tok")
    after=$(audited)
    stop
    echo "auditor $1: $rate GET/s, auditor read $(((after - before) / 1048576)) MiB during the run" >&2
    echo "$rate"
}

echo "== filling $mib MiB of 1 MiB objects and 200 objects of 4 KiB" >&2
start false
fill "$(token)"
stop

# off,on then on,off (and so on): each setting sees the same drift.
offs=() ons=()
for r in $(seq "$rounds"); do
    if ((r % 2)); then offs+=("$(run false)"); ons+=("$(run true)")
    else ons+=("$(run true)"); offs+=("$(run false)"); fi
done
/usr/bin/python3 -c '
import sys
n = len(sys.argv) // 2
off = sum(map(float, sys.argv[1:1 + n])) / n
on = sum(map(float, sys.argv[1 + n:])) / n
print("4 KiB GET/s over %d rounds: auditor off %.0f, on %.0f; on/off = %.3f (cost %.1f%%)"
      % (n, off, on, on / off, 100 * (1 - on / off)))' "${offs[@]}" "${ons[@]}"
