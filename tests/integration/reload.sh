# Policy hot reload: a good policy is swapped in (with its diff) and taps
# in flight are decided by exactly one version; a broken policy, a policy
# whose own tests fail, or one that loses a configured gate is rejected and
# the running version stays in force. SIGHUP does the same.
. tests/integration/lib/gw.sh
gw_start
old=$(ctl status 2>/dev/null | sed -n 's/^policy \([0-9a-f]*\) .*/\1/p')
[ -n "$old" ] || fail "no policy hash in status"
expect_match "$(ctl sim tap front A-9 2>&1)" "deny unknown-badge" "A-9 unknown before"

# taps keep flowing while the policy is swapped
i=0; : > "$T/taps.txt"
while [ $i -lt 300 ]; do echo "tap front A-1" >> "$T/taps.txt"; i=$((i + 1)); done
ctl sim run "$T/taps.txt" > "$T/run.out" 2>&1 &
runner=$!

# a good change: a new badge
echo "A-9,Nina New,staff,2020-01-01,2099-12-31,secure,," >> "$T/creds.csv"
out=$(ctl reload 2>&1) || fail "good reload: $out"
expect_match "$out" "accepted policy [0-9a-f]{12} \(was $(echo $old | cut -c1-12)\)" "accepted"
wait $runner || fail "taps during reload: $(tail -3 $T/run.out)"
[ "$(grep -c 'grant permit seq=' "$T/run.out")" = 300 ] || fail "300 taps decided"
new=$(ctl status 2>/dev/null | sed -n 's/^policy \([0-9a-f]*\) .*/\1/p')
[ "$new" != "$old" ] || fail "hash did not change"
expect_match "$(ctl sim tap front A-9 2>&1)" "grant permit" "A-9 known after"

# every decision names one version: old before the reload record, new after
ctl audit export --format csv 2>/dev/null | awk -F, -v o="$old" -v n="$new" '
	$4 == "reload" { seen = 1; next }
	$4 == "decision" && substr($15, 1, 16) != (seen ? n : o) { bad++ }
	END { exit bad ? 1 : 0 }' || fail "a decision was made by the wrong version"

# broken syntax: rejected with the position, old version stays
cp "$T/site.pol" "$T/site.pol.good"
echo "zone broken { in nowhere" >> "$T/site.pol"
out=$(ctl reload 2>&1) && fail "broken policy accepted"
expect_match "$out" "reload rejected: [0-9]+ error\(s\); first: .*site.pol:[0-9]+:[0-9]+: error\[E[0-9]+\]" "syntax error reported"
expect_match "$out" "policy $(echo $new | cut -c1-12) stays in force" "old stays"
expect_match "$(ctl sim tap front A-9 2>&1)" "grant permit" "still deciding"

# a failing embedded test: rejected
cp "$T/site.pol.good" "$T/site.pol"
echo 'test "visitors in the vault" { tap V-1 at vault-door on 2026-03-02T10:00; expect grant; }' >> "$T/site.pol"
out=$(ctl reload 2>&1) && fail "failing test accepted"
expect_match "$out" "1 policy test\(s\) failed; first: .*visitors in the vault" "test failure reported"

# a policy that no longer has a configured gate: rejected
sed 's/^gate vault-door .*//; s/.*vault.*//' "$T/site.pol.good" > "$T/site.pol"
out=$(ctl reload 2>&1) && fail "policy without vault-door accepted"
expect_match "$out" "error\[C010\]: gate vault-door: the policy has no gate 'vault-door'" "gate mapping"

# SIGHUP with a good policy again (one more badge)
cp "$T/site.pol.good" "$T/site.pol"
echo "A-10,Otto Other,staff,2020-01-01,2099-12-31,secure,," >> "$T/creds.csv"
kill -HUP "$GW_PID"
i=0
until ctl sim tap front A-10 2>&1 | grep -q "grant permit"; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "SIGHUP reload did not happen"; sleep 0.1
done
n=$(ctl audit export --format jsonl 2>/dev/null | grep '"type":"reload"' | grep -c '"actor":"SIGHUP"')
[ "$n" = 1 ] || fail "SIGHUP reload not journaled"
# a SIGHUP with a broken file changes nothing and the daemon lives on
echo "garbage" >> "$T/site.pol"
kill -HUP "$GW_PID"; sleep 0.3
expect_match "$(ctl sim tap front A-10 2>&1)" "grant permit" "alive after bad SIGHUP"
grep -q "reload (SIGHUP) rejected" "$T/daemon.log" || fail "bad SIGHUP not logged"
gw_stop
echo "reload: ok"
