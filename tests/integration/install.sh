# make install into a DESTDIR: the files where they belong with their modes;
# the installed gatewayd checks the installed example configuration; the
# sysusers.d and tmpfiles.d snippets applied to that root make the user and
# the directories; systemd-analyze accepts both units; a second install
# leaves an admin's configuration alone; PREFIX=/usr/local moves everything
# including the unit's paths; uninstall removes what install put in place
# and nothing of /etc/gatewayd. Installs the release binaries of build/bin
# (make check builds them) and never compiles.
set -u
T=$(mktemp -d /tmp/gwinst.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
D=$T/root
MK="make --no-print-directory -s"

$MK install DESTDIR="$D" PREFIX=/usr >"$T/install.out" 2>&1 ||
    { cat "$T/install.out"; fail "make install"; }
grep -q "installed an example /etc/gatewayd/gateway.conf" "$T/install.out" ||
    { cat "$T/install.out"; fail "no example gateway.conf said"; }

# mode PATH WANT
mode() {
	[ -e "$D$1" ] || fail "$1 not installed"
	m=$(stat -c %a "$D$1")
	[ "$m" = "$2" ] || fail "$1: mode $m, wanted $2"
}
mode /usr/sbin/gatewayd 755
mode /usr/sbin/gateconsole 755
mode /usr/bin/gatectl 755
for p in docs/man/*.5; do mode /usr/share/man/man5/${p##*/} 644; done
for p in docs/man/*.8; do mode /usr/share/man/man8/${p##*/} 644; done
n5=$(ls "$D"/usr/share/man/man5 | wc -l); n8=$(ls "$D"/usr/share/man/man8 | wc -l)
[ "$n5" -ge 2 ] && [ "$n8" -ge 2 ] || fail "man pages: $n5 in man5, $n8 in man8"
mode /lib/systemd/system/gatewayd.service 644
mode /lib/systemd/system/gateconsole.service 644
mode /usr/lib/sysusers.d/gatewayd.conf 644
mode /usr/lib/tmpfiles.d/gatewayd.conf 644
for a in index.html console.js console.css; do mode /usr/share/gatewayd/console/$a 644; done
mode /usr/share/doc/gatewayd/examples/hospital/hospital.pol 644
mode /usr/share/doc/gatewayd/examples/stadium/gateway.conf 644
mode /usr/share/doc/gatewayd/install.md 644
mode /etc/gatewayd/gateway.conf 644
mode /etc/gatewayd/hospital.pol 640
mode /etc/gatewayd/staff.csv 640
# the very binaries make built, not others
cmp -s build/bin/gatewayd "$D/usr/sbin/gatewayd" || fail "installed gatewayd is not build/bin/gatewayd"
cmp -s build/bin/gatectl "$D/usr/bin/gatectl" || fail "installed gatectl is not build/bin/gatectl"

# the unit's paths are the installed ones
grep -qx 'ExecStartPre=/usr/sbin/gatewayd -n -c /etc/gatewayd/gateway.conf' "$D/lib/systemd/system/gatewayd.service" ||
    fail "gatewayd.service: ExecStartPre"
grep -qx 'ExecStart=/usr/sbin/gatewayd -c /etc/gatewayd/gateway.conf' "$D/lib/systemd/system/gatewayd.service" ||
    fail "gatewayd.service: ExecStart"
grep -q -- '--assets /usr/share/gatewayd/console$' "$D/lib/systemd/system/gateconsole.service" ||
    fail "gateconsole.service: --assets"
! grep -qE '@[A-Z]+@' "$D"/lib/systemd/system/*.service || fail "a @VARIABLE@ left in a unit"

# the installed daemon checks the installed configuration (what the unit's
# ExecStartPre runs), socket under /run/gatewayd where the unit may write
out=$("$D/usr/sbin/gatewayd" -n -c "$D/etc/gatewayd/gateway.conf" 2>"$T/n.err") ||
    { cat "$T/n.err"; fail "gatewayd -n on the installed gateway.conf"; }
printf '%s\n' "$out" | grep -q "^configuration $D/etc/gatewayd/gateway.conf: ok" ||
    { echo "$out"; fail "gatewayd -n: no ok"; }
printf '%s\n' "$out" | grep -q "socket /run/gatewayd/gatewayd.sock" ||
    { echo "$out"; fail "the installed gateway.conf's socket is not under /run/gatewayd"; }
printf '%s\n' "$out" | grep -q "all [0-9]* tests passed" || { echo "$out"; fail "gatewayd -n: tests"; }

# the installed gateconsole finds the installed assets with the unit's
# arguments (a throwaway certificate and account)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$T/c.key" -out "$T/c.crt" >/dev/null 2>&1 || fail "openssl"
chmod 600 "$T/c.key"
h=$(echo "pw-for-install-test" | "$D/usr/sbin/gateconsole" passwd --iterations 10000) || fail "gateconsole passwd"
printf 'alice staff %s\n' "$h" >"$T/users"; chmod 600 "$T/users"
"$D/usr/sbin/gateconsole" -n -c "$D/etc/gatewayd/gateway.conf" -l 127.0.0.1:0 --cert "$T/c.crt" \
    --key "$T/c.key" --users "$T/users" --assets "$D/usr/share/gatewayd/console" >"$T/gc.out" 2>&1 ||
    { cat "$T/gc.out"; fail "gateconsole -n with the installed assets"; }

# the snippets, applied to the DESTDIR: user gatewayd without a shell or
# home, the console's user in the console group; the directories
mkdir -p "$D/etc"
systemd-sysusers --root="$D" >"$T/su.out" 2>&1 || { cat "$T/su.out"; fail "systemd-sysusers"; }
grep -Eq '^gatewayd:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' "$D/etc/passwd" ||
    { cat "$D/etc/passwd"; fail "sysusers: user gatewayd"; }
uid=$(awk -F: '$1 == "gatewayd" { print $3 }' "$D/etc/passwd")
[ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "gatewayd uid $uid is not a system uid"
grep -Eq '^gate-console:x:[0-9]+:(.*,)?gateconsole(,.*)?$' "$D/etc/group" ||
    { cat "$D/etc/group"; fail "sysusers: gateconsole in gate-console"; }
systemd-tmpfiles --root="$D" --create >"$T/tf.out" 2>&1 || { cat "$T/tf.out"; fail "systemd-tmpfiles"; }
for d in /var/lib/gatewayd:750 /var/lib/gatewayd/journal:750 /run/gatewayd:755 /run/gatewayd/empty:755; do
	p=${d%:*}; [ -d "$D$p" ] || fail "tmpfiles: $p not made"
	[ "$(stat -c '%a %U' "$D$p")" = "${d#*:} root" ] || fail "tmpfiles: $p is $(stat -c '%a %U' "$D$p")"
done
[ "$(readlink "$D/run/gatewayd.sock")" = /run/gatewayd/gatewayd.sock ] || fail "tmpfiles: /run/gatewayd.sock link"

# systemd-analyze verify: it checks that the commands exist, so it reads a
# copy whose /usr/sbin points into the DESTDIR; any output is a finding
mkdir "$T/units"
for u in gatewayd gateconsole; do
	sed "s|/usr/sbin/|$D/usr/sbin/|g" "$D/lib/systemd/system/$u.service" >"$T/units/$u.service"
done
out=$(systemd-analyze verify --man=no "$T/units/gatewayd.service" "$T/units/gateconsole.service" 2>&1) ||
    { echo "$out"; fail "systemd-analyze verify"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify printed the above"; }
# and it does find a broken unit (so the check above can fail)
sed 's/^KillMode=mixed/KillMode=mixd/' "$T/units/gatewayd.service" >"$T/units/broken.service"
out=$(systemd-analyze verify --man=no "$T/units/broken.service" 2>&1)
printf '%s' "$out" | grep -q "kill mode" || { echo "$out"; fail "systemd-analyze did not see a bad KillMode"; }
exp=$(systemd-analyze security --offline=yes "$T/units/gatewayd.service" 2>/dev/null | sed -n 's/.*Overall exposure level for gatewayd.service: //p')
echo "systemd-analyze security: gatewayd.service exposure $exp"

# the installed pages render
MANWIDTH=80 man -l "$D/usr/share/man/man8/gatewayd.8" 2>&1 | grep -q "^SIGNALS" || fail "installed gatewayd.8 does not render"

# a second install keeps an admin's configuration
echo "# the admin's own line" >>"$D/etc/gatewayd/gateway.conf"
cp "$D/etc/gatewayd/gateway.conf" "$T/conf.before"
$MK install DESTDIR="$D" PREFIX=/usr >"$T/install2.out" 2>&1 || { cat "$T/install2.out"; fail "second make install"; }
cmp -s "$T/conf.before" "$D/etc/gatewayd/gateway.conf" || fail "a second install changed gateway.conf"
grep -q "gateway.conf exists: left as it is" "$T/install2.out" || { cat "$T/install2.out"; fail "second install: no word on the conf"; }

# uninstall: what install put down is gone; /etc/gatewayd and what the
# snippets made (users, journal directory) stay
$MK uninstall DESTDIR="$D" PREFIX=/usr >"$T/uninstall.out" 2>&1 || { cat "$T/uninstall.out"; fail "make uninstall"; }
left=$(cd "$D" && find . -type f ! -path './etc/*' ! -path './var/*' ! -path './run/*' | sort)
[ -z "$left" ] || { echo "$left"; fail "uninstall left files"; }
[ -f "$D/etc/gatewayd/gateway.conf" ] || fail "uninstall removed /etc/gatewayd/gateway.conf"
[ -d "$D/var/lib/gatewayd/journal" ] || fail "uninstall removed the journal directory"

# PREFIX=/usr/local: binaries, unit and its paths follow
D2=$T/local
$MK install DESTDIR="$D2" PREFIX=/usr/local >"$T/install3.out" 2>&1 || { cat "$T/install3.out"; fail "make install PREFIX=/usr/local"; }
[ -x "$D2/usr/local/sbin/gatewayd" ] || fail "PREFIX=/usr/local: no sbin/gatewayd"
grep -qx 'ExecStart=/usr/local/sbin/gatewayd -c /etc/gatewayd/gateway.conf' \
    "$D2/usr/local/lib/systemd/system/gatewayd.service" || fail "PREFIX=/usr/local: unit path or ExecStart"
[ -f "$D2/usr/local/lib/sysusers.d/gatewayd.conf" ] || fail "PREFIX=/usr/local: sysusers.d"
$MK uninstall DESTDIR="$D2" PREFIX=/usr/local >/dev/null 2>&1 || fail "uninstall PREFIX=/usr/local"
left=$(cd "$D2" && find . -type f ! -path './etc/*' | sort)
[ -z "$left" ] || { echo "$left"; fail "uninstall (/usr/local) left files"; }
echo "install: layout, modes, gatewayd -n, gateconsole -n, sysusers, tmpfiles, systemd-analyze verify, conf kept, uninstall: ok"
