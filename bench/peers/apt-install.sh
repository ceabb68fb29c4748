#!/bin/sh
# apt-install.sh PKG...: installs those of the named Debian packages that
# are not installed yet, with apt-get (through sudo unless root), running
# apt-get update first only if the install fails without it. Does nothing
# when all are there. What the peers' scripts (deps.sh, make bench-echo,
# threads/run.sh) install with; apt-get's output goes to stderr.
set -eu

missing=
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
        grep -q 'install ok installed' || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "apt-install.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $missing >&2 || {
    $sudo apt-get update >&2
    $sudo apt-get install -y --no-install-recommends $missing >&2
}
