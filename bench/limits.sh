#!/usr/bin/env bash
# bench/limits.sh: the per-container write limit, measured with `swiftlet
# bench` against a fresh `swiftlet serve` on loopback with its defaults
# (100 writes/s per container, Swift mode). Two runs at once:
#   A. 64 concurrent writers on one container for DURATION s: the accepted
#      (2xx) PUTs per second must stay within +-5 % of the rate (issue 4);
#   B. meanwhile a paced client (50 PUT/s) on another container: its rate
#      must not drop and its writes must not be delayed by A's.
# Prints both summaries and one verdict line per check; exits 1 if one fails.
# Knobs: DURATION (30), RATE (the server's limit, 100), BENCH_PORT (8182),
#        SERVER_BIN (the swiftlet to measure, default build/swiftlet).
# Not part of `make bench`; run it on a quiet machine: bench/limits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh bench
bin=build/swiftlet
port=${BENCH_PORT:-8182}
duration=${DURATION:-30}
rate=${RATE:-100}
auth="http://127.0.0.1:$port/auth/v1.0"
out=$(mktemp -d /tmp/swiftlet-limits.XXXXXX)

"${SERVER_BIN:-$bin}" serve --data "$out/data" --listen "127.0.0.1:$port" --user test:tester:testing:admin \
    --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthcheck" >/dev/null && break
    sleep 0.05
done

common=(--auth "$auth" --user test:tester --key testing --mix put=100 --size 4096
        --duration "$duration" --quiet)
"$bin" bench "${common[@]}" --prefix hot --containers 1 --concurrency 64 \
    --json "$out/hot.json" >"$out/hot.txt" &
hot=$!
"$bin" bench "${common[@]}" --prefix calm --containers 1 --concurrency 4 --rate 50 \
    --json "$out/calm.json" >"$out/calm.txt"
wait $hot
echo "== A: 64 writers on one container"; cat "$out/hot.txt"
echo "== B: 50 PUT/s on another container"; cat "$out/calm.txt"

/usr/bin/python3 - "$out/hot.json" "$out/calm.json" "$rate" <<'EOF'
import json, sys
hot, calm = (json.load(open(p)) for p in sys.argv[1:3])
rate = float(sys.argv[3])
ok = True
# Whole seconds only: skip the first (the bucket's burst allowance) and
# the last (it also counts the answers drained after the end).
acc = [e["status"]["2xx"] for e in hot["series"]][1:-1]
lo, hi = min(acc), max(acc)
good = all(abs(a - rate) <= 0.05 * rate for a in acc)
ok &= good
print("A: accepted PUT/s per second min %d max %d mean %.1f (limit %g, +-5%%): %s"
      % (lo, hi, sum(acc) / len(acc), rate, "ok" if good else "FAIL"))
c = calm["summary"]
calm_rate = c["status"]["2xx"] / c["elapsed_s"]
p99 = calm["ops"]["put"]["latency_ms"]["p99"]
good = calm_rate >= 50 * 0.95 and c["status"]["2xx"] == c["requests"]
ok &= good
print("B: other container %.1f PUT/s, p99 %.1f ms, all 2xx: %s"
      % (calm_rate, p99, "ok" if good else "FAIL"))
sys.exit(0 if ok else 1)
EOF
