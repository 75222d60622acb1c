#!/usr/bin/env bash
# bench/slo.sh: a large object uploaded as an SLO and downloaded as one
# stream (issue 6), each compared in the same run with a reference:
#   upload    SIZE_MIB (1024) of random data as SEG_MIB (100) segments, PUT
#             CONC (4) at a time, then the manifest PUT; the same upload to
#             OpenStack Swift (../shared/swift-aio on SWIFT_PORT 8090, started
#             if it does not answer). Target: swiftlet >= 3x Swift.
#   download  one GET of the SLO from swiftlet, against nginx's plain-file
#             GET of the same bytes (../shared/bench/nginx-ref.sh on
#             NGINX_PORT 8093). Target: swiftlet >= 80% of nginx.
#   memory    swiftlet's RSS sampled every 0.1 s during both: it must stay
#             flat (max - min well under one segment).
# Both downloads are checked byte-identical (MD5) after they are timed.
# Knobs: SIZE_MIB, SEG_MIB, CONC, BENCH_PORT (8183), SWIFT_PORT, NGINX_PORT,
#        SERVER_BIN (default build/swiftlet), DATA_DIR (default /tmp; swiftlet's
#        data and the test file go there: put it on the disk you measure).
# Not part of `make bench`; run it on a quiet machine: bench/slo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd ../shared 2>/dev/null && pwd || echo /work/shared)
bin=${SERVER_BIN:-build/swiftlet}
port=${BENCH_PORT:-8183}
swift_port=${SWIFT_PORT:-8090}
nginx_port=${NGINX_PORT:-8093}
size_mib=${SIZE_MIB:-1024}
seg_mib=${SEG_MIB:-100}
conc=${CONC:-4}
work=$(mktemp -d "${DATA_DIR:-/tmp}/swiftlet-slo.XXXXXX")
# nginx runs as nobody: its tree cannot live inside the private work dir
nginx_prefix=/tmp/swiftlet-slo-nginx.$$
pid=

cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    NGINX_PORT=$nginx_port NGINX_PREFIX=$nginx_prefix "$shared/bench/nginx-ref.sh" stop \
        >/dev/null 2>&1 || true
    rm -rf "$work" "$nginx_prefix"
}
trap cleanup EXIT

. bench/lib.sh

# ---- data: one file, split into segment files ----
head -c $((size_mib << 20)) /dev/urandom >"$work/big"
(cd "$work" && split -b "${seg_mib}M" -d -a 3 big seg.)
want_md5=$(md5sum <"$work/big" | cut -d' ' -f1)
bytes=$((size_mib << 20))

# Upload the segments (CONC at a time) and the manifest to <url>/<container>;
# prints the seconds it took.
upload_slo() {
    local url=$1 tok=$2 cont=$3 t0 t1
    curl -fs -o /dev/null -X PUT -H "X-Auth-Token: $tok" "$url/$cont"
    t0=$(now)
    (cd "$work" && ls seg.* | xargs -P "$conc" -I{} curl -fs -o /dev/null -X PUT \
        -H "X-Auth-Token: $tok" -T {} "$url/$cont/big/{}")
    (cd "$work" && for s in seg.*; do
        printf '{"path": "/%s/big/%s", "size_bytes": %d}\n' "$cont" "$s" "$(stat -c %s "$s")"
    done) | python3 -c 'import json, sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' \
        >"$work/manifest.json"
    curl -fs -o /dev/null -X PUT -H "X-Auth-Token: $tok" --data-binary @"$work/manifest.json" \
        "$url/$cont/big?multipart-manifest=put"
    t1=$(now)
    echo "$t0 $t1"
}

# ---- swiftlet ----
start_swiftlet "$bin" "$work/data" "$port"
read -r s_url s_tok < <(v1_auth "http://127.0.0.1:$port/auth/v1.0" test:tester testing)

# ---- OpenStack Swift ----
if ! curl -fs "http://127.0.0.1:$swift_port/info" >/dev/null; then
    SWIFT_AIO_PROXY_PORT=$swift_port "$shared/swift-aio/start.sh" >/dev/null
fi
read -r w_url w_tok < <(v1_auth "http://127.0.0.1:$swift_port/auth/v1.0" test:tester testing)
wcont="slobench-$$-$RANDOM"

# ---- upload ----
: >"$work/rss.up"
sample_rss "$work/rss.up" & sampler=$!
read -r a0 a1 < <(upload_slo "$s_url" "$s_tok" slobench)
kill $sampler; wait $sampler 2>/dev/null || true
read -r b0 b1 < <(upload_slo "$w_url" "$w_tok" "$wcont")
up_s=$(rate $bytes "$a0" "$a1"); up_w=$(rate $bytes "$b0" "$b1")

# ---- download ----
sync; sleep 1
: >"$work/rss.down"
sample_rss "$work/rss.down" & sampler=$!
c0=$(now)
curl -fs -o /dev/null -H "X-Auth-Token: $s_tok" "$s_url/slobench/big"
c1=$(now)
kill $sampler; wait $sampler 2>/dev/null || true
got_s=$(curl -fs -H "X-Auth-Token: $s_tok" "$s_url/slobench/big" | md5sum | cut -d' ' -f1)

NGINX_PORT=$nginx_port NGINX_PREFIX=$nginx_prefix "$shared/bench/nginx-ref.sh" start >/dev/null
curl -fs -o /dev/null -X PUT -T "$work/big" "http://127.0.0.1:$nginx_port/v1/AUTH_ref/big"
curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/v1/AUTH_ref/big"   # warm, as swiftlet's is
d0=$(now)
curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/v1/AUTH_ref/big"
d1=$(now)
got_n=$(curl -fs "http://127.0.0.1:$nginx_port/v1/AUTH_ref/big" | md5sum | cut -d' ' -f1)
down_s=$(rate $bytes "$c0" "$c1"); down_n=$(rate $bytes "$d0" "$d1")

# clean Swift's copy (segments and manifest)
curl -fs -o /dev/null -X DELETE -H "X-Auth-Token: $w_tok" "$w_url/$wcont/big?multipart-manifest=delete" || true
curl -fs -o /dev/null -X DELETE -H "X-Auth-Token: $w_tok" "$w_url/$wcont" || true

echo "SLO of ${size_mib} MiB in ${seg_mib} MiB segments ($conc segment PUTs at a time)"
printf '%-10s %-22s %-22s %-8s %s\n' phase swiftlet reference ratio target
printf '%-10s %-22s %-22s %-8s %s\n' upload "$up_s MB/s" "Swift $up_w MB/s" \
    "$(awk -v a="$up_s" -v b="$up_w" 'BEGIN { printf "%.2fx", a / b }')" ">= 3x"
printf '%-10s %-22s %-22s %-8s %s\n' download "$down_s MB/s" "nginx $down_n MB/s" \
    "$(awk -v a="$down_s" -v b="$down_n" 'BEGIN { printf "%.0f%%", 100 * a / b }')" ">= 80%"
echo "swiftlet RSS during upload: $(rss_range "$work/rss.up"), during download: $(rss_range "$work/rss.down")"
echo "bytes identical: swiftlet $([[ $got_s == "$want_md5" ]] && echo yes || echo NO)," \
    "nginx $([[ $got_n == "$want_md5" ]] && echo yes || echo NO)"
[[ $got_s == "$want_md5" ]]
