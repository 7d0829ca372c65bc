#!/bin/sh
# Runs unit test binaries (arguments) and then every tests/integration/*.sh.
# Each is one test case here; it prints its own detail. Ends with the plain
# "N passed, N failed" line and a non-zero exit if anything failed.
unit_only=0
[ "${1:-}" = "--unit-only" ] && { unit_only=1; shift; }
passed=0; failed=0; failures=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run() {
	name=$1; shift
	echo "=== $name"
	if "$@"; then passed=$((passed+1)); else failed=$((failed+1)); failures="$failures $name"; echo "--- FAILED: $name"; fi
}
for t in "$@"; do run "$(basename "$t")" "$t"; done
if [ $unit_only = 0 ]; then
	for s in tests/integration/*.sh; do
		[ -f "$s" ] || continue
		run "$(basename "$s" .sh)" sh "$s"
	done
fi
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
