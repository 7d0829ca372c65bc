/*
 * test_state.c — the guard state: passages move people between nested
 * zones, occupancy follows, recent taps age out, the policy sees it all
 * through state_ops, and state_replay rebuilds the same from a journal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <unistd.h>

#include "gateway/journal.h"
#include "gateway/state.h"
#include "policy/policy.h"

static const char pol_text[] =
    "venue \"T\" { timezone \"UTC\"; }\n"
    "credentials \"c.csv\";\n"
    "group staff;\n"
    "zone site;\n"
    "zone lab { in site; }\n"
    "zone bench { in lab; }\n"
    "gate front { from outside; to site; door; exit reader; }\n"
    "gate lab-door { from site; to lab; door; exit reader; }\n"
    "gate bench-gate { from outside; to bench; door; exit reader; }\n"
    "permit group staff into *;\n"
    "mode normal { default; }\n";
static const char creds[] =
    "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
    "A-1,Ada,staff,,,secure,,\n"
    "A-2,Alan,staff,,,secure,,\n";

static int
io_load(void *ctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	FILE *f;
	char path[256];
	long n;

	(void)ctx;
	if (kind == POLICY_FILE_CREDENTIALS) {
		*buf = strdup(creds);
		*len = strlen(creds);
		return 0;
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "no %s", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n);
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

static struct policy *
load(void)
{
	struct policy_diags d;
	struct policy_io io = { NULL, io_load };
	struct policy *p;

	memset(&d, 0, sizeof(d));
	p = policy_load("t.pol", pol_text, strlen(pol_text), &io, &d);
	if (p == NULL)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s:%u:%u: %s\n", d.v[i].file, d.v[i].line,
			    d.v[i].col, d.v[i].msg);
	policy_diags_free(&d);
	assert_non_null(p);
	return p;
}

static void
test_passages(void **st)
{
	struct policy *p = load();
	struct state *s = state_new();
	struct state_person *v;
	struct state_zone_count *z;
	int64_t since = 0;
	size_t n;

	(void)st;
	state_passage(s, p, "A-1", "Ada", "outside", "site", 100);
	state_passage(s, p, "A-1", "Ada", "site", "lab", 200);
	assert_int_equal(state_inside(s, "A-1", "site", &since), 1);
	assert_int_equal(since, 100);
	assert_int_equal(state_inside(s, "A-1", "lab", &since), 1);
	assert_int_equal(since, 200);
	assert_int_equal(state_occupancy(s, "site"), 1);
	assert_int_equal(state_occupancy(s, "lab"), 1);
	/* straight from outside into the bench enters bench, lab and site */
	state_passage(s, p, "A-2", "Alan", "outside", "bench", 300);
	assert_int_equal(state_occupancy(s, "site"), 2);
	assert_int_equal(state_occupancy(s, "lab"), 2);
	assert_int_equal(state_occupancy(s, "bench"), 1);
	/* and out again leaves all three */
	state_passage(s, p, "A-2", "Alan", "bench", "outside", 400);
	assert_int_equal(state_occupancy(s, "site"), 1);
	assert_int_equal(state_inside(s, "A-2", "lab", NULL), 0);
	/* leaving a zone nobody saw them enter counts nothing down */
	state_passage(s, p, "A-2", "Alan", "lab", "site", 500);
	assert_int_equal(state_occupancy(s, "lab"), 1);
	/* unattributed passages change nothing */
	state_passage(s, p, "", "", "outside", "site", 600);
	assert_int_equal(state_occupancy(s, "site"), 1);

	n = state_muster(s, NULL, &v);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].zone, "lab");
	assert_string_equal(v[1].zone, "site");
	assert_string_equal(v[1].holder, "Ada");
	free(v);
	n = state_muster(s, "site", &v);
	assert_int_equal(n, 1);
	free(v);
	n = state_zones(s, &z);
	assert_int_equal(n, 2);			/* bench is back to 0 */
	assert_string_equal(z[0].zone, "lab");
	free(z);

	/* the policy's view */
	struct state_view view = { s, p };
	assert_int_equal(state_ops.inside(&view, policy_cred_find(p, "A-1"),
	    policy_zone_find(p, "lab"), &since), 1);
	assert_int_equal(state_ops.occupancy(&view, policy_zone_find(p,
	    "site")), 1);
	assert_int_equal(state_ops.inside(&view, POLICY_NONE,
	    policy_zone_find(p, "lab"), &since), 0);
	state_free(s);
	policy_free(p);
}

static void
test_recent(void **st)
{
	struct policy *p = load();
	struct state *s = state_new();
	struct policy_recent r[16];

	(void)st;
	state_recent_add(s, "lab-door", "A-1", 1000, POLICY_RECENT_AUTHORISED);
	state_recent_add(s, "lab-door", "GHOST", 1005, 0);	/* unknown badge */
	state_recent_add(s, "lab-door", "A-2", 1010, 0);
	state_recent_add(s, "front", "A-2", 1010, 0);
	assert_int_equal(state_recent(s, p, "lab-door", 1020, 600, r, 16), 2);
	assert_int_equal(r[0].cred, policy_cred_find(p, "A-2"));	/* newest first */
	assert_int_equal(r[1].cred, policy_cred_find(p, "A-1"));
	assert_int_equal(r[1].flags, POLICY_RECENT_AUTHORISED);
	assert_int_equal(state_recent(s, p, "lab-door", 1605, 600, r, 16), 1);
	assert_int_equal(state_recent(s, p, "nowhere", 1020, 600, r, 16), 0);
	for (int i = 0; i < 40; i++)	/* the ring keeps the newest 16 */
		state_recent_add(s, "front", "A-1", 2000 + i, 0);
	assert_int_equal(state_recent(s, p, "front", 2100, 600, r, 16), 16);
	assert_int_equal(r[0].at, 2039);
	state_free(s);
	policy_free(p);
}

static void
test_replay(void **st)
{
	struct policy *p = load();
	struct state *s = state_new();
	struct journal *j;
	struct journal_record r;
	struct state_replay sr = { 0 };
	char dir[] = "/tmp/test_state.XXXXXX", err[256];
	static const struct { const char *type, *cred, *from, *to, *dec, *mode; } recs[] = {
		{ "start", "", "", "", "", "" },
		{ "decision", "A-1", "outside", "site", "grant", "" },
		{ "passage", "A-1", "outside", "site", "", "" },
		{ "decision", "A-2", "outside", "site", "grant", "" },	/* no passage */
		{ "passage", "A-1", "site", "lab", "", "" },
		{ "mode", "", "", "", "", "lockdown" },
		{ "passage", "A-1", "lab", "site", "", "" },
		{ "mode", "", "", "", "", "evacuate" },
	};

	(void)st;
	assert_non_null(mkdtemp(dir));
	j = journal_open(dir, "t", NULL, err, sizeof(err));
	assert_non_null(j);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.time_us = (int64_t)(1000 + i) * 1000000;
		snprintf(r.type, sizeof(r.type), "%s", recs[i].type);
		snprintf(r.gate, sizeof(r.gate), "front");
		snprintf(r.cred, sizeof(r.cred), "%s", recs[i].cred);
		snprintf(r.zone_from, sizeof(r.zone_from), "%s", recs[i].from);
		snprintf(r.zone_to, sizeof(r.zone_to), "%s", recs[i].to);
		snprintf(r.decision, sizeof(r.decision), "%s", recs[i].dec);
		snprintf(r.mode, sizeof(r.mode), "%s", recs[i].mode);
		assert_int_equal(journal_append(j, &r), 0);
	}
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	assert_int_equal(state_replay(s, p, dir, &sr, err, sizeof(err)), 0);
	assert_int_equal(sr.records, 8);
	assert_int_equal(sr.passages, 3);
	assert_int_equal(sr.last_seq, 8);
	assert_string_equal(sr.mode, "evacuate");
	assert_int_equal(state_occupancy(s, "site"), 1);	/* A-1 only */
	assert_int_equal(state_occupancy(s, "lab"), 0);
	assert_int_equal(state_inside(s, "A-2", "site", NULL), 0);
	int64_t since;
	assert_int_equal(state_inside(s, "A-1", "site", &since), 1);
	assert_int_equal(since, 1002);
	struct policy_recent rc[4];
	assert_int_equal(state_recent(s, p, "front", 1010, 600, rc, 4), 2);

	/* a damaged journal is an error, not a silent partial state */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "printf 'garbage' >> %s/00000000000000000001.jnl",
	    dir);
	assert_int_equal(system(cmd), 0);
	struct state *s2 = state_new();
	(void)state_replay(s2, p, dir, &sr, err, sizeof(err));
	assert_int_equal(sr.records, 8);	/* never more than what is intact */
	state_free(s2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	state_free(s);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passages),
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
