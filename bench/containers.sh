#!/usr/bin/env bash
# bench/containers.sh: many containers in one account (issue 4). Starts
# `swiftlet serve --data` in a temporary directory (three fsynced replicas, the
# default max_containers_per_account of 500,000) and runs bench/containers.py
# against it: the creation rate, the account HEAD and 10,000-entry listing
# pages at N containers. Not part of `make bench` (it takes minutes).
# Knobs: N (containers, 500000), CONC (clients, 32), BENCH_PORT (a free one),
#        SEED (after creating N over HTTP, add listing rows up to SEED straight
#        into the account DB, then time HEAD and listings again),
#        BENCH_DIR (parent of the temporary data dir, /tmp), FSYNC (true; false
#        measures the server without the disk's flush rate), extra arguments
#        go to containers.py (e.g. --json out.json).
set -euo pipefail
cd "$(dirname "$0")/.."
# a free port unless given: never talk to another engineer's server
port=${BENCH_PORT:-$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
bin=build/swiftlet
data=$(mktemp -d "${BENCH_DIR:-/tmp}/swiftlet-containers.XXXXXX")
printf '[storage]\nfsync = %s\n' "${FSYNC:-true}" >"$data.ini"
start() {
    "$bin" serve -c "$data.ini" --data "$data" --listen "127.0.0.1:$port" \
        --user test:tester:testing:admin --log-level warn &
    pid=$!
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && break
        sleep 0.05
    done
    kill -0 $pid 2>/dev/null || { echo "swiftlet did not start" >&2; exit 1; }
}
pid=
trap 'if [ -n "$pid" ]; then kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; fi
      rm -rf "$data" "$data.ini"' EXIT
start
n=${N:-500000}
/usr/bin/python3 bench/containers.py --auth "http://127.0.0.1:$port/auth/v1.0" \
    -n "$n" -c "${CONC:-32}" "$@"
if [ "${SEED:-0}" -gt "$n" ]; then
    echo "== the account DB seeded up to $SEED containers (server stopped meanwhile)"
    kill $pid; wait $pid || true
    pid=
    /usr/bin/python3 bench/containers.py --seed "$data" --seed-from "$n" -n "$SEED"
    start
    /usr/bin/python3 bench/containers.py --auth "http://127.0.0.1:$port/auth/v1.0" \
        --skip-create -n "$SEED" "$@"
fi
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
echo "swiftlet RSS: $((rss / 1024)) MiB; data: $(du -sh "$data" | cut -f1)"
