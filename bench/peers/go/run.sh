#!/bin/sh
# Build the Go peer benchmark: run.sh [BUILD_DIR]  ->  BUILD_DIR/gopeer
# (BUILD_DIR defaults to /tmp). Exits 3 if no Go toolchain is installed, so
# callers can skip the Go comparison instead of failing.
#
# Everything Go writes goes under BUILD_DIR (no HOME needed, fine as root in
# CI), and it never reaches the network: GOPROXY=off, and GOTOOLCHAIN=local
# stops newer Go versions from fetching a toolchain. The module's one
# optional dependency, golang.org/x/sync (the sem and group1000 peers), is
# used only if Debian's golang-golang-x-sync-dev has put it under
# /usr/share/gocode (XSYNC_DIR overrides): a go.mod written to BUILD_DIR
# replaces the module with that directory and the build gets -tags xsync.
# Otherwise sync_fallback.go stands in (gopeer says which on stderr).
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
xsync=${XSYNC_DIR:-/usr/share/gocode/src/golang.org/x/sync}
if [ -f "$xsync/go.mod" ] && [ -f "$xsync/errgroup/errgroup.go" ] &&
   [ -f "$xsync/semaphore/semaphore.go" ]; then
    cat > "$build_dir/go.mod" <<EOF
module aqpeer

go 1.19

require golang.org/x/sync v0.0.0
replace golang.org/x/sync => $xsync
EOF
    : > "$build_dir/go.sum"   # a directory replacement needs no checksum
    exec go build -modfile="$build_dir/go.mod" -tags xsync \
        -o "$build_dir/gopeer" .
fi
exec go build -o "$build_dir/gopeer" .
