#!/bin/sh
# Installs what the compiled peers of `make bench` need, from Debian's
# archive (apt-install.sh), so that a fresh machine gets them from this
# script and not by hand (`make bench` runs it first):
#   Go        golang-go, and golang-golang-x-sync-dev for the sem and
#             group1000 peers (go/run.sh uses it when present)
#   Rust      the crate sources of tokio and async-channel, which cargo
#             reads offline from /usr/share/cargo/registry
#             (rust/.cargo/config.toml), and Debian's cargo when no cargo
#             is on the PATH (a rustup toolchain, if any, is used as is)
# Does nothing when all is there. Exits non-zero if apt-get fails; `make
# bench` then goes on, and run.py shows n/a for a peer it cannot build.
set -eu

pkgs="golang-go golang-golang-x-sync-dev librust-tokio-dev librust-async-channel-dev"
command -v cargo >/dev/null 2>&1 || pkgs="$pkgs cargo"
# shellcheck disable=SC2086
exec sh "$(dirname "$0")/apt-install.sh" $pkgs
