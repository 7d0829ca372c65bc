#!/bin/sh
# Benchmark through the real (optimised) daemon, fsync on, journal on disk:
#  1. tap-to-unlock latency: a `sim tap` request in, the decision made, the
#     record durable (fdatasync), the lock commanded, the answer out —
#     measured by a client over the control socket, one tap at a time;
#  2. sustained durable events/s with group commit: `sim flood` puts N taps
#     through the same path at once and answers when all are durable.
# Targets on this machine: p99 <= 5 ms, >= 20,000 events/s.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GWD=$ROOT/build/bin/gatewayd
GCTL=$ROOT/build/bin/gatectl
N_LAT=${N_LAT:-3000}
N_FLOOD=${N_FLOOD:-100000}
B=$ROOT/build/bench-daemon		# on the build disk, not tmpfs
rm -rf "$B"; mkdir -p "$B"
cp "$ROOT"/tests/integration/data/* "$B"/
SOCK=$B/gatewayd.sock
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$B"; }
trap cleanup EXIT
trap 'exit 1' INT TERM


# The daemon before the process split (issue 6), built from git at the
# commit PREV (default: the last one with the single-process daemon), so
# that the split's cost is measured in the same run, on the same disk.
PREV=${PREV:-5da5e92}
PB=$ROOT/build/bench-prev
if [ "${SPLIT_COMPARE:-1}" = 1 ] && git -C "$ROOT" cat-file -e "$PREV^{commit}" 2>/dev/null; then
	if [ ! -x "$PB/src/build/bin/gatewayd" ] || [ "$(cat "$PB/commit" 2>/dev/null)" != "$PREV" ]; then
		echo "== building the single-process daemon of $PREV for comparison"
		rm -rf "$PB"; mkdir -p "$PB/src"
		git -C "$ROOT" archive "$PREV" | tar -x -C "$PB/src"
		make -C "$PB/src" -j2 Q=@ build/bin/gatewayd build/bin/gatectl >/dev/null
		echo "$PREV" > "$PB/commit"
	fi
	VARIANTS="before after"
else
	echo "(no comparison: commit $PREV not in this clone or SPLIT_COMPARE=0)"
	VARIANTS="after"
fi

echo "== the disk alone: 300-byte append + fsync, 1000 times (the floor under every tap)"
perl -MTime::HiRes=time -MIO::Handle -e '
	open(my $f, ">", $ARGV[0]) or die "$ARGV[0]: $!"; my @l;
	for (1 .. 1000) { my $t = time; syswrite($f, "x" x 300); $f->sync; push @l, (time - $t) * 1000; }
	@l = sort { $a <=> $b } @l;
	printf "fsync ms: p50 %.3f  p99 %.3f  max %.3f\n", $l[499], $l[989], $l[-1];
	unlink $ARGV[0];' "$B/fsync.probe"

# measure VARIANT ROUND: latency and flood through one daemon, fresh journal
measure() {
	if [ "$1" = before ]; then d=$PB/src/build/bin/gatewayd; c=$PB/src/build/bin/gatectl
	else d=$GWD; c=$GCTL; fi
	rm -rf "$B/journal"
	"$d" -d -c "$B/gateway.conf" --journal "$B/journal" --socket "$SOCK" 2> "$B/log" &
	PID=$!
	i=0
	until "$c" --socket "$SOCK" ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && { cat "$B/log"; exit 1; }; sleep 0.05
	done
	echo "== $1 the split (round $2): tap-to-unlock latency ($N_LAT taps, one at a time, fsync on)"
	perl -MIO::Socket::UNIX -MTime::HiRes=time -e '
		my ($path, $n, $out) = @ARGV;
		my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
		my @lat; my $unlocked = 0;
		for my $i (1 .. $n + 100) {
			my $t0 = time;
			print $s "sim tap front A-" . (1 + $i % 4) . "\n"; $s->flush;
			my $ok;
			while (my $l = <$s>) { if ($l =~ /^ok (.*)/) { $ok = $1; last } die "error: $l" if $l =~ /^err/; }
			my $dt = (time - $t0) * 1000;
			next if $i <= 100;		# warm-up
			push @lat, $dt; $unlocked++ if $ok =~ /unlocked/;
		}
		@lat = sort { $a <=> $b } @lat;
		my $pct = sub { $lat[int($_[0] / 100 * (@lat - 1))] };
		printf "taps %d, unlocked %d\n", scalar @lat, $unlocked;
		printf "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		    $pct->(50), $pct->(90), $pct->(99), $lat[-1];
		printf "target p99 <= 5 ms: %s\n", $pct->(99) <= 5 ? "met" : "NOT met";
		open(my $f, ">>", $out) or die; printf $f "%.3f %.3f\n", $pct->(50), $pct->(99);
	' "$SOCK" "$N_LAT" "$B/lat.$1"
	echo "== $1 the split (round $2): sustained durable events/s ($N_FLOOD taps at once, group commit)"
	out=$("$c" --socket "$SOCK" sim flood front A-1 "$N_FLOOD")
	echo "$out"
	rate=$(echo "$out" | sed -n 's/.*: \([0-9]*\) events\/s.*/\1/p')
	echo "${rate:-0}" >> "$B/rate.$1"
	if [ -n "$rate" ] && [ "$rate" -ge 20000 ]; then echo "target >= 20,000 events/s: met"
	else echo "target >= 20,000 events/s: NOT met"; fi
	"$c" --socket "$SOCK" audit verify
	kill -TERM "$PID"; wait "$PID" || true; PID=
}
rm -f "$B"/lat.* "$B"/rate.*
ROUNDS=${ROUNDS:-3}
round=1
while [ $round -le "$ROUNDS" ]; do
	for v in $VARIANTS; do measure "$v" "$round"; done
	round=$((round + 1))
done
if [ "$VARIANTS" != after ]; then
	echo "== the split's cost (median of $ROUNDS interleaved rounds each; limit: +20% at p99)"
	perl -e '
		# the median: a busy moment on a shared machine moves one round
		sub mean { my ($f, $k) = @_; open(my $h, "<", $f) or die "$f: $!"; my @v;
			while (<$h>) { my @x = split; push @v, $x[$k] } @v = sort { $a <=> $b } @v;
			return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2 }
		my ($b) = @ARGV;
		my ($p50b, $p50a) = (mean("$b/lat.before", 0), mean("$b/lat.after", 0));
		my ($p99b, $p99a) = (mean("$b/lat.before", 1), mean("$b/lat.after", 1));
		my ($rb, $ra) = (mean("$b/rate.before", 0), mean("$b/rate.after", 0));
		printf "tap-to-unlock p50: %.3f -> %.3f ms (%+.0f%%)\n", $p50b, $p50a, 100 * ($p50a / $p50b - 1);
		printf "tap-to-unlock p99: %.3f -> %.3f ms (%+.0f%%): %s\n", $p99b, $p99a,
		    100 * ($p99a / $p99b - 1), $p99a <= 1.2 * $p99b ? "within +20%" : "OVER +20%";
		printf "durable events/s: %.0f -> %.0f (%+.0f%%)\n", $rb, $ra, 100 * ($ra / $rb - 1);
	' "$B"
fi
rm -rf "$B/journal"

echo "== restart after kill -9: time until it answers again (state rebuilt from a snapshot + the journal's tail, or from the whole journal)"
# A bigger journal shows the difference (BIG=0 skips; every flood is
# durable group-committed taps, ~20,000/s, so 1,000,000 takes ~50 s).
BIG=${BIG:-1000000}
gw_up() {
	"$GWD" -d -c "$B/gateway.conf" --journal "$B/journal" --socket "$SOCK" 2>> "$B/log" &
	PID=$!
	until "$GCTL" --socket "$SOCK" ping >/dev/null 2>&1; do sleep 0.005; done
}
restart() {		# $1: what; the daemon is down
	t0=$(date +%s%N)
	gw_up
	t1=$(date +%s%N)
	l=$(grep 'gatewayd started' "$B/log" | tail -1)
	n=$(echo "$l" | sed -n 's/.*rebuilt from \([0-9]*\) records.*/\1/p')
	s=$(echo "$l" | sed -n 's/.*after the state snapshot at seq \([0-9]*\).*/\1/p')
	echo "restart $1: $(( (t1 - t0) / 1000000 )) ms to answer, $n records replayed${s:+ after the snapshot at seq $s}"
}
gw_up
seq=$("$GCTL" --socket "$SOCK" status --json | sed -n 's/.*"journal_seq":\([0-9]*\).*/\1/p')
while [ "$BIG" -gt 0 ] && [ "$seq" -lt "$BIG" ]; do
	n=$((BIG - seq)); [ $n -gt 500000 ] && n=500000
	"$GCTL" --socket "$SOCK" sim flood front A-2 $n > /dev/null
	seq=$("$GCTL" --socket "$SOCK" status --json | sed -n 's/.*"journal_seq":\([0-9]*\).*/\1/p')
done
echo "journal: $seq records, $(du -sh "$B/journal" | cut -f1); state snapshot every 50,000 durable records"
grep 'state snapshot at seq' "$B/log" | tail -2 | sed 's/^/  /'
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
restart "after kill -9, with the snapshot"
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
rm -f "$B/journal/state.snap"
restart "after kill -9, snapshot deleted (the whole journal)"
kill -TERM "$PID"; wait "$PID" || true; PID=
restart "after a clean stop (snapshot written at the stop)"
kill -TERM "$PID"; wait "$PID" || true; PID=
