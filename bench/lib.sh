# bench/lib.sh: helpers the benchmarks share (slo.sh, slo_huge.sh,
# io_modes.sh, cpu_per_request.sh); sourced, not run. The RSS helpers expect
# $pid to hold the swiftlet under test.

now() { date +%s.%N; }

# MB/s of $1 bytes moved between times $2 and $3 (from now).
rate() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / 1e6 / (t1 - t0) }'; }

# v1 auth against URL $1 as user $2 with key $3: prints "<storage url> <token>".
v1_auth() {
    curl -fsi -H "X-Auth-User: $2" -H "X-Auth-Key: $3" "$1" | tr -d '\r' |
        awk 'tolower($1) == "x-storage-url:" { u = $2 } tolower($1) == "x-auth-token:" { t = $2 }
             END { print u, t }'
}

# RSS of $pid in KiB, sampled every 0.1 s into file $1 until it exits
# (run it in the background and kill it).
sample_rss() {
    while kill -0 "$pid" 2>/dev/null; do
        awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >>"$1" 2>/dev/null || true
        sleep 0.1
    done
}

# The lowest and highest sample of a sample_rss file, in MiB.
rss_range() { sort -n "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%d-%d MiB", lo / 1024, hi / 1024 }'; }

# Wait (up to 10 s) until the server on port $1 answers /healthcheck.
wait_healthy() {
    for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/healthcheck" >/dev/null && break; sleep 0.05; done
}

# Start binary $1 on data dir $2 and port $3 (test:tester:testing, no
# rate limit) in the background, set pid, and wait for /healthcheck.
start_swiftlet() {
    mkdir -p "$2"
    "$1" serve --data "$2" --listen "127.0.0.1:$3" --user test:tester:testing:admin \
        --no-ratelimit --log-level warn &
    pid=$!
    wait_healthy "$3"
}
