# Door supervision and site-wide switches: tailgating, forced, held open,
# tamper, reader offline, ack; manual open; lockdown and evacuation modes;
# the fire-alarm input.
. tests/integration/lib/gw.sh
gw_start

# tailgating: two passages on one grant
ctl sim tap front A-1 >/dev/null 2>&1
ctl sim sensor front passage >/dev/null
ctl sim sensor front passage >/dev/null
out=$(ctl status 2>/dev/null)
expect_match "$out" "front/tailgating ACTIVE" "tailgating alarm"
# forced: the door opens while locked
ctl sim sensor vault-door door-open >/dev/null
out=$(ctl status 2>/dev/null)
expect_match "$out" "#[0-9]+ vault-door/door-forced ACTIVE" "forced alarm"
ctl sim sensor vault-door door-closed >/dev/null
ctl sim sensor lab-door tamper >/dev/null
ctl sim sensor lab-door offline >/dev/null
out=$(ctl status 2>/dev/null)
expect_match "$out" "lab-door/tamper ACTIVE" "tamper"
expect_match "$out" "lab-door/reader-offline ACTIVE" "offline"
ctl sim sensor lab-door online >/dev/null
expect_match "$(ctl status 2>/dev/null)" "lab-door/reader-offline cleared" "back online"

# ack by name and by number
out=$(ctl ack front/tailgating) || fail "ack by name: $out"
expect_match "$out" "acknowledged #[0-9]+ front/tailgating" "ack text"
id=$(ctl status 2>/dev/null | sed -n 's/^  #\([0-9]*\) vault-door\/door-forced.*/\1/p')
[ -n "$id" ] || fail "no id for door-forced"
ctl ack "$id" >/dev/null || fail "ack by id"
expect_no_match "$(ctl status 2>/dev/null)" "door-forced|tailgating" "acked alarms gone"
out=$(ctl ack front/nothing 2>&1) && fail "ack of nothing accepted"
expect_match "$out" "no open alarm" "ack unknown"

# held open: the door stays open past held-open (3s at front)
ctl sim tap front A-2 >/dev/null 2>&1
ctl sim sensor front door-open >/dev/null
sleep 3.3
expect_match "$(ctl status 2>/dev/null)" "front/held-open ACTIVE" "held open"
ctl sim sensor front passage >/dev/null
ctl sim sensor front door-closed >/dev/null
expect_match "$(ctl status 2>/dev/null)" "front/held-open cleared" "held open cleared"

# manual opening needs a reason, and is journaled with who and why
out=$(ctl open vault-door 2>&1) && fail "open without reason"
expect_match "$out" "usage: open GATE --reason TEXT" "open usage"
out=$(ctl open vault-dor --reason x 2>&1) && fail "open of a typo"
expect_match "$out" "did you mean 'vault-door'" "gate suggestion"
out=$(ctl open vault-door --reason "delivery of the safe") || fail "open: $out"
expect_match "$out" "vault-door unlocked once" "open reply"
expect_match "$(ctl status 2>/dev/null)" "vault-door +unlocked" "open unlocks"
j=$(ctl audit export --format jsonl 2>/dev/null | grep '"type":"open"')
expect_match "$j" '"actor":"uid 0 \(root\)"' "open actor"
expect_match "$j" '"text":"delivery of the safe"' "open reason"

# lockdown: staff refused at the perimeter, security passes
out=$(ctl mode lockdown --reason "drill 7") || fail "mode: $out"
expect_match "$(ctl status 2>/dev/null)" "mode lockdown" "mode in status"
expect_match "$(ctl sim tap front A-3 2>&1)" "deny mode-locked" "lockdown denies"
expect_match "$(ctl sim tap front S-1 2>&1)" "grant" "responder passes"
ctl sim sensor front passage >/dev/null
out=$(ctl mode lokdown --reason x 2>&1) && fail "unknown mode accepted"
expect_match "$out" "did you mean 'lockdown'" "mode suggestion"
# evacuate: the egress gate is held unlocked
ctl mode evacuate --reason "evacuation drill" >/dev/null || fail "evacuate"
expect_match "$(ctl status 2>/dev/null)" "front +held-unlocked" "evacuate unlocks egress"
expect_match "$(ctl status 2>/dev/null)" "lab-door +locked" "inner gate stays locked"
ctl mode normal --reason "all clear" >/dev/null || fail "normal"
expect_match "$(ctl status 2>/dev/null)" "front +locked" "normal relocks"

# fire alarm: egress unlocked at once, whatever the mode
ctl sim input fire-alarm on >/dev/null || fail "fire on"
out=$(ctl status 2>/dev/null)
expect_match "$out" "FIRE ALARM" "fire in status"
expect_match "$out" "front +held-unlocked" "fire unlocks egress"
expect_match "$out" "gateway/fire-alarm ACTIVE" "fire alarm listed"
ctl sim input fire-alarm off >/dev/null
expect_match "$(ctl status 2>/dev/null)" "front +locked" "fire off relocks"

# every change is in the journal, in order
types=$(ctl audit export --format csv 2>/dev/null | awk -F, 'NR > 1 && $4 != "decision" && $4 != "passage" { print $4 }' | tr '\n' ' ')
expect_match "$types" "^start alarm alarm alarm alarm alarm-clear ack ack alarm alarm-clear open mode mode mode alarm alarm-clear $" "journal types"
ctl status --json 2>/dev/null | tr -d '\n' | grep -q '"mode":"normal".*"gates":\[{"name":"front"' || fail "status json"
gw_stop
echo "alarms: ok"
