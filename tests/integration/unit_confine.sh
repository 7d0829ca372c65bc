# The systemd unit's confinement is enough for gatewayd to run, emulated
# without systemd (CI has none as PID 1): the installed gatewayd, started
# as the unit starts it, with exactly the unit's CapabilityBoundingSet and
# NoNewPrivileges (setpriv), in a private mount namespace where the system
# tree is read-only and only the unit's ReadWritePaths (fresh
# /var/lib/gatewayd and /run/gatewayd, as StateDirectory= and
# RuntimeDirectory= make them) are writable (ProtectSystem=strict). It must
# pass its pre-start check, start, decide a tap, journal it, verify, and
# stop cleanly on SIGTERM. Not emulated: DeviceAllow (cgroups), the
# seccomp-based settings (RestrictAddressFamilies, MemoryDenyWriteExecute,
# SystemCallArchitectures, ...), ProtectKernel*, PrivateTmp.
set -u
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) is needed"; exit 1; }
command -v unshare >/dev/null || { echo "FAIL: unshare (util-linux) is needed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL: unit_confine needs root (capabilities, mounts); cannot run"; exit 1; }
unshare --mount --propagation private true 2>/dev/null ||
    { echo "FAIL: unit_confine needs a private mount namespace (CAP_SYS_ADMIN; a container run without it cannot)"; exit 1; }
T=$(mktemp -d /tmp/gwunit.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -20 "$T/daemon.log"; exit 1; }

D=$T/root
make --no-print-directory -s install DESTDIR="$D" PREFIX=/usr >"$T/install.out" 2>&1 ||
    { cat "$T/install.out"; fail "make install"; }
UNIT=$D/lib/systemd/system/gatewayd.service
# the unit's capabilities, in setpriv's words: CAP_SYS_CHROOT -> +sys_chroot
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
[ -n "$caps" ] || fail "no CapabilityBoundingSet in the unit"
grep -qx 'NoNewPrivileges=yes' "$UNIT" || fail "the unit lost NoNewPrivileges"
rw=$(sed -n 's/^ReadWritePaths=//p' "$UNIT")
[ "$rw" = "/var/lib/gatewayd /run/gatewayd" ] || fail "ReadWritePaths changed ($rw): update this test"
# the config the unit reads (the installed example) at its /etc path,
# shown by a read-only bind in the namespace
CONF=$D/etc/gatewayd/gateway.conf

cat >"$T/inner.sh" <<'EOF'
set -u
D=$1 CAPS=$2 T=$3
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && tail -20 "$T/daemon.log"; exit 1; }
# StateDirectory= / RuntimeDirectory=: fresh, root-owned (not the host's)
mount -t tmpfs -o mode=0755 gw-state /var/lib 2>/dev/null ||
    { mkdir -p /var/lib && mount -t tmpfs -o mode=0755 gw-state /var/lib; } || fail "tmpfs on /var/lib"
mkdir -m 0750 /var/lib/gatewayd || fail "mkdir /var/lib/gatewayd"
mount -t tmpfs -o mode=0755 gw-run /run || fail "tmpfs on /run"
mkdir -m 0755 /run/gatewayd || fail "mkdir /run/gatewayd"
mkdir -p /etc/gatewayd 2>/dev/null
mount --bind "$D/etc/gatewayd" /etc/gatewayd || fail "bind /etc/gatewayd"
# ReadWritePaths=: these two stay writable; ProtectSystem=strict: every
# other mount of the system tree becomes read-only (per mount: bind,ro)
for p in /var/lib/gatewayd /run/gatewayd "$T/log"; do mount --bind "$p" "$p" || fail "bind $p"; done
awk '{ print $2 }' /proc/self/mounts | grep -E '^/($|usr|etc|var|run|tmp|home|opt|srv|boot|lib|bin|sbin|root)' |
    grep -vxE '/var/lib/gatewayd|/run/gatewayd|'"$T/log" | sort -u | while read -r m; do
	mount -o remount,bind,ro "$m" 2>/dev/null || echo "note: $m stays writable"
done
as_unit() { setpriv --bounding-set=-all,"$CAPS" --inh-caps=-all --no-new-privs "$@"; }
# the emulation is real: the system is read-only, the state directory not
as_unit sh -c 'echo x > /etc/gatewayd/probe' 2>/dev/null && fail "/etc is writable in the emulation"
as_unit sh -c 'echo x > /var/lib/gatewayd/probe' 2>/dev/null || fail "/var/lib/gatewayd is not writable"
rm -f /var/lib/gatewayd/probe
as_unit sh -c 'mkdir /var/lib/gatewayd/journal && chmod 750 /var/lib/gatewayd/journal' || fail "journal dir"

# ExecStartPre=, then ExecStart= (with -d: the log to a file, no syslog)
as_unit "$D/usr/sbin/gatewayd" -n -c /etc/gatewayd/gateway.conf >"$T/log/pre.out" 2>&1 ||
    { cat "$T/log/pre.out"; fail "ExecStartPre (gatewayd -n) under the unit's confinement"; }
# (setpriv itself, not a function: $! must be the process that becomes gatewayd)
setpriv --bounding-set=-all,"$CAPS" --inh-caps=-all --no-new-privs \
    "$D/usr/sbin/gatewayd" -d -c /etc/gatewayd/gateway.conf >"$T/log/daemon.log" 2>&1 &
pid=$!
CTL="$D/usr/bin/gatectl --socket /run/gatewayd/gatewayd.sock"
i=0
until $CTL ping >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$T/log/daemon.log"; fail "gatewayd did not come up under the unit's confinement"; }
	kill -0 $pid 2>/dev/null || { cat "$T/log/daemon.log"; fail "gatewayd exited at start under the unit's confinement"; }
	sleep 0.05
done
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/$pid/status)
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$pid/status)
echo "running gatewayd: CapBnd $bnd, NoNewPrivs $nnp"
[ "$nnp" = 1 ] || fail "NoNewPrivs is $nnp"
# exactly as many capabilities as the unit lists
v=$((0x$bnd)); n=0
while [ $v -gt 0 ]; do n=$((n + (v & 1))); v=$((v >> 1)); done
want=$(printf '%s' "$CAPS" | tr ',' '\n' | grep -c .)
[ $n = $want ] || fail "CapBnd $bnd holds $n capabilities, the unit lists $want"
# a tap: a decision, journaled, the journal intact
out=$($CTL sim tap main-entrance N-1001 2>&1)
printf '%s\n' "$out" | grep -Eq '(grant|deny)' || { echo "$out"; fail "sim tap under the unit's confinement"; }
$CTL audit verify >"$T/log/verify.out" 2>&1 || { cat "$T/log/verify.out"; fail "audit verify"; }
grep -q "journal intact" "$T/log/verify.out" || { cat "$T/log/verify.out"; fail "audit verify words"; }
ls /var/lib/gatewayd/journal/*.jnl >/dev/null 2>&1 || fail "no journal segment under /var/lib/gatewayd/journal"
# systemctl stop with KillMode=mixed: SIGTERM to the main process only
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ $rc = 0 ] || { cat "$T/log/daemon.log"; fail "gatewayd exited $rc after SIGTERM"; }
echo "under the unit's confinement: pre-start check, start, tap ($(printf '%s' "$out" | head -1 | cut -c1-60)), verify, clean stop"
EOF
mkdir "$T/log"
unshare --mount --propagation private sh "$T/inner.sh" "$D" "$caps" "$T" || exit 1
