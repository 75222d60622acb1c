#!/usr/bin/env bash
# bench/cpu_per_request.sh: server CPU per request of two swiftlet builds
# (or one build with two configs), in alternating rounds of one phase of
# ../shared/bench. On this shared 2-core machine request rates drift by
# +-10% from run to run, more than most single changes move them; the
# CPU time the server process spent (utime + stime from /proc, all threads)
# per request served is far steadier, so it shows what a change costs or
# saves. swiftbench's GET warm-up is off (--warmup 0): its requests go
# uncounted, so their CPU would be charged to the phase's (~200 µs per
# 4 KiB PUT). Compare A with B, not with other tools.
#
#   bench/cpu_per_request.sh PHASE [ROUNDS]     PHASE: put16, put1, get, head
#
# Knobs: BIN_A, BIN_B (build/swiftlet), CONF_A, CONF_B (extra -c FILE),
#        DURATION (s per round, 8), SHARED_BENCH (../shared/bench).
# get/head first fill each server with the bench's 10,000 objects.
# Data dirs are left in /tmp/swiftlet-cpu.*: a bulk delete makes ext4 (no
# journal) scan recently freed inodes on every new file for minutes after,
# which would slow the next PUT measurement on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
phase=${1:?usage: bench/cpu_per_request.sh PHASE [ROUNDS]}
rounds=${2:-2}
shared=${SHARED_BENCH:-../shared/bench}
bin_a=${BIN_A:-build/swiftlet}
bin_b=${BIN_B:-build/swiftlet}
if [ ! -x "$bin_a" ] || [ ! -x "$bin_b" ]; then make -s all; fi

start() {   # start BIN PORT CONF -> "pid datadir" on stdout
    local data
    data=$(mktemp -d /tmp/swiftlet-cpu.XXXXXX)
    "$1" serve --data "$data" --listen "127.0.0.1:$2" --user test:tester:testing:admin \
        --no-ratelimit --log-level warn ${3:+-c "$3"} >/dev/null 2>&1 &
    echo "$! $data"
}

out=$(mktemp -d /tmp/swiftlet-cpu-out.XXXXXX)    # swiftbench's tables
read -r pid_a data_a < <(start "$bin_a" 8185 "${CONF_A:-}")
read -r pid_b data_b < <(start "$bin_b" 8186 "${CONF_B:-}")
trap 'kill $pid_a $pid_b 2>/dev/null; wait 2>/dev/null' EXIT
for port in 8185 8186; do wait_healthy "$port"; done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One round of phase $1 against port $2 (server pid $3); prints
# "<2xx responses> <ok/s> <server CPU µs per 2xx response>".
round() {
    local t0 t1 line n
    t0=$(cpu_ticks "$3")
    line=$("$shared/swiftbench.sh" "http://127.0.0.1:$2/auth/v1.0" test:tester testing \
        --phases "$1" --warmup 0 --duration "${DURATION:-8}" --out "$out" \
        2>/dev/null | grep -E "^$1 " || true)
    t1=$(cpu_ticks "$3")
    n=$(grep -oE '\b2[0-9][0-9]:[0-9]+' <<<"$line" | awk -F: '{ s += $2 } END { print s + 0 }')
    awk -v n="$n" -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v line="$line" 'BEGIN {
        split(line, f, " +"); rate = "-"
        for (i = 2; i <= length(f); i++) if (f[i] ~ /^[0-9]+\.[0-9]$/) { rate = f[i]; break }
        printf "%8d %10s %8.0f\n", n, rate, n ? t / hz * 1e6 / n : 0 }'
}

case $phase in get|head) round fill 8185 "$pid_a" >/dev/null; round fill 8186 "$pid_b" >/dev/null ;; esac
printf "%-6s %-5s %8s %10s %8s\n" round side "2xx" "ok/s" "cpu_us"
for i in $(seq "$rounds"); do
    printf "%-6s %-5s %s\n" "$i" A "$(round "$phase" 8185 "$pid_a")"
    printf "%-6s %-5s %s\n" "$i" B "$(round "$phase" 8186 "$pid_b")"
done
echo "A: $bin_a ${CONF_A:-}  B: $bin_b ${CONF_B:-}  data: $data_a $data_b"
