#!/bin/sh
# Makes sure `make fuzz` can build: clang with libFuzzer's runtime. On
# Debian that runtime is libclang-rt-<version>-dev, which a plain clang
# install lacks; install both when a test link fails.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe() {
    printf '%s\n' '#include <stddef.h>' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)' \
        '{ (void)d; (void)n; return 0; }' >"$tmp/p.c"
    clang -fsanitize=fuzzer,address,undefined "$tmp/p.c" -o "$tmp/p" \
        >/dev/null 2>&1
}
if command -v clang >/dev/null 2>&1 && probe; then
    exit 0
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
command -v clang >/dev/null 2>&1 || $sudo apt-get install -y clang
ver=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' |
    head -n 1)
$sudo apt-get install -y "libclang-rt-$ver-dev"
probe || { echo "setup.sh: clang -fsanitize=fuzzer still fails" >&2; exit 1; }
