#!/usr/bin/env bash
# install-deps.sh: install the Debian packages swiftlet needs to build, test
# and benchmark. Used by `make deps`, `make run`, `make test` and CI; it only
# calls apt-get when something is missing, so it is cheap to run every time.
set -euo pipefail

build_pkgs=(gcc make pkg-config libmicrohttpd-dev libsqlite3-dev libssl-dev liburing-dev
            libjansson-dev libinih-dev libarchive-dev libisal-dev libcurl4-openssl-dev)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-swiftclient python3-requests
           python3-keystoneclient python3-keystoneauth1
           clang libclang-rt-14-dev curl gnuplot-nox
           rclone restic duplicity)  # the backup clients of tests/http/test_clients.py
bench_pkgs=(wrk curl nginx-full python3 gcc gnuplot-nox)

want=("${build_pkgs[@]}")
case "${1:-build}" in
    build) ;;
    test) want+=("${test_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
