/*
 * tests.c — runs the tests written beside a policy. Each test is a request
 * plus a little world (who is inside, occupancy, recent taps at the gate);
 * the world is served to policy_decide through a test-local state_ops, so
 * the tests exercise exactly the code the daemon calls.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"

struct tests_world {
	const struct policy	*p;
	const struct pol_test	*t;
};

/* Being inside a zone means being inside every zone that contains it. */
static int
tests_inside(void *ctx, uint32_t cred, uint32_t zone, int64_t *since)
{
	const struct tests_world *w = ctx;

	for (size_t i = 0; i < w->t->ninside; i++) {
		const struct pol_test_inside *in = &w->t->inside[i];
		if (in->cred == cred &&
		    policy_zone_contains(w->p, zone, in->zone)) {
			*since = in->since;
			return 1;
		}
	}
	return 0;
}

static int64_t
tests_occupancy(void *ctx, uint32_t zone)
{
	const struct tests_world *w = ctx;

	for (size_t i = 0; i < w->t->nocc; i++)
		if (w->t->occ[i].zone == zone)
			return w->t->occ[i].count;
	return 0;
}

static const struct policy_state_ops tests_ops = {
	.inside = tests_inside,
	.occupancy = tests_occupancy,
};

size_t
policy_run_tests(const struct policy *p, policy_test_cb cb, void *cbctx)
{
	size_t failed = 0;

	for (size_t i = 0; i < p->ntests; i++) {
		const struct pol_test *t = &p->tests[i];
		struct tests_world w = { p, t };
		struct policy_test_result res;
		struct policy_request rq;
		struct policy_recent *recent = NULL;

		memset(&rq, 0, sizeof(rq));
		rq.gate = t->gate;
		rq.dir = t->dir;
		rq.cred = t->cred;
		rq.now = t->at;
		rq.mode = t->mode == POLICY_NONE ? p->default_mode : t->mode;
		rq.pin = t->pin;
		if (t->cls >= 0)
			rq.cls = (enum policy_class)t->cls;
		else if (t->cred < p->ncreds)
			rq.cls = (enum policy_class)p->creds[t->cred].cls;
		else
			rq.cls = POLICY_CLASS_LEGACY;
		/* `recent X 5s` reads "X tapped here 5 s before", authorised */
		if (t->nrecent > 0 &&
		    (recent = calloc(t->nrecent, sizeof(*recent))) != NULL) {
			for (size_t j = 0; j < t->nrecent; j++) {
				recent[j].cred = t->recent[j].cred;
				recent[j].at = t->at - t->recent[j].at;
				recent[j].flags = t->recent[j].flags |
				    POLICY_RECENT_AUTHORISED;
			}
			rq.recent = recent;
			rq.nrecent = t->nrecent;
		}

		memset(&res, 0, sizeof(res));
		res.name = t->name;
		res.file = p->file;
		res.line = t->loc.line;
		res.want_effect = t->want_effect;
		res.want_reason = t->want_reason;
		if (t->nrecent > 0 && recent == NULL) {
			/* out of memory is an error, and errors deny */
			res.got.effect = POLICY_DENY;
			res.got.reason = POLICY_R_ERROR;
			res.got.zone = res.got.guard_zone = POLICY_NONE;
		} else
			(void)policy_decide(p, &rq, &tests_ops, &w, &res.got);
		res.passed = res.got.effect == t->want_effect &&
		    (t->want_reason < 0 ||
		    (int)res.got.reason == t->want_reason);
		if (!res.passed)
			failed++;
		if (cb != NULL)
			cb(cbctx, &res);
		free(recent);
	}
	return failed;
}
