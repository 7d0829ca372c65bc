#!/bin/sh
# make demo: Riverside Stadium on a match day, with simulated hardware.
# Starts gatewayd in a fresh build/demo/, replays a scripted afternoon — a
# rush at the turnstiles, denials with their reasons, a tailgater, a
# lockdown, an evacuation — and shows what gate staff see, the muster list
# and the audit export. Leaves the journal in build/demo/journal.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$ROOT/build/demo
GWD=$ROOT/build/bin/gatewayd
GCTL=$ROOT/build/bin/gatectl
SOCK=$D/gatewayd.sock
GW_PID=
WATCH_PID=

cleanup() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null || true
	if [ -n "$GW_PID" ]; then kill -TERM "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

rm -rf "$D"
mkdir -p "$D/venue"
# the venue as the administrator wrote it, plus this afternoon's crowd:
# 60 more season tickets (the example file has a handful)
cp "$ROOT"/examples/stadium/stadium.pol "$ROOT"/examples/stadium/tickets.csv \
    "$ROOT"/examples/stadium/gateway.conf "$D/venue/"
i=1
while [ $i -le 60 ]; do
	printf 'ST-%04d,Fan Number %d,season,2025-07-01,2027-06-30,legacy,,\n' $((1000 + i)) $i
	i=$((i + 1))
done >> "$D/venue/tickets.csv"

ctl() { "$GCTL" --socket "$SOCK" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
screen() {	# what the gate staff's screen showed since the last call
	n=$(wc -l < "$D/watch.log")	# (the last $1 lines of it, if given)
	sed -n "$((SHOWN + 1)),${n}p" "$D/watch.log" > "$D/screen.tmp"
	SHOWN=$n
	tail -n "${1:-100000}" "$D/screen.tmp" | sed 's/^/  | /'
}
SHOWN=0

say "check the configuration and the policy (gatewayd -n)"
(cd "$D/venue" && "$GWD" -n -c gateway.conf) 2>&1 | grep -v 'warning\[C020\]' | sed 's/^/  /'

say "start gatewayd: Saturday 7 March 2026, 14:30 — kick-off at 15:00"
# from the venue directory, so rules read "stadium.pol:41"
(cd "$D/venue" && exec "$GWD" -d -c gateway.conf --journal "$D/journal" \
    --socket "$SOCK" --sim-clock 2026-03-07T14:30 2> "$D/gatewayd.log") &
GW_PID=$!
i=0
until ctl ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "gatewayd did not start"; cat "$D/gatewayd.log"; exit 1; }
	sleep 0.05
done
ctl watch > "$D/watch.log" 2>&1 &
WATCH_PID=$!
sleep 0.2

say "the rush: 60 fans through the outer lanes and the north turnstiles"
{
	i=1
	while [ $i -le 60 ]; do
		t=$(printf 'ST-%04d' $((1000 + i)))
		echo "tap outer-gate $t"; echo "sensor outer-gate passage"
		if [ $((i % 2)) = 0 ]; then g=north-t1; else g=north-t2; fi
		echo "tap $g $t"; echo "sensor $g passage"
		i=$((i + 1))
	done
	echo "tap outer-gate ST-0001"; echo "sensor outer-gate passage"
	echo "tap north-t1 ST-0001"; echo "sensor north-t1 passage"
	echo "tap outer-gate W-0500"; echo "sensor outer-gate passage"
} > "$D/rush.txt"
start=$(date +%s%N)
ctl sim run "$D/rush.txt" > "$D/rush.out" 2>&1
end=$(date +%s%N)
echo "  $(grep -c 'grant permit' "$D/rush.out") taps granted, $(grep -c ' passage: ' "$D/rush.out") passages, in $(( (end - start) / 1000000 )) ms"
sleep 0.2
echo "  staff screen (last 6 lines):"
screen 6

say "denials, and the words staff read out"
cat > "$D/deny.txt" <<'EOT'
tap outer-gate 04DEADBEEF
tap north-t2 ST-0001
tap east-t1 ST-0001
tap outer-gate ST-0099
tap control-door SF-0900
tap tunnel ST-1001
EOT
ctl sim run "$D/deny.txt" > "$D/deny.out" 2>&1 || true
sleep 0.2
screen

say "a tailgater: one ticket, two people through north-t1"
ctl sim tap outer-gate ST-0002 > /dev/null 2>&1; ctl sim sensor outer-gate passage > /dev/null
ctl sim tap north-t1 ST-0002 > /dev/null 2>&1
ctl sim sensor north-t1 passage > /dev/null
ctl sim sensor north-t1 passage > /dev/null
sleep 0.2
screen
ctl status 2>/dev/null | sed -n '/^alarms:/,$p' | sed 's/^/  /'
echo "  steward acknowledges:"
ctl ack north-t1/tailgating | sed 's/^/  /'

say "lockdown (safety control): the perimeter locks; only safety officers move"
ctl mode lockdown --reason "suspicious package at gate C" | sed 's/^/  /'
ctl sim tap outer-gate W-0500 --exit > /dev/null 2>&1 || true
ctl sim tap outer-gate ST-0003 > /dev/null 2>&1 || true
ctl sim tap outer-gate SF-0901 > /dev/null 2>&1 || true
ctl sim sensor outer-gate passage > /dev/null
sleep 0.2
screen

say "evacuation: fire panel trips, egress unlocks, the crowd leaves"
ctl mode evacuate --reason "package confirmed; evacuate north stand" | sed 's/^/  /'
ctl sim input fire-alarm on | sed 's/^/  /'
{
	i=1
	while [ $i -le 40 ]; do
		t=$(printf 'ST-%04d' $((1000 + i)))
		if [ $((i % 2)) = 0 ]; then g=north-t1; else g=north-t2; fi
		echo "tap $g $t --exit"; echo "sensor $g passage"
		if [ $i -le 30 ]; then	# most badge out at the fence too
			echo "tap outer-gate $t --exit"; echo "sensor outer-gate passage"
		else			# some just run through the open lanes
			echo "sensor outer-gate passage-out"
		fi
		i=$((i + 1))
	done
	echo "tap north-t1 ST-1041"
} > "$D/evac.txt"
ctl sim run "$D/evac.txt" > "$D/evac.out" 2>&1 || true
echo "  $(grep -c 'grant exit' "$D/evac.out") exits badged at the stand and the fence; re-entry refused:"
grep -A1 '^> tap north-t1 ST-1041' "$D/evac.out" | tail -1 | sed 's/^/  /'
sleep 0.2
echo "  staff screen (last 8 lines):"
screen 8

say "gatectl status"
ctl status 2>/dev/null | sed 's/^/  /'

say "muster: who is still inside the north stand (CSV for the fire marshal)"
ctl muster north --format csv 2>/dev/null | sed 's/^/  /' | head -12
echo "  ... $(ctl muster north --format csv 2>/dev/null | tail -n +2 | wc -l) people in north"

say "all clear"
ctl sim input fire-alarm off | sed 's/^/  /'
ctl mode normal --reason "all clear from the fire service" | sed 's/^/  /'

say "audit: every denial this afternoon (CSV), and the chain"
ctl audit export --decision deny --format csv 2>/dev/null | cut -d, -f2,6,9,10,12,13 | sed 's/^/  /'
ctl audit verify | sed 's/^/  /'
echo "  $(ctl audit export --format jsonl 2>/dev/null | wc -l) records in $D/journal"

kill "$WATCH_PID" 2>/dev/null || true; WATCH_PID=
kill -TERM "$GW_PID"; wait "$GW_PID" || true; GW_PID=
say "offline check of the journal left in build/demo/journal"
"$GCTL" audit verify --journal "$D/journal" | sed 's/^/  /'
