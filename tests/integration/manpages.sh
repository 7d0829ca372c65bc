# The manual pages render without a warning, and say what the code accepts:
# every gatectl command and option, every gatewayd option and environment
# variable, every gateway.conf keyword and driver, every policy reason code.
# The lists are pulled out of the sources here, so adding a verb, option,
# keyword or driver without documenting it fails this test. Each page is
# compared in a normalized form (font escapes and \- removed), so changes of
# layout or font do not matter; only the words do.
set -u
M=docs/man
T=$(mktemp -d /tmp/gwman.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
bad=0
miss() { echo "FAIL: $1: '$2' is accepted by the code ($3) but not documented"; bad=1; }

pages="gatewayd.8 gatectl.8 gateconsole.8 gateway.conf.5 gateway-policy.5"
# (a) render: man-db's warnings, then groff's full set
for p in $pages; do
	[ -f "$M/$p" ] || fail "$M/$p missing"
	out=$(MANWIDTH=80 man --warnings -l "$M/$p" 2>&1 >"$T/$p.txt")
	[ -z "$out" ] || { echo "$out"; fail "$p: man --warnings printed the above"; }
	out=$(groff -man -ww -z "$M/$p" 2>&1)
	[ -z "$out" ] || { echo "$out"; fail "$p: groff -ww printed the above"; }
	grep -q '^NAME' "$T/$p.txt" && grep -q '^SEE ALSO' "$T/$p.txt" ||
	    fail "$p: rendered without NAME or SEE ALSO"
	# normalized source, lines joined: words only
	sed -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' -e 's/\\f\[[^]]*\]//g' \
	    -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\(en/-/g' -e 's/\\e/\\/g' \
	    -e 's/^\.[A-Z][A-Z]* *//' -e 's/"//g' "$M/$p" | tr '\n\t' '  ' |
	    tr -s ' ' >"$T/$p.norm"
done

# has PAGE PHRASE: the phrase, bounded by non-word characters
has() {
	grep -Eq -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$2" | sed 's/[.*[\]^$+?(){}|]/\\&/g')([^A-Za-z0-9_-]|\$)" "$T/$1.norm"
}
# strs REGEX FILES...: the first quoted string of each match
strs() { re=$1; shift; grep -ohE -- "$re" "$@" 2>/dev/null | sed -E 's/^[^"]*"([^"]*)".*/\1/' | sort -u; }
count() { n=$(printf '%s\n' "$2" | grep -c .); [ "$n" -ge "$3" ] || fail "found only $n $1 in the sources (extraction broken?)"; }

CLI="gateway/gatectl.c gateway/ctl_policy.c gateway/ctl_card.c gateway/audit.c"
# the daemon's side: every gateway/*.c but the two clients
DAEMON=$(ls gateway/*.c | grep -v -e gatectl.c -e gateconsole.c -e ctl_policy.c -e ctl_card.c)

# (b) gatectl: commands the control protocol knows, the ones gatectl
# handles itself, the daemon's dispatch, and sub-commands
verbs=$( { strs '\{ "[a-z-]+",[[:space:]]*CTL_ROLE' gateway/*.c
	strs 'strcmp\(cmd, "[a-z-]+"\)' gateway/gatectl.c $DAEMON
	strs 'strcmp\((rq->)?argv\[1\], "[a-z-]+"\)' gateway/gatectl.c $DAEMON; } | sort -u)
count "gatectl commands" "$verbs" 12
for v in $verbs; do has gatectl.8 "$v" || miss gatectl.8 "$v" "command"; done
for v in $(strs 'strcmp\(verb, "[a-z][a-z-]*"\)' gateway/ctl_policy.c); do
	has gatectl.8 "policy $v" || miss gatectl.8 "policy $v" "ctl_policy.c"; done
for v in $(strs 'strcmp\(argv\[1\], "[a-z-]+"\)' gateway/ctl_card.c); do
	has gatectl.8 "card $v" || miss gatectl.8 "card $v" "ctl_card.c"; done
for v in $(strs 'strcmp\(sub, "[a-z-]+"\)' $DAEMON); do
	has gatectl.8 "sim $v" || miss gatectl.8 "sim $v" "sim sub-command"; done
opts=$( { strs '"--[a-z][a-z-]*"' $CLI
	strs '\(rq, [0-9]+, "--[a-z][a-z-]*"\)' $DAEMON
	strs '\{ "[a-z][a-z-]*", (required|no|optional)_argument' gateway/ctl_policy.c gateway/ctl_card.c |
	    sed 's/^/--/'; } | sort -u)
count "gatectl options" "$opts" 20
for o in $opts; do has gatectl.8 "$o" || miss gatectl.8 "$o" "option"; done
for e in $(strs 'getenv\("[A-Z_]+"\)' gateway/gatectl.c); do
	has gatectl.8 "$e" || miss gatectl.8 "$e" "environment"; done

# gatewayd: long options of every getopt_long in the daemon's sources,
# the short ones of its option string, the internal --role, environment
gwsrc=$(grep -l getopt_long $DAEMON)
lopts=$( { strs '\{ "[a-z][a-z-]*", (required|no|optional)_argument' $gwsrc | sed 's/^/--/'
	strs 'strcmp\(argv\[1\], "--[a-z-]+"\)' $gwsrc; } | sort -u)
count "gatewayd long options" "$lopts" 4
for o in $lopts; do has gatewayd.8 "$o" || miss gatewayd.8 "$o" "option"; done
sopts=$(grep -ohE 'getopt_long\(argc, argv, "[^"]*"' $gwsrc | sed -E 's/.*"([^"]*)"/\1/' | tr -d ':' | fold -w1 | sort -u)
count "gatewayd short options" "$sopts" 3
for o in $sopts; do has gatewayd.8 "-$o" || miss gatewayd.8 "-$o" "option"; done
for e in $(strs 'getenv\("[A-Z_]+"\)' $DAEMON); do
	has gatewayd.8 "$e" || miss gatewayd.8 "$e" "environment"; done

# gateconsole: its options
copts=$( { strs '\{ "[a-z][a-z-]*", (required|no|optional)_argument' gateway/gateconsole.c | sed 's/^/--/'
	strs 'strcmp\(argv\[[0-9]\], "[a-z-]+"\)' gateway/gateconsole.c
	grep -ohE 'getopt_long\(argc, argv, "[^"]*"' gateway/gateconsole.c | sed -E 's/.*"([^"]*)"/\1/' |
	    tr -d ':' | fold -w1 | sed 's/^/-/'; } | sort -u)
count "gateconsole options" "$copts" 10
for o in $copts; do has gateconsole.8 "$o" || miss gateconsole.8 "$o" "option"; done

# gateway.conf: every keyword list and role name in conf.c, every driver
kw=$(awk '/(_keywords|role_names)\[[A-Z_]*\] = \{/ {on=1} on {print} on && /\};/ {on=0}' gateway/conf.c |
    grep -oE '"[a-z][a-z-]*"' | tr -d '"' | sort -u)
count "gateway.conf keywords" "$kw" 30
for k in $kw; do has gateway.conf.5 "$k" || miss gateway.conf.5 "$k" "conf.c keyword"; done
drv=$(strs '\.name[[:space:]]*=[[:space:]]*"[a-z0-9-]+"' drivers/*.c)
count "drivers" "$drv" 3
for d in $drv; do has gateway.conf.5 "$d" || miss gateway.conf.5 "$d" "driver"; done

# the policy language: every reason code a decision can carry
rc=$(strs '\[POLICY_R_[A-Z_]+\][[:space:]]*=[[:space:]]*\{ "[a-z-]+"' policy/*.c)
count "reason codes" "$rc" 20
for r in $rc; do has gateway-policy.5 "$r" || miss gateway-policy.5 "$r" "policy reason code"; done

[ $bad = 0 ] || exit 1
echo "man pages: 5 render cleanly; documented: $(printf '%s\n' $verbs | wc -l) gatectl commands," \
    "$(printf '%s\n' $opts | wc -l) gatectl options, $(printf '%s\n' $lopts $sopts | wc -l) gatewayd options, $(printf '%s\n' $copts | wc -l) gateconsole options," \
    "$(printf '%s\n' $kw | wc -l) conf keywords, $(printf '%s\n' $drv | wc -l) drivers, $(printf '%s\n' $rc | wc -l) reason codes"
