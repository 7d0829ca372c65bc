#!/bin/sh
# Benchmark of the gate console with the optimised gatewayd and
# gateconsole (build/bin), fsync on, journal on the build disk:
#  1. tap to page: a `sim tap` request on the control socket until the
#     row is in the page of a signed-in headless Chromium (and until the
#     frame that paints it starts); tests/console/bench_page.mjs;
#  2. tap-to-unlock p99 (as tests/bench/daemon.sh measures it: one tap at
#     a time over the control socket, but paced at RATE taps/s, since
#     back to back the daemon takes ~2,000 taps/s, far beyond any venue,
#     and the console's fan-out of every record to every page would then
#     be measured in overload) with no console, then with the console and
#     0, 10, 50, 100, 200 signed-in sessions, each holding its own live
#     event stream (tests/console/sse_load.mjs, one node process, not a
#     browser each), then with no console again. Every stream must receive
#     every record of every round. The largest count whose p99 is within
#     10% of the no-console figure is printed. Nothing fails on speed; a
#     stream that misses a record is reported.
# Everything runs on this machine: the tapper, the daemon, the console,
# the browser and the stream holder share its cores (on a real site the
# pages run on tablets); the stream holder runs at nice 19 to stand in for
# them being elsewhere.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
GWD=$ROOT/build/bin/gatewayd
GCTL=$ROOT/build/bin/gatectl
GCON=$ROOT/build/bin/gateconsole
N_PAGE=${N_PAGE:-300}		# taps watched in the browser
N_TAPS=${N_TAPS:-400}		# taps per round of the load bench ...
PASSES=${PASSES:-4}		# ... rounds per level (up, down, up, down)
RATE=${RATE:-200}		# ... at this many a second (0: back to back)
LEVELS=${LEVELS:-"0 10 50 100 200"}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
B=$ROOT/build/bench-console	# on the build disk, not tmpfs ...
# ... unless JOURNAL_DIR says where (e.g. /dev/shm: no disk in the tap path,
# so the console's share of the machine shows without the disk's noise)
J=$B/journal
[ -n "${JOURNAL_DIR:-}" ] && J=$JOURNAL_DIR/bench-console-journal.$$
GW_PID= CON_PID= LOAD_PID=
cleanup() {
	set +e		# a process already gone must not stop the rest
	for p in $LOAD_PID $CON_PID $GW_PID; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$B" "$J"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "console bench: $*" >&2; [ -f "$B/console.log" ] && tail -5 "$B/console.log" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (tools/deps.sh)"
[ -x "$CHROMIUM" ] || die "$CHROMIUM missing (tools/deps.sh)"
if [ ! -f tests/console/node_modules/playwright-core/package.json ]; then
	(cd tests/console && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci"
fi
rm -rf "$B"; mkdir -p "$B"
cp tests/integration/data/* "$B"/
SOCK=$B/gatewayd.sock

# --- a throwaway PKI and one account, made here, gone with $B ---
P=$B/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/ca.key" -out "$P/ca.crt" -days 1 -subj "/CN=bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" 2>/dev/null || die "CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost" \
    2>/dev/null || die "server key"
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$P/ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" \
    -CAcreateserial -days 1 -out "$P/server.crt" -extfile "$P/ext" 2>/dev/null ||
    die "server certificate"
chmod 600 "$P/server.key"
SPKI=$(openssl x509 -in "$P/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
PASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
# the streams' account uses the fewest iterations accepted, so that 200
# sign-ins take seconds rather than a minute; the browser's uses the default
{
	echo "bench staff $(echo "$PASS" | "$GCON" passwd)"
	echo "load  staff $(echo "$PASS" | "$GCON" passwd --iterations 10000)"
} >"$B/users"
chmod 600 "$B/users"

"$GWD" -d -c "$B/gateway.conf" --journal "$J" --socket "$SOCK" 2>"$B/daemon.log" &
GW_PID=$!
i=0
until "$GCTL" --socket "$SOCK" ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && die "gatewayd did not start"; sleep 0.05
done

con_start() {
	for try in 1 2 3 4 5; do
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
		${CON_NICE:+nice -n $CON_NICE} "$GCON" -d -s "$SOCK" -l "127.0.0.1:$PORT" --cert "$P/server.crt" \
		    --key "$P/server.key" --users "$B/users" --assets gateway/console \
		    >"$B/console.log" 2>&1 &
		CON_PID=$!
		i=0
		while ! grep -q "reached: live" "$B/console.log" 2>/dev/null; do
			kill -0 "$CON_PID" 2>/dev/null || break
			i=$((i + 1)); [ $i -gt 100 ] && die "gateconsole never reached gatewayd"
			sleep 0.05
		done
		kill -0 "$CON_PID" 2>/dev/null && return 0
		wait "$CON_PID" 2>/dev/null || true
		CON_PID=
	done
	die "gateconsole did not start"
}
con_stop() { kill -TERM "$CON_PID"; wait "$CON_PID" || true; CON_PID=; }

# taps N FILE -> p99 in ms; every latency appended to FILE: one tap at a
# time, as daemon.sh does, each sent at its slot in a RATE/s schedule (or
# at once if late)
taps() {
	perl -MIO::Socket::UNIX -MTime::HiRes=time,sleep -e '
		my ($path, $n, $rate, $file) = @ARGV;
		my $s = IO::Socket::UNIX->new(Peer => $path) or die "connect: $!";
		my @lat;
		my $start = time;
		for my $i (1 .. $n + 100) {
			if ($rate > 0) {
				my $wait = $start + $i / $rate - time;
				sleep($wait) if $wait > 0;
			}
			my $t0 = time;
			print $s "sim tap front A-" . (1 + $i % 4) . "\n"; $s->flush;
			while (my $l = <$s>) { last if $l =~ /^ok .*unlocked/; die "unexpected: $l" if $l =~ /^(ok|err)/; }
			my $dt = (time - $t0) * 1000;
			push @lat, $dt if $i > 100;	# warm-up
		}
		open(my $f, ">>", $file) or die "$file: $!";
		printf $f "%.4f\n", $_ for @lat;
		@lat = sort { $a <=> $b } @lat;
		printf "%.3f\n", $lat[int(0.99 * (@lat - 1))];
	' "$SOCK" "$1" "$RATE" "$2"
}

con_start
echo "   journal in $J ($(df -P "$(dirname "$J")" | awk 'NR == 2 { print $1 }'))"
echo "== tap to page: $N_PAGE simulated taps until drawn in headless Chromium (release gatewayd and gateconsole)"
CONSOLE_URL="https://localhost:$PORT" GW_SOCK="$SOCK" SPKI="$SPKI" CHROMIUM="$CHROMIUM" \
    BENCH_USER=bench BENCH_PASS="$PASS" N_TAPS="$N_PAGE" \
    timeout 300 node tests/console/bench_page.mjs || die "the page bench failed"
con_stop

# cpu PID -> its user+system CPU time so far, in ms
HZ=$(getconf CLK_TCK)
cpu() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat"; }

echo "== tap-to-unlock with N signed-in console sessions, each with a live event stream ($N_TAPS taps a round, one at a time, $RATE a second)"
echo "   machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=$B/rows
: >"$ROWS"
# round KEY LABEL SESSIONS: one round of taps; its latencies go to
# $B/lat.KEY (rounds with one KEY are pooled), a row to $ROWS
round() {
	g0=$(cpu "$GW_PID"); c0=0; l0=0
	[ -n "$CON_PID" ] && c0=$(cpu "$CON_PID")
	[ -n "$LOAD_PID" ] && l0=$(cpu "$LOAD_PID")
	p99=$(taps "$N_TAPS" "$B/lat.$1")
	g1=$(cpu "$GW_PID"); c1=0; l1=0
	[ -n "$CON_PID" ] && c1=$(cpu "$CON_PID")
	[ -n "$LOAD_PID" ] && l1=$(cpu "$LOAD_PID")
	chk=-
	if [ "$3" != - ] && [ "$3" -gt 0 ]; then
		# the last records reach the streams (a holder behind catches up)
		want=$((N_TAPS + 100))
		_t=0
		while :; do
			set -- "$1" "$2" "$3" $(load counts)
			[ "$6" -ge "$want" ] && break
			_t=$((_t + 1)); [ $_t -gt 100 ] && break
			sleep 0.2
		done
		# $4 "counts", $5 streams, $6 min, $7 max, $8 closed, $9 KiB
		if [ "$5" -eq "$3" ] && [ "$6" -eq "$want" ] && [ "$7" -eq "$want" ] && [ "$8" -eq 0 ]; then chk="all $want, $9 KiB each"
		else chk="NO: $5 streams, $6..$7 of $want records, $8 closed"; fi
	fi
	con=-
	[ -n "$CON_PID" ] && con=$((c1 - c0))
	echo "$1|$2|$3|$((g1 - g0))|$con|$((N_TAPS + 100))|$chk|$((l1 - l0))" >>"$ROWS"
	printf '  %-24s p99 %s ms\n' "$2" "$p99"
	echo "$p99" >>"$B/p99s"
	echo "$1" >>"$B/order"
}

nones() {	# half the passes' worth of no-console rounds
	_p=0
	while [ $_p -lt $(((PASSES + 1) / 2)) ]; do round none "no console" -; _p=$((_p + 1)); done
}
nones

con_start
mkfifo "$B/load.in"
# SCHED_IDLE: the stream holder stands in for tablets elsewhere and yields
# the CPU to anything else that wants it
chrt --idle 0 env CONSOLE_URL="https://localhost:$PORT" CA_FILE="$P/ca.crt" \
    BENCH_USER=load BENCH_PASS="$PASS" node tests/console/sse_load.mjs \
    <"$B/load.in" >"$B/load.out" 2>"$B/load.err" &
LOAD_PID=$!
exec 3>"$B/load.in"
# load CMD -> its answer (the last line of load.out once one more appears)
load() {
	_had=$(wc -l <"$B/load.out")
	echo "$1" >&3
	_w=0
	while [ "$(wc -l <"$B/load.out")" -le "$_had" ]; do
		_w=$((_w + 1)); [ $_w -gt 1200 ] && die "stream holder: no answer to '$1'"
		kill -0 "$LOAD_PID" 2>/dev/null || { cat "$B/load.err" >&2; die "stream holder died"; }
		sleep 0.05
	done
	tail -1 "$B/load.out"
}
# every level PASSES times, going up and coming down in turn (streams
# closed and reopened, sessions kept), so that the machine's drift and
# other people's load during the run weigh on every level alike; a
# level's rounds are pooled. (No console at all is measured before and
# after: stopping the console ends its sessions.)
have=0
SIGNIN=
UP=$LEVELS
DOWN=$(echo $LEVELS | tr ' ' '\n' | sort -rn | tr '\n' ' ')
ORDER=
p=0
while [ $p -lt "$PASSES" ]; do
	if [ $((p % 2)) = 0 ]; then ORDER="$ORDER $UP"; else ORDER="$ORDER $DOWN"; fi
	p=$((p + 1))
done
for n in $ORDER; do
	if [ "$n" -gt "$have" ]; then
		a=$(load "add $((n - have))")
		case "$a" in ready*) ;; *) die "adding sessions: $a" ;; esac
		set -- $a
		[ "$2" = "$n" ] || die "wanted $n streams, have $2"
		[ "$3" = 0.0 ] || SIGNIN="$SIGNIN $3"	# 0.0: streams reopened only
	elif [ "$n" -lt "$have" ]; then
		a=$(load "drop $((have - n))")
		[ "$a" = "dropped $n" ] || die "closing streams: $a"
	fi
	have=$n
	sleep 0.5	# the new streams' snapshot (last 100 records) is in
	load mark >/dev/null
	round "$n" "console, $n sessions" "$n"
done
echo quit >&3
wait "$LOAD_PID" 2>/dev/null || true
LOAD_PID=
exec 3>&-
con_stop
nones

echo
echo "Each level: $PASSES rounds of $N_TAPS taps pooled (going up and coming down in turn). p99 vs none:"
echo "against no console ($PASSES rounds, half first, half last). CPU: milliseconds of CPU per tap (user +"
echo "system, /proc, 1/$HZ s ticks) of gatewayd, gateconsole and the stream holder in those rounds."
echo "The stream holder reads as the records come, SCHED_IDLE, on this machine (on a site the pages"
echo "are on tablets), so its CPU, and the loopback TCP work both ends cause, share the two cores."
perl -e '
	my ($dir, $rows) = @ARGV;
	my (@keys, %lab, %gw, %con, %taps, %chk, %hold);
	open(my $r, "<", $rows) or die;
	while (<$r>) {
		chomp; my ($k, $l, $n, $g, $c, $t, $ck, $h) = split /\|/;
		$hold{$k} += $h;
		push @keys, $k unless exists $lab{$k};
		$lab{$k} = $l; $gw{$k} += $g; $con{$k} += $c eq "-" ? 0 : $c; $taps{$k} += $t;
		$chk{$k} = $ck if !defined $chk{$k} || $ck =~ /^NO/;
	}
	my %p; my @rounds;
	for my $k (@keys) {
		open(my $f, "<", "$dir/lat.$k") or die; my @v = sort { $a <=> $b } map { $_ + 0 } <$f>;
		my $q = sub { $v[int($_[0] / 100 * (@v - 1))] };
		$p{$k} = [ $q->(50), $q->(90), $q->(99), $v[-1], scalar @v ];
	}
	my $ref = $p{none}[2];
	printf "%-22s %7s %7s %7s %7s %8s %7s %7s %7s  %s\n", "consoles", "p50", "p90", "p99", "max", "p99 vs", "gw CPU", "con CPU", "holder", "every stream got every record";
	printf "%-22s %7s %7s %7s %7s %8s %7s %7s %7s\n", "", "ms", "ms", "ms", "ms", "none", "ms/tap", "ms/tap", "ms/tap";
	my $best = "none"; my $cut = 0;
	for my $k (@keys) {
		my $d = ($p{$k}[2] / $ref - 1) * 100;
		printf "%-22s %7.3f %7.3f %7.3f %7.3f %+7.1f%% %7.3f %7s %7s  %s\n", $lab{$k}, @{$p{$k}}[0 .. 3], $d,
		    $gw{$k} / $taps{$k}, $k eq "none" ? "-" : sprintf("%.3f", $con{$k} / $taps{$k}),
		    $k eq "none" ? "-" : sprintf("%.3f", $hold{$k} / $taps{$k}), $chk{$k};
		next if $k eq "none" || $cut;
		if ($d <= 10 && $chk{$k} !~ /^NO/) { $best = $k } else { $cut = 1 }
	}
	printf "largest number of console sessions with tap-to-unlock p99 within 10%% of no console: %s\n", $best;
' "$B" "$ROWS"
echo "p99 of each round in the order run, ms (the spread within a level is the noise of this figure here):"
paste -d' ' "$B/order" "$B/p99s" | awk '{ printf "  %s:%s", $1, $2 } NR % 8 == 0 { print "" } END { if (NR % 8) print "" }' 
echo "sign-in, ms each (TLS handshake and a 10,000-iteration PBKDF2; the client is SCHED_IDLE), per batch:$SIGNIN"
kill -TERM "$GW_PID"; wait "$GW_PID" || true; GW_PID=
