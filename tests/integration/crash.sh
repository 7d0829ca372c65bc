# Crash test: 1,000 taps with passages, kill -9 at a random moment,
# restart. Every tap whose decision gatectl printed is in the journal with
# that sequence number and badge, the chain verifies, and the occupancy the
# daemon rebuilt matches the passages in the journal.
. tests/integration/lib/gw.sh
# state snapshots often, so the restart after the kill loads one and
# replays the tail: the occupancy check below then covers that path too
GW_ARGS="--snapshot-every 97"

# 100 more staff badges
i=0
while [ $i -lt 100 ]; do
	printf 'C-%03d,Crash Tester %d,staff,2020-01-01,2099-12-31,secure,,\n' $i $i >> "$T/creds.csv"
	i=$((i + 1))
done
# each badge in and out by the front door, alternately, with a passage
i=0; : > "$T/script"
while [ $i -lt 1000 ]; do
	b=$(printf 'C-%03d' $((i % 100)))
	if [ $(((i / 100) % 2)) = 0 ]; then echo "tap front $b"; else echo "tap front $b --exit"; fi
	echo "sensor front passage"
	i=$((i + 1))
done >> "$T/script"

gw_start
ctl sim run "$T/script" > "$T/run.out" 2>&1 &
runner=$!
# a random moment within the run (it takes a few seconds)
r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
delay=$(awk -v r="$r" 'BEGIN { printf "%.2f", 0.3 + (r % 1000) / 1000 * 3 }')
sleep "$delay"
gw_kill9
wait $runner
echo "killed after ${delay}s"

# what gatectl printed: "> tap front B" then "... seq=N"
awk '/^> tap front / { b = $4 } match($0, / seq=[0-9]+/) { print substr($0, RSTART + 5, RLENGTH - 5), b }' \
    "$T/run.out" > "$T/printed"
nprinted=$(wc -l < "$T/printed")
echo "decisions printed before the kill: $nprinted"
[ "$nprinted" -gt 0 ] || fail "nothing was decided before the kill"

gw_start
expect_match "$(grep 'gatewayd started' "$T/daemon.log" | tail -1)" \
    "after the state snapshot at seq" "restart from a snapshot and the tail"
out=$(ctl audit verify) || fail "chain broken after kill -9: $out"
ctl audit export --format csv 2>/dev/null > "$T/export.csv"
awk -F, 'NR == FNR { if ($4 == "decision") have[$1] = $9; next }
	{ if (have[$1] != $2) { print "missing seq " $1 " badge " $2; bad = 1 } }
	END { exit bad }' "$T/export.csv" "$T/printed" || fail "printed decisions missing from the journal"

# occupancy from the journal's passages vs what the daemon rebuilt
want=$(awk -F, '$4 == "passage" && $9 != "" {
		if ($8 == "site") in_[$9] = 1; else if ($7 == "site") delete in_[$9]
	} END { n = 0; for (k in in_) n++; print n }' "$T/export.csv")
got=$(ctl status --json 2>/dev/null | tr -d '\n' | sed -n 's/.*"occupancy":{[^}]*"site":\([0-9]*\).*/\1/p')
[ -n "$got" ] || got=0
echo "occupancy: journal says $want, daemon says $got"
[ "$got" = "$want" ] || fail "occupancy $got != $want from the journal"
n=$(ctl muster site 2>/dev/null | grep -c '^site ')
[ "$n" = "$want" ] || fail "muster lists $n, journal says $want"

# and it carries on: the next tap is decided and journaled after the rest
last=$(tail -1 "$T/printed" | cut -d' ' -f1)
out=$(ctl sim tap front A-1 2>&1) || fail "tap after restart"
seq=$(echo "$out" | sed -n 's/.* seq=\([0-9]*\).*/\1/p')
[ "$seq" -gt "$last" ] || fail "sequence went backwards: $seq <= $last"
gw_stop
out=$("$GCTL" audit verify --journal "$T/journal") || fail "final verify: $out"
echo "crash: ok ($out)"
