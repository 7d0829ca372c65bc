# Central sync against a hostile RELP server of our own (lib/hostile.c):
# malformed, oversized, huge, unknown-transaction, out-of-order, negative,
# duplicated, split and silent answers, and bad answers to "open". The
# gateway must not crash, must count as delivered only records the server
# answered 200, and must say what went wrong.
. tests/integration/lib/gw.sh
. tests/integration/lib/central.sh

cc -D_GNU_SOURCE -std=c17 -O1 -g -Wall -Wextra -o "$T/hostile" tests/integration/lib/hostile.c \
    -lmbedtls -lmbedx509 -lmbedcrypto || fail "cannot build the hostile server"
central_pki
central_free_port
modes="good badopen oversized noopen huge unknown skip nak dup split silent good"
"$T/hostile" "$RELP_PORT" "$PKI/server/localhost.pem" "$PKI/server/localhost.key" \
    "$PKI/ca/venue-ca.pem" "$T/hostile.log" $modes 2>"$T/hostile.err" &
HPID=$!
trap 'kill -9 $HPID 2>/dev/null; wait $HPID 2>/dev/null; central_cleanup' EXIT
i=0
until grep -q listening "$T/hostile.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "hostile server did not start"; sleep 0.05
done
central_conf
sed -i 's/ack-timeout 3s;/ack-timeout 1s;/; s/retry-max 2s;/retry-max 1s;/' "$CONF"
gw_start
ctl sim flood front A-1 200 >/dev/null || fail "taps"

# wait until every mode has had its session
n=$(echo $modes | wc -w)
i=0
while [ "$(grep -c '^done' "$T/hostile.log")" -lt "$n" ]; do
	i=$((i + 1)); [ $i -gt 600 ] && { cat "$T/hostile.log"; ctl status; fail "sessions did not all happen"; }
	kill -0 "$GW_PID" 2>/dev/null || fail "gatewayd died"
	sleep 0.05
done
sleep 0.3
st=$(ctl status 2>/dev/null) || fail "gatewayd does not answer"
echo "$st" | grep -A1 '^sync'
acked=$(sync_field acked)
# the longest prefix 1..K of seqs the hostile server answered 200
k=$(awk '/^ack / { a[$2] = 1 } END { k = 0; while (a[k + 1]) k++; print k }' "$T/hostile.log")
echo "gateway counts $acked delivered; the server acknowledged 1..$k"
[ "$acked" -le "$k" ] || fail "gateway marked $acked delivered, only 1..$k were acknowledged"
[ "$acked" -ge 5 ] || fail "the good sessions' acknowledgements were not counted ($acked)"
d=$(ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p')
[ "$acked" -lt "$d" ] || fail "everything counted delivered though the server misbehaved"
gw_stop
for w in "protocol error" ; do grep -q "$w" "$T/daemon.log" || fail "no '$w' in the log"; done
grep -E "sync .*: " "$T/daemon.log" | sed 's/^.*sync /  sync /' | sort | uniq -c | sort -rn | head -20
echo "sync_hostile: ok"
