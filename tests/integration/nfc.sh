#!/bin/sh
# Real libnfc under the running daemon: two PN532 emulators on ptys (the C
# fixture in tests/unit/pn532emu.c, as a process), checked first against
# libnfc's own nfc-list; then the front and lab-door readers are `nfc`:
# a card on the reader -> decision journaled -> lock unlocked; a card held
# is one tap; a UID-only read is legacy (a secure badge read so is
# refused); a reader unplugged raises reader-offline, the other gate still
# works, and the alarm clears when it is back. Hard timeouts throughout.
. tests/integration/lib/gw.sh
EMU_PIDS=
nfc_cleanup() {
	for p in $EMU_PIDS; do kill "$p" 2>/dev/null; done
	gw_cleanup
}
trap nfc_cleanup EXIT

cc -std=c17 -D_GNU_SOURCE -I. -O1 -o "$T/pn532emu" \
    tests/integration/lib/pn532emu_cli.c tests/unit/pn532emu.c -lpthread ||
	fail "cannot build the emulator"

# emu N: start emulator N, commands through fd 7+N, connstring in $CONN_N
emu_start() {
	mkfifo "$T/emu$1.in"
	"$T/pn532emu" <"$T/emu$1.in" >"$T/emu$1.out" 2>&1 &
	EMU_PIDS="$EMU_PIDS $!"
	eval "exec $((6 + $1))>\"\$T/emu$1.in\""
	i=0
	until [ -s "$T/emu$1.out" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "emulator $1 did not start"
		sleep 0.02
	done
	eval "CONN_$1=\$(head -1 \"\$T/emu$1.out\")"
}
emu() { n=$1; shift; echo "$*" >&$((6 + n)); sleep 0.05; }

# wait_for CMD REGEX WHAT: up to 5 s for the output of CMD to match
wait_for() {
	i=0
	while ! eval "$1" 2>/dev/null | grep -Eq -- "$2"; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "$3: no /$2/ in: $(eval "$1" 2>&1)"
		sleep 0.05
	done
}

emu_start 1
emu_start 2

# the emulator itself, against libnfc's own tool
emu 1 card 04A1B2C3D4E5F6 0344 20 7577810280
out=$(LIBNFC_AUTO_SCAN=false LIBNFC_DEVICE="$CONN_1" timeout 10 nfc-list 2>&1) ||
	fail "nfc-list: $out"
expect_match "$out" "1 ISO14443A passive target" "nfc-list sees one card"
expect_match "$out" "UID \(NFCID1\): 04  a1  b2  c3  d4  e5  f6" "nfc-list UID"
expect_match "$out" "ATS: 75  77  81  02  80" "nfc-list ATS"
emu 1 remove

# two UID badges: one legacy, one secure (a UID read cannot prove it)
cat >>"$T/creds.csv" <<EOF
04A1B2C3D4E5F6,Nina Card,staff,2020-01-01,2099-12-31,legacy,,
DEADBEEF,Sam Secure,staff,2020-01-01,2099-12-31,secure,,
EOF
sed -i "s|^gate front .*|gate front { reader nfc \"$CONN_1 poll=10 backoff=300\"; exit-reader sim; sensors sim; lock sim; fail safe; }|" "$CONF"
sed -i "s|^gate lab-door .*|gate lab-door { reader nfc \"$CONN_2 poll=10 backoff=300\"; exit-reader sim; sensors sim; lock sim; fail secure; }|" "$CONF"
gw_start

decisions() { ctl audit export --format csv 2>/dev/null | grep -c "$1" || true; }

# a card on the front reader: decided, journaled, lock commanded
emu 1 card 04A1B2C3D4E5F6 0344 20 7577810280
wait_for "ctl audit export --format csv --gate front" "04A1B2C3D4E5F6.*grant" "grant journaled"
expect_match "$(ctl status)" "front +unlocked" "front unlocked by the card"
# held for a second: still one decision
sleep 1
n=$(ctl audit export --format jsonl --badge 04A1B2C3D4E5F6 2>/dev/null | grep -c '"type":"decision"')
[ "$n" = 1 ] || fail "a held card made $n decisions"
emu 1 remove

# a secure badge read by UID only is legacy: refused
emu 2 card DEADBEEF 0004 08
wait_for "ctl audit export --format csv --gate lab-door" "DEADBEEF.*deny" "legacy read refused"
expect_match "$(ctl audit export --format csv --gate lab-door 2>/dev/null)" "class-mismatch" "class mismatch"
emu 2 remove

# front reader unplugged: alarm, the lab door still reads
emu 1 unplug
wait_for "ctl status" "front/reader-offline ACTIVE" "offline alarm"
# said by the next reader process, which tries to open it (the lost one,
# in its sandbox, cannot look)
wait_for "cat '$T/daemon.log'" "front nfc: offline: .*No such file" "offline said in words"
emu 2 card 04A1B2C3D4E5F6 0344 20 7577810280
wait_for "ctl audit export --format csv --gate lab-door" "04A1B2C3D4E5F6" "other gate unaffected"
emu 2 remove
emu 1 replug
wait_for "ctl status" "front/reader-offline cleared" "alarm cleared on reconnect"
emu 1 card 04A1B2C3D4E5F6 0344 20 7577810280
# the badge was decided at front once before the unplug: wait for the
# second decision itself, not for any line that already matched
i=0
while :; do
	n=$(ctl audit export --format jsonl --badge 04A1B2C3D4E5F6 --gate front 2>/dev/null | grep -c '"type":"decision"')
	[ "$n" -ge 2 ] && break
	i=$((i + 1)); [ $i -gt 200 ] && fail "tap after reconnect: still $n front decisions"
	sleep 0.05
done
sleep 0.3	# a held card must stay one tap
n=$(ctl audit export --format jsonl --badge 04A1B2C3D4E5F6 --gate front 2>/dev/null | grep -c '"type":"decision"')
[ "$n" = 2 ] || fail "expected 2 front decisions, got $n"

# a reader that answers garbage: no decision, said once
emu 1 remove
said=$(grep -c "front nfc: garbled answer" "$T/daemon.log")
emu 1 fault checksum 4a
emu 1 card 0A0B0C0D 0004 08
sleep 1
[ "$(decisions 0A0B0C0D)" = 0 ] || fail "garbage made a decision"
n=$(($(grep -c "front nfc: garbled answer" "$T/daemon.log") - said))
[ "$n" = 1 ] || fail "garbage said $n times"
emu 1 fault none

out=$(ctl audit verify) || fail "verify: $out"
gw_stop
echo "nfc: ok"
