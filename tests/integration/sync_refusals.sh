# Central sync refusals: a server certificate from another CA, an expired
# one, one for another host name, and a gateway certificate the server does
# not permit. Each leaves the records queued, says why in gatectl status,
# and stores nothing centrally; with the right server everything arrives.
. tests/integration/lib/gw.sh
. tests/integration/lib/central.sh

central_pki
# the impostors' material, all made now (nothing committed can expire)
sh certs/venue-pki.sh "$T/rogue" ca Rogue >/dev/null 2>&1 || fail "rogue CA"
sh certs/venue-pki.sh "$T/rogue" server localhost >/dev/null 2>&1 || fail "rogue server"
PKI_OUT="$T/expired" PKI_START=200101000000Z PKI_END=210101000000Z \
    sh certs/venue-pki.sh "$PKI" server localhost >/dev/null 2>&1 || fail "expired server"
sh certs/venue-pki.sh "$PKI" server central.other >/dev/null 2>&1 || fail "other-name server"
cp "$CONF" "$T/gateway.conf.base"

# refused SERVER_CERT_BASE PERMITTED EXPECTED_ERROR_REGEX [GATEWAY_CERT_BASE]
refused() {
	central_start "$2" "$1"
	cp "$T/gateway.conf.base" "$CONF"
	gc=${4:-$PKI/gateways/test-gw}
	central_conf localhost "$PKI/ca/venue-ca.pem" "$gc.pem" "$gc.key"
	gw_start
	ctl sim flood front A-1 20 >/dev/null || fail "taps"
	i=0
	while ! ctl status 2>/dev/null | grep -q "last error"; do
		i=$((i + 1)); [ $i -gt 100 ] && { ctl status; fail "no error shown"; }
		sleep 0.05
	done
	st=$(ctl status 2>/dev/null)
	echo "$st" | grep -A1 '^sync'
	expect_match "$st" "$3" "refusal reason"
	expect_match "$st" "sync localhost:$RELP_PORT: (connect|handshake|idle|open), acked seq 0, backlog [1-9]" "records stay queued"
	gw_stop
	central_stop
	[ -s "$(central_file)" ] && fail "the central server stored records from a refused session"
	return 0
}

refused "$T/rogue/server/localhost" test-gw "server certificate not signed by the venue CA"
refused "$T/expired/localhost" test-gw "server certificate expired"
refused "$PKI/server/central.other" test-gw "server certificate is not for 'localhost' \(wrong host name\)"
refused "$PKI/server/localhost" other-gw "certificate name .*permitted on the server"
# a gateway certificate from another CA, with the right name
sh certs/venue-pki.sh "$T/rogue" gateway test-gw >/dev/null 2>&1 || fail "rogue gateway"
refused "$PKI/server/localhost" test-gw "server refused the TLS handshake" "$T/rogue/gateways/test-gw"
grep -q "no permited name found\|not permitted\|permited" "$T/central/internal.log" ||
    fail "rsyslog did not log the refused peer"

# the same gateway, the right server: everything queued arrives
central_start test-gw
cp "$T/gateway.conf.base" "$CONF"
central_conf
gw_start
last=$(ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p')
wait_acked "$last" 20 || { ctl status; fail "queued records not delivered"; }
gw_stop
out=$("$GCTL" audit verify --central "$(central_file)") || fail "central copy: $out"
echo "$out"
central_stop
echo "sync_refusals: ok"
