# The gate console end to end: a throwaway CA and server certificate made
# here with openssl, an accounts file made with `gateconsole passwd`, the
# sanitized gatewayd and gateconsole, and Debian's headless Chromium driven
# by playwright-core (tests/console/e2e.mjs). Nothing is skipped: what the
# test needs is installed by tools/deps.sh (chromium, nodejs) and by
# `npm ci` below (playwright-core, pinned in tests/console/package-lock.json).
. tests/integration/lib/gw.sh
GCON=${GCON:-$PWD/build/san/bin/gateconsole}
ART=$PWD/build/test-artifacts/console
CON_PID=

con_cleanup() {
	[ -n "$CON_PID" ] && kill -9 "$CON_PID" 2>/dev/null
	if [ -f "$T/gw.pid" ]; then kill -9 "$(cat "$T/gw.pid")" 2>/dev/null; fi
	gw_cleanup
}
trap con_cleanup EXIT

command -v node >/dev/null || fail "node is not installed (tools/deps.sh installs nodejs)"
command -v npm >/dev/null || fail "npm is not installed (tools/deps.sh installs it)"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "$CHROMIUM missing (tools/deps.sh installs chromium)"
if [ ! -f tests/console/node_modules/playwright-core/package.json ]; then
	(cd tests/console && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci"
fi

# --- a throwaway PKI: never committed, gone with $T ---
P=$T/pki
mkdir -p "$P" "$ART"
rm -f "$ART"/*.png
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/ca.key" -out "$P/ca.crt" -days 1 -subj "/CN=gatewayd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" 2>/dev/null || fail "CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost" \
    2>/dev/null || fail "server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$P/ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" \
    -CAcreateserial -days 1 -out "$P/server.crt" -extfile "$P/ext" 2>/dev/null ||
    fail "server certificate"
SPKI=$(openssl x509 -in "$P/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)

# --- accounts: random passwords, hashed by the console's own tool ---
rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
STAFF_PASS=$(rnd)
SUPER_PASS=$(rnd)
{
	echo "# test accounts"
	echo "alice staff $(echo "$STAFF_PASS" | "$GCON" passwd)"
	echo "sam   supervisor,auditor $(echo "$SUPER_PASS" | "$GCON" passwd)"
} >"$T/users"
chmod 644 "$T/users"
out=$("$GCON" -n -s "$SOCK" -l 127.0.0.1:1 --cert "$P/server.crt" --key "$P/server.key" \
    --users "$T/users" --assets gateway/console 2>&1) && fail "accounts readable by others accepted"
expect_match "$out" "chmod 600" "loose accounts file refused"
chmod 600 "$T/users"
chmod 644 "$P/server.key"
out=$("$GCON" -n -s "$SOCK" -l 127.0.0.1:1 --cert "$P/server.crt" --key "$P/server.key" \
    --users "$T/users" --assets gateway/console 2>&1) && fail "readable key accepted"
expect_match "$out" "must not be readable by others" "loose key refused"
chmod 600 "$P/server.key"
out=$("$GCON" -n -s "$SOCK" -l 127.0.0.1:1 --cert "$P/server.crt" --key "$P/server.key" \
    --users "$T/users" --assets gateway/console 2>&1) || fail "gateconsole -n: $out"
expect_match "$out" "2 people" "check mode"

# --- the daemon, restartable from the browser test ---
cat >"$T/restart.sh" <<EOF
case "\$1" in
stop)	kill -TERM \$(cat "$T/gw.pid"); while kill -0 \$(cat "$T/gw.pid") 2>/dev/null; do sleep 0.05; done ;;
start)	"$GWD" -d -c "$CONF" --journal "$T/journal" --socket "$SOCK" >>"$T/daemon.log" 2>&1 &
	echo \$! >"$T/gw.pid"
	i=0; while ! "$GCTL" --socket "$SOCK" ping >/dev/null 2>&1; do
		i=\$((i + 1)); [ \$i -gt 200 ] && exit 1; sleep 0.05; done ;;
esac
EOF
sh "$T/restart.sh" start || fail "gatewayd did not come up"

# --- the console, on a free port ---
for try in 1 2 3 4 5; do
	PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
	"$GCON" -d -s "$SOCK" -l "127.0.0.1:$PORT" --cert "$P/server.crt" \
	    --key "$P/server.key" --users "$T/users" --assets gateway/console \
	    --idle 120 >"$T/console.log" 2>&1 &
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

CONSOLE_URL="https://localhost:$PORT" GCTL="$GCTL" GW_SOCK="$SOCK" ARTIFACTS="$ART" \
    GW_RESTART="$T/restart.sh" SPKI="$SPKI" CA_FILE="$P/ca.crt" CHROMIUM="$CHROMIUM" \
    STAFF_PASS="$STAFF_PASS" SUPER_PASS="$SUPER_PASS" \
    timeout 120 node tests/console/e2e.mjs || { echo "--- console log"; tail -20 "$T/console.log"; fail "browser test (screenshots in $ART)"; }

# --- a clean stop, no sanitizer report from either process ---
kill -TERM "$CON_PID"
wait "$CON_PID"
rc=$?
CON_PID=
[ $rc = 0 ] || fail "gateconsole exited with $rc"
grep -q "Sanitizer" "$T/console.log" && { cat "$T/console.log"; fail "sanitizer report in gateconsole"; }
sh "$T/restart.sh" stop
grep -q "Sanitizer" "$T/daemon.log" && fail "sanitizer report in gatewayd"
echo "console: ok (screenshots in $ART)"
