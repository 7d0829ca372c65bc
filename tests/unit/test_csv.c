/*
 * test_csv.c — the credentials CSV reader: good files, RFC 4180 quoting,
 * each error kind at its exact line, column and code, recovery after each,
 * and a 10 MB single line handled in linear time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "policy/csv.h"
#include "policy/policy.h"

/*
 * Parse from an exact-size heap copy, so ASan catches any read past len
 * (the library must not rely on a terminating NUL).
 */
static size_t
parse_n(const char *s, size_t n, struct csv *out, struct policy_diags *d)
{
	char *copy = malloc(n ? n : 1);
	size_t r;

	assert_non_null(copy);
	memcpy(copy, s, n);
	memset(d, 0, sizeof(*d));
	r = csv_parse("staff.csv", copy, n, out, d);
	free(copy);
	/* everything the reader kept must be its own copy */
	return r;
}

static size_t
parse(const char *s, struct csv *out, struct policy_diags *d)
{
	return parse_n(s, strlen(s), out, d);
}

static void
assert_diag(const struct policy_diags *d, size_t i, const char *code,
    uint32_t line, uint32_t col)
{
	assert_true(i < d->n);
	assert_string_equal(d->v[i].code, code);
	assert_string_equal(d->v[i].file, "staff.csv");
	assert_int_equal(d->v[i].line, line);
	assert_int_equal(d->v[i].col, col);
	assert_int_equal(d->v[i].sev, POLICY_ERROR);
	assert_non_null(d->v[i].msg);
}

static void
assert_row(const struct csv_row *r, uint32_t line, size_t n, ...)
{
	va_list ap;

	assert_int_equal(r->line, line);
	assert_int_equal(r->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(r->fields[i], va_arg(ap, const char *));
	va_end(ap);
}

static void
test_good_file(void **state)
{
	struct csv c;
	struct policy_diags d;
	const char *text =
	    "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
	    "N-1001,Alice Smith,nurses;staff,2026-01-01,2027-12-31,secure,sha256:AB:CD,\n"
	    "04A1B2C3,Bob Jones,visitors,,,legacy,,\n";

	(void)state;
	assert_int_equal(parse(text, &c, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(c.n, 3);
	assert_row(&c.rows[0], 1, 8, "id", "holder", "groups", "valid_from",
	    "valid_until", "class", "pin", "duress");
	assert_row(&c.rows[1], 2, 8, "N-1001", "Alice Smith", "nurses;staff",
	    "2026-01-01", "2027-12-31", "secure", "sha256:AB:CD", "");
	assert_row(&c.rows[2], 3, 8, "04A1B2C3", "Bob Jones", "visitors", "",
	    "", "legacy", "", "");
	/* columns are 1-based byte offsets of each field */
	assert_int_equal(c.rows[1].cols[0], 1);
	assert_int_equal(c.rows[1].cols[1], 8);
	assert_int_equal(c.rows[2].cols[3], 29);
	assert_int_equal(c.rows[2].cols[6], 38);
	assert_int_equal(c.rows[2].cols[7], 39);
	assert_string_equal(c.rows[2].text, "04A1B2C3,Bob Jones,visitors,,,legacy,,");
	csv_free(&c);
	assert_null(c.rows);
	policy_diags_free(&d);
}

static void
test_no_final_newline_crlf_blank(void **state)
{
	struct csv c;
	struct policy_diags d;

	(void)state;
	assert_int_equal(parse("\r\n  \n\na,b\r\n\t\r\nc,d\r\n\r\ne,f", &c, &d), 0);
	assert_int_equal(c.n, 3);
	assert_row(&c.rows[0], 4, 2, "a", "b");
	assert_row(&c.rows[1], 6, 2, "c", "d");
	assert_row(&c.rows[2], 8, 2, "e", "f");
	assert_string_equal(c.rows[1].text, "c,d");
	csv_free(&c);
	policy_diags_free(&d);

	/* empty input, and a lone field */
	assert_int_equal(parse("", &c, &d), 0);
	assert_int_equal(c.n, 0);
	csv_free(&c);
	assert_int_equal(parse(",\nx", &c, &d), 0);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[0], 1, 2, "", "");
	assert_row(&c.rows[1], 2, 1, "x");
	csv_free(&c);
	policy_diags_free(&d);

	/* rows of nothing but empty fields, first in the file */
	assert_int_equal(parse("\"\"\n,\"\",\n", &c, &d), 0);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[0], 1, 1, "");
	assert_row(&c.rows[1], 2, 3, "", "", "");
	assert_int_equal(c.rows[1].cols[2], 5);
	csv_free(&c);
	policy_diags_free(&d);

	/* a UTF-8 byte order mark is not part of the first field */
	assert_int_equal(parse("\xef\xbb\xbfid,x\n", &c, &d), 0);
	assert_row(&c.rows[0], 1, 2, "id", "x");
	assert_int_equal(c.rows[0].cols[0], 1);
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_quoted(void **state)
{
	struct csv c;
	struct policy_diags d;
	const char *text =
	    "id,holder\n"
	    "A-1,\"Smith, Alice\"\n"
	    "A-2,\"She said \"\"hi\"\"\"\n"
	    "\"A-3\",\"two\nlines\r\nhere\",\"\"\n"
	    "A-4,\"\"\"\"\r\n"
	    "\"\",x\n";

	(void)state;
	assert_int_equal(parse(text, &c, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(c.n, 6);
	assert_row(&c.rows[1], 2, 2, "A-1", "Smith, Alice");
	assert_row(&c.rows[2], 3, 2, "A-2", "She said \"hi\"");
	assert_row(&c.rows[3], 4, 3, "A-3", "two\nlines\r\nhere", "");
	assert_int_equal(c.rows[3].cols[1], 7);
	/* the third field starts on the row's third physical line */
	assert_int_equal(c.rows[3].cols[2], 7);
	assert_string_equal(c.rows[3].text, "\"A-3\",\"two");
	/* the embedded newlines count: the next row is on line 7 */
	assert_row(&c.rows[4], 7, 2, "A-4", "\"");
	assert_row(&c.rows[5], 8, 2, "", "x");
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_error_nul(void **state)
{
	struct csv c;
	struct policy_diags d;
	static const char text[] = "a,b\nc,d\0e\nf,\"g\0\"\nh,i\n";

	(void)state;
	assert_int_equal(parse_n(text, sizeof(text) - 1, &c, &d), 2);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.errors, 2);
	assert_diag(&d, 0, "E100", 2, 4);
	/* the echoed line shows the NUL, it does not end there */
	assert_string_equal(d.v[0].text, "c,d?e");
	assert_diag(&d, 1, "E100", 3, 5);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[0], 1, 2, "a", "b");
	assert_row(&c.rows[1], 4, 2, "h", "i");
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_error_unterminated(void **state)
{
	struct csv c;
	struct policy_diags d;

	(void)state;
	/* reported where the quote opened; reading resumes on the next line */
	assert_int_equal(parse("a,b\nc,\"d,e\nf,g\n", &c, &d), 1);
	assert_diag(&d, 0, "E101", 2, 3);
	assert_string_equal(d.v[0].text, "c,\"d,e");
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[0], 1, 2, "a", "b");
	assert_row(&c.rows[1], 3, 2, "f", "g");
	csv_free(&c);
	policy_diags_free(&d);

	assert_int_equal(parse("\"", &c, &d), 1);
	assert_diag(&d, 0, "E101", 1, 1);
	assert_int_equal(c.n, 0);
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_error_after_quote(void **state)
{
	struct csv c;
	struct policy_diags d;

	(void)state;
	assert_int_equal(parse("a,b\r\nx,\"yy\"z,w\r\n\"p\" ,q\nk,l\n", &c, &d), 2);
	assert_diag(&d, 0, "E102", 2, 7);
	assert_string_equal(d.v[0].text, "x,\"yy\"z,w");
	assert_diag(&d, 1, "E102", 3, 4);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[1], 4, 2, "k", "l");
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_error_bare_quote_and_cr(void **state)
{
	struct csv c;
	struct policy_diags d;

	(void)state;
	assert_int_equal(parse("a,b\"c\nd, \"e\"\nf\rg,h\nok,1\n", &c, &d), 3);
	assert_diag(&d, 0, "E104", 1, 4);
	assert_diag(&d, 1, "E104", 2, 4);
	assert_diag(&d, 2, "E105", 3, 2);
	assert_int_equal(c.n, 1);
	assert_row(&c.rows[0], 4, 2, "ok", "1");
	csv_free(&c);
	policy_diags_free(&d);
}

static void
test_row_limit(void **state)
{
	struct csv c;
	struct policy_diags d;
	size_t n = 65536;
	char *text = malloc(n + 100);
	size_t len;

	(void)state;
	assert_non_null(text);
	/* exactly 64 KiB is fine */
	memset(text, 'x', n);
	memcpy(text + n, "\nq\n", 3);
	assert_int_equal(parse_n(text, n + 3, &c, &d), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(strlen(c.rows[0].fields[0]), n);
	csv_free(&c);
	policy_diags_free(&d);

	/* one byte more is an error at the byte that crossed the limit */
	memset(text, 'x', n + 1);
	memcpy(text + n + 1, "\r\nq\n", 4);
	assert_int_equal(parse_n(text, n + 5, &c, &d), 1);
	assert_diag(&d, 0, "E103", 1, 65537);
	assert_int_equal(strlen(d.v[0].text), 200);
	assert_int_equal(c.n, 1);
	assert_row(&c.rows[0], 2, 1, "q");
	csv_free(&c);
	policy_diags_free(&d);

	/* a quoted field filling the row exactly; the comma after it is one
	 * byte too many, however empty the field it opens */
	text[0] = '"';
	memset(text + 1, 'y', n - 2);
	memcpy(text + n - 1, "\"\nz\n", 4);
	assert_int_equal(parse_n(text, n + 3, &c, &d), 0);
	assert_int_equal(strlen(c.rows[0].fields[0]), n - 2);
	csv_free(&c);
	policy_diags_free(&d);
	memcpy(text + n - 1, "\",\nz\n", 5);
	assert_int_equal(parse_n(text, n + 4, &c, &d), 1);
	assert_diag(&d, 0, "E103", 1, 65537);
	assert_int_equal(c.n, 1);
	assert_row(&c.rows[0], 2, 1, "z");
	csv_free(&c);
	policy_diags_free(&d);

	/* a long quoted field with embedded newlines and a comma */
	len = 0;
	memcpy(text, "a,\"", 3);
	len = 3;
	memset(text + len, 'y', n);
	for (size_t i = 100; i < n; i += 1000)
		text[len + i] = '\n';
	text[len + 50] = ',';
	len += n;
	memcpy(text + len, "\",z\nq,r\n", 8);
	len += 8;
	assert_int_equal(parse_n(text, len, &c, &d), 1);
	/* 66 embedded newlines precede byte 65536 of the row */
	assert_diag(&d, 0, "E103", 67, 65536 - (3 + 65100));
	assert_int_equal(c.n, 1);
	assert_row(&c.rows[0], 68, 2, "q", "r");
	csv_free(&c);
	policy_diags_free(&d);
	free(text);
}

static void
test_ten_mb_line(void **state)
{
	struct csv c;
	struct policy_diags d;
	size_t n = 10 * 1024 * 1024;
	char *text = malloc(n + 64);
	struct timespec t0, t1;
	double ms;

	(void)state;
	assert_non_null(text);
	memcpy(text, "id,holder\n", 10);
	for (size_t i = 10; i < n; i++)
		text[i] = (i % 7 == 0) ? ',' : 'a' + (char)(i % 26);
	/* a stray quote in the middle must not swallow the rest */
	text[n / 2] = '"';
	memcpy(text + n, "\nB-1,Bob\n", 9);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(parse_n(text, n + 9, &c, &d), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	/* linear: well under a second even under ASan */
	assert_true(ms < 1000.0);
	assert_diag(&d, 0, "E103", 2, 65537);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[1], 3, 2, "B-1", "Bob");
	csv_free(&c);
	policy_diags_free(&d);

	/* 10 MB in one quoted field that never closes */
	text[0] = '"';
	memset(text + 1, 'q', n - 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(parse_n(text, n, &c, &d), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 1000.0);
	assert_diag(&d, 0, "E103", 1, 65537);
	assert_int_equal(c.n, 0);
	csv_free(&c);
	policy_diags_free(&d);
	free(text);
}

static void
test_many_lines_of_quotes(void **state)
{
	struct csv c;
	struct policy_diags d;
	size_t lines = 20000, len = 0;
	char *text = malloc(lines * 5);
	struct timespec t0, t1;
	double ms;

	(void)state;
	/*
	 * Each odd line opens a quote that the even line's quote closes, with
	 * junk after it: one error per pair, found in linear time.
	 */
	assert_non_null(text);
	for (size_t i = 0; i < lines; i++) {
		memcpy(text + len, "a,\"x\n", 5);
		len += 5;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(parse_n(text, len, &c, &d), lines / 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 1000.0);
	assert_int_equal(d.errors, lines / 2);
	assert_diag(&d, 0, "E102", 2, 4);
	assert_diag(&d, 1, "E102", 4, 4);
	assert_int_equal(c.n, 0);
	csv_free(&c);
	policy_diags_free(&d);

	/* a quoted field spanning two lines is one row */
	assert_int_equal(parse("a,\"\na,\"\n", &c, &d), 0);
	assert_int_equal(c.n, 1);
	assert_row(&c.rows[0], 1, 2, "a", "\na,");
	csv_free(&c);
	policy_diags_free(&d);
	free(text);
}

static void
test_every_error_one_pass(void **state)
{
	struct csv c;
	struct policy_diags d;
	static const char text[] =
	    "id,holder\n"
	    "1,\"x\"y\n"		/* E102 */
	    "2,a\"b\n"			/* E104 */
	    "3,\0\n"			/* E100 */
	    "4,ok\n"
	    "5,\r6\n"			/* E105 */
	    "7,\"never closed\n";	/* E101 */

	(void)state;
	assert_int_equal(parse_n(text, sizeof(text) - 1, &c, &d), 5);
	assert_int_equal(d.n, 5);
	assert_diag(&d, 0, "E102", 2, 6);
	assert_diag(&d, 1, "E104", 3, 4);
	assert_diag(&d, 2, "E100", 4, 3);
	assert_diag(&d, 3, "E105", 6, 3);
	assert_diag(&d, 4, "E101", 7, 3);
	assert_int_equal(c.n, 2);
	assert_row(&c.rows[1], 5, 2, "4", "ok");
	csv_free(&c);
	policy_diags_free(&d);
}

/* csv_each must see exactly the rows csv_parse keeps, and report alike */
struct each_ctx {
	const struct csv	*want;
	size_t			 i;
	int			 mismatch;
};

static void
each_row(void *ctx, const struct csv_row *r)
{
	struct each_ctx *e = ctx;
	const struct csv_row *w;

	if (e->i >= e->want->n) {
		e->mismatch = 1;
		return;
	}
	w = &e->want->rows[e->i++];
	if (r->line != w->line || r->n != w->n || r->text == NULL ||
	    strncmp(r->text, w->text, 200) != 0)
		e->mismatch = 1;
	for (size_t j = 0; j < r->n && j < w->n; j++)
		if (strcmp(r->fields[j], w->fields[j]) != 0 ||
		    r->cols[j] != w->cols[j])
			e->mismatch = 1;
}

static void
test_each_matches_parse(void **state)
{
	static const char *const inputs[] = {
		"id,holder\nA-1,\"Smith, Alice\"\n\n\"A-2\",\"two\nlines\"\r\n,\n",
		"a,b\"c\nd,\"e\"f\ng,h\n\"unterminated\nx,y",
		"\"\"\n,,\n\xef\xbb\xbfnot-a-bom-here\n",
		"",
	};
	struct policy_diags d1, d2;
	struct csv c;

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		const char *s = inputs[i];
		struct each_ctx e = { &c, 0, 0 };
		size_t n1 = parse(s, &c, &d1), n2;

		memset(&d2, 0, sizeof(d2));
		n2 = csv_each("staff.csv", s, strlen(s), each_row, &e, &d2);
		assert_int_equal(n1, n2);
		assert_int_equal(e.mismatch, 0);
		assert_int_equal(e.i, c.n);
		assert_int_equal(d1.n, d2.n);
		for (size_t j = 0; j < d1.n; j++) {
			assert_string_equal(d1.v[j].code, d2.v[j].code);
			assert_int_equal(d1.v[j].line, d2.v[j].line);
			assert_int_equal(d1.v[j].col, d2.v[j].col);
		}
		csv_free(&c);
		policy_diags_free(&d1);
		policy_diags_free(&d2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_no_final_newline_crlf_blank),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_error_nul),
		cmocka_unit_test(test_error_unterminated),
		cmocka_unit_test(test_error_after_quote),
		cmocka_unit_test(test_error_bare_quote_and_cr),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_ten_mb_line),
		cmocka_unit_test(test_many_lines_of_quotes),
		cmocka_unit_test(test_every_error_one_pass),
		cmocka_unit_test(test_each_matches_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
