# State snapshots: after kill -9, a restart that loads the snapshot and
# replays only the journal's tail shows exactly what a restart that replays
# the whole journal shows (mode, occupancy, open alarms, muster); a
# damaged snapshot, or one naming records the journal no longer holds (the
# journal was put back to an older copy), is refused with a reason and the
# whole journal is replayed; a clean stop leaves nothing to replay.
. tests/integration/lib/gw.sh
GW_ARGS="--snapshot-every 20"

i=0
while [ $i -lt 30 ]; do
	printf 'C-%03d,Snap Tester %d,staff,2020-01-01,2099-12-31,secure,,\n' $i $i >> "$T/creds.csv"
	i=$((i + 1))
done
# people in and out by the front door, a few on into the lab and back
script() {
	i=$1
	while [ $i -lt $2 ]; do
		b=$(printf 'C-%03d' $((i % 30)))
		case $((i % 5)) in
		0|1|2) echo "tap front $b"; echo "sensor front passage" ;;
		3) echo "tap lab-door $b"; echo "sensor lab-door passage" ;;
		4) echo "tap front $b --exit"; echo "sensor front passage" ;;
		esac
		i=$((i + 1))
	done
}

view() {
	s=$(ctl status 2>/dev/null) || fail "status"
	printf '%s\n' "$s" | sed -n '1s/.*  mode \([a-z]*\).*/mode \1/p'
	printf '%s\n' "$s" | sed -n '/^occupancy:/,$p'
	ctl muster 2>/dev/null || fail "muster"
}

last_start() { grep 'gatewayd started' "$T/daemon.log" | tail -1; }

gw_start
script 0 60 > "$T/s1"
ctl sim run "$T/s1" > /dev/null 2>&1 || fail "run 1"
gw_kill9
cp -a "$T/journal" "$T/journal.early"

gw_start
expect_match "$(last_start)" "after the state snapshot at seq" "a snapshot was written and used"
# an event alarm, a condition, one acknowledged; then a mode
ctl sim sensor vault-door door-open >/dev/null
ctl sim sensor vault-door door-closed >/dev/null
ctl sim sensor lab-door offline >/dev/null
ctl sim sensor front passage >/dev/null
ctl sim sensor front passage >/dev/null
ctl ack vault-door/door-forced >/dev/null || fail "ack"
ctl mode lockdown --reason "snapshot test" >/dev/null || fail "mode"
script 60 130 > "$T/s2"
ctl sim run "$T/s2" > /dev/null 2>&1 || fail "run 2"
ctl sim sensor lab-door online >/dev/null
ctl sim tap front C-001 >/dev/null 2>&1
gw_kill9
[ -f "$T/journal/state.snap" ] || fail "no snapshot after kill -9"

# 1. with the snapshot: only the tail is replayed
gw_start
start=$(last_start)
expect_match "$start" "after the state snapshot at seq [0-9]+" "snapshot used"
n=$(printf '%s\n' "$start" | sed -n 's/.*rebuilt from \([0-9]*\) records.*/\1/p')
[ "$n" -lt 25 ] || fail "replayed $n records after the snapshot (every 20)"
with=$(view)
gw_kill9
expect_match "$with" "mode lockdown" "mode restored"
expect_match "$with" "front/tailgating ACTIVE" "open alarm restored"
expect_match "$with" "lab-door/reader-offline cleared" "condition comes back cleared"
expect_no_match "$with" "door-forced" "acknowledged alarm stays closed"
expect_match "$with" "site +[1-9]" "someone inside"

# 2. without it: the whole journal, the same state
rm "$T/journal/state.snap"
gw_start
start=$(last_start)
expect_no_match "$start" "after the state snapshot" "no snapshot to use"
without=$(view)
gw_kill9
[ "$with" = "$without" ] || fail "state differs with and without the snapshot:
--- with
$with
--- without
$without"

# 3. a damaged snapshot (the full replay above wrote a fresh one at once)
[ -f "$T/journal/state.snap" ] || fail "no snapshot after a long replay"
sz=$(stat -c %s "$T/journal/state.snap")
printf 'X' | dd of="$T/journal/state.snap" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
cp "$T/journal/state.snap" "$T/snap.damaged"
gw_start
expect_match "$(cat "$T/daemon.log")" "snapshot .* not used: content does not match its SHA-256" "damage reported"
expect_no_match "$(last_start)" "after the state snapshot" "damaged snapshot not used"
[ "$(view)" = "$without" ] || fail "state after a refused snapshot"
# the replay wrote a fresh snapshot on its writer thread: step 4 needs it
# whole on disk, so wait for the write to finish before killing
i=0
while cmp -s "$T/journal/state.snap" "$T/snap.damaged"; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the fresh snapshot was never written"
	sleep 0.05
done
gw_kill9

# 4. the journal put back to an older copy: the snapshot names records
#    it does not hold, and is refused
[ -f "$T/journal/state.snap" ] || fail "no snapshot to move"
cp "$T/journal/state.snap" "$T/snap.new"
rm -rf "$T/journal"; cp -a "$T/journal.early" "$T/journal"
cp "$T/snap.new" "$T/journal/state.snap"
gw_start
expect_match "$(cat "$T/daemon.log")" "state snapshot not used: it claims record [0-9]+, but .*the journal ends at seq" "cut journal reported"
old_with=$(view)
expect_match "$old_with" "mode normal" "the older journal's mode"
gw_kill9
rm -f "$T/journal/state.snap"
gw_start
[ "$(view)" = "$old_with" ] || fail "older journal: state differs from its full replay"

# 5. a clean stop saves everything: nothing left to replay
gw_stop
gw_start
expect_match "$(last_start)" "rebuilt from 0 records .*after the state snapshot" "clean stop leaves no tail"
[ "$(view)" = "$old_with" ] || fail "state after a clean stop"
gw_stop

# 6. --snapshot-every 0: never written, never read
rm -f "$T/journal/state.snap"
GW_ARGS="--snapshot-every 0"
gw_start
gw_stop
[ ! -f "$T/journal/state.snap" ] || fail "snapshot written with --snapshot-every 0"
echo "snapshot: ok"
