# Central sync: 10,000 decisions reach a real rsyslog (imrelp, mutual TLS,
# certs/central-rsyslog.conf as shipped); the central copy is complete and
# its chain verifies record by record. A key file readable by others is
# refused before anything starts.
. tests/integration/lib/gw.sh
. tests/integration/lib/central.sh

central_pki
central_start
central_conf

# loose key permissions: refused, by the check mode and by the daemon
chmod 644 "$PKI/gateways/test-gw.key"
out=$("$GWD" -n -c "$CONF" 2>&1) && fail "a world-readable key was accepted"
expect_match "$out" "accessible by group or others" "loose key refused"
chmod 600 "$PKI/gateways/test-gw.key"
"$GWD" -n -c "$CONF" >/dev/null 2>&1 || fail "check mode with a good key"

gw_start
ctl sim flood front A-1 5000 >/dev/null || fail "flood 1"
ctl sim flood lab-door B-1 5000 >/dev/null || fail "flood 2"
last=$(ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p')
[ "$last" -ge 10000 ] || fail "only $last records journaled"
wait_acked "$last" 30 || { ctl status; fail "not everything acknowledged"; }
st=$(ctl status)
expect_match "$st" "sync localhost:$RELP_PORT: connected, acked seq $last, backlog 0" "status"
echo "$st" | grep '^sync'

out=$("$GCTL" audit verify --central "$(central_file)" --gateway test-gw) || fail "central copy: $out"
echo "$out"
expect_match "$out" "records of seq 1\.\.$last," "central range"
expect_match "$out" "0 missing, 0 altered, 0 conflicting, 0 chain breaks" "central intact"

# the RFC 5424 line as stored: PRI, version, time, host = gateway id, MSGID
# = record type, structured data with gw, seq and hash, one JSON body
line=$(grep -m1 ' decision \[' "$(central_file)")
expect_match "$line" '^<11[0-4]>1 20[0-9-]+T[0-9:.]+Z test-gw gatewayd - decision \[gatewayd@32473 gw="test-gw" seq="[0-9]+" hash="[0-9a-f]{64}" prev="[0-9a-f]{64}"\] \{"seq":' "line format"

# the state file beside the journal says what was acknowledged
gw_stop
expect_match "$(cat "$T/journal/sync.state")" "^acked [0-9]+$" "sync.state"
grep -q "Sanitizer" "$T/daemon.log" && fail "sanitizer report"
central_stop
echo "sync_deliver: ok"
