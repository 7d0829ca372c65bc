# Journal failure: when fsync fails, no lock opens on a decision that is
# not durable; fail-secure gates stay locked, fail-safe gates unlock, an
# alarm is raised; when the disk comes back the gates return to normal and
# the journal says what happened. Uses the release daemon with an
# LD_PRELOAD shim (the sanitizer runtime must come first in the sanitized one).
. tests/integration/lib/gw.sh
GWD=$PWD/build/bin/gatewayd
cc -shared -fPIC -O1 -o "$T/failsync.so" tests/integration/lib/failsync.c || fail "cannot build the shim"
export GW_FAILSYNC="$T/disk-broken"
GW_PRELOAD="$T/failsync.so" gw_start

expect_match "$(ctl sim tap lab-door A-1 2>&1)" "grant permit seq=[0-9]+ unlocked" "normal grant"
ctl sim sensor lab-door passage >/dev/null
unlocks=$(ctl status 2>/dev/null | sed -n 's/.*lab-door .*(\([0-9]*\) commands, \([0-9]*\) unlocks).*/\2/p')
[ "$unlocks" = 1 ] || fail "one unlock expected, got '$unlocks'"

touch "$GW_FAILSYNC"
out=$(ctl sim tap lab-door A-2 2>&1) && fail "tap succeeded on a dead disk: $out"
expect_match "$out" "journal failed \(Input/output error\): decision not recorded, gate lab-door stays in its fail mode" "tap refused"
out=$(ctl status 2>/dev/null)
expect_match "$out" "JOURNAL FAILED" "status says so"
expect_match "$out" "lab-door +fail-locked" "fail-secure gate locked"
expect_match "$out" "front +held-unlocked" "fail-safe gate unlocked"
expect_match "$out" "lab-door .*\(([0-9]+) commands, 1 unlocks\)" "the lock never opened for A-2"
expect_match "$out" "gateway/journal-failure ACTIVE" "alarm"
out=$(ctl open lab-door --reason "try" 2>&1) && fail "manual open on a dead disk"

rm -f "$GW_FAILSYNC"
i=0
until ctl status 2>/dev/null | grep -Eq "lab-door +locked"; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "gates did not recover: $(ctl status 2>&1)"; sleep 0.1
done
expect_no_match "$(ctl status 2>/dev/null)" "JOURNAL FAILED" "recovered"
expect_match "$(ctl sim tap lab-door A-3 2>&1)" "grant permit seq=[0-9]+ unlocked" "grant after recovery"
j=$(ctl audit export --format jsonl 2>/dev/null)
expect_match "$j" '"type":"alarm-clear".*journal-failure: journal failed at .* \(Input/output error\); 1 decision\(s\) meanwhile were written late and NOT acted upon' "the journal tells the story"
ctl audit verify >/dev/null || fail "chain after the outage"
gw_stop
echo "journal_fail: ok"
