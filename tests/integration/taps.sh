# Taps granted and denied with their reasons; passages and occupancy;
# what the journal holds; muster; audit export filters and verify.
. tests/integration/lib/gw.sh
gw_start

# A-1 comes on site by the front door
ctl sim tap front A-1 >/dev/null 2>&1 || fail "front A-1"
ctl sim sensor front door-open >/dev/null
ctl sim sensor front passage >/dev/null
ctl sim sensor front door-closed >/dev/null
expect_match "$(ctl muster 2>&1)" "^site +A-1 +Ada Lovelace" "on site"

out=$(ctl sim tap lab-door A-1 2>&1) || fail "tap A-1"
expect_match "$out" "lab-door +A-1 \(Ada Lovelace\) GRANT: " "grant line"
expect_match "$out" "grant permit seq=[0-9]+ unlocked" "grant summary"
out=$(ctl status)
expect_match "$out" "lab-door +unlocked" "unlocked after grant"
# no passage yet: nobody is inside
expect_no_match "$(ctl muster lab 2>&1)" "A-1" "grant alone is not entry"
ctl sim sensor lab-door passage >/dev/null || fail "passage"
out=$(ctl status)
expect_match "$out" "lab-door +locked" "relocked after passage"
expect_match "$out" "lab +1 / 3" "occupancy lab"
expect_match "$out" "site +1" "occupancy site (parent zone)"

out=$(ctl sim tap lab-door A-1 2>&1)
expect_match "$out" "DENY: denied: already inside lab" "anti-passback"
expect_match "$out" "deny apb-already-inside" "apb reason code"
out=$(ctl sim tap front X-1 2>&1)
expect_match "$out" "deny expired" "expired badge"
expect_match "$out" "badge expired 2021-01-01" "expired in words"
out=$(ctl sim tap front NOBODY 2>&1)
expect_match "$out" "deny unknown-badge" "unknown badge"
out=$(ctl sim tap lab-door V-1 2>&1)
expect_match "$out" "deny forbidden" "visitor forbidden"
out=$(ctl sim tap front A-2 --class legacy 2>&1)
expect_match "$out" "deny class-mismatch" "cloned card"

# two-person rule at the vault
out=$(ctl sim tap vault-door A-2 2>&1)
expect_match "$out" "deny two-person-waiting" "first of two"
out=$(ctl sim tap vault-door A-3 2>&1)
expect_match "$out" "grant permit" "second of two"

# leaving the lab through its exit reader
out=$(ctl sim tap lab-door A-1 --exit 2>&1)
expect_match "$out" "grant exit" "exit grant"
ctl sim sensor lab-door passage >/dev/null
expect_no_match "$(ctl muster lab 2>&1)" "A-1" "A-1 left the lab"
expect_match "$(ctl muster --format csv)" "^site,A-1,Ada Lovelace," "A-1 still on site"

# fill the lab to capacity 3 -> the fourth is refused
for b in A-1 A-2 A-3; do
	ctl sim tap lab-door $b >/dev/null 2>&1 && ctl sim sensor lab-door passage >/dev/null || fail "fill $b"
done
out=$(ctl sim tap lab-door A-4 2>&1)
expect_match "$out" "deny zone-full" "capacity"
expect_match "$(ctl muster lab --format jsonl)" '"zone":"lab","badge":"A-2","holder":"Alan Turing"' "muster jsonl"

# the journal: every decision, in order, chained
out=$(ctl audit verify) || fail "verify: $out"
expect_match "$out" "journal intact: [0-9]+ records" "verify"
csv=$(ctl audit export --format csv --decision deny 2>/dev/null)
expect_match "$csv" "^seq,time," "csv header"
expect_match "$csv" ",decision,test-gw,front,outside,site,X-1,Old Timer,deny,expired," "expired in journal"
expect_no_match "$csv" ",grant," "deny filter"
n=$(ctl audit export --format jsonl --badge A-1 --gate lab-door 2>/dev/null | grep -c '"type":"decision"')
[ "$n" = 4 ] || fail "A-1 at lab-door: expected 4 decisions, got $n"
n=$(ctl audit export --format jsonl --zone vault 2>/dev/null | grep -c '"type":"decision"')
[ "$n" = 2 ] || fail "vault decisions: expected 2, got $n"
n=$(ctl audit export --format csv --since 2000-01-01T00:00Z --until 2001-01-01T00:00Z 2>/dev/null | wc -l)
[ "$n" = 1 ] || fail "time filter: expected header only, got $n lines"
out=$(ctl audit export --format xml 2>&1) && fail "bad format accepted"
expect_match "$out" "--format is csv or jsonl" "format error"

gw_stop
# offline, on the directory alone
out=$("$GCTL" audit verify --journal "$T/journal") || fail "offline verify: $out"
expect_match "$out" "journal intact" "offline verify"
n=$("$GCTL" audit export --journal "$T/journal" --format jsonl 2>/dev/null | grep -c '"type":"stop"')
[ "$n" = 1 ] || fail "stop record missing"
echo "taps: ok"

# watch: a live line per event, readable and as JSON
gw_start
ctl watch > "$T/watch.txt" 2>&1 &
w1=$!
ctl watch --json > "$T/watch.json" 2>&1 &
w2=$!
sleep 0.3
ctl sim tap front X-1 >/dev/null 2>&1
ctl sim tap front A-4 >/dev/null 2>&1
ctl sim sensor front passage >/dev/null
sleep 0.3
kill $w1 $w2; wait $w1 $w2 2>/dev/null
expect_match "$(cat "$T/watch.txt")" "front +X-1 \(Old Timer\) DENY: denied: badge expired 2021-01-01" "watch deny line"
expect_match "$(cat "$T/watch.txt")" "front +A-4 \(Edsger Dijkstra\) passed outside -> site" "watch passage line"
expect_match "$(cat "$T/watch.json")" '^\{"seq":[0-9]+,.*"type":"decision".*"cred":"X-1".*"reason":"expired"' "watch json"
[ "$(grep -c . "$T/watch.json")" = 3 ] || fail "3 events expected in the JSON watch"
gw_stop
echo "watch: ok"
