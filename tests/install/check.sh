#!/bin/sh
# Installs the build BUILD into a temporary prefix, then builds the
# tutorial's example (examples/producer_consumer.c) against it twice, as
# a user would: through the CMake package (find_package(libaq)) and
# through pkg-config, and checks that both print what the build tree's
# example prints, with the compiler CC and the flags CFLAGS and LDFLAGS
# (a sanitizer build's user must use its sanitizer too).
# Usage: tests/install/check.sh BUILD SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
"$build/examples/producer_consumer" >"$tmp/want"

# find_package(libaq): libaq::aq, the static library.
cmake -S "$src/tests/install" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DAQ_EXAMPLE_DIR="$src/examples" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/producer_consumer" >"$tmp/got-cmake"
cmp "$tmp/want" "$tmp/got-cmake"

# pkg-config, its .pc relocated to where it was installed; the shared
# library, found through an rpath as the README shows.
pc=$(dirname "$(find "$prefix" -name libaq.pc | head -n 1)")
flags=$(PKG_CONFIG_PATH=$pc pkg-config --define-prefix --cflags --libs libaq)
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --define-prefix \
    --variable=libdir libaq)
${CC:-cc} -std=c11 ${CFLAGS:-} -I"$src/examples" \
    "$src/examples/producer_consumer.c" $flags ${LDFLAGS:-} \
    -Wl,-rpath,"$libdir" -o "$tmp/pc"
"$tmp/pc" >"$tmp/got-pc"
cmp "$tmp/want" "$tmp/got-pc"
echo "installed libaq: the CMake package and pkg-config both build the example"
