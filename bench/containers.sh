#!/usr/bin/env bash
# bench/containers.sh: many containers in one account (issue 4). Starts
# `swiftlet serve --data` in a temporary directory (three fsynced replicas, the
# default max_containers_per_account of 500,000) and runs bench/containers.py
# against it: the creation rate, the account HEAD and 10,000-entry listing
# pages at N containers. Not part of `make bench` (it takes minutes).
# Knobs: N (containers, 500000), CONC (clients, 32), BENCH_PORT (8182),
#        BENCH_DIR (parent of the temporary data dir, /tmp), FSYNC (true; false
#        measures the server without the disk's flush rate), extra arguments
#        go to containers.py (e.g. --json out.json).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${BENCH_PORT:-8182}
bin=build/swiftlet
data=$(mktemp -d "${BENCH_DIR:-/tmp}/swiftlet-containers.XXXXXX")
printf '[storage]\nfsync = %s\n' "${FSYNC:-true}" >"$data.ini"
"$bin" serve -c "$data.ini" --data "$data" --listen "127.0.0.1:$port" --user test:tester:testing:admin \
    --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$data.ini"' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && break
    sleep 0.05
done
/usr/bin/python3 bench/containers.py --auth "http://127.0.0.1:$port/auth/v1.0" \
    -n "${N:-500000}" -c "${CONC:-32}" "$@"
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
echo "swiftlet RSS: $((rss / 1024)) MiB; data: $(du -sh "$data" | cut -f1)"
