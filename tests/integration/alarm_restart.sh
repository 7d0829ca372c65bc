# Open alarms survive a restart (they are rebuilt from the journal): an
# unacknowledged tailgating alarm is still there after kill -9, an
# acknowledged one is not, and a condition that has gone comes back
# cleared rather than active.
. tests/integration/lib/gw.sh
gw_start

ctl sim tap front A-1 >/dev/null 2>&1
ctl sim sensor front passage >/dev/null
ctl sim sensor front passage >/dev/null
ctl sim sensor vault-door door-open >/dev/null
ctl sim sensor vault-door door-closed >/dev/null
ctl sim sensor lab-door offline >/dev/null
out=$(ctl status 2>/dev/null)
expect_match "$out" "front/tailgating ACTIVE" "tailgating raised"
expect_match "$out" "vault-door/door-forced ACTIVE" "forced raised"
expect_match "$out" "lab-door/reader-offline ACTIVE" "offline raised"
ctl ack vault-door/door-forced >/dev/null || fail "ack forced"

gw_kill9
gw_start
out=$(ctl status 2>/dev/null)
expect_match "$out" "front/tailgating ACTIVE" "tailgating still open after restart"
expect_no_match "$out" "vault-door/door-forced" "acknowledged alarm stays closed"
expect_match "$out" "lab-door/reader-offline cleared" "condition comes back cleared"
out=$(ctl ack front/tailgating) || fail "ack after restart: $out"
expect_match "$out" "acknowledged #[0-9]+ front/tailgating" "ack after restart"
expect_no_match "$(ctl status 2>/dev/null)" "front/tailgating" "gone once acknowledged"

gw_stop
gw_start
expect_no_match "$(ctl status 2>/dev/null)" "front/tailgating" "the ack survives a restart too"
gw_stop
echo "alarm_restart: ok"
