/*
 * creds.c — the credentials file named by the policy: one row per badge,
 * columns found by the header's names. Untrusted: a broken row is reported
 * with its line and column and left out; the rest still loads, and the
 * policy as a whole fails so nobody deploys half a card list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/csv.h"
#include "policy/loader.h"

enum col { C_ID, C_HOLDER, C_GROUPS, C_FROM, C_UNTIL, C_CLASS, C_PIN, C_DURESS, C__COUNT };
static const char *const col_names[C__COUNT] = {
	"id", "holder", "groups", "valid_from", "valid_until", "class", "pin", "duress"
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

/* "sha256:SALTHEX:HASHHEX" */
static int
parse_pin(const char *s, uint8_t *salt, uint8_t *salt_len, uint8_t *hash)
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

static int
group_find(const struct policy *p, const char *name, size_t n)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (strlen(p->groups[i].name) == n && memcmp(p->groups[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

void
ld_creds(struct loader *ld, const char *text, size_t len)
{
	struct policy *p = ld->p;
	struct csv csv = { 0 };
	int col[C__COUNT];
	const char **gnames = NULL;

	for (int i = 0; i < C__COUNT; i++)
		col[i] = -1;
	csv_parse(p->cred_file, text, len, &csv, ld->d);
	if (csv.n == 0) {
		csv_free(&csv);
		return;
	}
	/* header */
	for (size_t f = 0; f < csv.rows[0].n; f++) {
		const char *h = csv.rows[0].fields[f];
		int k;
		for (k = 0; k < C__COUNT; k++)
			if (strcmp(h, col_names[k]) == 0)
				break;
		if (k == C__COUNT) {
			const char *s = policy_suggest(h, col_names, C__COUNT);
			char hint[80] = "";
			if (s)
				snprintf(hint, sizeof(hint), "; did you mean '%s'?", s);
			cred_err(ld, &csv.rows[0], f, "E057", "unknown column '%s'%s", h, hint);
		} else if (col[k] >= 0)
			cred_err(ld, &csv.rows[0], f, "E057", "column '%s' appears twice%s", h, "");
		else
			col[k] = (int)f;
	}
	if (col[C_ID] < 0) {
		cred_err(ld, &csv.rows[0], 0, "E057", "the first line must be a header naming "
		    "the columns, with at least '%s'%s", "id", "");
		csv_free(&csv);
		return;
	}
	if ((gnames = calloc(p->ngroups + 1, sizeof(*gnames))) == NULL)
		abort();
	for (size_t i = 0; i < p->ngroups; i++)
		gnames[i] = p->groups[i].name;

	p->creds = calloc(csv.n, sizeof(*p->creds));
	if (p->creds == NULL)
		abort();
	for (size_t r = 1; r < csv.n; r++) {
		struct csv_row *row = &csv.rows[r];
		struct pol_cred *c = &p->creds[p->ncreds];
		const char *v[C__COUNT];
		int bad = 0;
		uint32_t groups[256];
		size_t ng = 0;

		if (row->n != csv.rows[0].n) {
			char a[32], b[32];
			snprintf(a, sizeof(a), "%zu", row->n);
			snprintf(b, sizeof(b), "%zu", csv.rows[0].n);
			cred_err(ld, row, 0, "E051", "this row has %s fields; the header has %s",
			    a, b);
			continue;
		}
		for (int k = 0; k < C__COUNT; k++)
			v[k] = col[k] >= 0 ? row->fields[col[k]] : "";
		memset(c, 0, sizeof(*c));
		c->line = row->line;
		c->valid_from = INT64_MIN;
		c->valid_until = INT64_MAX;
		c->cls = POLICY_CLASS_LEGACY;

		if (v[C_ID][0] == '\0' || strlen(v[C_ID]) > 63) {
			cred_err(ld, row, (size_t)col[C_ID], "E052", "a credential id must be 1 to "
			    "63 characters%s%s", "", "");
			continue;
		}
		for (const char *s = v[C_ID]; *s; s++)
			if ((unsigned char)*s <= ' ' || *s == 0x7f) {
				cred_err(ld, row, (size_t)col[C_ID], "E052", "credential id '%s' "
				    "contains a space or control character%s", v[C_ID], "");
				bad = 1;
				break;
			}
		/* groups: "a;b c" — ';' or spaces separate */
		for (const char *s = v[C_GROUPS]; *s;) {
			size_t n;
			int gi;
			while (*s == ';' || *s == ' ')
				s++;
			n = strcspn(s, "; ");
			if (n == 0)
				break;
			gi = group_find(p, s, n);
			if (gi < 0) {
				char name[70];
				const char *sug;
				char hint[90] = "";
				snprintf(name, sizeof(name), "%.*s", (int)(n > 64 ? 64 : n), s);
				sug = policy_suggest(name, gnames, p->ngroups);
				if (sug)
					snprintf(hint, sizeof(hint), "; did you mean '%s'?", sug);
				cred_err(ld, row, (size_t)col[C_GROUPS], "E053",
				    "unknown group '%s'%s", name, hint);
				bad = 1;
			} else if (ng < 256) {
				int dup = 0;
				for (size_t k = 0; k < ng; k++)
					dup |= groups[k] == (uint32_t)gi;
				if (!dup)
					groups[ng++] = (uint32_t)gi;
			}
			s += n;
		}
		if (v[C_FROM][0] && parse_validity(ld, v[C_FROM], 0, &c->valid_from) != 0) {
			cred_err(ld, row, (size_t)col[C_FROM], "E054", "valid_from '%s' is not a "
			    "date (YYYY-MM-DD) or date and time%s", v[C_FROM], "");
			bad = 1;
		}
		if (v[C_UNTIL][0] && parse_validity(ld, v[C_UNTIL], 1, &c->valid_until) != 0) {
			cred_err(ld, row, (size_t)col[C_UNTIL], "E054", "valid_until '%s' is not "
			    "a date (YYYY-MM-DD) or date and time%s", v[C_UNTIL], "");
			bad = 1;
		}
		if (!bad && c->valid_from != INT64_MIN && c->valid_until != INT64_MAX &&
		    c->valid_from >= c->valid_until) {
			cred_err(ld, row, (size_t)col[C_UNTIL], "E054", "valid_until '%s' is not "
			    "after valid_from '%s'", v[C_UNTIL], v[C_FROM]);
			bad = 1;
		}
		if (strcmp(v[C_CLASS], "secure") == 0)
			c->cls = POLICY_CLASS_SECURE;
		else if (v[C_CLASS][0] && strcmp(v[C_CLASS], "legacy") != 0) {
			cred_err(ld, row, (size_t)col[C_CLASS], "E055", "class '%s' is neither "
			    "'legacy' (bare UID) nor 'secure'%s", v[C_CLASS], "");
			bad = 1;
		}
		if (v[C_PIN][0]) {
			if (parse_pin(v[C_PIN], c->pin_salt, &c->pin_salt_len, c->pin_hash) != 0) {
				cred_err(ld, row, (size_t)col[C_PIN], "E056", "the PIN must be stored "
				    "as sha256:SALTHEX:HASHHEX (see gatectl policy pin-hash)%s%s", "", "");
				bad = 1;
			} else
				c->has_pin = 1;
		}
		if (v[C_DURESS][0]) {
			if (!c->has_pin)
				cred_err(ld, row, (size_t)col[C_DURESS], "E056", "a duress PIN needs an "
				    "ordinary PIN too%s%s", "", "");
			if (parse_pin(v[C_DURESS], c->duress_salt, &c->duress_salt_len,
			    c->duress_hash) != 0) {
				cred_err(ld, row, (size_t)col[C_DURESS], "E056", "the duress PIN must be "
				    "stored as sha256:SALTHEX:HASHHEX%s%s", "", "");
				bad = 1;
			} else
				c->has_duress = 1;
		}
		if (bad)
			continue;
		c->id = row->fields[col[C_ID]];
		row->fields[col[C_ID]] = NULL;		/* taken */
		if (col[C_HOLDER] >= 0) {
			c->holder = row->fields[col[C_HOLDER]];
			row->fields[col[C_HOLDER]] = NULL;
		} else
			c->holder = ld_strndup("", 0);
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
	free(gnames);
	csv_free(&csv);

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
