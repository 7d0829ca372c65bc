/*
 * test_policy_corpus.c — the policy corpus: every tests/policy/bad/X.pol
 * must produce exactly the diagnostics in X.expected; every
 * tests/policy/good/X.pol must load cleanly, print as X.print, and load its
 * own print back to the same print (round trip). Set UPDATE_EXPECTED=1 to
 * rewrite the expected files after a deliberate change (then review them).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/policyio.h"
#include "policy/policy.h"

#define CORPUS	"tests/policy"

static char *
render_all(const struct policy_diags *d)
{
	size_t cap = 4096, n = 0;
	char *out = malloc(cap), line[2048];

	out[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		size_t k = policy_diag_render(&d->v[i], line, sizeof(line));
		if (k >= sizeof(line))
			k = sizeof(line) - 1;
		while (n + k + 1 > cap)
			out = realloc(out, cap *= 2);
		memcpy(out + n, line, k + 1);
		n += k;
	}
	return out;
}

static char *
slurp(const char *path)
{
	char *buf, err[256];
	size_t len;

	if (policyio_read(path, 1 << 24, &buf, &len, err, sizeof(err)) != 0)
		return NULL;
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a > b && strcmp(s + a - b, suf) == 0;
}

static void
corpus_bad(void **state)
{
	DIR *dir = opendir(CORPUS "/bad");
	struct dirent *e;
	int checked = 0;

	(void)state;
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		char path[512], exp_path[512], *got, *want;
		struct policy_diags d = { 0 };
		struct policy *p;

		if (!has_suffix(e->d_name, ".pol"))
			continue;
		snprintf(path, sizeof(path), CORPUS "/bad/%s", e->d_name);
		snprintf(exp_path, sizeof(exp_path), "%.*s.expected",
		    (int)strlen(path) - 4, path);
		p = policyio_load(path, &d);
		if (p != NULL)
			fail_msg("%s loaded, but it is in the bad corpus", path);
		assert_true(d.errors > 0);
		got = render_all(&d);
		if (getenv("UPDATE_EXPECTED"))
			spit(exp_path, got);
		want = slurp(exp_path);
		if (want == NULL)
			fail_msg("%s is missing (run with UPDATE_EXPECTED=1)", exp_path);
		if (strcmp(got, want) != 0) {
			fprintf(stderr, "--- %s expected:\n%s--- got:\n%s", path, want, got);
			fail_msg("diagnostics differ for %s", path);
		}
		free(got);
		free(want);
		policy_diags_free(&d);
		checked++;
	}
	closedir(dir);
	assert_true(checked >= 5);
}

static void
roundtrip_one(const char *path, const char *print_path)
{
	struct policy_diags d = { 0 };
	struct policy *p = policyio_load(path, &d), *q;
	char *printed, *want, *again, tmp[512];

	if (p == NULL) {
		char *msg = render_all(&d);
		fail_msg("%s does not load:\n%s", path, msg);
	}
	assert_int_equal(d.errors, 0);
	printed = policy_print(p);
	if (getenv("UPDATE_EXPECTED"))
		spit(print_path, printed);
	want = slurp(print_path);
	if (want == NULL)
		fail_msg("%s is missing (run with UPDATE_EXPECTED=1)", print_path);
	assert_string_equal(printed, want);

	/* load the print itself (same directory, for the credentials file) */
	snprintf(tmp, sizeof(tmp), "%.*s.roundtrip.tmp", (int)strlen(path) - 4, path);
	spit(tmp, printed);
	policy_diags_free(&d);
	q = policyio_load(tmp, &d);
	remove(tmp);
	assert_non_null(q);
	again = policy_print(q);
	assert_string_equal(again, printed);
	assert_int_equal(policy_count(p, POLICY_COUNT_RULES), policy_count(q, POLICY_COUNT_RULES));
	assert_int_equal(policy_count(p, POLICY_COUNT_TESTS), policy_count(q, POLICY_COUNT_TESTS));
	assert_int_equal(policy_run_tests(q, NULL, NULL), policy_run_tests(p, NULL, NULL));
	free(printed);
	free(want);
	free(again);
	policy_free(p);
	policy_free(q);
	policy_diags_free(&d);
}

static void
corpus_good(void **state)
{
	DIR *dir = opendir(CORPUS "/good");
	struct dirent *e;
	int checked = 0;

	(void)state;
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		char path[512], pp[512];
		if (!has_suffix(e->d_name, ".pol"))
			continue;
		snprintf(path, sizeof(path), CORPUS "/good/%s", e->d_name);
		snprintf(pp, sizeof(pp), "%.*s.print", (int)strlen(path) - 4, path);
		roundtrip_one(path, pp);
		checked++;
	}
	closedir(dir);
	assert_true(checked >= 1);
}

/* The shipped examples: load, every embedded test passes, print round-trips. */
static void
examples_pass(void **state)
{
	static const char *const ex[] = {
		"examples/hospital/hospital.pol", "examples/stadium/stadium.pol",
		"examples/school/school.pol"
	};
	int found = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct policy_diags d = { 0 };
		struct policy *p;
		FILE *f = fopen(ex[i], "r");
		if (f == NULL)
			continue;
		fclose(f);
		found++;
		p = policyio_load(ex[i], &d);
		if (p == NULL)
			fail_msg("%s does not load:\n%s", ex[i], render_all(&d));
		assert_true(policy_count(p, POLICY_COUNT_TESTS) >= 5);
		assert_int_equal(policy_run_tests(p, NULL, NULL), 0);
		policy_free(p);
		policy_diags_free(&d);
	}
	assert_true(found >= 1);
}

static int
hostile_io(void *ctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	(void)ctx; (void)kind; (void)name; (void)buf; (void)len;
	snprintf(err, errlen, "no files in this test");
	return -1;
}

static void
load_hostile(const char *text, size_t len, const char *want_code)
{
	struct policy_io io = { NULL, hostile_io };
	struct policy_diags d = { 0 };
	struct policy *p = policy_load("hostile.pol", text, len, &io, &d);
	int found = 0;

	assert_null(p);
	assert_true(d.errors > 0);
	assert_true(d.n <= 1000);
	for (size_t i = 0; i < d.n; i++)
		found |= strcmp(d.v[i].code, want_code) == 0;
	if (!found)
		fail_msg("no %s among %zu diagnostics", want_code, d.n);
	policy_diags_free(&d);
}

/* Binary junk, one 10 MB line, a million braces, NUL bytes: an error in
 * words, bounded output, no crash. */
static void
hostile_inputs(void **state)
{
	size_t n = 10u << 20;
	char *big = malloc(n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(0x80 | (i * 7919 % 127));
	load_hostile(big, n, "E003");
	memset(big, 'a', n);
	load_hostile(big, n, "E001");
	memset(big, '{', n);
	load_hostile(big, n, "E001");
	memcpy(big, "zone a;\0", 9);
	load_hostile(big, 9, "E003");
	for (size_t i = 0; i < n; i++)
		big[i] = "zone x { in y; capacity 1 hard; }\n"[i % 34];
	load_hostile(big, n, "E000");		/* too many errors: stops */
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_bad),
		cmocka_unit_test(corpus_good),
		cmocka_unit_test(examples_pass),
		cmocka_unit_test(hostile_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
