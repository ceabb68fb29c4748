#!/bin/sh
# Builds libaq for AArch64 with Debian's cross compiler and runs the whole
# test suite under qemu-user, so the AArch64 context switch is tested on
# this x86-64 machine. Installs the cross compiler and qemu if they are
# missing (as root, from Debian's archive).
# Usage: tests/aarch64.sh [BUILD_DIR]   (default build-aarch64)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-aarch64}

need=
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
    need="$need gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
command -v qemu-aarch64 >/dev/null 2>&1 || need="$need qemu-user"
if [ -n "$need" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tests/aarch64.sh: needs root to install:$need" >&2
        exit 1
    fi
    echo "installing:$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
fi

cmake -S . -B "$build" -DCMAKE_SYSTEM_NAME=Linux \
    -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
    -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc \
    "-DCMAKE_CROSSCOMPILING_EMULATOR=qemu-aarch64;-L;/usr/aarch64-linux-gnu"
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2
