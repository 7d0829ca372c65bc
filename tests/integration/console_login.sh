# Sign-in throttling in the gate console, over real HTTPS with curl: a
# name that failed 5 times waits whatever address it comes from; an
# address that failed 20 times (on 20 different names) waits whatever name
# it tries; other names and other addresses are not affected; a waiting
# sign-in is refused before any hashing. Source addresses are picked with
# curl --interface from 127.0.0.0/8.
. tests/integration/lib/gw.sh
GCON=${GCON:-$PWD/build/san/bin/gateconsole}
CON_PID=
con_cleanup() {
	[ -n "$CON_PID" ] && kill -9 "$CON_PID" 2>/dev/null
	gw_cleanup
}
trap con_cleanup EXIT
command -v curl >/dev/null || fail "curl is not installed (tools/deps.sh)"

P=$T/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/ca.key" -out "$P/ca.crt" -days 1 -subj "/CN=gatewayd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" 2>/dev/null || fail "CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost" \
    2>/dev/null || fail "server key"
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$P/ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" \
    -CAcreateserial -days 1 -out "$P/server.crt" -extfile "$P/ext" 2>/dev/null ||
    fail "server certificate"
chmod 600 "$P/server.key"

rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
A_PASS=$(rnd)
B_PASS=$(rnd)
{
	echo "alice staff $(echo "$A_PASS" | "$GCON" passwd)"
	echo "bob   staff $(echo "$B_PASS" | "$GCON" passwd)"
} >"$T/users"
chmod 600 "$T/users"

gw_start
for try in 1 2 3 4 5; do
	PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
	"$GCON" -d -s "$SOCK" -l "127.0.0.1:$PORT" --cert "$P/server.crt" \
	    --key "$P/server.key" --users "$T/users" --assets gateway/console \
	    >"$T/console.log" 2>&1 &
	CON_PID=$!
	i=0
	while ! grep -q "reached: live" "$T/console.log" 2>/dev/null; do
		kill -0 "$CON_PID" 2>/dev/null || break
		i=$((i + 1)); [ $i -gt 100 ] && fail "gateconsole never reached gatewayd"
		sleep 0.05
	done
	kill -0 "$CON_PID" 2>/dev/null && break
	wait "$CON_PID" 2>/dev/null
	CON_PID=
done
[ -n "$CON_PID" ] || { cat "$T/console.log"; fail "gateconsole did not start"; }

# login FROM_ADDR USER PASSWORD -> the HTTP status
login() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 10 --cacert "$P/ca.crt" \
	    --interface "$1" --resolve "localhost:$PORT:127.0.0.1" \
	    -H "Origin: https://localhost:$PORT" -H "Content-Type: application/json" \
	    -H "Sec-Fetch-Site: same-origin" \
	    --data "{\"user\":\"$2\",\"password\":\"$3\"}" "https://localhost:$PORT/api/login"
}
expect_status() {	# WANT WHAT FROM USER PASS
	want=$1; what=$2; shift 2
	got=$(login "$@")
	[ "$got" = "$want" ] || fail "$what: HTTP $got, want $want ($(cat "$T/body" 2>/dev/null))"
}

expect_status 200 "alice signs in" 127.0.0.1 alice "$A_PASS"

# --- per name: 5 failures, then even the right password waits, from anywhere
for i in 1 2 3 4 5; do expect_status 401 "alice wrong $i" 127.0.0.1 alice "guess$i"; done
expect_status 429 "alice locked (right password)" 127.0.0.1 alice "$A_PASS"
expect_status 429 "alice locked from another address" 127.0.0.2 alice "$A_PASS"
expect_match "$(cat "$T/body")" '"code":"EAGAIN"' "429 body"
expect_status 200 "bob is not locked by alice's failures" 127.0.0.1 bob "$B_PASS"

# --- per address: 20 failures on 20 names from 127.0.0.3 (no name reaches 5)
t0=$(date +%s%N)
for i in $(seq 1 20); do expect_status 401 "spray $i" 127.0.0.3 "user$i" "Winter2026"; done
t1=$(date +%s%N)
expect_status 429 "127.0.0.3 locked, even for bob's right password" 127.0.0.3 bob "$B_PASS"
expect_status 429 "127.0.0.3 locked for a fresh name" 127.0.0.3 user99 "Winter2026"
# a waiting address costs no hashing: a refusal is quicker than a failure
t2=$(date +%s%N)
for i in $(seq 1 10); do expect_status 429 "locked $i" 127.0.0.3 "other$i" x; done
t3=$(date +%s%N)
per_hash=$(( (t1 - t0) / 20 ))
per_refusal=$(( (t3 - t2) / 10 ))
echo "  sign-in failure $((per_hash / 1000000)) ms each, refusal while waiting $((per_refusal / 1000000)) ms each (curl and TLS included)"
[ "$per_refusal" -lt "$per_hash" ] || fail "a refusal while waiting costs as much as a hash"
expect_status 200 "bob from another address" 127.0.0.4 bob "$B_PASS"
expect_status 401 "a spray name from elsewhere is only a wrong password" 127.0.0.4 user1 x

log=$(cat "$T/console.log")
expect_match "$log" "sign-in refused for alice from 127.0.0.2: too many failures from this name" "name lock logged"
expect_match "$log" "sign-in refused for bob from 127.0.0.3: too many failures from this address" "address lock logged"
ctl ping >/dev/null || fail "daemon unaffected"

kill -TERM "$CON_PID"; wait "$CON_PID"; rc=$?; CON_PID=
[ $rc = 0 ] || fail "gateconsole exited with $rc"
grep -q "Sanitizer" "$T/console.log" && { cat "$T/console.log"; fail "sanitizer report in gateconsole"; }
gw_stop
echo "console_login: ok"
