# Roles from the peer's Unix credentials: root is admin; the test conf maps
# staff to group "users" and auditor to group "nogroup". A denied command
# says which role it needs; everything a person changes carries their uid.
. tests/integration/lib/gw.sh
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed"
[ "$(id -u)" = 0 ] || { echo "roles: needs root to switch users; cannot run"; exit 1; }
gw_start

as() { u=$1; g=$2; shift 2; setpriv --reuid="$u" --regid="$g" --clear-groups "$GCTL" --socket "$SOCK" "$@"; }

# uid 4242 exists nowhere: no role at all
out=$(as 4242 4242 status 2>&1); rc=$?
[ $rc = 3 ] || fail "no-role status: exit $rc"
expect_match "$out" "'status' needs the staff role; uid 4242 has none" "no role"
expect_match "$(as 4242 4242 ping 2>&1)" "pong roles=none" "ping needs no role"

# nobody (group nogroup): auditor
out=$(as 65534 65534 muster 2>&1) || fail "auditor muster: $out"
out=$(as 65534 65534 audit export --format csv 2>/dev/null) || fail "auditor export"
expect_match "$out" "^seq,time" "auditor export"
out=$(as 65534 65534 reload 2>&1); rc=$?
[ $rc = 3 ] || fail "auditor reload: exit $rc"
expect_match "$out" "'reload' needs the admin role; uid 65534 has auditor" "auditor reload"
out=$(as 65534 65534 open front --reason x 2>&1)
expect_match "$out" "'open' needs the staff role" "auditor open"
out=$(as 65534 65534 sim tap front A-1 2>&1)
expect_match "$out" "'sim' needs the admin role" "auditor sim"

# nobody running with group users only: staff. Roles follow the groups the
# peer process really has (SO_PEERGROUPS), not what the user database says
# it could have: setpriv --clear-groups dropped nogroup, so no auditor.
out=$(as 65534 100 open front --reason "courier at the gate") || fail "staff open: $out"
out=$(as 65534 100 mode lockdown --reason x 2>&1)
expect_match "$out" "'mode' needs the admin role; uid 65534 has staff$" "staff mode"
out=$(as 65534 100 muster 2>&1); rc=$?
[ $rc = 3 ] || fail "cleared groups keep no auditor role: exit $rc"
expect_match "$(ctl status 2>/dev/null)" "mode normal" "mode unchanged"
j=$(ctl audit export --format jsonl 2>/dev/null | grep '"type":"open"')
expect_match "$j" '"actor":"uid 65534 \(nobody\)"' "actor is the peer's uid"
expect_match "$j" '"text":"courier at the gate"' "reason journaled"
# root is admin
ctl mode lockdown --reason "root may" >/dev/null || fail "root mode"
gw_stop
echo "roles: ok"
