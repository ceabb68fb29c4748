#!/bin/sh
# Builds the Rust peers: run.sh BUILD_DIR  ->  BUILD_DIR/rustpeer (release).
# Exits 3, so that run.py shows n/a instead of failing, when there is no
# cargo or Debian's crate sources are missing (../deps.sh installs both).
#
# Offline against /usr/share/cargo/registry (.cargo/config.toml). cargo
# reads that config from its working directory and writes Cargo.lock
# beside Cargo.toml, so the sources are copied into BUILD_DIR and built
# there, and CARGO_HOME is there too: nothing is written to the tree or
# to $HOME.
set -eu

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not installed" >&2
    exit 3
fi
for crate in tokio async-channel; do
    if ! ls -d /usr/share/cargo/registry/"$crate"-1.* >/dev/null 2>&1; then
        echo "Debian's $crate crate is not installed (bench/peers/deps.sh)" >&2
        exit 3
    fi
done

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
rm -rf "$out/src-copy"
mkdir -p "$out/src-copy"
cp -R "$here/Cargo.toml" "$here/src" "$here/.cargo" "$out/src-copy/"
cd "$out/src-copy"
CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/target" \
    cargo build --release --offline -q
cp "$out/target/release/rustpeer" "$out/rustpeer"
