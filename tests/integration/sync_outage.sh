# Central sync across outages: rsyslog killed -9 in the middle of a stream
# and restarted a while later, then gatewayd killed -9 in the middle of a
# stream and restarted: every record arrives (duplicates allowed, counted),
# the chain verifies, and the gateway resumes from its persisted position.
. tests/integration/lib/gw.sh
. tests/integration/lib/central.sh

durable() { ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p'; }

central_pki
central_start
central_conf
gw_start

# 1. the server dies mid-stream
ctl sim flood front A-1 6000 >/dev/null &
flood=$!
wait_acked 500 20 || fail "nothing acknowledged before the outage"
central_kill9
echo "rsyslog killed at acked seq $(sync_field acked)"
wait $flood || fail "flood during the outage"
# the first flood may all be acknowledged before the kill on a fast
# machine: these are journaled while the server is certainly dead
ctl sim flood front A-1 2000 >/dev/null || fail "flood while the server is down"
last=$(durable)
sleep 1
st=$(ctl status)
expect_match "$st" "sync localhost:$RELP_PORT: (connect|handshake|idle|open)" "status shows the outage"
expect_match "$st" "last error" "an error is shown"
echo "$st" | grep -A1 '^sync'
a=$(sync_field acked)
[ "$a" -lt "$last" ] || fail "everything acked while the server was dead ($a)"
central_start
wait_acked "$last" 20 || { ctl status; fail "not all delivered after the server came back"; }
echo "after the server restart: acked $(sync_field acked) of $last"

# 2. the gateway dies mid-stream
ctl sim flood lab-door B-1 6000 >/dev/null &
flood=$!
sleep 0.3
gw_kill9
wait $flood 2>/dev/null
p=$(sed -n 's/^acked //p' "$T/journal/sync.state")
echo "gatewayd killed; sync.state says acked $p"
gw_start
last=$(durable)
wait_acked "$last" 20 || { ctl status; fail "not all delivered after the gateway restart"; }
gw_stop

out=$("$GCTL" audit verify --central "$(central_file)") || fail "central copy: $out"
echo "$out"
jl=$("$GCTL" audit verify --journal "$T/journal" | sed -n 's/journal intact: \([0-9]*\) records/\1/p')
expect_match "$out" "records of seq 1\.\.$jl," "central has every journaled record (1..$jl)"
central_stop
echo "sync_outage: ok"
