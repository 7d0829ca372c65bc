#!/bin/sh
# Install the Debian 12 packages the build, tests and demo need.
# As root: apt-get installs what is missing. Otherwise: print the exact
# command and stop, because a build that half-works is worse than none.
set -eu
PKGS="gcc make clang libclang-rt-14-dev pkg-config libevent-dev libmbedtls-dev libnfc-dev libnfc-bin libcmocka-dev tzdata rsyslog rsyslog-relp openssl iproute2 libgpiod-dev libseccomp-dev"
# the console's browser test: Debian's Chromium and Node.js (playwright-core
# comes from npm, pinned in tests/console/package-lock.json)
PKGS="$PKGS chromium nodejs"
# the console's sign-in throttling test speaks HTTPS with curl; the benches'
# tappers use perl's Time::HiRes (in perl, not perl-base)
PKGS="$PKGS curl perl"
# the install test: systemd-analyze, systemd-sysusers and systemd-tmpfiles
# (the package installs in a container without systemd running as PID 1),
# procps for the unit's /bin/kill; the man page test renders with man -l
PKGS="$PKGS systemd procps man-db groff-base"
# npm ships inside nodesource's nodejs; Debian's own nodejs needs the package
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
[ "${1:-}" = "--list" ] && { echo $PKGS; exit 0; }
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *"ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
