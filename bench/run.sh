#!/usr/bin/env bash
# bench/run.sh (`make bench`): swiftlet's figures, measured in one run.
#   1. ../shared/bench/compare.sh: swiftlet and nginx serving plain files (the
#      ceiling) side by side, phase by phase, so ratios share the machine's noise.
#   2. start to first served request, idle RSS (bench/startup.py).
# Start-up goes last: each of its --ephemeral servers deletes its store on
# exit, and on ext4 without a journal every inode allocation for ~30 s
# after a delete checks each recently freed inode (recently_deleted() in
# the kernel; perf showed it at 38% of the CPU of a PUT phase that followed
# deletions). Run first, it slowed the PUT phases.
# swiftlet runs with --no-ratelimit: these are raw speeds, not the 100 writes/s
# per container limit (bench/limits.sh measures that).
# Knobs: BENCH_PHASES (default cput,put16,put1,fill,list,get,head,large),
#        BENCH_DURATION (s per phase, 10), BENCH_PORT (8181), NGINX_PORT (8095),
#        SHARED_BENCH (../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh bench
shared=${SHARED_BENCH:-../shared/bench}
port=${BENCH_PORT:-8181}
export NGINX_PORT=${NGINX_PORT:-8095}
bin=build/swiftlet

data=$(mktemp -d /tmp/swiftlet-bench.XXXXXX)
"$bin" serve --data "$data" --listen "127.0.0.1:$port" --user test:tester:testing:admin \
    --log-level warn --no-ratelimit &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"; "$shared/nginx-ref.sh" stop >/dev/null 2>&1 || true' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && break
    sleep 0.05
done

echo "== swiftlet vs nginx (one run, alternating order per phase)"
# nginx on its own port (the preset's 8090 may be taken by ../shared/swift-aio).
"$shared/nginx-ref.sh" status >/dev/null 2>&1 || "$shared/nginx-ref.sh" start >&2
"$shared/compare.sh" "name=swiftlet,auth=http://127.0.0.1:$port/auth/v1.0,user=test:tester,key=testing" \
    "name=nginx,auth=http://127.0.0.1:$NGINX_PORT/auth/v1.0,user=x,key=x,dialect=webdav" \
    --duration "${BENCH_DURATION:-10}" \
    --phases "${BENCH_PHASES:-cput,put16,put1,fill,list,get,head,large}"
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
echo "swiftlet RSS after the load: $((rss / 1024)) MiB"

echo "== start-up and memory"
/usr/bin/python3 bench/startup.py "$bin"
