# Helpers for the central-sync tests (sourced after gw.sh): a fresh venue
# PKI made with certs/venue-pki.sh, our own rsyslogd running
# certs/central-rsyslog.conf on a free loopback port (own pid file and
# directories under $T, never the system's), and a gateway.conf with a
# sync block pointing at it. Everything is killed and removed on exit.
PKI=$T/pki
CENTRAL_PID=
RELP_PORT=

central_cleanup() {
	if [ -n "$CENTRAL_PID" ]; then kill -9 "$CENTRAL_PID" 2>/dev/null; wait "$CENTRAL_PID" 2>/dev/null; fi
	CENTRAL_PID=
	gw_cleanup
}
trap central_cleanup EXIT

# pki: CA, server "localhost", gateway test-gw (gw.sh's gateway id)
central_pki() {
	sh certs/venue-pki.sh "$PKI" ca Test >/dev/null 2>&1 || fail "venue CA"
	sh certs/venue-pki.sh "$PKI" server localhost >/dev/null 2>&1 || fail "server cert"
	sh certs/venue-pki.sh "$PKI" gateway test-gw >/dev/null 2>&1 || fail "gateway cert"
}

central_free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { RELP_PORT=$p; return; }
	done
}

# central_start [PERMITTED_PEER] [SERVER_CERT_BASE]: start rsyslogd; wait
# until the port listens. The port stays the same across restarts.
central_start() {
	export CENTRAL_DIR="$T/central" RELP_ADDRESS=127.0.0.1
	export CENTRAL_CA="$PKI/ca/venue-ca.pem"
	export CENTRAL_CERT="${2:-$PKI/server/localhost}.pem" CENTRAL_KEY="${2:-$PKI/server/localhost}.key"
	export PERMITTED_PEERS="${1:-test-gw}"
	[ -n "$RELP_PORT" ] || central_free_port
	export RELP_PORT
	mkdir -p "$CENTRAL_DIR/work"
	rsyslogd -N1 -f "$PWD/certs/central-rsyslog.conf" >"$T/rsyslog-check.log" 2>&1 ||
	    { cat "$T/rsyslog-check.log"; fail "rsyslog config invalid"; }
	rsyslogd -n -f "$PWD/certs/central-rsyslog.conf" -i "$CENTRAL_DIR/rsyslogd.pid" \
	    >>"$T/rsyslogd.out" 2>&1 &
	CENTRAL_PID=$!
	i=0
	while [ -z "$(ss -Hltn "sport = :$RELP_PORT")" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "rsyslogd did not listen on $RELP_PORT"
		kill -0 "$CENTRAL_PID" 2>/dev/null || { cat "$T/rsyslogd.out"; fail "rsyslogd exited"; }
		sleep 0.05
	done
}

central_kill9() {
	kill -9 "$CENTRAL_PID" 2>/dev/null
	wait "$CENTRAL_PID" 2>/dev/null
	CENTRAL_PID=
}

central_stop() {
	kill -TERM "$CENTRAL_PID" 2>/dev/null
	wait "$CENTRAL_PID" 2>/dev/null
	CENTRAL_PID=
}

# gateway.conf += sync block (server name, CA, gateway cert)
central_conf() {
	cat >> "$CONF" <<EOF
sync {
	server "${1:-localhost}";
	address "127.0.0.1";
	port $RELP_PORT;
	ca "${2:-$PKI/ca/venue-ca.pem}";
	cert "${3:-$PKI/gateways/test-gw.pem}";
	key "${4:-$PKI/gateways/test-gw.key}";
	window 256;
	ack-timeout 3s;
	retry-max 2s;
	backlog-alarm 50000;
}
EOF
}

central_file() { echo "$T/central/gateways/test-gw.log"; }

# sync_field NAME: a field of `gatectl status --json`'s sync object
sync_field() {
	ctl status --json 2>/dev/null | tr -d '\n' |
	    sed -n "s/.*\"sync\":{[^}]*\"$1\":\([^,}]*\).*/\1/p" | tr -d '"'
}

# wait_acked SEQ [SECONDS]: until the gateway says SEQ is acknowledged
wait_acked() {
	want=$1; lim=$(( ${2:-20} * 20 )); i=0
	while :; do
		a=$(sync_field acked); [ -n "$a" ] || a=0
		[ "$a" -ge "$want" ] && return 0
		i=$((i + 1))
		[ $i -gt "$lim" ] && return 1
		sleep 0.05
	done
}
