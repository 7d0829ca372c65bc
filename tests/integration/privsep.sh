# Privilege separation (issue 6), from the outside of the real daemon:
#  1. the engine runs sandboxed (seccomp, no_new_privs, another user, an
#     empty root) and cannot open a file: tried from inside the running
#     engine (GATEWAYD_SANDBOX_PROBE, gateway/sandbox.h) and refused;
#  2. the engine cannot open a socket: its filter kills it (SIGSYS), the
#     parent says so, journals the restart, keeps restarting with backoff,
#     raises process-failing after repeated deaths, and meanwhile holds
#     every gate in its configured fail mode (what the sim locks were told);
#  3. an engine that sends a malformed message is ended and replaced; the
#     parent and the journal carry on;
#  4. kill -9 of the engine in the middle of a rush: restarted, every
#     decision a client was told about is in the journal with its seq, the
#     chain verifies, the restart is journaled, the fail-safe gate was
#     unlocked while the engine was away and locked again after.
. tests/integration/lib/gw.sh

for g in front lab-door vault-door; do
	sed -i "s|^\(gate $g .*\)lock sim;|\1lock sim \"log=$T/$g.lock\";|" "$CONF"
done
grep -q "log=$T/front.lock" "$CONF" || fail "conf not rewritten"

engine_pid() { pgrep -P "$GW_PID" -f -- "--role engine" | head -1; }

# start without waiting for an answer (an engine that keeps dying never
# answers); wait for a log line instead
gw_start_bg() {
	env "$@" "$GWD" -d -c "$CONF" --journal "$T/journal" --socket "$SOCK" \
	    >>"$T/daemon.log" 2>&1 &
	GW_PID=$!
}
wait_log() {	# REGEX [tenths]
	i=0
	until grep -Eq -- "$1" "$T/daemon.log"; do
		i=$((i + 1))
		[ $i -gt "${2:-100}" ] && fail "no /$1/ in the daemon log"
		kill -0 "$GW_PID" 2>/dev/null || fail "gatewayd died waiting for /$1/"
		sleep 0.1
	done
}
records() { "$GCTL" audit export --journal "$T/journal" --format jsonl; }

# ---- 1. no files for the engine, checked from inside it ----
seg=$(ls "$T/journal" 2>/dev/null | head -1)
GATEWAYD_SANDBOX_PROBE="open:/etc/passwd,open:$T/site.pol,create:$T/evil" gw_start
pid=$(engine_pid)
[ -n "$pid" ] || fail "no engine process"
st=$(cat /proc/"$pid"/status)
expect_match "$st" "^Seccomp:[[:space:]]+2" "engine under a seccomp filter"
expect_match "$st" "^NoNewPrivs:[[:space:]]+1" "engine no_new_privs"
if [ "$(id -u)" = 0 ]; then
	expect_no_match "$(grep '^Uid:' /proc/"$pid"/status)" "^Uid:[[:space:]]+0[[:space:]]" \
	    "engine not root"
	[ "$(readlink /proc/"$pid"/root)" != / ] || fail "engine not in a chroot"
fi
log=$(cat "$T/daemon.log")
expect_match "$log" "sandbox probe engine open:/etc/passwd: refused" "engine open /etc/passwd"
expect_match "$log" "sandbox probe engine open:$T/site.pol: refused" "engine open the policy"
expect_match "$log" "sandbox probe engine create:$T/evil: refused" "engine create a file"
[ ! -e "$T/evil" ] || fail "the engine created a file"
# and still does its work
out=$(ctl sim tap lab-door A-1 2>&1) || fail "tap in a sandboxed engine: $out"
expect_match "$out" "grant permit seq=[0-9]+ unlocked" "grant through the sandbox"
# a reload reads the policy through the parent
out=$(ctl reload 2>&1) || fail "reload from a sandboxed engine: $out"
gw_stop

# ---- 2. no sockets: the filter kills, the parent restarts ----
: >"$T/front.lock"; : >"$T/lab-door.lock"
gw_start_bg GATEWAYD_SANDBOX_PROBE=socket-inet
wait_log "engine killed by signal 31 \(Bad system call: its sandbox refused"
# repeated deaths: restarts with backoff (100, 200, 400 ms), then the alarm
i=0
until records 2>/dev/null | grep -q '"type":"alarm".*process-failing'; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "no process-failing alarm"; sleep 0.1
done
n=$(records | grep -c '"type":"restart".*engine killed by signal 31')
[ "$n" -ge 3 ] || fail "expected >= 3 journaled restarts, got $n"
# while it is down: fail safe unlocked, fail secure locked
[ "$(tail -1 "$T/front.lock")" = unlock ] || fail "front (fail safe) not unlocked while the engine is down"
[ "$(tail -1 "$T/lab-door.lock")" = lock ] || fail "lab-door (fail secure) not locked while the engine is down"
kill -TERM "$GW_PID"; wait "$GW_PID"; rc=$?; GW_PID=
[ $rc = 0 ] || fail "parent exited with $rc after stopping a dying engine"
expect_no_match "$(cat "$T/daemon.log")" "Sanitizer" "sanitizer report"
"$GCTL" audit verify --journal "$T/journal" >/dev/null || fail "journal after the restarts"

# ---- 3. a malformed message ends the sender, not the parent ----
gw_start_bg GATEWAYD_SANDBOX_PROBE=garbage:3
wait_log "engine \(pid [0-9]+\): a 3-byte message is shorter than a header: ended"
wait_log "engine ended by the parent: a 3-byte message"
kill -0 "$GW_PID" || fail "the parent died of a malformed message"
kill -TERM "$GW_PID"; wait "$GW_PID"; rc=$?; GW_PID=
[ $rc = 0 ] || fail "parent exited with $rc"
expect_match "$(records)" '"type":"restart".*engine ended by the parent: a 3-byte' \
    "restart after the malformed message journaled"
"$GCTL" audit verify --journal "$T/journal" >/dev/null || fail "journal after garbage"

# ---- 4. kill -9 of the engine in the middle of a rush ----
gw_start
: >"$T/told"
(
	for k in $(seq 1 300); do
		ctl sim tap lab-door A-1 2>&1 | grep -o 'seq=[0-9]*' >>"$T/told"
	done
) &
rush=$!
i=0
while [ "$(wc -l <"$T/told")" -lt 40 ]; do
	i=$((i + 1)); [ $i -gt 300 ] && fail "rush did not start"; sleep 0.05
done
before=$(cat "$T/front.lock")
victim=$(engine_pid)
kill -9 "$victim"
wait_log "engine killed by signal 9"
# back: a new engine answers
i=0
until ctl ping >/dev/null 2>&1 && [ "$(engine_pid)" != "$victim" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "engine not restarted"; sleep 0.05
done
wait $rush
after=$(cat "$T/front.lock")
# the fail-safe gate: unlocked when the engine died, locked by the new one
[ "$after" = "$(printf '%s\nunlock\nlock' "$before")" ] ||
    fail "front lock while the engine was away: before [$before] after [$after]"
out=$(ctl sim tap lab-door A-1 2>&1)
expect_match "$out" "seq=[0-9]+" "decisions after the restart"
gw_stop
recs=$(records)
told=$(sort -u "$T/told" | wc -l)
[ "$told" -ge 40 ] || fail "only $told decisions were told"
for s in $(sed 's/seq=//' "$T/told"); do
	printf '%s\n' "$recs" | grep -q "\"seq\":$s,.*\"type\":\"decision\"" ||
	    fail "decision seq $s told to a client is not in the journal"
done
expect_match "$recs" '"type":"restart".*engine killed by signal 9' "restart journaled"
expect_match "$recs" '"type":"start".*engine restarted' "the new engine's start"
"$GCTL" audit verify --journal "$T/journal" >/dev/null || fail "chain after kill -9"
echo "ok: $told decisions told during the rush, all journaled; engine sandboxed, restarted, replaced"
