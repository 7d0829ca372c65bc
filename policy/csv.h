/*
 * csv.h — RFC 4180 CSV reader for the credentials file. Untrusted input:
 * every problem is a diagnostic with line and column; a broken row is
 * skipped and reading goes on, so all errors are reported in one pass.
 */
#ifndef POLICY_CSV_H
#define POLICY_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct csv_row {
	uint32_t	 line;		/* 1-based line where the row starts */
	size_t		 n;
	char		**fields;	/* unquoted, NUL-terminated copies */
	uint32_t	*cols;		/* 1-based column where each field starts */
	char		*text;		/* the row's first line, for diagnostics */
};

struct csv {
	struct csv_row	*rows;
	size_t		 n;
};

/* Returns the number of errors appended to d (0 = clean). Blank lines are
 * skipped; CRLF accepted; NUL bytes, unterminated quotes, text after a
 * closing quote and rows longer than 64 KiB are errors. */
size_t	csv_parse(const char *file, const char *text, size_t len,
	    struct csv *out, struct policy_diags *d);
void	csv_free(struct csv *);

/* The same reader, streaming: each good row goes to cb, valid only during
 * the call (no allocation per row, so a 100,000-row file leaves no heap
 * fragments behind). */
typedef void (*csv_row_cb)(void *ctx, const struct csv_row *row);
size_t	csv_each(const char *file, const char *text, size_t len, csv_row_cb cb,
	    void *ctx, struct policy_diags *d);

#endif
