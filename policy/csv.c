/*
 * csv.c — RFC 4180 reader for the credentials file. The text is untrusted:
 * it need not be NUL-terminated and may hold anything. Each problem becomes
 * one diagnostic (E100-E119) at the byte where it was seen, the broken row
 * is dropped and reading resumes on the next line, so one pass reports all.
 * Work is linear in the input: a row is abandoned once it passes 64 KiB and
 * the rest of it is skipped with memchr, never copied.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/csv.h"

#define CSV_MAX_ROW	65536		/* bytes of one row, terminator excluded */
#define CSV_TEXT_MAX	200		/* bytes of a line echoed in a diagnostic */

/* error codes; E100-E119 are reserved for CSV syntax */
#define CSV_E_NUL		"E100"
#define CSV_E_UNTERMINATED	"E101"
#define CSV_E_AFTER_QUOTE	"E102"
#define CSV_E_TOO_LONG		"E103"
#define CSV_E_BARE_QUOTE	"E104"
#define CSV_E_BARE_CR		"E105"
#define CSV_E_NOMEM		"E106"

struct csv_ctx {
	const char		*file;
	const char		*text;
	size_t			 len;
	struct policy_diags	*d;
	size_t			 nerr;
	struct csv		*out;
	size_t			 cap;		/* of out->rows */

	size_t			 pos;		/* next byte to read */
	uint32_t		 line;		/* physical line of pos */
	size_t			 line_start;	/* offset of that line */

	/* one row's fields, unquoted, in a reused scratch buffer */
	char			*buf;
	size_t			 nbuf, bufcap;
	size_t			*foff;		/* field start offsets into buf */
	uint32_t		*fcol;
	size_t			 nf, fcap;
	int			 oom;

	/* streaming: rows go to cb, built in scratch, no allocation per row */
	csv_row_cb		 cb;
	void			*cbctx;
	char			**sfields;
	size_t			 sfcap;
};

/* A printable, bounded, NUL-free copy of the physical line at off. */
static void
csv_line_text(const struct csv_ctx *c, size_t off, char *dst, size_t dstlen)
{
	size_t n = 0;

	while (off + n < c->len && n + 1 < dstlen && n < CSV_TEXT_MAX) {
		char ch = c->text[off + n];
		if (ch == '\n' || ch == '\r')
			break;
		dst[n++] = ch == '\0' ? '?' : ch;
	}
	dst[n] = '\0';
}

static void
csv_error(struct csv_ctx *c, const char *code, uint32_t line, size_t line_start,
    size_t at, const char *msg)
{
	char text[CSV_TEXT_MAX + 1];
	size_t col = at - line_start + 1;

	c->nerr++;
	if (c->d == NULL)
		return;
	csv_line_text(c, line_start, text, sizeof(text));
	policy_diag_add(c->d, POLICY_ERROR, code, c->file, line,
	    col > UINT32_MAX ? UINT32_MAX : (uint32_t)col, text, "%s", msg);
}

/* Resume after the next newline at or after `from`, or at the end. */
static void
csv_skip_line(struct csv_ctx *c, size_t from)
{
	const char *nl;

	if (from >= c->len) {
		c->pos = c->len;
		return;
	}
	nl = memchr(c->text + from, '\n', c->len - from);
	if (nl == NULL) {
		c->pos = c->len;
		return;
	}
	c->pos = (size_t)(nl - c->text) + 1;
	c->line++;
	c->line_start = c->pos;
}

/*
 * A row passed 64 KiB inside a quoted field: the row ends at the first
 * newline outside quotes. If the quotes never balance, fall back to the
 * next raw newline so one stray quote cannot swallow the rest of the file.
 */
static void
csv_skip_quoted(struct csv_ctx *c)
{
	size_t p = c->pos, ls = c->line_start;
	uint32_t line = c->line;
	int inq = 1;

	while (p < c->len) {
		const char *q;
		if (inq) {
			q = memchr(c->text + p, '"', c->len - p);
			if (q == NULL)
				break;
			/* count the newlines we jumped over */
			for (const char *s = c->text + p;
			    (s = memchr(s, '\n', (size_t)(q - s))) != NULL; s++) {
				line++;
				ls = (size_t)(s - c->text) + 1;
			}
			p = (size_t)(q - c->text) + 1;
			inq = 0;
			continue;
		}
		if (c->text[p] == '"')
			inq = 1;
		else if (c->text[p] == '\n') {
			c->pos = p + 1;
			c->line = line + 1;
			c->line_start = c->pos;
			return;
		}
		p++;
	}
	if (!inq) {
		c->pos = c->len;
		c->line = line;
		c->line_start = ls;
		return;
	}
	csv_skip_line(c, c->pos);
}

static int
csv_put(struct csv_ctx *c, char ch)
{
	if (c->nbuf == c->bufcap) {
		size_t cap = c->bufcap ? c->bufcap * 2 : 256;
		char *b = realloc(c->buf, cap);
		if (b == NULL) {
			c->oom = 1;
			return -1;
		}
		c->buf = b;
		c->bufcap = cap;
	}
	c->buf[c->nbuf++] = ch;
	return 0;
}

static int
csv_field_begin(struct csv_ctx *c)
{
	if (c->nf == c->fcap) {
		size_t cap = c->fcap ? c->fcap * 2 : 16;
		size_t *o = realloc(c->foff, cap * sizeof(*o));
		uint32_t *k;
		if (o == NULL) {
			c->oom = 1;
			return -1;
		}
		c->foff = o;
		if ((k = realloc(c->fcol, cap * sizeof(*k))) == NULL) {
			c->oom = 1;
			return -1;
		}
		c->fcol = k;
		c->fcap = cap;
	}
	c->foff[c->nf] = c->nbuf;
	c->fcol[c->nf] = (uint32_t)(c->pos - c->line_start + 1);
	c->nf++;
	return 0;
}

static void
csv_row_free(struct csv_row *r)
{
	if (r->fields != NULL)
		for (size_t i = 0; i < r->n; i++)
			free(r->fields[i]);
	free(r->fields);
	free(r->cols);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* Hand the scratch row to the callback without copying it. */
static int
csv_row_stream(struct csv_ctx *c, uint32_t line, size_t row_start)
{
	struct csv_row r;
	char text[CSV_TEXT_MAX + 1];

	if (c->nf > c->sfcap) {
		char **v = realloc(c->sfields, c->nf * sizeof(*v));
		if (v == NULL) {
			c->oom = 1;
			return -1;
		}
		c->sfields = v;
		c->sfcap = c->nf;
	}
	/* the last field ends at nbuf: terminate it like the others */
	if (csv_put(c, '\0') == -1)
		return -1;
	for (size_t i = 0; i < c->nf; i++)
		c->sfields[i] = c->buf + c->foff[i];
	csv_line_text(c, row_start, text, sizeof(text));
	memset(&r, 0, sizeof(r));
	r.line = line;
	r.n = c->nf;
	r.fields = c->sfields;
	r.cols = c->fcol;
	r.text = text;
	c->cb(c->cbctx, &r);
	return 0;
}

/* Copy the scratch row out as a csv_row. */
static int
csv_row_emit(struct csv_ctx *c, uint32_t line, size_t row_start)
{
	struct csv_row r;
	size_t tl;

	if (c->cb != NULL)
		return csv_row_stream(c, line, row_start);
	memset(&r, 0, sizeof(r));
	r.line = line;
	if (c->out->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct csv_row *v = realloc(c->out->rows, cap * sizeof(*v));
		if (v == NULL)
			goto oom;
		c->out->rows = v;
		c->cap = cap;
	}
	if ((r.fields = calloc(c->nf, sizeof(*r.fields))) == NULL ||
	    (r.cols = malloc(c->nf * sizeof(*r.cols))) == NULL)
		goto oom;
	r.n = c->nf;
	for (size_t i = 0; i < c->nf; i++) {
		/* every field but the last ends in the '\0' put at its comma */
		size_t end = i + 1 < c->nf ? c->foff[i + 1] - 1 : c->nbuf;
		size_t n = end - c->foff[i];
		if ((r.fields[i] = malloc(n + 1)) == NULL)
			goto oom;
		if (n > 0)
			memcpy(r.fields[i], c->buf + c->foff[i], n);
		r.fields[i][n] = '\0';
		r.cols[i] = c->fcol[i];
	}
	for (tl = 0; row_start + tl < c->len && c->text[row_start + tl] != '\n'; tl++)
		;
	if (tl > 0 && c->text[row_start + tl - 1] == '\r')
		tl--;
	if ((r.text = malloc(tl + 1)) == NULL)
		goto oom;
	memcpy(r.text, c->text + row_start, tl);
	r.text[tl] = '\0';
	c->out->rows[c->out->n++] = r;
	return 0;
oom:
	csv_row_free(&r);
	c->oom = 1;
	return -1;
}

/* Is the physical line at pos empty or only blanks? Then skip it. */
static int
csv_blank_line(struct csv_ctx *c)
{
	size_t p = c->pos;

	while (p < c->len && (c->text[p] == ' ' || c->text[p] == '\t'))
		p++;
	if (p < c->len && c->text[p] == '\r' && p + 1 < c->len &&
	    c->text[p + 1] == '\n')
		p++;
	if (p < c->len && c->text[p] != '\n')
		return 0;
	csv_skip_line(c, p);
	return 1;
}

/*
 * One row from c->pos, which is at the start of a physical line. On return
 * c->pos is at the start of the next row (or the end).
 */
static void
csv_row(struct csv_ctx *c)
{
	const char *t = c->text;
	size_t row_start = c->pos;
	uint32_t row_line = c->line;

	if (csv_blank_line(c))
		return;
	c->nbuf = 0;
	c->nf = 0;
	for (;;) {
		if (csv_field_begin(c) == -1)
			return;
		if (c->pos < c->len && t[c->pos] == '"') {
			size_t qpos = c->pos, qls = c->line_start;
			uint32_t qline = c->line;

			c->pos++;
			for (;;) {
				char ch;
				if (c->pos >= c->len) {
					csv_error(c, CSV_E_UNTERMINATED, qline,
					    qls, qpos, "quoted field is never "
					    "closed (missing '\"')");
					/* resume on the line after the quote */
					c->line = qline;
					c->line_start = qls;
					csv_skip_line(c, qpos);
					return;
				}
				if (c->pos - row_start >= CSV_MAX_ROW) {
					csv_error(c, CSV_E_TOO_LONG, c->line,
					    c->line_start, c->pos,
					    "row longer than 64 KiB");
					csv_skip_quoted(c);
					return;
				}
				ch = t[c->pos];
				if (ch == '\0') {
					csv_error(c, CSV_E_NUL, c->line,
					    c->line_start, c->pos, "NUL byte");
					csv_skip_line(c, c->pos);
					return;
				}
				if (ch == '"') {
					if (c->pos + 1 < c->len &&
					    t[c->pos + 1] == '"') {
						if (csv_put(c, '"') == -1)
							return;
						c->pos += 2;
						continue;
					}
					c->pos++;
					break;
				}
				if (csv_put(c, ch) == -1)
					return;
				if (ch == '\n') {
					c->line++;
					c->line_start = c->pos + 1;
				}
				c->pos++;
			}
			/* after the closing quote: a separator or the end */
			if (c->pos >= c->len)
				goto done;
			if (t[c->pos] == ',') {
				if (c->pos - row_start >= CSV_MAX_ROW) {
					csv_error(c, CSV_E_TOO_LONG, c->line,
					    c->line_start, c->pos,
					    "row longer than 64 KiB");
					csv_skip_line(c, c->pos);
					return;
				}
				if (csv_put(c, '\0') == -1)
					return;
				c->pos++;
				continue;
			}
			if (t[c->pos] == '\n' || (t[c->pos] == '\r' &&
			    c->pos + 1 < c->len && t[c->pos + 1] == '\n'))
				goto done;
			csv_error(c, t[c->pos] == '\0' ? CSV_E_NUL :
			    CSV_E_AFTER_QUOTE, c->line, c->line_start, c->pos,
			    t[c->pos] == '\0' ? "NUL byte" :
			    "text after the closing quote of a field");
			csv_skip_line(c, c->pos);
			return;
		}
		/* unquoted field */
		for (;;) {
			char ch;
			if (c->pos >= c->len)
				goto done;
			ch = t[c->pos];
			if (ch == '\n' || (ch == '\r' && c->pos + 1 < c->len &&
			    t[c->pos + 1] == '\n'))
				break;
			if (c->pos - row_start >= CSV_MAX_ROW) {
				csv_error(c, CSV_E_TOO_LONG, c->line,
				    c->line_start, c->pos,
				    "row longer than 64 KiB");
				csv_skip_line(c, c->pos);
				return;
			}
			if (ch == ',')
				break;
			if (ch == '\r') {
				csv_error(c, CSV_E_BARE_CR, c->line,
				    c->line_start, c->pos, "carriage return "
				    "not followed by a line feed");
				csv_skip_line(c, c->pos);
				return;
			}
			if (ch == '"') {
				csv_error(c, CSV_E_BARE_QUOTE, c->line,
				    c->line_start, c->pos, "'\"' inside an "
				    "unquoted field (quote the whole field and "
				    "double the quote)");
				csv_skip_line(c, c->pos);
				return;
			}
			if (ch == '\0') {
				csv_error(c, CSV_E_NUL, c->line, c->line_start,
				    c->pos, "NUL byte");
				csv_skip_line(c, c->pos);
				return;
			}
			if (csv_put(c, ch) == -1)
				return;
			c->pos++;
		}
		if (t[c->pos] == ',') {
			if (csv_put(c, '\0') == -1)
				return;
			c->pos++;
			continue;
		}
		goto done;
	}
done:
	/* c->pos is at '\n', "\r\n" or the end */
	if (c->pos < c->len && t[c->pos] == '\r')
		c->pos++;
	if (c->pos < c->len) {
		c->pos++;
		c->line++;
		c->line_start = c->pos;
	}
	csv_row_emit(c, row_line, row_start);
}

static size_t
csv_run(struct csv_ctx *c, const char *file, const char *text, size_t len,
    struct policy_diags *d)
{
	c->file = file;
	c->text = text;
	c->len = text == NULL ? 0 : len;
	c->d = d;
	c->line = 1;
	/* a UTF-8 byte order mark is not part of the first field */
	if (c->len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		c->pos = c->line_start = 3;
	while (c->pos < c->len && !c->oom)
		csv_row(c);
	if (c->oom)
		csv_error(c, CSV_E_NOMEM, c->line, c->line_start, c->pos,
		    "out of memory reading the file");
	free(c->buf);
	free(c->foff);
	free(c->fcol);
	free(c->sfields);
	return c->nerr;
}

size_t
csv_parse(const char *file, const char *text, size_t len, struct csv *out,
    struct policy_diags *d)
{
	struct csv_ctx c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.out = out;
	return csv_run(&c, file, text, len, d);
}

size_t
csv_each(const char *file, const char *text, size_t len, csv_row_cb cb,
    void *cbctx, struct policy_diags *d)
{
	struct csv_ctx c;
	struct csv unused = { 0 };

	memset(&c, 0, sizeof(c));
	c.out = &unused;
	c.cb = cb;
	c.cbctx = cbctx;
	return csv_run(&c, file, text, len, d);
}

void
csv_free(struct csv *csv)
{
	if (csv == NULL)
		return;
	for (size_t i = 0; i < csv->n; i++)
		csv_row_free(&csv->rows[i]);
	free(csv->rows);
	memset(csv, 0, sizeof(*csv));
}
