/*
 * test_decide.c — the evaluator, driven through policy_load on small policy
 * texts: every reason code, forbid over permit, rule order, zone nesting,
 * daylight-saving days, each guard with its soft and timed variants, duress,
 * class mismatch, mode locks and responders; the explanation for gate staff,
 * time parsing and formatting, PIN hashes and the embedded test runner.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/model.h"	/* a credential's issued class */
#include "tests/unit/policy_fixture.h"

/* ---- loading from memory ---- */

static struct policy *
load(const char *text, const char *csv)
{
	return fixture_policy_load(text, csv);
}

/* The 1-based line of the first line of text containing needle. */
static uint32_t
line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	uint32_t line = 1;

	assert_non_null(at);
	for (const char *s = text; s < at; s++)
		if (*s == '\n')
			line++;
	return line;
}

/* ---- the hospital ---- */

static const char hospital[] =
"venue \"Test Hospital\" { timezone \"Europe/London\"; }\n"
"credentials \"staff.csv\";\n"
"responders security;\n"
"group staff; group nurses; group visitors; group midwives; group security;\n"
"group pharma; group porters; group lab;\n"
"zone hospital { capacity 100 hard; }\n"
"zone icu { in hospital; capacity 2 hard; antipassback hard; }\n"
"zone ward { in hospital; capacity 3 soft; antipassback soft; }\n"
"zone lab { in hospital; antipassback timed 15m; }\n"
"zone pharmacy { in hospital; two-person 30s; require secure; }\n"
"zone vault { in pharmacy; require pin; }\n"
"zone maternity { in hospital; escort visitors by midwives within 20s; }\n"
"gate main { from outside; to hospital; exit reader; }\n"
"gate icu-east { from hospital; to icu; exit reader; }\n"
"gate ward-door { from hospital; to ward; exit reader; }\n"
"gate lab-door { from hospital; to lab; exit reader; }\n"
"gate pharm-door { from hospital; to pharmacy; }\n"
"gate vault-door { from pharmacy; to vault; }\n"
"gate mat-door { from hospital; to maternity; }\n"
"gate side-in { from outside; to icu; }\n"
"gate main-exit { from hospital; to outside; egress free; }\n"
"schedule day { mon-fri 07:00-19:30; sat 08:00-14:00; }\n"
"permit group staff into hospital during day;\n"
"forbid group porters into pharmacy;\n"
"permit group nurses into icu;\n"
"permit group pharma into pharmacy;\n"
"permit group visitors into ward during day;\n"
"permit group visitors into maternity;\n"
"permit group midwives into maternity;\n"
"permit group security into *;\n"
"forbid group visitors into icu;\n"
"permit group lab into lab require pin;\n"
"permit credential X-2 into ward require secure;\n"
"mode normal { default; }\n"
"mode lockdown { forbid everyone into * unless group security; lock perimeter; }\n"
"mode evacuate { unlock egress; antipassback off; }\n"
"mode drill { lock exit gate icu-east; }\n";

static struct policy *H;
static char hcsv[4096];

static int
hospital_setup(void **state)
{
	static const uint8_t salt1[] = { 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t salt2[] = { 0xfe, 0xed, 0xfa, 0xce, 0x99 };
	char pin1234[160], pin9999[160], pin1111[160], pin4321[160];

	(void)state;
	policy_pin_hash(salt1, sizeof(salt1), "1234", pin1234, sizeof(pin1234));
	policy_pin_hash(salt2, sizeof(salt2), "9999", pin9999, sizeof(pin9999));
	policy_pin_hash(salt2, sizeof(salt2), "1111", pin1111, sizeof(pin1111));
	policy_pin_hash(salt1, sizeof(salt1), "4321", pin4321, sizeof(pin4321));
	snprintf(hcsv, sizeof(hcsv),
	    "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
	    "N-1,Nina Nurse,nurses;staff,,,legacy,%s,%s\n"
	    "N-2,Ned Nurse,nurses;staff,,,secure,,\n"
	    "N-3,Nora New,nurses;staff,2026-06-01,,legacy,,\n"
	    "N-4,Noel Old,nurses;staff,,2026-02-27,legacy,,\n"
	    "PO-1,Paul Porter,porters;staff,,,legacy,,\n"
	    "PH-1,Phil Pharm,pharma;staff,,,secure,%s,\n"
	    "PH-2,Phoebe Pharm,pharma;staff,,,secure,,\n"
	    "PH-3,Pete Pharm,pharma;staff,,,legacy,,\n"
	    "V-1,Vic Visitor,visitors,,,legacy,,\n"
	    "M-1,Mary Midwife,midwives;staff,,,legacy,,\n"
	    "S-1,Sam Security,security,,,secure,,\n"
	    "L-1,Lee Lab,lab,,,legacy,%s,\n"
	    "X-1,Xavier Nobody,,,,legacy,,\n"
	    "X-2,Xena Named,,,,legacy,,\n",
	    pin1234, pin9999, pin1111, pin4321);
	H = load(hospital, hcsv);
	return 0;
}

static int
hospital_teardown(void **state)
{
	(void)state;
	policy_free(H);
	H = NULL;
	return 0;
}

/* ---- taps and a small world ---- */

struct world {
	struct { const char *cred, *zone; int64_t ago; } inside[4];
	size_t		 ninside;
	struct { const char *zone; int64_t n; } occ[4];
	size_t		 nocc;
	int		 fail_inside, fail_occ;
	const struct policy *p;
	int64_t		 now;
};

static int
world_inside(void *ctx, uint32_t cred, uint32_t zone, int64_t *since)
{
	struct world *w = ctx;

	if (w->fail_inside)
		return -1;
	for (size_t i = 0; i < w->ninside; i++)
		if (policy_cred_find(w->p, w->inside[i].cred) == cred &&
		    policy_zone_contains(w->p, zone,
		    policy_zone_find(w->p, w->inside[i].zone))) {
			*since = w->now - w->inside[i].ago;
			return 1;
		}
	return 0;
}

static int64_t
world_occ(void *ctx, uint32_t zone)
{
	struct world *w = ctx;

	if (w->fail_occ)
		return -1;
	for (size_t i = 0; i < w->nocc; i++)
		if (policy_zone_find(w->p, w->occ[i].zone) == zone)
			return w->occ[i].n;
	return 0;
}

static const struct policy_state_ops world_ops = {
	.inside = world_inside, .occupancy = world_occ
};

enum { CLS_OWN, CLS_LEGACY, CLS_SECURE };

struct tap {
	const char	*badge, *gate, *at, *mode, *pin;
	int		 out, cls;
	struct { const char *cred; int ago; int unauth; } recent[3];
};

static struct policy_decision
tap_p(const struct policy *p, const struct tap *t, struct world *w, int *rc)
{
	struct policy_request rq;
	struct policy_decision d;
	struct policy_recent rec[3];
	struct world empty;

	memset(&rq, 0, sizeof(rq));
	rq.gate = policy_gate_find(p, t->gate);
	assert_int_not_equal(rq.gate, POLICY_NONE);
	rq.cred = t->badge ? policy_cred_find(p, t->badge) : POLICY_NONE;
	rq.dir = t->out ? POLICY_OUT : POLICY_IN;
	assert_int_equal(policy_parse_time(p, t->at, &rq.now), 0);
	rq.mode = t->mode ? policy_mode_find(p, t->mode) : POLICY_NONE;
	if (t->mode)
		assert_int_not_equal(rq.mode, POLICY_NONE);
	rq.pin = t->pin;
	if (t->cls == CLS_OWN)
		/* what an honest reader proves: the class the badge was issued as */
		rq.cls = rq.cred < p->ncreds ?
		    (enum policy_class)p->creds[rq.cred].cls : POLICY_CLASS_LEGACY;
	else
		rq.cls = t->cls == CLS_SECURE ? POLICY_CLASS_SECURE :
		    POLICY_CLASS_LEGACY;
	for (size_t i = 0; i < 3 && t->recent[i].cred; i++) {
		rec[i].cred = policy_cred_find(p, t->recent[i].cred);
		assert_int_not_equal(rec[i].cred, POLICY_NONE);
		rec[i].at = rq.now - t->recent[i].ago;
		rec[i].flags = t->recent[i].unauth ? 0 : POLICY_RECENT_AUTHORISED;
		rq.nrecent = i + 1;
	}
	rq.recent = rq.nrecent ? rec : NULL;
	if (w == NULL) {
		memset(&empty, 0, sizeof(empty));
		w = &empty;
	}
	w->p = p;
	w->now = rq.now;
	*rc = policy_decide(p, &rq, &world_ops, w, &d);
	return d;
}

static struct policy_decision
tap(const struct tap *t, struct world *w)
{
	int rc;
	struct policy_decision d = tap_p(H, t, w, &rc);

	assert_int_equal(rc, 0);
	return d;
}

#define MON10	"2026-03-02T10:00"
#define MON22	"2026-03-02T22:00"

static void
expect(struct policy_decision d, enum policy_effect e, enum policy_reason r)
{
	if (d.effect != e || d.reason != r)
		print_message("got %s %s, want %s %s\n",
		    d.effect ? "grant" : "deny", policy_reason_code(d.reason),
		    e ? "grant" : "deny", policy_reason_code(r));
	assert_int_equal(d.effect, e);
	assert_int_equal(d.reason, r);
}

/* ---- tests ---- */

static void
test_permit_and_rule_location(void **state)
{
	struct policy_decision d;
	char where[64];

	(void)state;
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* the first permit that applies, in file order */
	assert_int_equal(d.rule_line, line_of(hospital, "permit group staff into hospital"));
	assert_string_equal(d.rule_file, "t.pol");
	assert_int_equal(d.zone, policy_zone_find(H, "icu"));
	assert_int_equal(d.guard_zone, POLICY_NONE);
	assert_int_equal(d.flags, 0);
	policy_decision_where(&d, where, sizeof(where));
	char want[64];
	snprintf(want, sizeof(want), "t.pol:%u", d.rule_line);
	assert_string_equal(where, want);

	/* at night only the nurses' own rule applies */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON22 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	assert_int_equal(d.rule_line, line_of(hospital, "permit group nurses into icu"));
}

static void
test_no_permit_default_deny(void **state)
{
	struct policy_decision d;
	char where[64];

	(void)state;
	d = tap(&(struct tap){ .badge = "X-1", .gate = "main", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_NO_PERMIT);
	assert_null(d.rule_file);
	assert_int_equal(d.rule_line, 0);
	policy_decision_where(&d, where, sizeof(where));
	assert_string_equal(where, "default deny");
}

static void
test_unknown_badge_and_gate(void **state)
{
	struct policy_decision d;
	struct policy_request rq;
	int rc;

	(void)state;
	d = tap(&(struct tap){ .badge = "NOPE", .gate = "main", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_UNKNOWN_BADGE);

	memset(&rq, 0, sizeof(rq));
	rq.gate = 9999;
	rq.cred = 0;
	rq.mode = POLICY_NONE;
	rc = policy_decide(H, &rq, NULL, NULL, &d);
	assert_int_equal(rc, -1);
	expect(d, POLICY_DENY, POLICY_R_UNKNOWN_GATE);
	/* a bad mode index is malformed too, and denies */
	rq.gate = 0;
	rq.mode = 77;
	rc = policy_decide(H, &rq, NULL, NULL, &d);
	assert_int_equal(rc, -1);
	assert_int_equal(d.effect, POLICY_DENY);
	(void)tap_p;
}

static void
test_outside_schedule(void **state)
{
	struct policy_decision d;

	(void)state;
	/* porters have only the staff rule, daytime */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "icu-east", .at = MON22 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
	assert_int_equal(d.rule_line, line_of(hospital, "permit group staff into hospital"));
	/* Saturday 08:00-14:00, Sunday never */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-07T13:59" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-07T14:00" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-08T10:00" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
	/* edges: 07:00 open, 19:30 closed */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-02T07:00" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-02T06:59:59" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-02T19:29:59" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "main", .at = "2026-03-02T19:30" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
}

static void
test_forbid_overrides_permit(void **state)
{
	struct policy_decision d;

	(void)state;
	/* staff may enter the hospital by day, porters may not enter pharmacy */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 5, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_FORBIDDEN);
	assert_int_equal(d.rule_line, line_of(hospital, "forbid group porters"));
	/* visitors: forbidden in icu even though nothing else permits it */
	d = tap(&(struct tap){ .badge = "V-1", .gate = "icu-east", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_FORBIDDEN);
	assert_int_equal(d.rule_line, line_of(hospital, "forbid group visitors into icu"));
}

static void
test_validity(void **state)
{
	struct policy_decision d;
	char buf[256];
	struct policy_request rq = { .gate = policy_gate_find(H, "main"),
	    .cred = policy_cred_find(H, "N-4"), .mode = POLICY_NONE };
	int64_t t;

	(void)state;
	d = tap(&(struct tap){ .badge = "N-3", .gate = "main", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_NOT_YET_VALID);
	assert_int_equal(policy_parse_time(H, "2026-06-01T00:00", &t), 0);
	assert_int_equal(d.detail, t);
	d = tap(&(struct tap){ .badge = "N-3", .gate = "main", .at = "2026-06-01T10:00" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);

	/* valid until 2026-02-27 means through the end of that day */
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main", .at = "2026-02-27T18:00" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main", .at = "2026-02-27T23:59:59" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);	/* valid, but night */
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main", .at = "2026-02-28T00:00" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_EXPIRED);
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_EXPIRED);
	/* the deciding line is the badge's row in the CSV */
	assert_string_equal(d.rule_file, "staff.csv");
	assert_int_equal(d.rule_line, 5);
	assert_int_equal(policy_parse_time(H, "2026-02-28T00:00", &t), 0);
	assert_int_equal(d.detail, t);
	assert_int_equal(policy_parse_time(H, MON10, &rq.now), 0);
	policy_explain(H, &rq, &d, buf, sizeof(buf));
	assert_string_equal(buf, "denied: badge expired 2026-02-27 (2 days ago)");
	/* an expired badge still lets its holder out */
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main", .at = MON10, .out = 1 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
	d = tap(&(struct tap){ .badge = "N-4", .gate = "main-exit", .at = MON10 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
}

static void
test_class(void **state)
{
	struct policy_decision d;

	(void)state;
	/* issued secure, answered with a bare UID: a likely clone */
	d = tap(&(struct tap){ .badge = "N-2", .gate = "main", .at = MON10, .cls = CLS_LEGACY }, NULL);
	expect(d, POLICY_DENY, POLICY_R_CLASS_MISMATCH);
	assert_string_equal(d.rule_file, "staff.csv");
	assert_int_equal(d.rule_line, 3);
	d = tap(&(struct tap){ .badge = "N-2", .gate = "main", .at = MON10, .cls = CLS_SECURE }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* a legacy badge into a zone that requires secure */
	d = tap(&(struct tap){ .badge = "PH-3", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 5, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_SECURE_REQUIRED);
	assert_int_equal(d.rule_line, line_of(hospital, "zone pharmacy"));
	/* a permit's own `require secure` */
	d = tap(&(struct tap){ .badge = "X-2", .gate = "ward-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_SECURE_REQUIRED);
	assert_int_equal(d.rule_line, line_of(hospital, "permit credential X-2"));
	d = tap(&(struct tap){ .badge = "X-2", .gate = "ward-door", .at = MON10, .cls = CLS_SECURE }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
}

static void
test_pin(void **state)
{
	struct policy_decision d;

	(void)state;
	/* vault: in pharmacy (secure, inherited) and requires a PIN */
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "vault-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_REQUIRED);
	assert_int_equal(d.rule_line, line_of(hospital, "zone vault"));
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "vault-door", .at = MON10, .pin = "0000" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_WRONG);
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "vault-door", .at = MON10, .pin = "1111" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	assert_int_equal(d.flags, 0);
	/* secure is checked before the PIN: a PIN would not help */
	d = tap(&(struct tap){ .badge = "PH-3", .gate = "vault-door", .at = MON10, .pin = "1111" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_SECURE_REQUIRED);
	/* no PIN enrolled at all */
	d = tap(&(struct tap){ .badge = "PH-2", .gate = "vault-door", .at = MON10, .pin = "1111" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_WRONG);
	/* a rule's `require pin` */
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_REQUIRED);
	assert_int_equal(d.rule_line, line_of(hospital, "permit group lab into lab"));
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10, .pin = "4321" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* a wrong PIN where none is needed changes nothing */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .pin = "0000" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* an absurdly long PIN is just wrong */
	char longpin[4096];
	memset(longpin, '7', sizeof(longpin) - 1);
	longpin[sizeof(longpin) - 1] = '\0';
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10, .pin = longpin }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_WRONG);
}

static void
test_duress(void **state)
{
	struct policy_decision d;

	(void)state;
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .pin = "9999" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_DURESS);
	assert_true(d.flags & POLICY_F_SILENT_ALARM);
	/* the normal PIN: no alarm */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .pin = "1234" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	assert_false(d.flags & POLICY_F_SILENT_ALARM);
	/* duress at a door that stays shut still raises the alarm */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "pharm-door", .at = MON10, .pin = "9999" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_SECURE_REQUIRED);
	assert_true(d.flags & POLICY_F_SILENT_ALARM);
}

static void
test_apb(void **state)
{
	struct policy_decision d;
	struct world w = { .inside = { { "N-1", "icu", 600 } }, .ninside = 1 };
	int64_t now;

	(void)state;
	/* hard */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &w);
	expect(d, POLICY_DENY, POLICY_R_APB_ALREADY_INSIDE);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "icu"));
	assert_int_equal(policy_parse_time(H, MON10, &now), 0);
	assert_int_equal(d.detail, now - 600);
	assert_int_equal(d.rule_line, line_of(hospital, "zone icu"));
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .out = 1 }, &w);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
	assert_int_equal(d.zone, policy_zone_find(H, "hospital"));
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .out = 1 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_APB_NOT_INSIDE);
	/* off in evacuate */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .out = 1, .mode = "evacuate" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .mode = "evacuate" }, &w);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* someone else inside does not matter */
	struct world w2 = { .inside = { { "N-2", "icu", 600 } }, .ninside = 1 };
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &w2);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
}

static void
test_apb_soft(void **state)
{
	struct policy_decision d;
	struct world w = { .inside = { { "V-1", "ward", 60 } }, .ninside = 1 };

	(void)state;
	d = tap(&(struct tap){ .badge = "V-1", .gate = "ward-door", .at = MON10 }, &w);
	expect(d, POLICY_GRANT, POLICY_R_APB_SOFT);
	assert_true(d.flags & POLICY_F_ALARM_APB);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "ward"));
	d = tap(&(struct tap){ .badge = "V-1", .gate = "ward-door", .at = MON10, .out = 1 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_APB_SOFT);
	assert_true(d.flags & POLICY_F_ALARM_APB);
	d = tap(&(struct tap){ .badge = "V-1", .gate = "ward-door", .at = MON10, .out = 1 }, &w);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
	assert_int_equal(d.flags, 0);
}

static void
test_apb_timed(void **state)
{
	struct policy_decision d;
	struct world recent = { .inside = { { "L-1", "lab", 10 * 60 } }, .ninside = 1 };
	struct world old = { .inside = { { "L-1", "lab", 15 * 60 } }, .ninside = 1 };

	(void)state;
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10, .pin = "4321" }, &recent);
	expect(d, POLICY_DENY, POLICY_R_APB_ALREADY_INSIDE);
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10, .pin = "4321" }, &old);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* timed anti-passback does not hold anyone in */
	d = tap(&(struct tap){ .badge = "L-1", .gate = "lab-door", .at = MON10, .out = 1 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
}

static void
test_capacity(void **state)
{
	struct policy_decision d;
	struct world full = { .occ = { { "icu", 2 } }, .nocc = 1 };
	struct world almost = { .occ = { { "icu", 1 } }, .nocc = 1 };
	struct world ward = { .occ = { { "ward", 3 } }, .nocc = 1 };

	(void)state;
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &full);
	expect(d, POLICY_DENY, POLICY_R_ZONE_FULL);
	assert_int_equal(d.detail, 2);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "icu"));
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &almost);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "V-1", .gate = "ward-door", .at = MON10 }, &ward);
	expect(d, POLICY_GRANT, POLICY_R_CAPACITY_SOFT);
	assert_true(d.flags & POLICY_F_ALARM_CAPACITY);
}

static void
test_two_person(void **state)
{
	struct policy_decision d;

	(void)state;
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_TWO_PERSON_WAITING);
	assert_true(d.flags & POLICY_F_PENDING);
	assert_int_equal(d.detail, 30);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "pharmacy"));
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 5, 0 } } }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	assert_true(d.flags & POLICY_F_TWO_PERSON);
	assert_false(d.flags & POLICY_F_PENDING);
	/* exactly at the window edge still counts; one second later not */
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 30, 0 } } }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 31, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_TWO_PERSON_WAITING);
	/* the same badge twice is one person */
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-1", 5, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_TWO_PERSON_WAITING);
	/* a refused tap is no second person */
	d = tap(&(struct tap){ .badge = "PH-1", .gate = "pharm-door", .at = MON10,
	    .recent = { { "PH-2", 5, 1 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_TWO_PERSON_WAITING);
	/* pending is only for someone who would otherwise get in */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "pharm-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_FORBIDDEN);
	assert_false(d.flags & POLICY_F_PENDING);
}

static void
test_escort(void **state)
{
	struct policy_decision d;

	(void)state;
	d = tap(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10 }, NULL);
	expect(d, POLICY_DENY, POLICY_R_ESCORT_REQUIRED);
	assert_int_equal(d.detail, 20);
	d = tap(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10,
	    .recent = { { "M-1", 5, 0 } } }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* a host must be of the host group, and recent enough */
	d = tap(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10,
	    .recent = { { "N-1", 5, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_ESCORT_REQUIRED);
	d = tap(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10,
	    .recent = { { "M-1", 25, 0 } } }, NULL);
	expect(d, POLICY_DENY, POLICY_R_ESCORT_REQUIRED);
	d = tap(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10,
	    .recent = { { "N-1", 2, 0 }, { "M-1", 19, 0 } } }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* the host needs no escort */
	d = tap(&(struct tap){ .badge = "M-1", .gate = "mat-door", .at = MON10 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
}

static void
test_modes(void **state)
{
	struct policy_decision d;
	struct world in = { .inside = { { "N-1", "icu", 60 } }, .ninside = 1 };

	(void)state;
	/* lockdown locks the perimeter: only responders */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "main", .at = MON10, .mode = "lockdown" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_MODE_LOCKED);
	assert_int_equal(d.rule_line, line_of(hospital, "mode lockdown"));
	d = tap(&(struct tap){ .badge = "S-1", .gate = "main", .at = MON10, .mode = "lockdown" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_RESPONDER);
	assert_int_equal(d.rule_line, line_of(hospital, "responders security"));
	/* inside, the mode's forbid applies */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .mode = "lockdown" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_FORBIDDEN);
	d = tap(&(struct tap){ .badge = "S-1", .gate = "icu-east", .at = MON10, .mode = "lockdown" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* mode rules do not leak into other modes */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .mode = "normal" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* drill locks icu-east's exit side */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .mode = "drill", .out = 1 }, &in);
	expect(d, POLICY_DENY, POLICY_R_MODE_LOCKED);
	d = tap(&(struct tap){ .badge = "S-1", .gate = "icu-east", .at = MON10, .mode = "drill", .out = 1 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_RESPONDER);
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .mode = "drill" }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* the gate bits the daemon drives */
	assert_true(policy_mode_gate(H, policy_mode_find(H, "lockdown"),
	    policy_gate_find(H, "main")) & POLICY_GATE_LOCK_ENTRY);
}

static void
test_nesting(void **state)
{
	struct policy_decision d;
	struct world hfull = { .occ = { { "hospital", 100 } }, .nocc = 1 };

	(void)state;
	/* outside -> icu enters icu and hospital: both zones' guards apply */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "side-in", .at = MON10 }, &hfull);
	expect(d, POLICY_DENY, POLICY_R_ZONE_FULL);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "hospital"));
	/* hospital -> icu enters only icu */
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &hfull);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* a permit into hospital covers its sub-zones (porters into ward) */
	d = tap(&(struct tap){ .badge = "PO-1", .gate = "ward-door", .at = MON10 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	assert_int_equal(d.rule_line, line_of(hospital, "permit group staff into hospital"));
	/* and `into *` covers every zone */
	d = tap(&(struct tap){ .badge = "S-1", .gate = "vault-door", .at = MON22, .pin = "x" }, NULL);
	expect(d, POLICY_DENY, POLICY_R_PIN_WRONG);
	d = tap(&(struct tap){ .badge = "S-1", .gate = "ward-door", .at = MON22 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
	/* innermost guard first: icu full and hospital full reports icu */
	struct world both = { .occ = { { "hospital", 100 }, { "icu", 2 } }, .nocc = 2 };
	d = tap(&(struct tap){ .badge = "N-1", .gate = "side-in", .at = MON10 }, &both);
	expect(d, POLICY_DENY, POLICY_R_ZONE_FULL);
	assert_int_equal(d.guard_zone, policy_zone_find(H, "icu"));
	/* leaving the venue through a gate into outside */
	d = tap(&(struct tap){ .badge = "X-1", .gate = "main-exit", .at = MON22 }, NULL);
	expect(d, POLICY_GRANT, POLICY_R_EXIT);
	assert_int_equal(d.zone, 0);
}

static void
test_state_errors(void **state)
{
	struct policy_decision d;
	struct world bad_in = { .fail_inside = 1 };
	struct world bad_occ = { .fail_occ = 1 };

	(void)state;
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &bad_in);
	expect(d, POLICY_DENY, POLICY_R_ERROR);
	assert_null(d.rule_file);
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .out = 1 }, &bad_in);
	expect(d, POLICY_DENY, POLICY_R_ERROR);
	d = tap(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &bad_occ);
	expect(d, POLICY_DENY, POLICY_R_ERROR);
	/* a zone without guards never asks */
	d = tap(&(struct tap){ .badge = "M-1", .gate = "mat-door", .at = MON10 }, &bad_in);
	expect(d, POLICY_GRANT, POLICY_R_PERMIT);
}

/* Same decisions whatever the order of the rules. */
static void
test_order_independence(void **state)
{
	const char *first = strstr(hospital, "permit group staff");
	const char *last = strstr(hospital, "mode normal");
	char *rev = malloc(sizeof(hospital) + 2);
	const char *lines[32];
	size_t n = 0, o;
	struct policy *R;
	static const char *const badges[] = { "N-1", "N-2", "PO-1", "PH-1", "PH-3",
	    "V-1", "M-1", "S-1", "L-1", "X-1", "X-2" };
	static const char *const times[] = { MON10, MON22, "2026-03-07T09:00" };
	static const char *const modes[] = { "normal", "lockdown", "evacuate", "drill" };
	size_t compared = 0;

	(void)state;
	assert_non_null(rev);
	for (const char *s = first; s < last; s = strchr(s, '\n') + 1)
		lines[n++] = s;
	o = (size_t)(first - hospital);
	memcpy(rev, hospital, o);
	for (size_t i = n; i-- > 0;) {
		size_t k = (size_t)(strchr(lines[i], '\n') + 1 - lines[i]);
		memcpy(rev + o, lines[i], k);
		o += k;
	}
	strcpy(rev + o, last);
	assert_int_equal(strlen(rev), strlen(hospital));
	assert_string_not_equal(rev, hospital);
	R = load(rev, hcsv);
	for (size_t b = 0; b < sizeof(badges) / sizeof(badges[0]); b++)
		for (size_t g = 0; g < policy_count(H, POLICY_COUNT_GATES); g++)
			for (size_t t = 0; t < 3; t++)
				for (size_t m = 0; m < 4; m++)
					for (int out = 0; out < 2; out++) {
						struct tap tp = { .badge = badges[b],
						    .gate = policy_gate_name(H, (uint32_t)g),
						    .at = times[t], .mode = modes[m], .out = out,
						    .recent = { { "M-1", 3, 0 } } };
						int rc1, rc2;
						struct policy_decision a = tap_p(H, &tp, NULL, &rc1);
						struct policy_decision c = tap_p(R, &tp, NULL, &rc2);
						assert_int_equal(a.effect, c.effect);
						assert_int_equal(a.reason, c.reason);
						assert_int_equal(a.flags, c.flags);
						compared++;
					}
	assert_true(compared > 500);
	policy_free(R);
	free(rev);
}

/* A schedule 01:00-03:00 local on the days the clocks change. */
static const char dst_pol[] =
"venue \"Night\" { timezone \"Europe/London\"; }\n"
"credentials \"c.csv\";\n"
"group g;\n"
"zone z;\n"
"gate d { from outside; to z; }\n"
"schedule early { sun 01:00-03:00; }\n"
"permit group g into z during early;\n";

static void
test_dst(void **state)
{
	struct policy *p = load(dst_pol, "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
	    "A,Al,g,,,legacy,,\n");
	static const struct { const char *at; int grant; } cases[] = {
		/* 2026-03-29: 01:00 GMT becomes 02:00 BST; 01:00-02:00 never is */
		{ "2026-03-29T00:59:59Z", 0 },	/* 00:59 GMT */
		{ "2026-03-29T01:00:00Z", 1 },	/* 02:00 BST */
		{ "2026-03-29T01:59:59Z", 1 },	/* 02:59 BST */
		{ "2026-03-29T02:00:00Z", 0 },	/* 03:00 BST */
		/* 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:00-02:00 twice */
		{ "2026-10-24T23:59:59Z", 0 },	/* 00:59 BST */
		{ "2026-10-25T00:00:00Z", 1 },	/* 01:00 BST */
		{ "2026-10-25T00:59:59Z", 1 },	/* 01:59 BST */
		{ "2026-10-25T01:00:00Z", 1 },	/* 01:00 GMT */
		{ "2026-10-25T02:59:59Z", 1 },	/* 02:59 GMT */
		{ "2026-10-25T03:00:00Z", 0 },	/* 03:00 GMT */
		/* an ordinary Sunday in summer, local */
		{ "2026-07-05T01:00", 1 },
		{ "2026-07-05T00:30:00Z", 1 },	/* 01:30 BST */
		{ "2026-07-05T02:00:00Z", 0 },	/* 03:00 BST */
	};
	char buf[64];
	int64_t t, t2;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		struct policy_decision d = tap_p(p, &(struct tap){ .badge = "A",
		    .gate = "d", .at = cases[i].at }, NULL, &rc);
		if ((int)d.effect != cases[i].grant)
			print_message("at %s\n", cases[i].at);
		assert_int_equal(d.effect, cases[i].grant);
		assert_int_equal(d.reason, cases[i].grant ? POLICY_R_PERMIT :
		    POLICY_R_OUTSIDE_SCHEDULE);
	}
	/* local times in the gap and in the repeated hour */
	assert_int_equal(policy_parse_time(p, "2026-03-29T01:30", &t), 0);
	assert_int_equal(policy_parse_time(p, "2026-03-29T01:00:00Z", &t2), 0);
	assert_int_equal(t, t2);
	assert_int_equal(policy_parse_time(p, "2026-10-25T01:30", &t), 0);
	assert_int_equal(policy_parse_time(p, "2026-10-25T00:30:00Z", &t2), 0);
	assert_int_equal(t, t2);
	assert_int_equal(policy_parse_time(p, "2026-10-25T01:30:00+01:00", &t), 0);
	assert_int_equal(t, t2);
	policy_format_time(p, t2, buf, sizeof(buf));
	assert_string_equal(buf, "2026-10-25 01:30:00 BST");
	policy_format_time(p, t2 + 3600, buf, sizeof(buf));
	assert_string_equal(buf, "2026-10-25 01:30:00 GMT");
	assert_int_equal(policy_parse_time(p, "2026-02-30T10:00", &t), -1);
	assert_int_equal(policy_parse_time(p, "yesterday", &t), -1);
	assert_int_equal(policy_parse_time(p, NULL, &t), -1);
	policy_free(p);
}

static void
test_reason_codes(void **state)
{
	(void)state;
	for (int r = 0; r < POLICY_R__COUNT; r++) {
		enum policy_reason back;
		const char *code = policy_reason_code((enum policy_reason)r);
		const char *text = policy_reason_text((enum policy_reason)r);
		assert_non_null(code);
		assert_non_null(text);
		assert_true(strlen(text) > 5);
		assert_int_equal(policy_reason_parse(code, &back), 0);
		assert_int_equal(back, r);
		for (int q = 0; q < r; q++)
			assert_string_not_equal(code, policy_reason_code((enum policy_reason)q));
	}
	enum policy_reason x;
	assert_int_equal(policy_reason_parse("nope", &x), -1);
	assert_string_equal(policy_reason_code(POLICY_R_APB_ALREADY_INSIDE), "apb-already-inside");
	assert_string_equal(policy_reason_text(POLICY_R_APB_ALREADY_INSIDE), "already inside: exit first");
	assert_string_equal(policy_reason_code(POLICY_R__COUNT), "error");
}

static void
explain_of(const struct tap *t, struct world *w, char *buf, size_t len)
{
	struct policy_request rq = { .gate = policy_gate_find(H, t->gate),
	    .cred = policy_cred_find(H, t->badge),
	    .mode = t->mode ? policy_mode_find(H, t->mode) : POLICY_NONE,
	    .dir = t->out ? POLICY_OUT : POLICY_IN };
	struct policy_decision d = tap(t, w);
	size_t n;

	assert_int_equal(policy_parse_time(H, t->at, &rq.now), 0);
	n = policy_explain(H, &rq, &d, buf, len);
	assert_int_equal(n, strlen(buf));
}

static void
test_explain(void **state)
{
	char buf[512], small[16], want[128];
	struct world in = { .inside = { { "N-1", "icu", 0 } }, .ninside = 1 };

	(void)state;
	explain_of(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON22 }, NULL, buf, sizeof(buf));
	snprintf(want, sizeof(want), "granted: permit into icu at t.pol:%u",
	    line_of(hospital, "permit group nurses into icu"));
	assert_string_equal(buf, want);
	explain_of(&(struct tap){ .badge = "PO-1", .gate = "icu-east", .at = MON22 }, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "icu is closed to this badge at this time"));
	assert_non_null(strstr(buf, "during day"));
	explain_of(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10 }, &in, buf, sizeof(buf));
	assert_string_equal(buf, "denied: already inside icu since 2026-03-02 10:00: exit first");
	explain_of(&(struct tap){ .badge = "N-1", .gate = "main", .at = MON10, .mode = "lockdown" }, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "denied: main is locked in mode lockdown");
	explain_of(&(struct tap){ .badge = "V-1", .gate = "mat-door", .at = MON10 }, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "denied: maternity needs an escort: someone in midwives must badge here within 20s");
	explain_of(&(struct tap){ .badge = "N-1", .gate = "icu-east", .at = MON10, .pin = "9999" }, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "silent alarm"));
	explain_of(&(struct tap){ .badge = "X-1", .gate = "main", .at = MON10 }, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "denied: no rule lets this badge into hospital (default deny)");
	/* truncation: snprintf-like */
	struct policy_request rq = { .gate = policy_gate_find(H, "main"),
	    .cred = policy_cred_find(H, "X-1"), .mode = POLICY_NONE };
	struct policy_decision d;
	policy_decide(H, &rq, NULL, NULL, &d);
	size_t need = policy_explain(H, &rq, &d, small, sizeof(small));
	assert_int_equal(need, strlen("denied: no rule lets this badge into hospital (default deny)"));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	/* every reason explains itself without crashing */
	for (int r = 0; r < POLICY_R__COUNT; r++) {
		d.reason = (enum policy_reason)r;
		d.guard_zone = policy_zone_find(H, "lab");
		d.detail = 30;
		assert_true(policy_explain(H, &rq, &d, buf, sizeof(buf)) > 8);
	}
}

static void
test_pin_hash_format(void **state)
{
	static const uint8_t salt[] = { 0xde, 0xad, 0xbe, 0xef };
	char buf[160], small[10];
	size_t n;

	(void)state;
	n = policy_pin_hash(salt, sizeof(salt), "1234", buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_int_equal(n, 7 + 8 + 1 + 64);
	/* sha256(de ad be ef "1234") computed independently:
	 * printf '\xde\xad\xbe\xef1234' | sha256sum */
	assert_string_equal(buf, "sha256:deadbeef:"
	    "63faab72e91185cf8886af2d7134f552d0a5af1650c7464a502283f0c679378f");
	n = policy_pin_hash(salt, sizeof(salt), "1234", small, sizeof(small));
	assert_int_equal(n, 80);
	assert_string_equal(small, "sha256:de");
}

/* The runner: embedded tests, their world, their verdicts. */
static const char tested_pol[] =
"venue \"T\" { timezone \"Europe/London\"; }\n"
"credentials \"c.csv\";\n"
"group g; group h;\n"
"zone z { antipassback hard; two-person 30s; }\n"
"zone y { capacity 1 hard; }\n"
"gate d { from outside; to z; exit reader; }\n"
"gate e { from outside; to y; exit reader; }\n"
"permit group g into z;\n"
"permit group g into y;\n"
"test \"pass-two\" { tap A at d on 2026-03-02T10:00; recent B 5s; expect grant permit; }\n"
"test \"pass-wait\" { tap A at d on 2026-03-02T10:00; expect deny two-person-waiting; }\n"
"test \"pass-inside\" { tap A at d on 2026-03-02T10:00; inside A z; recent B 5s; expect deny apb-already-inside; }\n"
"test \"pass-exit\" { tap A at d on 2026-03-02T10:00; exit; inside A z 2h; expect grant exit; }\n"
"test \"pass-full\" { tap A at e on 2026-03-02T10:00; occupancy y 1; expect deny zone-full; }\n"
"test \"pass-any\" { tap C at e on 2026-03-02T10:00; expect deny; }\n"
"test \"fail-1\" { tap A at e on 2026-03-02T10:00; expect deny; }\n"
"test \"fail-2\" { tap A at d on 2026-03-02T10:00; recent B 40s; expect grant; }\n";

struct seen {
	size_t	n, passed;
	char	failed[4][32];
	size_t	nfailed;
};

static void
seen_cb(void *ctx, const struct policy_test_result *r)
{
	struct seen *s = ctx;

	s->n++;
	assert_non_null(r->name);
	assert_string_equal(r->file, "t.pol");
	assert_true(r->line > 0);
	if (r->passed) {
		s->passed++;
		assert_int_equal(strncmp(r->name, "pass", 4), 0);
	} else if (s->nfailed < 4)
		snprintf(s->failed[s->nfailed++], 32, "%s", r->name);
}

static void
test_runner(void **state)
{
	struct policy *p = load(tested_pol, "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
	    "A,Al,g,,,legacy,,\nB,Bo,g,,,legacy,,\nC,Cy,h,,,legacy,,\n");
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(policy_run_tests(p, seen_cb, &s), 2);
	assert_int_equal(s.n, 8);
	assert_int_equal(s.passed, 6);
	assert_int_equal(s.nfailed, 2);
	assert_string_equal(s.failed[0], "fail-1");
	assert_string_equal(s.failed[1], "fail-2");
	assert_int_equal(policy_run_tests(p, NULL, NULL), 2);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permit_and_rule_location),
		cmocka_unit_test(test_no_permit_default_deny),
		cmocka_unit_test(test_unknown_badge_and_gate),
		cmocka_unit_test(test_outside_schedule),
		cmocka_unit_test(test_forbid_overrides_permit),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_duress),
		cmocka_unit_test(test_apb),
		cmocka_unit_test(test_apb_soft),
		cmocka_unit_test(test_apb_timed),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_two_person),
		cmocka_unit_test(test_escort),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_order_independence),
		cmocka_unit_test(test_dst),
		cmocka_unit_test(test_reason_codes),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_pin_hash_format),
		cmocka_unit_test(test_runner),
	};

	return cmocka_run_group_tests(tests, hospital_setup, hospital_teardown);
}
