/*
 * test_diff.c — policy_diff: who gains and who loses entry where, driven
 * through policy_load on pairs of small policies: schedules, credential and
 * group rules, PIN and class conditions, forbids, modes, sub-zone folding,
 * structural changes, and a venue big enough that classes matter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "policy/policy.h"
#include "tests/unit/policy_fixture.h"

static struct policy *
load(const char *text, const char *csv)
{
	return fixture_policy_load(text, csv);
}

static const char csv[] =
"id,holder,groups,valid_from,valid_until,class,pin,duress\n"
"N-1,Nina Nurse,nurses;staff,,,legacy,,\n"
"N-2,Ned Nurse,nurses;staff,,,secure,,\n"
"B-77,Bob Jones,porters;staff,,,legacy,,\n"
"PH-1,Phil Pharm,pharma;staff,,,secure,,\n"
"PH-2,Pam Pharm,pharma;staff,,,legacy,,\n"
"V-1,Vic Visitor,visitors,,,legacy,,\n"
"S-1,Sam Security,security,,,secure,,\n";

/* A policy from a common head, the rules given, and a common tail. */
static char *
policy_with(const char *zones_extra, const char *rules, const char *modes)
{
	static const char head[] =
	    "venue \"H\" { timezone \"Europe/London\"; }\n"
	    "credentials \"staff.csv\";\n"
	    "responders security;\n"
	    "group staff; group nurses; group porters; group pharma; group visitors; group security;\n"
	    "zone hospital;\n"
	    "zone icu { in hospital; }\n"
	    "zone icu-bay { in icu; }\n"
	    "zone icu-side { in icu; }\n"
	    "zone pharmacy { in hospital; }\n"
	    "gate main { from outside; to hospital; }\n"
	    "gate icu-door { from hospital; to icu; }\n"
	    "gate bay-door { from icu; to icu-bay; }\n"
	    "gate side-door { from icu; to icu-side; }\n"
	    "gate pharm-door { from hospital; to pharmacy; }\n"
	    "schedule day { mon-fri 07:00-19:30; }\n"
	    "schedule long { mon-fri 07:00-22:00; }\n"
	    "permit group security into *;\n";
	size_t n = strlen(head) + strlen(zones_extra) + strlen(rules) +
	    strlen(modes) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s%s%s", head, zones_extra, rules, modes);
	return s;
}

static const char two_modes[] =
"mode normal { default; }\n"
"mode lockdown { forbid everyone into * unless group security; lock perimeter; }\n";
static const char calm_modes[] =
"mode normal { default; }\n"
"mode evacuate { unlock egress; antipassback off; }\n";

static char *
diff_of(const char *a_extra, const char *a_rules, const char *a_modes,
    const char *b_extra, const char *b_rules, const char *b_modes)
{
	char *ta = policy_with(a_extra, a_rules, a_modes);
	char *tb = policy_with(b_extra, b_rules, b_modes);
	struct policy *a = load(ta, csv), *b = load(tb, csv);
	char *d = policy_diff(a, b);

	assert_non_null(d);
	policy_free(a);
	policy_free(b);
	free(ta);
	free(tb);
	return d;
}

static void
assert_has_line(const char *diff, const char *line)
{
	size_t n = strlen(line);

	for (const char *s = diff; *s; ) {
		const char *e = strchr(s, '\n');
		size_t k = e ? (size_t)(e - s) : strlen(s);
		if (k == n && memcmp(s, line, n) == 0)
			return;
		s += k + (e != NULL);
	}
	print_message("missing line: %s\nin diff:\n%s", line, diff);
	fail();
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_no_change(void **state)
{
	char *d = diff_of("", "permit group nurses into icu during day;\n", two_modes,
	    "", "permit group nurses into icu during day;\n", two_modes);

	(void)state;
	assert_string_equal(d, "");
	free(d);
	/* rule order and rewording that changes nothing */
	d = diff_of("", "permit group nurses into icu during day;\npermit group pharma into pharmacy;\n", two_modes,
	    "", "permit group pharma into pharmacy;\npermit group nurses into icu-bay during day;\n"
	    "permit group nurses into icu during day;\n", two_modes);
	assert_string_equal(d, "");
	free(d);
}

static void
test_schedule_longer(void **state)
{
	char *d = diff_of("", "permit group nurses into icu during day;\n", two_modes,
	    "", "permit group nurses into icu during long;\n", two_modes);

	(void)state;
	/* lockdown forbids them anyway: only the normal mode changes; the
	 * sub-zones change alike and are folded into icu */
	assert_string_equal(d, "+ nurses (2 credentials: N-1, N-2) gain icu and 2 sub-zones "
	    "in mode normal: mon-fri 19:30-22:00\n");
	free(d);
	/* and back */
	d = diff_of("", "permit group nurses into icu during long;\n", two_modes,
	    "", "permit group nurses into icu during day;\n", two_modes);
	assert_string_equal(d, "- nurses (2 credentials: N-1, N-2) lose icu and 2 sub-zones "
	    "in mode normal: mon-fri 19:30-22:00\n");
	free(d);
}

static void
test_credential_loses(void **state)
{
	char *d = diff_of("", "permit credential B-77 into pharmacy;\n", calm_modes,
	    "", "", calm_modes);

	(void)state;
	assert_string_equal(d, "- B-77 (Bob Jones) loses pharmacy in every mode\n");
	free(d);
}

static void
test_sub_zone_not_folded_when_different(void **state)
{
	/* icu-bay changes, icu and icu-side do not */
	char *d = diff_of("", "permit group nurses into icu during day;\n", calm_modes,
	    "", "permit group nurses into icu during day;\npermit group nurses into icu-bay;\n",
	    calm_modes);

	(void)state;
	assert_has_line(d, "+ nurses (2 credentials: N-1, N-2) gain icu-bay in every mode: "
	    "mon-fri 00:00-07:00, 19:30-24:00; sat-sun 00:00-24:00");
	assert_int_equal(count_lines(d), 1);
	free(d);
}

static void
test_forbid_and_class(void **state)
{
	/* a forbid for legacy badges: only the legacy ones lose */
	char *d = diff_of("", "permit group staff into hospital;\n", calm_modes,
	    "", "permit group staff into hospital;\nforbid everyone into pharmacy unless secure;\n",
	    calm_modes);

	(void)state;
	assert_has_line(d, "- 3 credentials in staff (N-1, B-77, PH-2) lose pharmacy in every mode");
	assert_int_equal(count_lines(d), 1);
	free(d);
	/* a permit that requires secure: the legacy badges never gain */
	d = diff_of("", "", calm_modes,
	    "", "permit group pharma into pharmacy require secure;\n", calm_modes);
	assert_string_equal(d, "+ PH-1 (Phil Pharm) gains pharmacy in every mode\n");
	free(d);
}

static void
test_pin(void **state)
{
	char *d = diff_of("", "permit group pharma into pharmacy;\n", calm_modes,
	    "zone vault { in pharmacy; require pin; }\ngate vault-door { from pharmacy; to vault; }\n",
	    "permit group pharma into pharmacy;\n", calm_modes);

	(void)state;
	/* vault is new: listed, not diffed */
	assert_has_line(d, "+ 1 zone added: vault");
	assert_has_line(d, "+ 1 gate added: vault-door");
	assert_int_equal(count_lines(d), 2);
	free(d);
	d = diff_of("", "permit group pharma into pharmacy;\n", calm_modes,
	    "", "permit group pharma into pharmacy require pin;\n", calm_modes);
	assert_has_line(d, "~ pharma (2 credentials: PH-1, PH-2) now need a PIN for pharmacy in every mode");
	free(d);
	d = diff_of("", "permit group pharma into pharmacy require pin;\n", calm_modes,
	    "", "permit group pharma into pharmacy;\n", calm_modes);
	assert_has_line(d, "~ pharma (2 credentials: PH-1, PH-2) no longer need a PIN for pharmacy in every mode");
	free(d);
	d = diff_of("", "", calm_modes,
	    "", "permit group visitors into pharmacy require pin;\n", calm_modes);
	assert_has_line(d, "+ V-1 (Vic Visitor) gains pharmacy with PIN in every mode");
	free(d);
	d = diff_of("", "permit group visitors into pharmacy require pin;\n", calm_modes,
	    "", "", calm_modes);
	assert_string_equal(d, "- V-1 (Vic Visitor) loses pharmacy with PIN in every mode\n");
	free(d);
}

static void
test_modes(void **state)
{
	/* a rule moved into one mode */
	char *d = diff_of("", "permit group nurses into icu;\n", calm_modes,
	    "", "",
	    "mode normal { default; }\n"
	    "mode evacuate { unlock egress; antipassback off; permit group nurses into icu; }\n");

	(void)state;
	assert_has_line(d, "- nurses (2 credentials: N-1, N-2) lose icu and 2 sub-zones in mode normal");
	assert_int_equal(count_lines(d), 1);
	free(d);
	/* a mode added, with its own gate action */
	d = diff_of("", "permit group nurses into icu;\n", calm_modes,
	    "", "permit group nurses into icu;\n",
	    "mode normal { default; }\n"
	    "mode evacuate { unlock egress; antipassback off; }\n"
	    "mode lockdown { lock perimeter; }\n");
	assert_has_line(d, "+ 1 mode added: lockdown");
	assert_int_equal(count_lines(d), 1);
	free(d);
	/* an existing mode that now locks a gate */
	d = diff_of("", "permit group nurses into icu;\n", calm_modes,
	    "", "permit group nurses into icu;\n",
	    "mode normal { default; }\n"
	    "mode evacuate { unlock egress; antipassback off; lock gate icu-door; }\n");
	assert_has_line(d, "~ mode evacuate now locks: icu-door");
	free(d);
	/* of four modes, three change alike */
	{
		static const char four[] =
		    "mode normal { default; }\n"
		    "mode lockdown { forbid everyone into * unless group security; lock perimeter; }\n"
		    "mode evacuate { unlock egress; antipassback off; }\n"
		    "mode drill { }\n";
		d = diff_of("", "", four, "", "permit group visitors into icu-side;\n", four);
		assert_string_equal(d, "+ V-1 (Vic Visitor) gains icu-side in every mode "
		    "except lockdown\n");
		free(d);
	}
}

static void
test_structure(void **state)
{
	char *ta = policy_with("zone old-wing { in hospital; }\ngate old-door { from hospital; to old-wing; }\n",
	    "permit group staff into hospital;\n", calm_modes);
	char *tb = policy_with("", "permit group staff into hospital;\n", calm_modes);
	char csv2[1024];
	struct policy *a, *b;
	char *d;

	(void)state;
	/* B-77 leaves, Z-1 arrives; N-2 is now a visitor */
	snprintf(csv2, sizeof(csv2), "%s",
	    "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
	    "N-1,Nina Nurse,nurses;staff,,,legacy,,\n"
	    "N-2,Ned Nurse,visitors,,,secure,,\n"
	    "PH-1,Phil Pharm,pharma;staff,,,secure,,\n"
	    "PH-2,Pam Pharm,pharma;staff,,,legacy,,\n"
	    "V-1,Vic Visitor,visitors,,,legacy,,\n"
	    "S-1,Sam Security,security,,,secure,,\n"
	    "Z-1,Zoe Zed,staff,,,legacy,,\n");
	a = load(ta, csv);
	b = load(tb, csv2);
	d = policy_diff(a, b);
	assert_non_null(d);
	assert_has_line(d, "- 1 zone removed: old-wing");
	assert_has_line(d, "- 1 gate removed: old-door");
	assert_has_line(d, "+ 1 credential added: Z-1");
	assert_has_line(d, "- 1 credential removed: B-77");
	assert_has_line(d, "+ Z-1 (Zoe Zed) gains hospital and 4 sub-zones in every mode");
	/* two people with the same change share a line, named by what they
	 * had in common in the old policy */
	assert_has_line(d, "- 2 credentials in staff (N-2, B-77) lose hospital and 4 sub-zones in every mode");
	assert_int_equal(count_lines(d), 6);
	free(d);
	/* the same pair the other way round */
	d = policy_diff(b, a);
	assert_has_line(d, "+ 1 zone added: old-wing");
	assert_has_line(d, "+ 2 credentials in staff (N-2, B-77) gain hospital and 4 sub-zones in every mode");
	free(d);
	policy_free(a);
	policy_free(b);
	free(ta);
	free(tb);
}

/* Many badges: classes keep it quick, lines stay few and readable. */
static void
test_big(void **state)
{
	size_t n = 20000, cap = n * 64 + 256, o = 0;
	char *big = malloc(cap);
	struct policy *a, *b;
	char *ta, *tb, *d;
	clock_t t0;

	(void)state;
	assert_non_null(big);
	o += (size_t)snprintf(big + o, cap - o,
	    "id,holder,groups,valid_from,valid_until,class,pin,duress\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(big + o, cap - o, "C-%05zu,Person %zu,%s,,,%s,,\n",
		    i, i, i % 4 == 0 ? "nurses;staff" : i % 4 == 1 ? "porters;staff" :
		    i % 4 == 2 ? "visitors" : "pharma;staff",
		    i % 3 ? "legacy" : "secure");
	ta = policy_with("", "permit group nurses into icu during day;\npermit credential C-00002 into pharmacy;\n", two_modes);
	tb = policy_with("", "permit group nurses into icu during long;\n", two_modes);
	a = load(ta, big);
	b = load(tb, big);
	t0 = clock();
	d = policy_diff(a, b);
	assert_non_null(d);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	assert_has_line(d, "+ nurses (5000 credentials: C-00000, C-00004, C-00008, …) gain icu "
	    "and 2 sub-zones in mode normal: mon-fri 19:30-22:00");
	assert_has_line(d, "- C-00002 (Person 2) loses pharmacy in mode normal");
	assert_int_equal(count_lines(d), 2);
	free(d);
	policy_free(a);
	policy_free(b);
	free(ta);
	free(tb);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_change),
		cmocka_unit_test(test_schedule_longer),
		cmocka_unit_test(test_credential_loses),
		cmocka_unit_test(test_sub_zone_not_folded_when_different),
		cmocka_unit_test(test_forbid_and_class),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
