/*
 * test_secure_policy.c — issue 8 in the policy library: a card that failed
 * authentication is denied `auth-failed` whoever it claims to be; the
 * credentials' optional `issue` column turns away an older issue of a
 * replaced card (`issue-replaced`) and only for secure reads; a secure
 * badge read by UID stays class-mismatch; bad issue values are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/policyio.h"
#include "policy/policy.h"
#include "tests/unit/policy_fixture.h"

static const char pol[] =
"venue \"Secure Test\" { timezone \"UTC\"; }\n"
"credentials \"staff.csv\";\n"
"group staff;\n"
"zone site;\n"
"gate front { from outside; to site; }\n"
"permit group staff into site;\n"
"mode normal { default; }\n";

static const char csv[] =
"id,holder,groups,class,issue\n"
"S-1001,Ada Secure,staff,secure,3\n"
"S-1002,Bo Secure,staff,secure,\n"
"0411223344556A,Cy Uid,staff,secure,\n"
"L-1,Di Legacy,staff,legacy,9\n";

static struct policy_decision
decide(const struct policy *p, const char *id, enum policy_class cls,
    uint32_t issue)
{
	struct policy_request rq;
	struct policy_decision d;

	memset(&rq, 0, sizeof(rq));
	rq.gate = policy_gate_find(p, "front");
	rq.dir = POLICY_IN;
	rq.cred = policy_cred_find(p, id);
	rq.cls = cls;
	rq.issue = issue;
	rq.now = 1800000000;
	rq.mode = POLICY_NONE;
	assert_int_equal(policy_decide(p, &rq, NULL, NULL, &d), 0);
	return d;
}

static void
test_secure_decisions(void **state)
{
	struct policy *p = fixture_policy_load(pol, csv);
	struct policy_decision d;

	(void)state;
	d = decide(p, "S-1001", POLICY_CLASS_SECURE, 3);
	assert_int_equal(d.effect, POLICY_GRANT);
	d = decide(p, "S-1001", POLICY_CLASS_SECURE, 4);	/* newer: fine */
	assert_int_equal(d.effect, POLICY_GRANT);
	d = decide(p, "S-1001", POLICY_CLASS_SECURE, 2);	/* replaced */
	assert_int_equal(d.effect, POLICY_DENY);
	assert_int_equal(d.reason, POLICY_R_ISSUE_REPLACED);
	assert_int_equal(d.detail, 3);
	assert_string_equal(policy_reason_code(d.reason), "issue-replaced");
	d = decide(p, "S-1002", POLICY_CLASS_SECURE, 0);	/* no column value */
	assert_int_equal(d.effect, POLICY_GRANT);
	/* failed authentication: denied even for a known or unknown id */
	d = decide(p, "S-1001", POLICY_CLASS_FAILED, 0);
	assert_int_equal(d.effect, POLICY_DENY);
	assert_int_equal(d.reason, POLICY_R_AUTH_FAILED);
	d = decide(p, "nobody", POLICY_CLASS_FAILED, 0);
	assert_int_equal(d.reason, POLICY_R_AUTH_FAILED);
	assert_string_equal(policy_reason_code(d.reason), "auth-failed");
	assert_string_equal(policy_reason_text(d.reason),
	    "card failed authentication: possibly cloned");
	/* a secure badge answering by UID only */
	d = decide(p, "0411223344556A", POLICY_CLASS_LEGACY, 0);
	assert_int_equal(d.reason, POLICY_R_CLASS_MISMATCH);
	/* the issue column means nothing for a legacy read */
	d = decide(p, "L-1", POLICY_CLASS_LEGACY, 0);
	assert_int_equal(d.effect, POLICY_GRANT);
	policy_free(p);
}

static void
test_explain(void **state)
{
	struct policy *p = fixture_policy_load(pol, csv);
	struct policy_request rq;
	struct policy_decision d;
	char buf[256];
	enum policy_reason r;

	(void)state;
	memset(&rq, 0, sizeof(rq));
	rq.gate = policy_gate_find(p, "front");
	rq.cred = policy_cred_find(p, "S-1001");
	rq.cls = POLICY_CLASS_SECURE;
	rq.issue = 1;
	rq.now = 1800000000;
	rq.mode = POLICY_NONE;
	policy_decide(p, &rq, NULL, NULL, &d);
	policy_explain(p, &rq, &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "issue 1 was replaced by issue 3"));
	rq.cls = POLICY_CLASS_FAILED;
	policy_decide(p, &rq, NULL, NULL, &d);
	policy_explain(p, &rq, &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "failed authentication"));
	assert_int_equal(policy_reason_parse("auth-failed", &r), 0);
	assert_int_equal(r, POLICY_R_AUTH_FAILED);
	policy_free(p);
}

static int
try_io(void *ctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	const char *c = ctx;
	char path[512];

	if (kind == POLICY_FILE_CREDENTIALS) {
		*len = strlen(c);
		if ((*buf = malloc(*len + 1)) == NULL)
			return -1;
		memcpy(*buf, c, *len + 1);
		return 0;
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return policyio_read(path, 1 << 20, buf, len, err, errlen);
}

static struct policy *
fixture_policy_try(const char *text, const char *c, struct policy_diags *d)
{
	struct policy_io io = { (void *)(uintptr_t)c, try_io };

	return policy_load("t.pol", text, strlen(text), &io, d);
}

static void
test_bad_issue(void **state)
{
	static const char *const bad[] = { "-1", "x", "4294967296", " 3", "3a" };
	char text[256];
	struct policy_diags d;
	struct policy *p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "id,holder,groups,class,issue\n"
		    "S-1,A,staff,secure,%s\n", bad[i]);
		memset(&d, 0, sizeof(d));
		p = fixture_policy_try(pol, text, &d);
		assert_null(p);
		assert_true(d.errors >= 1);
		assert_string_equal(d.v[0].code, "E059");
		policy_diags_free(&d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secure_decisions),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_bad_issue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
