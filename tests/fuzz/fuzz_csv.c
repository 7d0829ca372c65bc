/*
 * fuzz_csv.c — libFuzzer harness for the credentials CSV reader: any bytes
 * in, and what comes out must be consistent (rows in line order, every
 * field a string, errors counted once each).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/csv.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the streaming reader must hand over exactly the rows csv_parse keeps */
struct each_ctx {
	const struct csv	*want;
	size_t			 i;
};

static void
each_row(void *ctx, const struct csv_row *r)
{
	struct each_ctx *e = ctx;
	const struct csv_row *w;

	if (e->i >= e->want->n)
		__builtin_trap();
	w = &e->want->rows[e->i++];
	if (r->line != w->line || r->n != w->n)
		__builtin_trap();
	for (size_t j = 0; j < r->n; j++)
		if (strcmp(r->fields[j], w->fields[j]) != 0 ||
		    r->cols[j] != w->cols[j])
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_diags d;
	struct csv c;
	size_t nerr;
	uint32_t last = 0;

	memset(&d, 0, sizeof(d));
	nerr = csv_parse("fuzz.csv", (const char *)data, size, &c, &d);
	if (nerr != d.errors)
		__builtin_trap();
	for (size_t i = 0; i < c.n; i++) {
		const struct csv_row *r = &c.rows[i];
		if (r->line <= last || r->n == 0 || r->text == NULL)
			__builtin_trap();
		last = r->line;
		for (size_t j = 0; j < r->n; j++) {
			if (r->fields[j] == NULL || r->cols[j] == 0)
				__builtin_trap();
			(void)strlen(r->fields[j]);
		}
	}
	for (size_t i = 0; i < d.n; i++) {
		char buf[512];
		if (d.v[i].line == 0 || d.v[i].col == 0 ||
		    strncmp(d.v[i].code, "E1", 2) != 0)
			__builtin_trap();
		(void)policy_diag_render(&d.v[i], buf, sizeof(buf));
	}
	{
		struct policy_diags d2;
		struct each_ctx e = { &c, 0 };

		memset(&d2, 0, sizeof(d2));
		if (csv_each("fuzz.csv", (const char *)data, size, each_row, &e,
		    &d2) != nerr || e.i != c.n)
			__builtin_trap();
		policy_diags_free(&d2);
	}
	csv_free(&c);
	policy_diags_free(&d);
	return 0;
}
