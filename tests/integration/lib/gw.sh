# Shared helpers for the integration tests (sourced, not run): a temporary
# directory with a copy of the test site, the sanitized daemon started in
# it, gatectl against its socket, and cleanup on any exit.
set -u
GWD=${GWD:-$PWD/build/san/bin/gatewayd}
GCTL=${GCTL:-$PWD/build/san/bin/gatectl}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
T=$(mktemp -d /tmp/gwtest.XXXXXX)
chmod 755 "$T"			# unprivileged gatectl must reach the socket
cp "$PWD"/tests/integration/data/* "$T"/
CONF=$T/gateway.conf
SOCK=$T/gatewayd.sock
GW_PID=

gw_cleanup() {
	if [ -n "$GW_PID" ]; then kill -9 "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap gw_cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	if [ -f "$T/daemon.log" ]; then echo "--- daemon log (tail)"; tail -20 "$T/daemon.log"; fi
	exit 1
}

ctl() { "$GCTL" --socket "$SOCK" "$@"; }

# Start the daemon and wait until it answers.
gw_start() {
	env ${GW_PRELOAD:+LD_PRELOAD=$GW_PRELOAD} \
	    "$GWD" -d -c "$CONF" --journal "$T/journal" --socket "$SOCK" \
	    ${GW_ARGS:-} >>"$T/daemon.log" 2>&1 &
	GW_PID=$!
	i=0
	while ! ctl ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "gatewayd did not come up"
		kill -0 "$GW_PID" 2>/dev/null || fail "gatewayd exited at start"
		sleep 0.05
	done
}

# Stop it cleanly; a sanitizer report or a non-zero exit fails the test.
gw_stop() {
	kill -TERM "$GW_PID"
	wait "$GW_PID"
	rc=$?
	GW_PID=
	[ $rc = 0 ] || fail "gatewayd exited with $rc"
	if grep -q "Sanitizer" "$T/daemon.log"; then fail "sanitizer report"; fi
}

gw_kill9() {
	kill -9 "$GW_PID"
	wait "$GW_PID" 2>/dev/null
	GW_PID=
}

# expect_match TEXT REGEX WHAT
expect_match() {
	printf '%s\n' "$1" | grep -Eq -- "$2" || fail "$3: expected /$2/ in: $1"
}
expect_no_match() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then fail "$3: unexpected /$2/ in: $1"; fi
}
