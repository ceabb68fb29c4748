#!/bin/sh
# make docs: the reference manual into OUT (HTML in OUT/html, man pages in
# OUT/man/man3), from the public headers; exits 1, naming them, if a
# public function, or any other item of the headers (a macro, typedef,
# enum, struct or struct field), has no documentation: every "is not
# documented" warning in OUT/warnings.txt fails the build. Installs
# Debian's doxygen with apt-get when missing (as root).
# Usage: docs/manual/build.sh OUT
set -eu
out=${1:?usage: docs/manual/build.sh OUT}
cd "$(dirname "$0")/../.."
if ! command -v doxygen >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "make docs needs doxygen (run: sudo apt-get install doxygen)" >&2
        exit 1
    fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq doxygen >/dev/null
fi
mkdir -p "$out"
warnings=$out/warnings.txt
(cat docs/manual/Doxyfile
 echo "OUTPUT_DIRECTORY = $out"
 echo "WARN_LOGFILE = $warnings") | doxygen - >/dev/null
# Undocumented functions, by name: every one of them is a public call.
fn_warning='warning: Member [a-z_0-9]+ *\(.*\) \(function\) '
fn_warning="$fn_warning.*is not documented"
missing=$(grep -E "$fn_warning" "$warnings" |
    sed -E 's/.*Member ([a-z_0-9]+).*/\1/' | sort -u || true)
status=0
if [ -n "$missing" ]; then
    echo "make docs: public functions without documentation:" >&2
    echo "$missing" >&2
    status=1
fi
# Every other undocumented item (macro, typedef, enum, struct, field), as
# "path:line: item (kind)", the path relative to the repository.
others=$(grep "is not documented" "$warnings" | grep -vE "$fn_warning" |
    sed -E -e 's/: warning: (Member|Compound) /: /' \
        -e 's/ of file [^ ]+ is not documented\.?$//' \
        -e 's/ is not documented\.?$//' |
    awk -v top="$(pwd)/" '
        index($0, top) == 1 { $0 = substr($0, length(top) + 1) }
        { print }' | sort -u || true)
if [ -n "$others" ]; then
    echo "make docs: macros, types and fields without documentation:" >&2
    echo "$others" >&2
    status=1
fi
[ "$status" = 0 ] || exit 1
# MAN_LINKS gives every documented name a page that points to its
# header's (or struct's) page: keep those of the aq_/AQ_ names, and drop
# the ones Doxygen makes for struct fields (got.3, queue.3, s.3, ...) and
# anonymous unions (@0.3), which would shadow the system's own pages
# (queue(3)) and are no name a user looks up.
find "$out/man/man3" -name '*.3' ! -name 'aq_*' ! -name 'AQ_*' \
    ! -name '*.h.3' -delete
# Every public function answers `man NAME`.
for name in $(grep -h '^AQ_EXTERN' include/aq.h include/aq/*.h |
              sed -E 's/\(.*//; s/.*[ *]//'); do
    if [ ! -f "$out/man/man3/$name.3" ]; then
        echo "make docs: no man page for $name" >&2
        status=1
    fi
done
[ "$status" = 0 ] || exit 1
echo "manual: $out/html/index.html, man pages in $out/man/man3"
