#!/bin/sh
# Secure badges (issue 8) through the running daemon: the front gate's
# reader is `nfc` with a DESFire site (key file 0600, made at test time),
# on the PN532 emulator with an emulated DESFire EV1 card (dfemu). The
# badge office issues a blank card with `gatectl card issue`, then:
# genuine -> grant, journaled under the credential id, class secure;
# same UID with another site's keys -> deny auth-failed; a UID-only copy
# of a card whose id is its UID -> deny class-mismatch; an older issue of
# a replaced card -> deny issue-replaced; tampered MAC -> deny auth-failed;
# card leaving mid-authentication -> no decision; key file opened to
# others -> the daemon refuses the configuration in words.
. tests/integration/lib/gw.sh
EMU_PID=
sb_cleanup() {
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null
	gw_cleanup
}
trap sb_cleanup EXIT

cc -std=c17 -D_GNU_SOURCE -I. -O1 -o "$T/dfemu" tests/integration/lib/dfemu_cli.c \
    tests/unit/pn532emu.c tests/unit/desfire_card.c drivers/desfire.c \
    -lmbedcrypto -lpthread || fail "cannot build the DESFire emulator"
mkfifo "$T/emu.in"
"$T/dfemu" <"$T/emu.in" >"$T/emu.out" 2>&1 &
EMU_PID=$!
exec 7>"$T/emu.in"
i=0
until [ -s "$T/emu.out" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "emulator did not start"
	sleep 0.02
done
CONN=$(head -1 "$T/emu.out")
emu() { echo "$*" >&7; sleep 0.05; }

wait_for() {
	i=0
	while ! eval "$1" 2>/dev/null | grep -Eq -- "$2"; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "$3: no /$2/ in: $(eval "$1" 2>&1)"
		sleep 0.05
	done
}

# the site key: random, 0600, never in the log
(umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/site.key")
KEY=$(cat "$T/site.key")
OTHER=00112233445566778899AABBCCDDEEFF
SITE="--key $T/site.key --aid F51234 --sysid testvenue"

# credentials: the optional issue column
sed -i '1s/$/,issue/; 2,$s/$/,/' "$T/creds.csv"
cat >>"$T/creds.csv" <<EOF2
S-1001,Sara Secure,staff,2020-01-01,2099-12-31,secure,,,3
045EC0AABBCC01,Ulla Uid,staff,2020-01-01,2099-12-31,secure,,,
EOF2

# the badge office: a blank card issued through libnfc
emu blank 045EC0AABBCC01
out=$(timeout 20 "$GCTL" card inspect --reader "$CONN" 2>&1) || fail "inspect blank: $out"
expect_match "$out" "applications: none \(blank card\)" "blank card inspected"
out=$(timeout 20 "$GCTL" card issue --reader "$CONN" $SITE --id 045EC0AABBCC01 --issue 1 2>&1) ||
	fail "issue: $out"
expect_match "$out" "issued 045EC0AABBCC01 issue 1" "card issued"
out=$(timeout 20 "$GCTL" card inspect --reader "$CONN" $SITE 2>&1) || fail "inspect: $out"
expect_match "$out" "credential: 045EC0AABBCC01 issue 1 \(authenticated" "issued card inspected"
expect_match "$out" "key versions 0:1 1:1" "diversified keys set"
expect_no_match "$out" "$KEY" "inspect shows no key"
out=$(timeout 20 "$GCTL" card issue --reader "$CONN" $SITE --id X-1 2>&1) &&
	fail "a second issue on the same card succeeded"
expect_match "$out" "not blank" "second issue refused in words"
emu remove

# the daemon with a secure front reader
sed -i "s|^gate front .*|gate front { reader nfc \"$CONN poll=10 backoff=300 desfire=$T/site.key aid=F51234 file=1 key=1 sysid=testvenue\"; exit-reader sim; sensors sim; lock sim; fail safe; }|" "$CONF"
gw_start
csv() { ctl audit export --format csv --gate front 2>/dev/null; }
ndec() { csv | grep -c "$1" || true; }

# the issued card: granted under its credential id
emu put
wait_for csv "045EC0AABBCC01.*grant" "issued card granted"
emu remove
# a genuine card of the site: the id from the card, not its UID
emu genuine 04AAAA00000001 "$KEY" F51234 testvenue S-1001 3
wait_for csv "S-1001.*grant" "genuine card granted"
expect_no_match "$(csv)" "04AAAA00000001" "the UID is not the credential"
emu remove
# a replaced card (issue 2; the list wants 3): denied
emu genuine 04AAAA00000002 "$KEY" F51234 testvenue S-1001 2
wait_for csv "S-1001.*issue-replaced" "old issue denied"
emu remove
# a clone: same UID as the genuine card, another site's keys
emu genuine 04AAAA00000001 "$OTHER" F51234 testvenue S-1001 3
wait_for csv "04AAAA00000001.*auth-failed" "clone denied auth-failed"
grep -q "front nfc: card failed authentication" "$T/daemon.log" || fail "auth failure said in the log"
emu remove
# a UID-only copy of the issued card
emu uidcard 045EC0AABBCC01
wait_for csv "045EC0AABBCC01.*class-mismatch" "UID copy denied class-mismatch"
emu remove
# a tampered MAC on a genuine card
emu genuine 04AAAA00000003 "$KEY" F51234 testvenue S-1001 3
emu fault tamper
emu put
wait_for csv "04AAAA00000003.*auth-failed" "tampered MAC denied"
emu remove
# the card leaves mid-authentication: no decision
n=$(csv | wc -l)
emu fault mute
emu put
sleep 1
[ "$(csv | wc -l)" = "$n" ] || fail "a card gone mid-authentication was decided"
emu fault none
emu put
wait_for "csv | tail -1" "S-1001.*grant" "read once the card answers"
emu remove

grep -q "$KEY" "$T/daemon.log" "$T/journal"/* 2>/dev/null && fail "the site key leaked into the log or journal"
out=$(ctl audit verify) || fail "verify: $out"
gw_stop

# a key file others can read: the configuration is refused, in words
chmod 644 "$T/site.key"
gw_start_refused() {
	"$GWD" -d -c "$CONF" --journal "$T/journal" --socket "$SOCK" >"$T/refused.log" 2>&1 &
	p=$!
	i=0
	while kill -0 $p 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then kill -9 $p; fail "daemon ran with a key file open to others"; fi
		sleep 0.05
	done
	wait $p && fail "daemon exited 0 with a key file open to others"
	grep -q "open to group or others" "$T/refused.log" || fail "refusal not in words: $(cat "$T/refused.log")"
}
gw_start_refused
echo "secure_badges: ok"
