#!/bin/sh
# The README's echo server is examples/echo_server.c from its first
# #include on, byte for byte: the build compiles that file and
# test_echo_example runs it, so the README's copy must not drift.
#   tests/examples/readme_echo.sh   (from anywhere; exits 1 on a drift)
top=$(cd "$(dirname "$0")/../.." && pwd)
readme=$(mktemp) && example=$(mktemp) || exit 2
trap 'rm -f "$readme" "$example"' EXIT INT TERM
# The fenced C block of the README that calls aq_serve_tcp.
awk '/^```c$/ { inblk = 1; buf = ""; next }
     /^```$/  { if (inblk && buf ~ /aq_serve_tcp\(/) printf "%s", buf; inblk = 0; next }
     inblk    { buf = buf $0 "\n" }' "$top/README.md" >"$readme"
sed -n '/^#include <aq.h>/,$p' "$top/examples/echo_server.c" >"$example"
if [ ! -s "$readme" ]; then
    echo "FAIL: README.md has no C block calling aq_serve_tcp"
    exit 1
fi
if ! diff -u "$example" "$readme"; then
    echo "FAIL: README.md's echo server differs from examples/echo_server.c"
    exit 1
fi
echo "ok   README.md's echo server is examples/echo_server.c"
