/*
 * creds.c — the credentials file named by the policy: one row per badge,
 * columns found by the header's names. Untrusted: a broken row is reported
 * with its line and column and left out; the rest still loads, and the
 * policy as a whole fails so nobody deploys half a card list.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/csv.h"
#include "policy/loader.h"

enum col { C_ID, C_HOLDER, C_GROUPS, C_FROM, C_UNTIL, C_CLASS, C_PIN, C_DURESS, C_ISSUE, C__COUNT };
static const char *const col_names[C__COUNT] = {
	"id", "holder", "groups", "valid_from", "valid_until", "class", "pin", "duress",
	"issue"
};

static void
cred_err(struct loader *ld, const struct csv_row *row, size_t field,
    const char *code, const char *fmt, const char *a, const char *b)
{
	char msg[300];

	snprintf(msg, sizeof(msg), fmt, a, b);
	policy_diag_add(ld->d, POLICY_ERROR, code, ld->p->cred_file, row->line,
	    field < row->n ? row->cols[field] : 1, row->text, "%s", msg);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
unhex(const char *s, size_t n, uint8_t *out, size_t max)
{
	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static int parse_pin_into(const char *, uint8_t *, uint8_t *, uint8_t *);

/* "sha256:SALTHEX:HASHHEX" into a new pol_pin, or NULL */
static struct pol_pin *
parse_pin(const char *s)
{
	struct pol_pin *pp = calloc(1, sizeof(*pp));

	if (pp == NULL)
		abort();
	if (parse_pin_into(s, pp->salt, &pp->salt_len, pp->hash) != 0) {
		free(pp);
		return NULL;
	}
	return pp;
}

static int
parse_pin_into(const char *s, uint8_t *salt, uint8_t *salt_len, uint8_t *hash)
{
	const char *a, *b;
	int n;

	if (strncmp(s, "sha256:", 7) != 0)
		return -1;
	a = s + 7;
	if ((b = strchr(a, ':')) == NULL)
		return -1;
	if ((n = unhex(a, (size_t)(b - a), salt, 32)) < 4)
		return -1;
	*salt_len = (uint8_t)n;
	if (strlen(b + 1) != 64 || unhex(b + 1, 64, hash, 32) != 32)
		return -1;
	return 0;
}

/* valid_from: a date means from local midnight; valid_until: to its end. */
static int
parse_validity(struct loader *ld, const char *s, int end_of_day, int64_t *out)
{
	int64_t secs, utc;
	int absolute = 0;
	size_t n = strlen(s);

	if (tz_parse_datetime(s, n, &secs, &absolute) != 0)
		return -1;
	if (absolute) {
		*out = secs;
		return 0;
	}
	if (end_of_day && n == 10)
		secs += 86400;	/* "until 2026-12-31" includes that whole day */
	if (ld->p->tz == NULL) {
		*out = secs;
		return 0;
	}
	tz_from_local(ld->p->tz, secs, &utc);
	*out = utc;
	return 0;
}

static const char *
creds_group_name(const void *arr, size_t i)
{
	return ((const struct pol_group *)arr)[i].name;
}

struct creds_ctx {
	struct loader		*ld;
	int			 col[C__COUNT];
	size_t			 ncols;
	int			 header_done, header_ok;
	const char		**gnames;
	struct pol_index	 gindex;
	size_t			 cap;
};

static void
creds_header(struct creds_ctx *x, const struct csv_row *row)
{
	struct loader *ld = x->ld;

	x->header_done = 1;
	x->ncols = row->n;
	for (size_t f = 0; f < row->n; f++) {
		const char *h = row->fields[f];
		int k;
		for (k = 0; k < C__COUNT; k++)
			if (strcmp(h, col_names[k]) == 0)
				break;
		if (k == C__COUNT) {
			const char *s = policy_suggest(h, col_names, C__COUNT);
			char hint[80] = "";
			if (s)
				snprintf(hint, sizeof(hint), "; did you mean '%s'?", s);
			cred_err(ld, row, f, "E057", "unknown column '%s'%s", h, hint);
		} else if (x->col[k] >= 0)
			cred_err(ld, row, f, "E057", "column '%s' appears twice%s", h, "");
		else
			x->col[k] = (int)f;
	}
	if (x->col[C_ID] < 0) {
		cred_err(ld, row, 0, "E057", "the first line must be a header naming "
		    "the columns, with at least '%s'%s", "id", "");
		return;
	}
	x->header_ok = 1;
}

static void
creds_row(void *vctx, const struct csv_row *row)
{
	struct creds_ctx *x = vctx;
	struct loader *ld = x->ld;
	struct policy *p = ld->p;
	struct pol_cred *c;
	const char *v[C__COUNT];
	int bad = 0;
	uint32_t groups[256];
	size_t ng = 0;

	if (!x->header_done) {
		creds_header(x, row);
		return;
	}
	if (!x->header_ok || p->ncreds >= x->cap)
		return;
	c = &p->creds[p->ncreds];
	if (row->n != x->ncols) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "%zu", row->n);
		snprintf(b, sizeof(b), "%zu", x->ncols);
		cred_err(ld, row, 0, "E051", "this row has %s fields; the header has %s", a, b);
		return;
	}
	for (int k = 0; k < C__COUNT; k++)
		v[k] = x->col[k] >= 0 ? row->fields[x->col[k]] : "";
	memset(c, 0, sizeof(*c));
	c->line = row->line;
	c->valid_from = INT64_MIN;
	c->valid_until = INT64_MAX;
	c->cls = POLICY_CLASS_LEGACY;

	if (v[C_ID][0] == '\0' || strlen(v[C_ID]) > 63) {
		cred_err(ld, row, (size_t)x->col[C_ID], "E052", "a credential id must be 1 to "
		    "63 characters%s%s", "", "");
		return;
	}
	for (const char *s = v[C_ID]; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f) {
			cred_err(ld, row, (size_t)x->col[C_ID], "E052", "credential id '%s' "
			    "contains a space or control character%s", v[C_ID], "");
			bad = 1;
			break;
		}
	/* groups: "a;b c" — ';' or spaces separate */
	for (const char *s = v[C_GROUPS]; *s;) {
		char name[70];
		size_t n;
		uint32_t gi;
		while (*s == ';' || *s == ' ')
			s++;
		n = strcspn(s, "; ");
		if (n == 0)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(n > 64 ? 64 : n), s);
		gi = n > 64 ? POLICY_NONE : pol_index_get(&x->gindex, name,
		    creds_group_name, p->groups);
		if (gi == POLICY_NONE) {
			const char *sug = policy_suggest(name, x->gnames, p->ngroups);
			char hint[90] = "";
			if (sug)
				snprintf(hint, sizeof(hint), "; did you mean '%s'?", sug);
			cred_err(ld, row, (size_t)x->col[C_GROUPS], "E053",
			    "unknown group '%s'%s", name, hint);
			bad = 1;
		} else if (ng < 256) {
			int dup = 0;
			for (size_t k = 0; k < ng; k++)
				dup |= groups[k] == gi;
			if (!dup)
				groups[ng++] = gi;
		}
		s += n;
	}
	if (v[C_FROM][0] && parse_validity(ld, v[C_FROM], 0, &c->valid_from) != 0) {
		cred_err(ld, row, (size_t)x->col[C_FROM], "E054", "valid_from '%s' is not a "
		    "date (YYYY-MM-DD) or date and time%s", v[C_FROM], "");
		bad = 1;
	}
	if (v[C_UNTIL][0] && parse_validity(ld, v[C_UNTIL], 1, &c->valid_until) != 0) {
		cred_err(ld, row, (size_t)x->col[C_UNTIL], "E054", "valid_until '%s' is not "
		    "a date (YYYY-MM-DD) or date and time%s", v[C_UNTIL], "");
		bad = 1;
	}
	if (!bad && c->valid_from != INT64_MIN && c->valid_until != INT64_MAX &&
	    c->valid_from >= c->valid_until) {
		cred_err(ld, row, (size_t)x->col[C_UNTIL], "E054", "valid_until '%s' is not "
		    "after valid_from '%s'", v[C_UNTIL], v[C_FROM]);
		bad = 1;
	}
	if (strcmp(v[C_CLASS], "secure") == 0)
		c->cls = POLICY_CLASS_SECURE;
	else if (v[C_CLASS][0] && strcmp(v[C_CLASS], "legacy") != 0) {
		cred_err(ld, row, (size_t)x->col[C_CLASS], "E055", "class '%s' is neither "
		    "'legacy' (bare UID) nor 'secure'%s", v[C_CLASS], "");
		bad = 1;
	}
	/* issue: the lowest issue counter a secure card must carry; a lost
	 * card's replacement is written with a higher one (issue 8) */
	if (v[C_ISSUE][0]) {
		char *end;
		unsigned long iss;

		errno = 0;
		iss = strtoul(v[C_ISSUE], &end, 10);
		if (*end != '\0' || v[C_ISSUE][0] < '0' || v[C_ISSUE][0] > '9' ||
		    errno != 0 || iss > UINT32_MAX) {
			cred_err(ld, row, (size_t)x->col[C_ISSUE], "E059", "issue '%s' "
			    "is not a number from 0 to 4294967295%s", v[C_ISSUE], "");
			bad = 1;
		} else
			c->issue = (uint32_t)iss;
	}
	if (v[C_PIN][0] && (c->pin = parse_pin(v[C_PIN])) == NULL) {
		cred_err(ld, row, (size_t)x->col[C_PIN], "E056", "the PIN must be stored "
		    "as sha256:SALTHEX:HASHHEX (see gatectl policy pin-hash)%s%s", "", "");
		bad = 1;
	}
	if (v[C_DURESS][0]) {
		if (!v[C_PIN][0]) {
			cred_err(ld, row, (size_t)x->col[C_DURESS], "E056", "a duress PIN needs an "
			    "ordinary PIN too%s%s", "", "");
			bad = 1;
		}
		if ((c->duress = parse_pin(v[C_DURESS])) == NULL) {
			cred_err(ld, row, (size_t)x->col[C_DURESS], "E056", "the duress PIN must be "
			    "stored as sha256:SALTHEX:HASHHEX%s%s", "", "");
			bad = 1;
		}
	}
	if (bad) {
		free(c->pin);
		free(c->duress);
		explicit_bzero(c, sizeof(*c));
		return;
	}
	c->id = ld_strndup(v[C_ID], strlen(v[C_ID]));
	c->holder = ld_strndup(v[C_HOLDER], strlen(v[C_HOLDER]));
	/* insertion sort: a handful of groups per badge */
	for (size_t a = 1; a < ng; a++)
		for (size_t b = a; b > 0 && groups[b - 1] > groups[b]; b--) {
			uint32_t t = groups[b];
			groups[b] = groups[b - 1];
			groups[b - 1] = t;
		}
	c->ngroups = (uint32_t)ng;
	c->groups = malloc((ng ? ng : 1) * sizeof(*c->groups));
	if (c->groups == NULL)
		abort();
	memcpy(c->groups, groups, ng * sizeof(*groups));
	p->ncreds++;
}

void
ld_creds(struct loader *ld, const char *text, size_t len)
{
	struct policy *p = ld->p;
	struct creds_ctx x;
	const char *s = text, *end = text + len;

	memset(&x, 0, sizeof(x));
	x.ld = ld;
	for (int i = 0; i < C__COUNT; i++)
		x.col[i] = -1;
	/* rows <= lines: count them once so the array is allocated once */
	x.cap = 1;
	while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		x.cap++;
		s++;
	}
	if ((x.gnames = calloc(p->ngroups + 1, sizeof(*x.gnames))) == NULL)
		abort();
	for (size_t i = 0; i < p->ngroups; i++)
		x.gnames[i] = p->groups[i].name;
	pol_index_build(&x.gindex, p->ngroups, creds_group_name, p->groups);
	if ((p->creds = calloc(x.cap, sizeof(*p->creds))) == NULL)
		abort();
	csv_each(p->cred_file, text, len, creds_row, &x, ld->d);
	free(x.gnames);
	free(x.gindex.slots);

	/* duplicates, by index: the index keeps the first of each id */
	pol_indexes_build(p);
	for (size_t i = 0; i < p->ncreds; i++) {
		uint32_t first = policy_cred_find(p, p->creds[i].id);
		if (first != (uint32_t)i)
			policy_diag_add(ld->d, POLICY_ERROR, "E052", p->cred_file,
			    p->creds[i].line, 1, NULL, "credential '%s' is listed twice (first "
			    "on line %u)", p->creds[i].id, p->creds[first].line);
	}
}
