#!/bin/sh
# The README's first example prints what `make demo` prints: its C block
# (under "## Example") is built against the build BUILD and its output
# compared with examples/producer_consumer's, the demo, line for line.
#   tests/examples/readme_demo.sh BUILD   (exits 1 on a difference)
set -eu
build=${1:?usage: tests/examples/readme_demo.sh BUILD}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^## Example/ { sect = 1 }
     sect && /^```c$/ { inblk = 1; next }
     inblk && /^```$/ { exit }
     inblk { print }' "$top/README.md" >"$tmp/readme.c"
[ -s "$tmp/readme.c" ] || { echo "FAIL: no C block under ## Example"; exit 1; }
${CC:-cc} -std=c11 ${CFLAGS:-} -I"$top/include" "$tmp/readme.c" \
    "$build/libaq.a" -pthread ${LDFLAGS:-} -o "$tmp/readme"
"$tmp/readme" >"$tmp/readme.out"
"$build/examples/producer_consumer" >"$tmp/demo.out"
if ! diff -u "$tmp/demo.out" "$tmp/readme.out"; then
    echo "FAIL: README.md's first example prints otherwise than make demo"
    exit 1
fi
echo "ok   README.md's first example prints what make demo prints"
