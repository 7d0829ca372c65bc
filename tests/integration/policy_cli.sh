# gatectl policy as an administrator uses it: check, test, eval, diff,
# print, pin-hash on the shipped examples, and the exit codes and words on
# bad input (unreadable file, binary junk, a 10 MB line, deep nesting, a
# broken credentials CSV, a failing embedded test).
set -u
GCTL=${GCTL:-$PWD/build/san/bin/gatectl}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
T=$(mktemp -d /tmp/gwpol.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# run CMD...: sets rc, out (stdout), err (stderr)
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	if grep -q Sanitizer "$T/err"; then cat "$T/err"; fail "sanitizer report: $*"; fi
}
expect_rc() { [ "$rc" = "$1" ] || { echo "$out"; echo "$err"; fail "$2: exit $rc, wanted $1"; }; }
expect_in() { printf '%s' "$1" | grep -Eq -- "$2" || { echo "$1"; fail "$3: no /$2/"; }; }

for v in hospital stadium school; do
	run "$GCTL" policy check examples/$v/$v.pol
	expect_rc 0 "check $v"
	expect_in "$out" "^examples/$v/$v.pol: ok: [0-9]+ zones, [0-9]+ gates, [0-9]+ rules, [0-9]+ credentials.*sha256 [0-9a-f]{64}$" "summary $v"
	run "$GCTL" policy test examples/$v/$v.pol
	expect_rc 0 "test $v"
	expect_in "$out" "tests, ([0-9]+) passed, 0 failed" "tests $v"
done

# eval: one decision, first word grant/deny, reason code, rule location
run "$GCTL" policy eval examples/hospital/hospital.pol --gate icu-east --badge N-1001 --at 2026-03-02T03:10
expect_rc 0 "eval grant"
expect_in "$out" "^grant permit examples/hospital/hospital.pol:[0-9]+: " "eval grant line"
run "$GCTL" policy eval examples/hospital/hospital.pol --gate main-entrance --badge N-1099 --at 2026-03-02T10:00
expect_rc 0 "eval expired"
expect_in "$out" "^deny expired .*badge expired 2025-12-31" "eval expired words"
run "$GCTL" policy eval examples/hospital/hospital.pol --gate main-entrance --badge N-1001 --at 2026-03-02T10:00 --mode lockdown
expect_in "$out" "^deny mode-locked " "eval mode"
run "$GCTL" policy eval examples/hospital/hospital.pol --gate nowhere --badge N-1001 --at 2026-03-02T10:00
expect_rc 2 "eval unknown gate"
expect_in "$err" "unknown gate 'nowhere'" "eval unknown gate words"
run "$GCTL" policy eval examples/hospital/hospital.pol --gate icu-east --badge N-1001 --at yesterday
expect_rc 2 "eval bad time"
run "$GCTL" policy eval examples/hospital/hospital.pol --gate icu-east
expect_rc 2 "eval usage"

# diff: who gains and loses
cp examples/hospital/staff.csv "$T/"
sed 's/^permit group nurses    into icu during always-on;/permit group nurses    into icu during day;/' \
    examples/hospital/hospital.pol >"$T/new.pol"
run "$GCTL" policy diff examples/hospital/hospital.pol "$T/new.pol"
expect_rc 0 "diff"
expect_in "$out" "^- nurses \(3 credentials: N-1001, N-1002, N-1099\) lose icu" "diff loses"
run "$GCTL" policy diff examples/hospital/hospital.pol examples/hospital/hospital.pol
expect_in "$out" "^no change" "diff same"

# print round-trips
run "$GCTL" policy print examples/school/school.pol
expect_rc 0 "print"
printf '%s\n' "$out" >"$T/p1.pol"
cp examples/school/people.csv "$T/"
run "$GCTL" policy print "$T/p1.pol"
printf '%s\n' "$out" >"$T/p2.pol"
cmp -s "$T/p1.pol" "$T/p2.pol" || fail "print is not a fixed point"

# pin-hash makes a hash the loader accepts and the evaluator checks
run "$GCTL" policy pin-hash 4321
expect_rc 0 "pin-hash"
expect_in "$out" "^sha256:[0-9a-f]{16}:[0-9a-f]{64}$" "pin-hash format"
run "$GCTL" policy pin-hash 12ab
expect_rc 2 "pin-hash rejects letters"

# bad input: clear words, non-zero exit, no crash
run "$GCTL" policy check "$T/does-not-exist.pol"
expect_rc 1 "missing file"
expect_in "$err" "cannot read the policy: .*No such file or directory" "missing file words"
run "$GCTL" policy check /dev/zero
expect_rc 1 "device"
expect_in "$err" "not a regular file" "device words"
head -c 200000 /dev/urandom >"$T/junk.pol"
run "$GCTL" policy check "$T/junk.pol"
expect_rc 1 "binary junk"
expect_in "$err" "error\[E003\]" "junk words"
head -c 10000000 /dev/zero | tr '\0' 'a' >"$T/line.pol"
run "$GCTL" policy check "$T/line.pol"
expect_rc 1 "10 MB line"
expect_in "$err" "error\[E001\]" "long line words"
[ "$(wc -c <"$T/err")" -lt 20000 ] || fail "a 10 MB line must not be echoed whole"
head -c 2000000 /dev/zero | tr '\0' '{' >"$T/deep.pol"
run "$GCTL" policy check "$T/deep.pol"
expect_rc 1 "deep nesting"
run "$GCTL" policy check tests/policy/bad/creds.pol
expect_rc 1 "broken CSV"
expect_in "$err" "broken.csv:2:9: error\[E053\]: unknown group 'nurse'; did you mean 'nurses'\?" "csv words"
expect_in "$err" "2 fields; the header has 7" "csv short row"
sed 's/expect grant permit;/expect deny no-permit;/' examples/hospital/hospital.pol >"$T/failing.pol"
run "$GCTL" policy test "$T/failing.pol"
expect_rc 1 "failing embedded test"
expect_in "$out" "FAIL .*failing.pol:[0-9]+: test \"nurse enters the ICU at night\"" "names the test"
expect_in "$out" "expected deny no-permit" "what it expected"
expect_in "$out" "got +grant permit .*decided by .*failing.pol:[0-9]+" "what it got and the rule"
run "$GCTL" policy
expect_rc 2 "usage"
echo "policy_cli: ok"
