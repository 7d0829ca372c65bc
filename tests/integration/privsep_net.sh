# The network process (issue 6), in the real daemon against a real rsyslog:
#  - from inside the running net process, reading a journal segment,
#    opening a device and creating a file are refused;
#  - it runs under seccomp, no_new_privs, not as root;
#  - the TLS key's text is in no process's memory: not the parent's nor the
#    engine's (they never read it), not the net process's (wiped once
#    parsed);
#  - kill -9 of the net process in the middle of a delivery: the parent
#    journals it and starts another, which resumes from the acknowledged
#    position; the central copy ends complete and intact.
. tests/integration/lib/gw.sh
. tests/integration/lib/central.sh

central_pki
central_start
central_conf

# a journal segment to aim at: the daemon makes the first one at start
child() { pgrep -P "$GW_PID" -f -- "--role $1" | head -1; }
gw_start
gw_stop
seg=$(ls "$T/journal" | grep -v -e state -e snap | head -1)
[ -n "$seg" ] || fail "no journal segment"

export GATEWAYD_SANDBOX_PROBE="open:$T/journal/$seg,open:/dev/null,create:$T/net-evil"
gw_start
unset GATEWAYD_SANDBOX_PROBE
i=0
until [ -n "$(child net)" ] && grep -q "sandbox probe net create" "$T/daemon.log"; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "no sandboxed net process"; sleep 0.1
done
log=$(cat "$T/daemon.log")
expect_match "$log" "sandbox probe net open:$T/journal/$seg: refused" "net reads the journal"
expect_match "$log" "sandbox probe net open:/dev/null: refused" "net opens a device"
expect_match "$log" "sandbox probe net create:$T/net-evil: refused" "net creates a file"
[ ! -e "$T/net-evil" ] || fail "the net process created a file"
net=$(child net)
st=$(cat /proc/"$net"/status)
expect_match "$st" "^Seccomp:[[:space:]]+2" "net under seccomp"
expect_match "$st" "^NoNewPrivs:[[:space:]]+1" "net no_new_privs"
[ "$(id -u)" != 0 ] || expect_no_match "$(grep '^Uid:' /proc/"$net"/status)" \
    "^Uid:[[:space:]]+0[[:space:]]" "net not root"

# the key's text, in nobody's memory
ctl sim flood front A-1 200 >/dev/null || fail "flood"
wait_acked "$(ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p')" 30 ||
    fail "first records not delivered"
mark=$(grep -v -- '-----' "$PKI/gateways/test-gw.key" | sed -n 2p)
[ ${#mark} -ge 40 ] || fail "no key text to look for"
for pid in "$GW_PID" "$(child engine)" "$(child net)"; do
	perl -e '
		my ($pid, $mark) = @ARGV; my $found = 0;
		open(my $maps, "<", "/proc/$pid/maps") or die "maps: $!";
		open(my $mem, "<:raw", "/proc/$pid/mem") or die "mem: $!";
		while (<$maps>) {
			my ($a, $b, $perm, $path) = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/ or next;
			next unless $perm =~ /^r/ && $path !~ /^\[(vvar|vsyscall)\]/;
			my ($lo, $hi) = (hex $a, hex $b);
			next if $hi - $lo > (1 << 30);	# ASan shadow
			seek($mem, $lo, 0) or next; my $buf;
			next unless defined sysread($mem, $buf, $hi - $lo);
			if (index($buf, $mark) >= 0) { $found = 1; last }
		}
		exit($found ? 1 : 0);' "$pid" "$mark" ||
	    fail "the TLS key text is in the memory of pid $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline))"
done

# kill -9 in the middle of a delivery
ctl sim flood lab-door B-1 3000 >/dev/null || fail "flood 2"
victim=$(child net)
kill -9 "$victim"
i=0
until [ -n "$(child net)" ] && [ "$(child net)" != "$victim" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "net process not restarted"; sleep 0.1
done
ctl sim flood front A-2 1000 >/dev/null || fail "flood 3"
last=$(ctl status --json | tr -d '\n' | sed -n 's/.*"journal_durable":\([0-9]*\).*/\1/p')
wait_acked "$last" 60 || { ctl status; fail "not everything delivered after the restart"; }
gw_stop
out=$("$GCTL" audit verify --central "$(central_file)" --gateway test-gw) || fail "central copy: $out"
expect_match "$out" "0 missing, 0 altered, 0 conflicting, 0 chain breaks" "central intact"
expect_match "$("$GCTL" audit export --journal "$T/journal" --format jsonl)" \
    '"type":"restart".*net killed by signal 9' "the restart journaled"
central_stop
echo "privsep_net: ok ($last records delivered across a kill -9 of the net process)"
