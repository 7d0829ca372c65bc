# Delegation through the real daemon and its gateway.conf: `role console
# "daemon"` lets a peer carrying that group (here uid 65534, made with
# setpriv, as gateconsole would run) speak for a signed-in person with
# exactly that person's roles; the journal names the person and the
# console's uid; a peer without the group is refused.
. tests/integration/lib/gw.sh
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed"
[ "$(id -u)" = 0 ] || { echo "delegate: needs root to switch users; cannot run"; exit 1; }
CGID=$(getent group daemon | cut -d: -f3)
[ -n "$CGID" ] || fail "no group 'daemon'"
echo 'role console "daemon";' >>"$CONF"
gw_start

# as UID GROUPS REQUEST... -> each request's final line (ok/err), one a line
as() {
	u=$1; g=$2; shift 2
	if [ -n "$g" ]; then gopt=--groups=$g; else gopt=--clear-groups; fi
	setpriv --reuid="$u" --regid=65534 "$gopt" perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => shift @ARGV) or die "connect: $!";
		for my $req (@ARGV) {
			print $s "$req\n"; $s->flush;
			while (my $l = <$s>) { if ($l =~ /^(ok|err)/) { print $l; last } }
		}' "$SOCK" "$@"
}

out=$(as 65534 "$CGID" 'delegate alice staff' 'open front --reason "porter with trolley"' \
    'mode lockdown --reason x' 'delegate root admin' ping)
expect_match "$(echo "$out" | sed -n 1p)" '^ok speaking for alice roles=staff$' "delegate with the console group"
expect_match "$(echo "$out" | sed -n 2p)" '^ok front unlocked once' "delegated open"
expect_match "$(echo "$out" | sed -n 3p)" "^err EPERM 'mode' needs the admin role; uid 65534 has staff$" "delegated staff refused mode"
expect_match "$(echo "$out" | sed -n 4p)" "^err EPERM 'delegate' needs the console role; uid 65534 has staff$" "no second delegate"
expect_match "$(echo "$out" | sed -n 5p)" '^ok pong roles=staff$' "roles replaced"

out=$(as 65534 "" 'delegate mallory admin' 'mode lockdown --reason x')
expect_match "$(echo "$out" | sed -n 1p)" "^err EPERM 'delegate' needs the console role; uid 65534 has auditor$" "no console group, no delegate (nogroup is auditor here)"
expect_match "$(echo "$out" | sed -n 2p)" "^err EPERM 'mode' needs the admin role" "no group, no mode"

out=$(as 65534 "$CGID" 'delegate sam admin' 'mode lockdown --reason "drill at the gate"' 'mode normal --reason "drill over"')
expect_match "$(echo "$out" | sed -n 2p)" '^ok mode lockdown' "delegated supervisor lockdown"

j=$(ctl audit export --format jsonl 2>/dev/null)
expect_match "$(echo "$j" | grep '"type":"open"')" '"actor":"alice via console uid 65534"' "open journaled as alice via the console"
expect_match "$(echo "$j" | grep '"type":"open"')" '"text":"porter with trolley"' "reason journaled"
expect_match "$(echo "$j" | grep '"type":"mode"' | head -1)" '"actor":"sam via console uid 65534"' "mode journaled as sam via the console"
expect_no_match "$j" 'mallory' "a refused delegate leaves no trace in the journal"
expect_match "$(ctl status 2>/dev/null)" "mode normal" "back to normal"
gw_stop
echo "delegate: ok"
