# OSDP end to end: gatewayd drives an emulated reader (addr 1) and I/O
# module (addr 2) on a pty over the Secure Channel. A card read becomes a
# decision, the relay is switched and the reader shows it; the passage input
# completes the entry; a door opened without a grant is "forced"; the
# module going silent is "offline" and comes back; a device dropping to
# clear text is refused; a key is installed only by the journaled command.
. tests/integration/lib/gw.sh
EMU_PID=
emu_stop() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; exec 3>&- 2>/dev/null; }
trap 'emu_stop; gw_cleanup' EXIT

cc -std=c17 -D_GNU_SOURCE -I. -O1 tests/osdp/osdp_pd.c drivers/osdp_wire.c \
    drivers/osdp_sc.c -lmbedcrypto -o "$T/osdp_pd" || fail "cannot build the emulator"
K1=0102030405060708090a0b0c0d0e0f10
K2=a1a2a3a4a5a6a7a8a9aaabacadaeafb0
mkfifo "$T/emu.in"
"$T/osdp_pd" "$T/osdp-bus" "1:reader:$K1" "2:io:$K2" <"$T/emu.in" >"$T/emu.log" 2>&1 &
EMU_PID=$!
exec 3>"$T/emu.in"
emu() { echo "$*" >&3; }
wait_log() {	# wait_log FILE REGEX WHAT [tenths]
	i=0
	while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt "${4:-50}" ] && fail "$3: no /$2/ in $1: $(tail -5 "$1")"
		sleep 0.1
	done
}
wait_status() {	# wait_status REGEX WHAT [tenths]
	i=0
	while ! ctl status 2>/dev/null | grep -Eq -- "$1"; do
		i=$((i + 1)); [ $i -gt "${3:-50}" ] && fail "$2: no /$1/ in: $(ctl status 2>&1)"
		sleep 0.1
	done
}
wait_export() {	# wait_export REGEX WHAT: a journaled record, once durable
	i=0
	while ! ctl audit export --format jsonl 2>/dev/null | grep -Eq -- "$1"; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "$2: no /$1/ in the journal"
		sleep 0.1
	done
}
wait_log "$T/emu.log" "^ready" "emulator start"

printf '1 %s\n2 %s\n' $K1 $K2 >"$T/osdp.keys"
chmod 644 "$T/osdp.keys"
echo '123456C0,Osdp Card,visitors,,,legacy,,' >>"$T/creds.csv"
sed -i 's|^gate front .*|osdp-bus bus0 { device "'"$T"'/osdp-bus"; baud 115200; keys "osdp.keys"; }\
gate front { reader osdp "bus0:1"; exit-reader sim; sensors osdp "bus0:2 door=0 rex=1 passage=2"; lock osdp "bus0:2 out=0"; fail safe; }|' "$CONF"

# a key file others can read is refused at start
"$GWD" -d -c "$CONF" --journal "$T/journal" --socket "$SOCK" >"$T/loose.log" 2>&1 &&
    fail "started with a 0644 key file"
grep -q "refused (must be 0600" "$T/loose.log" || fail "no refusal: $(cat "$T/loose.log")"
chmod 600 "$T/osdp.keys"

gw_start
wait_log "$T/emu.log" "SC 1 up with SCBK" "reader secure"
wait_log "$T/emu.log" "SC 2 up with SCBK" "module secure"
wait_log "$T/daemon.log" "osdp bus0:1: PD 0A0B0C model 1 .* SC" "reader identified"
wait_log "$T/daemon.log" "osdp bus0:2: PD 0A0B0C model 2 .*4 in, 2 out" "module identified"
# the lock was told where it stands at start (fail-safe gate: locked = off)
wait_log "$T/emu.log" "OUT 2 0 off" "initial lock state"

# a card: decision, relay on, green LED and a beep, passage completes it
emu card 1 123456C0 26
wait_log "$T/emu.log" "OUT 2 0 on" "relay on after grant"
wait_log "$T/emu.log" "LED 1 color 2" "green LED"
wait_log "$T/emu.log" "BUZ 1 count 1" "one beep"
wait_export '"type":"decision".*"cred":"123456C0".*"decision":"grant"' "grant journaled"
emu input 2 2 1
wait_status "front +locked" "relocked after passage"
emu input 2 2 0
wait_log "$T/emu.log" "OUT 2 0 off" "relay off"
wait_export '"type":"passage".*"cred":"123456C0"' "passage on the card's grant"

# an unknown card: denied, red LED
emu card 1 DEADBEEF 32
wait_log "$T/emu.log" "LED 1 color 1" "red LED"
wait_export '"cred":"DEADBEEF".*"decision":"deny"' "deny journaled"

# the door contact opens with no grant: forced
sleep 0.3
emu input 2 0 1
wait_status "front/door-forced ACTIVE" "forced"
emu input 2 0 0

# the module goes silent: offline after 8 s, back when it answers
emu silent 2 1
sleep 7
expect_no_match "$(ctl status 2>/dev/null)" "front/reader-offline ACTIVE" "offline too early"
wait_status "front/reader-offline ACTIVE" "offline" 40
emu silent 2 0
wait_status "front/reader-offline cleared" "back online" 40

# the reader drops to clear text: refused and alarmed, no tap in clear
emu clear 1
emu card 1 123456C0 26
wait_status "front/device-insecure ACTIVE" "clear text refused"
n=$(ctl audit export --format csv 2>/dev/null | grep -c ',decision,.*123456C0')
[ "$n" = 1 ] || fail "a card read in clear text was decided ($n decisions)"
emu secure 1
wait_status "front/device-insecure cleared" "secure again" 80

# key installation: only by the command, journaled, with the new key on disk
out=$(ctl osdp key-install bus0 1 2>&1) && fail "key-install without a reason"
emu install 1
out=$(ctl osdp key-install bus0 1 --reason "replaced reader" 2>&1) || fail "key-install: $out"
expect_match "$out" "key installation done" "key-install outcome"
wait_log "$T/emu.log" "KEYSET 1 " "KEYSET sent"
newkey=$(sed -n 's/^KEYSET 1 //p' "$T/emu.log")
grep -q "^1 $newkey\$" "$T/osdp.keys" || fail "key file not updated: $(cat "$T/osdp.keys")"
[ "$(stat -c %a "$T/osdp.keys")" = 600 ] || fail "key file mode changed"
wait_export '"type":"osdp-key".*replaced reader' "armed record"
wait_export '"type":"device".*key installation done' "outcome record"

gw_stop
emu quit
echo "osdp: ok"
