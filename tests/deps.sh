#!/bin/sh
# Installs, with Debian's apt-get, the packages some tests need beyond gcc,
# make and cmake, when they are missing: libuv (test_embed_uv drives libaq
# from a libuv loop) and pkg-config to find it; redis-tools and
# redis-server (test_resp_server drives examples/resp_queue_server with
# the real redis-cli; bench/resp_vs_redis.sh runs redis-server and
# redis-benchmark); hiredis (libaq-redis, and its tests against
# redis-server); gdb (the gdb extension's test); valgrind (the valgrind
# runs, and its header lets libaq register task stacks with it); g++
# (test_headers_cxx20 compiles the public headers as C++20).
# Idempotent and quiet when everything is there. Run by `make test` and .ci/run; as root it installs,
# otherwise it prints the command to run and exits 1.
set -eu

need=""
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
if ! command -v pkg-config >/dev/null 2>&1 ||
   ! pkg-config --exists libuv; then
    need="$need libuv1-dev"
fi
if ! command -v pkg-config >/dev/null 2>&1 ||
   ! pkg-config --exists hiredis; then
    need="$need libhiredis-dev"
fi
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
command -v gdb >/dev/null 2>&1 || need="$need gdb"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v g++ >/dev/null 2>&1 || need="$need g++"
[ -z "$need" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "tests need:$need  (run: sudo apt-get install$need)" >&2
    exit 1
fi
echo "installing:$need"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
