#!/usr/bin/env bash
# bench/io_modes.sh: parallel replica writes through io_uring against the
# synchronous fallback ([storage] io = sync: the same work, one call at a
# time), side by side in one run with ../shared/bench/compare.sh:
# 4 KiB PUT rate (put16) and 256 MiB PUT/GET throughput (large).
# swiftlet runs with --no-ratelimit: raw speed, not the per-container limit.
# Knobs: BENCH_DURATION (s per phase, 10), BENCH_PHASES (put16,large),
#        SHARED_BENCH (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
shared=${SHARED_BENCH:-../shared/bench}
bin=build/swiftlet
[ -x "$bin" ] || make -s all

start() {   # start MODE PORT -> data dir on stdout
    local mode=$1 port=$2 data conf
    data=$(mktemp -d /tmp/swiftlet-io-$mode.XXXXXX)
    conf=$data.conf
    printf '[server]\nlog_level = warn\n[storage]\nio = %s\n' "$mode" >"$conf"
    "$bin" serve -c "$conf" --data "$data" --listen "127.0.0.1:$port" \
        --user test:tester:testing:admin --no-ratelimit >/dev/null 2>&1 &
    echo "$! $data"
}

read -r pid_u data_u < <(start uring 8183)
read -r pid_s data_s < <(start sync 8184)
trap 'kill $pid_u $pid_s 2>/dev/null; wait 2>/dev/null; rm -rf "$data_u" "$data_s" "$data_u.conf" "$data_s.conf"' EXIT
for port in 8183 8184; do wait_healthy "$port"; done
"$shared/compare.sh" \
    "name=uring,auth=http://127.0.0.1:8183/auth/v1.0,user=test:tester,key=testing" \
    "name=sync,auth=http://127.0.0.1:8184/auth/v1.0,user=test:tester,key=testing" \
    --duration "${BENCH_DURATION:-10}" --phases "${BENCH_PHASES:-put16,large}"
