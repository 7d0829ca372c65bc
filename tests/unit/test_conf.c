/*
 * test_conf.c — gateway.conf parsing: a good file round-trips through the
 * normalized print; bad files give every error with its exact
 * file:line:col, code and did-you-mean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/conf.h"

/* the library allocates with the real allocator */
#undef malloc
#undef calloc
#undef realloc
#undef free

static const char good[] =
    "# a gateway\n"
    "gateway \"north-1\";\n"
    "policy \"stadium.pol\";\n"
    "journal \"journal\" { segment 16M; retain 10G; retain-age 400d; }\n"
    "socket \"/tmp/gw.sock\";\n"
    "role staff \"gate-staff\";\n"
    "role admin gate-admin;\n"
    "role auditor \"audit\";\n"
    "input fire-alarm sim;\n"
    "gate n1 {\n"
    "    policy-gate north-turnstile-1;\n"
    "    reader sim;\n"
    "    exit-reader sim;\n"
    "    sensors sim;\n"
    "    lock sim;\n"
    "    fail secure;\n"
    "}\n"
    "gate n2 { reader sim; lock sim \"offline\"; sensors sim; fail safe; }\n";

static struct gateway_conf *
parse(const char *file, const char *text, struct policy_diags *d)
{
	memset(d, 0, sizeof(*d));
	return conf_parse(file, text, strlen(text), d);
}

/* Render all diagnostics' first lines into one string for comparison. */
static void
heads(const struct policy_diags *d, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n && off < len; i++) {
		char buf[2048];
		policy_diag_render(&d->v[i], buf, sizeof(buf));
		buf[strcspn(buf, "\n")] = '\0';
		off += (size_t)snprintf(out + off, len - off, "%s\n", buf);
	}
}

static void
test_good(void **st)
{
	struct policy_diags d;
	struct gateway_conf *c;
	const struct conf_gate *g;

	(void)st;
	c = parse("/etc/gw/gateway.conf", good, &d);
	assert_non_null(c);
	assert_int_equal(d.errors, 0);
	assert_string_equal(c->id, "north-1");
	assert_string_equal(c->policy, "/etc/gw/stadium.pol");
	assert_string_equal(c->journal, "/etc/gw/journal");
	assert_string_equal(c->socket, "/tmp/gw.sock");
	assert_int_equal(c->segment_bytes, 16u << 20);
	assert_int_equal(c->retain_bytes, 10ull << 30);
	assert_int_equal(c->retain_days, 400);
	assert_string_equal(c->role_group[CONF_ROLE_ADMIN], "gate-admin");
	assert_true(c->fire_alarm.set);
	assert_int_equal(c->ngates, 2);
	g = conf_gate_find(c, "n1");
	assert_non_null(g);
	assert_string_equal(g->policy_gate, "north-turnstile-1");
	assert_true(g->exit_reader.set);
	assert_int_equal(g->fail, CONF_FAIL_SECURE);
	g = conf_gate_find(c, "n2");
	assert_string_equal(g->policy_gate, "n2");	/* defaults to name */
	assert_string_equal(g->lock.args, "offline");
	assert_int_equal(g->fail, CONF_FAIL_SAFE);
	assert_null(conf_gate_find(c, "n3"));

	/* the normalized print parses back to the same print */
	char *p1 = conf_print(c);
	assert_non_null(p1);
	struct policy_diags d2;
	struct gateway_conf *c2 = parse("/x/gateway.conf", p1, &d2);
	assert_non_null(c2);
	char *p2 = conf_print(c2);
	assert_string_equal(p1, p2);
	free(p1);
	free(p2);
	conf_free(c2);
	policy_diags_free(&d2);
	conf_free(c);
	policy_diags_free(&d);
}

static void
test_errors_all_reported(void **st)
{
	static const char bad[] =
	    "gateway \"g1\";\n"
	    "polcy \"x.pol\";\n"				/* 2:1 keyword */
	    "journal \"j\" { segmnt 1M; retain 12Q; }\n"	/* 3:15, 3:36 */
	    "role janitor \"x\";\n"				/* 4:6 */
	    "gate a {\n"
	    "  reader simm;\n"					/* 6:10 */
	    "  lock sim;\n"
	    "  fail maybe;\n"					/* 8:8 */
	    "}\n"
	    "gate a { reader sim; lock sim; fail safe; }\n"	/* 10:6 dup */
	    "gate b { reader sim lock sim; }\n";		/* 11:21 */
	struct policy_diags d;
	char out[8192];

	(void)st;
	assert_null(parse("gw.conf", bad, &d));
	heads(&d, out, sizeof(out));
	assert_string_equal(out,
	    "gw.conf:2:1: error[C002]: unknown keyword 'polcy' in gateway.conf; did you mean 'policy'?\n"
	    "gw.conf:3:15: error[C002]: unknown keyword 'segmnt' in a journal block; did you mean 'segment'?\n"
	    "gw.conf:3:33: error[C006]: bad size '12Q' (a number with K, M, G or T)\n"
	    "gw.conf:4:6: error[C007]: unknown role 'janitor'; did you mean 'auditor'? (staff, admin, auditor, console)\n"
	    "gw.conf:6:10: error[C004]: unknown driver 'simm'; did you mean 'sim'?\n"
	    "gw.conf:8:8: error[C006]: fail mode must be 'secure' or 'safe', not 'maybe'\n"
	    "gw.conf:5:6: error[C005]: gate a has no reader\n"
	    "gw.conf:5:6: error[C005]: gate a must say 'fail secure;' or 'fail safe;' (what the lock does when the journal fails)\n"
	    "gw.conf:10:6: warning[W001]: gate a has no sensors: passages cannot be seen, so nobody is ever counted inside\n"
	    "gw.conf:10:6: error[C003]: gate a declared twice (first at line 5)\n"
	    "gw.conf:11:21: error[C001]: expected ';', got lock\n"
	    "gw.conf:11:6: error[C005]: gate b has no reader\n"
	    "gw.conf:11:6: error[C005]: gate b has no lock\n"
	    "gw.conf:11:6: error[C005]: gate b must say 'fail secure;' or 'fail safe;' (what the lock does when the journal fails)\n"
	    "gw.conf:12:1: error[C005]: missing 'policy \"FILE\";'\n");
	/* the offending line is echoed with a caret */
	char buf[2048];
	policy_diag_render(&d.v[4], buf, sizeof(buf));
	assert_non_null(strstr(buf, "    6 |   reader simm;\n      |          ^\n"));
	policy_diags_free(&d);
}

static void
test_lexical(void **st)
{
	struct policy_diags d;
	char out[4096];

	(void)st;
	assert_null(parse("l.conf",
	    "gateway \"unterminated;\n"
	    "policy \"p\\x\";\n"
	    "journal \"j\";\n"
	    "socket \"/tmp/a-very-long-socket-path-that-is-much-too-long-for-sun-path-"
	    "because-it-goes-on-and-on-and-on-and-on-and-on-and-on\";\n"
	    "gate g { reader sim; lock sim; fail safe; } $\n", &d));
	heads(&d, out, sizeof(out));
	assert_string_equal(out,
	    "l.conf:1:9: error[C001]: unterminated string\n"
	    "l.conf:2:8: error[C001]: bad escape in string (only \\\" and \\\\)\n"
	    "l.conf:4:8: error[C006]: socket path too long (at most 107 bytes)\n"
	    "l.conf:5:45: error[C001]: unexpected character '$'\n"
	    "l.conf:5:6: warning[W001]: gate g has no sensors: passages cannot be seen, so nobody is ever counted inside\n"
	    "l.conf:6:1: error[C005]: missing 'gateway \"ID\";'\n"
	    "l.conf:6:1: error[C005]: missing 'policy \"FILE\";'\n");
	policy_diags_free(&d);

	/* a NUL byte is refused outright */
	memset(&d, 0, sizeof(d));
	assert_null(conf_parse("n.conf", "gateway \"a\0\";", 13, &d));
	assert_int_equal(d.errors, 1);
	policy_diags_free(&d);
}

static void
test_missing_everything(void **st)
{
	struct policy_diags d;
	char out[4096];

	(void)st;
	assert_null(parse("e.conf", "", &d));
	heads(&d, out, sizeof(out));
	assert_string_equal(out,
	    "e.conf:1:1: error[C005]: missing 'gateway \"ID\";'\n"
	    "e.conf:1:1: error[C005]: missing 'policy \"FILE\";'\n"
	    "e.conf:1:1: error[C005]: missing 'journal \"DIR\";'\n");
	policy_diags_free(&d);
}

static void
test_warning_no_sensors(void **st)
{
	struct policy_diags d;
	struct gateway_conf *c;

	(void)st;
	c = parse("w.conf", "gateway g; policy p; journal j;\n"
	    "gate x { reader sim; lock sim; fail secure; }\n", &d);
	assert_non_null(c);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 1);
	assert_string_equal(d.v[0].code, "W001");
	assert_int_equal(d.v[0].line, 2);
	assert_int_equal(d.v[0].col, 6);
	assert_string_equal(c->socket, "/run/gatewayd.sock");
	assert_string_equal(c->policy, "p");	/* no directory to resolve */
	conf_free(c);
	policy_diags_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_errors_all_reported),
		cmocka_unit_test(test_lexical),
		cmocka_unit_test(test_missing_everything),
		cmocka_unit_test(test_warning_no_sensors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
