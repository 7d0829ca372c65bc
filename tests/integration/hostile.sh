# Hostile control clients: over-long lines, NUL and control bytes, bad
# quoting, too many words, binary junk, half a request then a hang-up, a
# flood of connections. Each gets an error (or is cut off) on its own
# connection; the daemon and a well-behaved client carry on.
. tests/integration/lib/gw.sh
command -v perl >/dev/null || fail "perl is needed"
gw_start

# send the bytes a perl expression makes; print everything the daemon
# answers until it closes or is quiet for 1s
raw() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
		binmode $s; print $s eval($ARGV[1]); $s->flush;
		my $rin = ""; vec($rin, fileno($s), 1) = 1; my $out = "";
		while (select(my $r = $rin, undef, undef, 1)) {
			last unless sysread($s, my $buf, 65536); $out .= $buf;
		}
		print $out;' "$SOCK" "$1"
}

out=$(raw '"x" x 5000')
expect_match "$out" "^err E2BIG request longer than 4095 bytes; closing" "over-long"
out=$(raw '"status \x01\n"')
expect_match "$out" "^err EINVAL malformed request: control byte 0x01" "control byte"
out=$(raw '"status \"unterminated\n"')
expect_match "$out" "unterminated quote" "bad quote"
out=$(raw 'join(" ", 1..40) . "\n"')
expect_match "$out" "more than 16 words" "too many words"
out=$(raw '"\xff\xfe\x80binary\n"')
expect_match "$out" "unknown command" "binary word"
out=$(raw '"rm -rf /\n"')
expect_match "$out" "^err EINVAL unknown command 'rm'" "unknown command"
out=$(raw '"sim tap front " . ("B" x 200) . "\n"')
expect_match "$out" "badge id must be 1..32 bytes" "long badge"
out=$(raw '"sim tap nowhere A-1\nstatus\n"')
expect_match "$out" "no gate 'nowhere'" "unknown gate"
expect_match "$out" "ok 3 gates" "next request on the same connection"
# half a request, then gone
raw '"sim tap front"' >/dev/null
# a NUL inside a line (perl passes it through)
out=$(perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die; print $s "sta\0tus\n";
	$s->flush; my $l = <$s>; print $l;' "$SOCK")
expect_match "$out" "control byte 0x00" "NUL byte"

# 80 connections at once (the limit is 64): the extra ones are refused,
# the rest served, then all of them go away
perl -MIO::Socket::UNIX -e '
	my @s; for (1..80) { my $c = IO::Socket::UNIX->new(Peer => $ARGV[0]); push @s, $c if $c; }
	select(undef, undef, undef, 0.3);
	my $busy = 0; for my $c (@s) { my $rin = ""; vec($rin, fileno($c), 1) = 1;
		if (select(my $r = $rin, undef, undef, 0)) { my $l = <$c>; $busy++ if defined $l && $l =~ /EBUSY/; } }
	print "busy=$busy\n";' "$SOCK" > "$T/flood.out"
expect_match "$(cat $T/flood.out)" "busy=1[0-9]" "connection limit"

# through all of that, an honest client is served and the daemon lives
kill -0 "$GW_PID" || fail "daemon died"
expect_match "$(ctl sim tap front A-1 2>&1)" "grant permit" "honest client"
out=$(ctl audit verify) || fail "verify after abuse"
gw_stop
echo "hostile: ok"
