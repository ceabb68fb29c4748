#!/bin/sh
# make docs: the reference manual into OUT (HTML in OUT/html, man pages in
# OUT/man/man3), from the public headers; exits 1, naming them, if a
# public function has no documentation. Installs Debian's doxygen with
# apt-get when missing (as root). Usage: docs/manual/build.sh OUT
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
missing=$(grep -E "warning: Member [a-z_0-9]+ *\(.*\) \(function\) .*is not documented" \
    "$warnings" | sed -E 's/.*Member ([a-z_0-9]+).*/\1/' | sort -u || true)
if [ -n "$missing" ]; then
    echo "make docs: public functions without documentation:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "manual: $out/html/index.html, man pages in $out/man/man3"
