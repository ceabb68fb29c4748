#!/bin/sh
# Build the Go peer benchmark: run.sh [BUILD_DIR]  ->  BUILD_DIR/gopeer
# (BUILD_DIR defaults to /tmp). Exits 3 if no Go toolchain is installed, so
# callers can skip the Go comparison instead of failing.
#
# Everything Go writes goes under BUILD_DIR (no HOME needed, fine as root in
# CI), and it never reaches the network: the module has no dependencies,
# and GOTOOLCHAIN=local stops newer Go versions from fetching a toolchain.
set -eu

if ! command -v go >/dev/null 2>&1; then
    echo "go not installed, skipping" >&2
    exit 3
fi

mkdir -p "${1:-/tmp}"
build_dir=$(cd "${1:-/tmp}" && pwd)   # absolute: we cd below
cd "$(dirname "$0")"

export GOCACHE="$build_dir/gocache" GOPATH="$build_dir/gopath"
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
exec go build -o "$build_dir/gopeer" .
