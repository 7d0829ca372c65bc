/*
 * diag.c — diagnostics as data: collected in one pass, rendered for humans
 * as "file:line:col: error[CODE]: message" with the line echoed and a caret,
 * and "did you mean" suggestions by edit distance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* Cap what one broken file can make us allocate. */
#define DIAG_MAX	1000

static char *
diag_strdup(const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n + 1);
	return p;
}

void
policy_diag_add(struct policy_diags *d, enum policy_severity sev,
    const char *code, const char *file, uint32_t line, uint32_t col,
    const char *text, const char *fmt, ...)
{
	struct policy_diag *g;
	va_list ap;
	char msg[512];

	if (sev == POLICY_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= DIAG_MAX)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct policy_diag *v = realloc(d->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g = &d->v[d->n++];
	memset(g, 0, sizeof(*g));
	g->sev = sev;
	snprintf(g->code, sizeof(g->code), "%s", code);
	g->file = diag_strdup(file ? file : "<input>");
	g->line = line;
	g->col = col;
	g->msg = diag_strdup(msg);
	if (text != NULL) {
		/* keep one line, bounded: a 10 MB line must not be echoed whole */
		size_t n = strcspn(text, "\r\n");
		if (n > 200)
			n = 200;
		if ((g->text = malloc(n + 1)) != NULL) {
			memcpy(g->text, text, n);
			g->text[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)g->text[i] < 0x20 && g->text[i] != '\t')
					g->text[i] = '?';
		}
	}
}

void
policy_diags_free(struct policy_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
		free(d->v[i].text);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

size_t
policy_diag_render(const struct policy_diag *g, char *buf, size_t len)
{
	const char *sev = g->sev == POLICY_ERROR ? "error" : "warning";
	size_t off = 0;
	int r;

#define APPEND(...) do {						\
		r = snprintf(off < len ? buf + off : NULL,		\
		    off < len ? len - off : 0, __VA_ARGS__);		\
		if (r > 0) off += (size_t)r;				\
	} while (0)

	if (len > 0)
		buf[0] = '\0';
	if (g->line > 0)
		APPEND("%s:%u:%u: %s[%s]: %s\n", g->file, g->line, g->col, sev,
		    g->code, g->msg ? g->msg : "");
	else
		APPEND("%s: %s[%s]: %s\n", g->file, sev, g->code,
		    g->msg ? g->msg : "");
	if (g->text != NULL && g->line > 0) {
		APPEND("%5u | %s\n      | ", g->line, g->text);
		/* tabs stay tabs so the caret lines up in a terminal */
		for (uint32_t i = 1; i < g->col && i <= 200; i++)
			APPEND("%c", (i - 1 < strlen(g->text) &&
			    g->text[i - 1] == '\t') ? '\t' : ' ');
		APPEND("^\n");
	}
#undef APPEND
	return off;
}

static size_t
diag_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0], tmp;
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
policy_suggest(const char *name, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, len = strlen(name);
	/* close means at most a third of the name wrong, and at least 1 edit */
	size_t limit = len / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		size_t dist;
		if (names[i] == NULL)
			continue;
		dist = diag_distance(name, names[i]);
		if (dist <= limit && dist < bestd) {
			bestd = dist;
			best = names[i];
		}
	}
	return best;
}
