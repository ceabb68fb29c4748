#!/bin/sh
# Installs the build BUILD into a temporary prefix, then builds the
# tutorial's example (examples/producer_consumer.c) against it three
# times, as a user would: through the CMake package (find_package(libaq)),
# with the source tree added to a CMake project (add_subdirectory), and
# through pkg-config, and checks that each prints what the build tree's
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

# add_subdirectory of the source tree: the same libaq::aq.
cmake -S "$src/tests/install" -B "$tmp/subdir" -DAQ_SOURCE_DIR="$src" \
    -DAQ_EXAMPLE_DIR="$src/examples" >/dev/null
cmake --build "$tmp/subdir" -j2 >/dev/null
"$tmp/subdir/producer_consumer" >"$tmp/got-subdir"
cmp "$tmp/want" "$tmp/got-subdir"

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
echo "libaq: the CMake package, add_subdirectory and pkg-config build the example"

# Each installed header compiles on its own, in C11 (aq.h includes them
# all; a user may include one part); thread.h once lacked queue.h's types.
for h in "$prefix"/include/aq.h "$prefix"/include/aq/*.h; do
    printf '#include "%s"\nint aq_check_header;\n' "$h" >"$tmp/h.c"
    ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror -c "$tmp/h.c" \
        -o "$tmp/h.o" || { echo "FAIL: $h does not compile alone"; exit 1; }
done
# The libraries define no global symbol outside libaq's names: aq_ (the
# API) and, in the static archives, aq__ (internal, hidden in the shared
# ones), so that a user's own names cannot clash with them. (ASan adds
# its own __odr_asan.* markers to an instrumented archive.)
for lib in "$prefix"/lib*/libaq*.so "$prefix"/lib*/libaq*.a; do
    case $lib in
    *.so) other=$(nm -D --defined-only "$lib" | awk 'NF == 3 {print $3}' |
        grep -v '^aq_' | grep -v '^aq__' || true)
        inner=$(nm -D --defined-only "$lib" | awk '{print $3}' |
            grep '^aq__' || true) ;;
    *) other=$(nm -g --defined-only "$lib" | awk 'NF == 3 {print $3}' |
        grep -v '^aq_' | grep -v '^__odr_asan\.' || true)
        inner= ;;
    esac
    if [ -n "$other$inner" ]; then
        echo "FAIL: $lib defines global symbols outside aq_:" $other $inner
        exit 1
    fi
done
echo "installed headers compile alone; libraries define aq_ symbols only"
