/*
 * parse.c — the policy language's lexer and parser: text to model, names
 * left unresolved (struct ref) so declaration order does not matter.
 *
 * Trusts nothing: the text may be binary junk, one 10 MB line, or a million
 * opening braces. The parser is iterative where input controls depth,
 * reports every error it finds (resynchronising at `;` and `}`), and echoes
 * at most a bounded part of any line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

#define NAME_MAX_LEN	64
#define ERROR_LIMIT	200

enum tk { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_COMMA };

struct tok {
	enum tk		 kind;
	const char	*s;		/* WORD: the word; STRING: inside the quotes */
	size_t		 n;
	struct pol_loc	 loc;
};

struct ps {
	struct loader	*ld;
	size_t		 pos;
	uint32_t	 line;
	size_t		 line_off;
	struct tok	 t;		/* current token */
	uint32_t	 mode;		/* POLICY_NONE at top level */
};

static const char *const tk_names[] = {
	"end of file", "word", "string", "'{'", "'}'", "';'", "','"
};

/* ---------------------------------------------------------------- helpers */

void *
ld_grow(void *arr, size_t n, size_t el)
{
	size_t cap;

	if (n == 0)
		cap = 8;
	else if (n >= 8 && (n & (n - 1)) == 0)
		cap = n * 2;
	else
		return arr;
	arr = reallocarray(arr, cap, el);
	if (arr == NULL)
		abort();	/* out of memory while loading: nothing sane to do */
	if (n == 0)
		memset(arr, 0, el);
	return arr;
}

char *
ld_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *
ld_line(const struct loader *ld, uint32_t line)
{
	if (line == 0 || line > ld->nlines)
		return NULL;
	return ld->src + ld->lines[line - 1];
}

static void
ld_vdiag(struct loader *ld, enum policy_severity sev, struct pol_loc loc,
    const char *code, const char *fmt, va_list ap)
{
	char msg[400];

	const char *line = ld_line(ld, loc.line);
	char text[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line != NULL) {
		/* the source need not be NUL-terminated: copy within its bounds */
		size_t max = (size_t)(ld->src + ld->len - line), n = 0;
		while (n < max && n < sizeof(text) - 1 && line[n] != '\n')
			n++;
		memcpy(text, line, n);
		text[n] = '\0';
	}
	policy_diag_add(ld->d, sev, code, ld->file, loc.line, loc.col,
	    line ? text : NULL, "%s", msg);
}

void
ld_err(struct loader *ld, struct pol_loc loc, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_vdiag(ld, POLICY_ERROR, loc, code, fmt, ap);
	va_end(ap);
}

void
ld_warn(struct loader *ld, struct pol_loc loc, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_vdiag(ld, POLICY_WARNING, loc, code, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ lexer */

static int
is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	    c == ':' || c == '+' || c == '*';
}

static void
ps_newline(struct ps *ps)
{
	struct loader *ld = ps->ld;

	ps->line++;
	ps->line_off = ps->pos;
	ld->lines = ld_grow(ld->lines, ld->nlines, sizeof(*ld->lines));
	ld->lines[ld->nlines++] = ps->pos;
}

static struct pol_loc
ps_here(const struct ps *ps)
{
	struct pol_loc l = { ps->line, (uint32_t)(ps->pos - ps->line_off + 1) };
	return l;
}

static void
ps_lex(struct ps *ps)
{
	const char *src = ps->ld->src;
	size_t len = ps->ld->len;

	for (;;) {
		unsigned char c;

		if (ps->pos >= len) {
			ps->t.kind = T_EOF;
			ps->t.s = "";
			ps->t.n = 0;
			ps->t.loc = ps_here(ps);
			return;
		}
		c = (unsigned char)src[ps->pos];
		if (c == '\n') {
			ps->pos++;
			ps_newline(ps);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			ps->pos++;
			continue;
		}
		if (c == '#') {
			while (ps->pos < len && src[ps->pos] != '\n')
				ps->pos++;
			continue;
		}
		ps->t.loc = ps_here(ps);
		ps->t.s = src + ps->pos;
		ps->t.n = 1;
		switch (c) {
		case '{': ps->t.kind = T_LBRACE; ps->pos++; return;
		case '}': ps->t.kind = T_RBRACE; ps->pos++; return;
		case ';': ps->t.kind = T_SEMI;   ps->pos++; return;
		case ',': ps->t.kind = T_COMMA;  ps->pos++; return;
		}
		if (c == '"') {
			size_t start = ++ps->pos;
			while (ps->pos < len && src[ps->pos] != '"' &&
			    src[ps->pos] != '\n') {
				if (src[ps->pos] == '\\' && ps->pos + 1 < len &&
				    src[ps->pos + 1] != '\n')
					ps->pos++;
				ps->pos++;
			}
			if (ps->pos >= len || src[ps->pos] != '"') {
				ld_err(ps->ld, ps->t.loc, "E002",
				    "unterminated string: a string ends with '\"' on the same line");
				ps->t.kind = T_STRING;
				ps->t.s = src + start;
				ps->t.n = ps->pos - start;
				return;
			}
			ps->t.kind = T_STRING;
			ps->t.s = src + start;
			ps->t.n = ps->pos - start;
			ps->pos++;
			return;
		}
		if (is_word_char(c)) {
			size_t start = ps->pos;
			while (ps->pos < len && is_word_char((unsigned char)src[ps->pos]))
				ps->pos++;
			ps->t.kind = T_WORD;
			ps->t.s = src + start;
			ps->t.n = ps->pos - start;
			return;
		}
		/* a run of unexpected bytes is one error, not one per byte */
		if (c >= 0x20 && c < 0x7f)
			ld_err(ps->ld, ps->t.loc, "E003", "unexpected character '%c'", c);
		else
			ld_err(ps->ld, ps->t.loc, "E003",
			    "unexpected byte 0x%02x: a policy is UTF-8 text", c);
		while (ps->pos < len) {
			c = (unsigned char)src[ps->pos];
			if (is_word_char(c) || c == '\n' || c == ' ' || c == '\t' ||
			    c == '{' || c == '}' || c == ';' || c == ',' ||
			    c == '"' || c == '#')
				break;
			ps->pos++;
		}
	}
}

/* ------------------------------------------------------------ token tests */

static int
ps_is(const struct ps *ps, const char *word)
{
	size_t n = strlen(word);

	return ps->t.kind == T_WORD && ps->t.n == n &&
	    memcmp(ps->t.s, word, n) == 0;
}

static void
ps_describe(const struct tok *t, char *buf, size_t len)
{
	if (t->kind == T_WORD || t->kind == T_STRING) {
		int n = t->n > 40 ? 40 : (int)t->n;
		snprintf(buf, len, "%s '%.*s%s'", tk_names[t->kind], n, t->s,
		    t->n > 40 ? "..." : "");
	} else
		snprintf(buf, len, "%s", tk_names[t->kind]);
}

/* A syntax error at the current token; returns -1 for `return ps_fail()`. */
static int
ps_fail(struct ps *ps, const char *expected)
{
	char got[80];

	if (ps->ld->d->errors >= ERROR_LIMIT)
		return -1;
	ps_describe(&ps->t, got, sizeof(got));
	ld_err(ps->ld, ps->t.loc, "E001", "expected %s, found %s", expected, got);
	return -1;
}

static int
ps_expect(struct ps *ps, enum tk kind)
{
	if (ps->t.kind != kind)
		return ps_fail(ps, tk_names[kind]);
	ps_lex(ps);
	return 0;
}

static int
ps_accept(struct ps *ps, enum tk kind)
{
	if (ps->t.kind != kind)
		return 0;
	ps_lex(ps);
	return 1;
}

static int
ps_accept_word(struct ps *ps, const char *word)
{
	if (!ps_is(ps, word))
		return 0;
	ps_lex(ps);
	return 1;
}

/*
 * Skip to the end of the broken statement: past the next ';' at this level,
 * or up to (not past) the '}' that closes the enclosing block. A nested
 * block is skipped whole. Iterative: input controls the depth.
 */
static void
ps_sync(struct ps *ps, int in_block)
{
	size_t depth = 0;

	for (;;) {
		switch (ps->t.kind) {
		case T_EOF:
			return;
		case T_LBRACE:
			depth++;
			break;
		case T_RBRACE:
			if (depth == 0) {
				if (!in_block)
					ps_lex(ps);	/* a stray '}' ends it */
				return;
			}
			if (--depth == 0 && !in_block) {
				ps_lex(ps);
				return;
			}
			break;
		case T_SEMI:
			if (depth == 0) {
				ps_lex(ps);
				return;
			}
			break;
		default:
			break;
		}
		ps_lex(ps);
	}
}

/* ----------------------------------------------------------------- values */

static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':' || s[i] == '+' || s[i] == '*')
			return 0;
	return 1;
}

/* A name (zone, gate, group...): returns 0 and fills *r, or -1. */
static int
ps_name(struct ps *ps, const char *what, struct ref *r)
{
	if (ps->t.kind != T_WORD)
		return ps_fail(ps, what);
	if (!valid_name(ps->t.s, ps->t.n)) {
		ld_err(ps->ld, ps->t.loc, "E004",
		    "'%.*s' is not a valid %s: names are letters, digits, '-', '_' "
		    "and '.', at most %d characters", (int)(ps->t.n > 64 ? 64 :
		    ps->t.n), ps->t.s, what, NAME_MAX_LEN);
		return -1;
	}
	r->name = ld_strndup(ps->t.s, ps->t.n);
	r->loc = ps->t.loc;
	ps_lex(ps);
	return 0;
}

/* A credential id in a rule or test: any word or string (UIDs, B-1001). */
static int
ps_badge(struct ps *ps, struct ref *r)
{
	if ((ps->t.kind != T_WORD && ps->t.kind != T_STRING) || ps->t.n == 0 ||
	    ps->t.n > 63)
		return ps_fail(ps, "a credential id");
	r->name = ld_strndup(ps->t.s, ps->t.n);
	r->loc = ps->t.loc;
	ps_lex(ps);
	return 0;
}

static char *
unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int
ps_string(struct ps *ps, const char *what, char **out, struct pol_loc *loc)
{
	if (ps->t.kind != T_STRING)
		return ps_fail(ps, what);
	if (loc)
		*loc = ps->t.loc;
	*out = unescape(ps->t.s, ps->t.n);
	ps_lex(ps);
	return 0;
}

static int
ps_duration(struct ps *ps, uint32_t *secs)
{
	if (ps->t.kind != T_WORD)
		return ps_fail(ps, "a duration such as 30s, 15m or 2h");
	if (tz_parse_duration(ps->t.s, ps->t.n, secs) != 0) {
		ld_err(ps->ld, ps->t.loc, "E020",
		    "'%.*s' is not a duration: write a number and one unit, "
		    "s, m, h or d (30s, 15m, 2h), at most 366 days",
		    (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s);
		ps_lex(ps);
		return -1;
	}
	ps_lex(ps);
	return 0;
}

static int
ps_number(struct ps *ps, const char *what, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (ps->t.kind != T_WORD)
		return ps_fail(ps, what);
	for (size_t i = 0; i < ps->t.n; i++) {
		if (ps->t.s[i] < '0' || ps->t.s[i] > '9' || v > max) {
			v = (uint64_t)max + 1;
			break;
		}
		v = v * 10 + (uint64_t)(ps->t.s[i] - '0');
	}
	if (v > max || ps->t.n == 0) {
		ld_err(ps->ld, ps->t.loc, "E020",
		    "'%.*s' is not a valid %s (a whole number up to %u)",
		    (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s, what, max);
		ps_lex(ps);
		return -1;
	}
	*out = (uint32_t)v;
	ps_lex(ps);
	return 0;
}

/* Statement end: ';'. On anything else report it and resynchronise. */
static int
ps_end(struct ps *ps)
{
	if (ps->t.kind == T_SEMI) {
		ps_lex(ps);
		return 0;
	}
	return ps_fail(ps, "';' to end the statement");
}

/* Is name n a duplicate of an earlier one in arr? */
#define DUP_CHECK(ps, arr, count, field, r, kind) do {			\
	for (size_t i_ = 0; i_ < (count); i_++)				\
		if (strcmp((arr)[i_].field, (r).name) == 0) {		\
			ld_err((ps)->ld, (r).loc, "E011",			\
			    "%s '%s' is already declared at line %u",	\
			    kind, (r).name, (arr)[i_].loc.line);		\
			break;						\
		}							\
} while (0)

/* ------------------------------------------------------------- statements */

static int
ps_venue(struct ps *ps)
{
	struct policy *p = ps->ld->p;
	struct pol_loc loc = ps->t.loc;

	ps_lex(ps);
	if (ps->ld->have_venue)
		ld_err(ps->ld, loc, "E011", "the venue is already declared");
	ps->ld->have_venue = 1;
	ps->ld->venue_loc = loc;
	free(p->venue);
	p->venue = NULL;
	if (ps_string(ps, "the venue's name in quotes", &p->venue, NULL) != 0)
		return -1;
	if (ps_accept(ps, T_SEMI))
		return 0;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF) {
		if (ps_is(ps, "timezone")) {
			ps->ld->tz_loc = ps->t.loc;
			ps_lex(ps);
			free(p->tzname);
			p->tzname = NULL;
			if (ps_string(ps, "an IANA time zone in quotes, such as \"Europe/London\"",
			    &p->tzname, &ps->ld->tz_loc) != 0 || ps_end(ps) != 0)
				ps_sync(ps, 1);
		} else {
			ps_fail(ps, "'timezone' in the venue block");
			ps_sync(ps, 1);
		}
	}
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	return 0;
}

static int
ps_group(struct ps *ps)
{
	struct policy *p = ps->ld->p;
	struct ref r = { 0 };
	struct pol_group *g;

	ps_lex(ps);
	if (ps_name(ps, "a group name", &r) != 0)
		return -1;
	DUP_CHECK(ps, p->groups, p->ngroups, name, r, "group");
	p->groups = ld_grow(p->groups, p->ngroups, sizeof(*p->groups));
	g = &p->groups[p->ngroups++];
	memset(g, 0, sizeof(*g));
	g->name = r.name;
	g->loc = r.loc;
	if (ps->t.kind == T_STRING)
		ps_string(ps, "", &g->desc, NULL);
	return ps_end(ps);
}

static int
ps_limit(struct ps *ps, enum pol_limit *out, int allow_timed, uint32_t *timeout)
{
	if (ps_accept_word(ps, "hard"))
		*out = POL_LIMIT_HARD;
	else if (ps_accept_word(ps, "soft"))
		*out = POL_LIMIT_SOFT;
	else if (allow_timed && ps_accept_word(ps, "timed")) {
		*out = POL_LIMIT_TIMED;
		return ps_duration(ps, timeout);
	} else
		return ps_fail(ps, allow_timed ? "hard, soft or timed DURATION" :
		    "hard or soft");
	return 0;
}

static int
ps_zone_attr(struct ps *ps, struct pol_zone *z, struct zone_src *zs)
{
	if (ps_accept_word(ps, "in")) {
		if (zs->parent.name != NULL)
			ld_err(ps->ld, ps->t.loc, "E011", "zone '%s' already has a parent", z->name);
		free(zs->parent.name);
		zs->parent.name = NULL;
		return ps_name(ps, "the enclosing zone", &zs->parent) == 0 ?
		    ps_end(ps) : -1;
	}
	if (ps_accept_word(ps, "capacity")) {
		if (ps_number(ps, "capacity", 10000000, &z->capacity) != 0)
			return -1;
		if (z->capacity == 0) {
			ld_err(ps->ld, ps->t.loc, "E020", "a capacity of 0 would keep everyone out; "
			    "use a forbid rule to close a zone");
			return -1;
		}
		z->cap_mode = POL_LIMIT_HARD;
		if (ps->t.kind == T_WORD && ps_limit(ps, &z->cap_mode, 0, NULL) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "antipassback")) {
		if (ps_limit(ps, &z->apb, 1, &z->apb_timeout_s) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "two-person")) {
		if (ps_duration(ps, &z->two_person_s) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "escort")) {
		if (zs->escort_g.name != NULL)
			ld_err(ps->ld, ps->t.loc, "E011", "zone '%s' already has an escort rule",
			    z->name);
		free(zs->escort_g.name);
		free(zs->escort_h.name);
		zs->escort_g.name = zs->escort_h.name = NULL;
		if (ps_name(ps, "the escorted group", &zs->escort_g) != 0)
			return -1;
		if (!ps_accept_word(ps, "by"))
			return ps_fail(ps, "'by' and the hosts' group");
		if (ps_name(ps, "the hosts' group", &zs->escort_h) != 0)
			return -1;
		if (!ps_accept_word(ps, "within"))
			return ps_fail(ps, "'within' and a duration");
		if (ps_duration(ps, &z->escort_s) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "require")) {
		do {
			if (ps_accept_word(ps, "secure"))
				z->require_secure = 1;
			else if (ps_accept_word(ps, "pin"))
				z->require_pin = 1;
			else
				return ps_fail(ps, "'secure' or 'pin'");
		} while (ps_accept(ps, T_COMMA));
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "sensitive")) {
		z->sensitive = 1;
		return ps_end(ps);
	}
	return ps_fail(ps, "a zone attribute (in, capacity, antipassback, two-person, "
	    "escort, require, sensitive)");
}

static int
ps_zone(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct ref r = { 0 };
	struct pol_zone *z;
	struct zone_src *zs;

	ps_lex(ps);
	if (ps_name(ps, "a zone name", &r) != 0)
		return -1;
	if (strcmp(r.name, "outside") == 0)
		ld_err(ld, r.loc, "E011", "'outside' is the implicit zone around the venue; "
		    "it cannot be declared");
	else
		DUP_CHECK(ps, p->zones, p->nzones, name, r, "zone");
	p->zones = ld_grow(p->zones, p->nzones, sizeof(*p->zones));
	ld->zsrc = ld_grow(ld->zsrc, p->nzones, sizeof(*ld->zsrc));
	z = &p->zones[p->nzones];
	zs = &ld->zsrc[p->nzones];
	p->nzones++;
	memset(z, 0, sizeof(*z));
	memset(zs, 0, sizeof(*zs));
	z->name = r.name;
	z->loc = r.loc;
	z->parent = POLICY_NONE;
	z->escort_group = z->escort_host = POLICY_NONE;
	if (ps->t.kind == T_STRING)
		ps_string(ps, "", &z->desc, NULL);
	if (ps_accept(ps, T_SEMI))
		return 0;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF) {
		/* z may move when another zone is added: none is, in a block */
		if (ps_zone_attr(ps, &p->zones[p->nzones - 1],
		    &ld->zsrc[p->nzones - 1]) != 0)
			ps_sync(ps, 1);
	}
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	return 0;
}

static int
ps_gate_attr(struct ps *ps, struct pol_gate *g, struct gate_src *gs)
{
	if (ps_accept_word(ps, "from")) {
		if (gs->has_from)
			ld_err(ps->ld, ps->t.loc, "E011", "gate '%s' already says where it leads from",
			    g->name);
		free(gs->from.name);
		gs->from.name = NULL;
		gs->has_from = 1;
		if (ps_name(ps, "a zone (or outside)", &gs->from) != 0)
			return -1;
		/* `from A to B;` on one line is natural: accept it */
		if (ps_accept_word(ps, "to")) {
			gs->has_to = 1;
			free(gs->to.name);
			gs->to.name = NULL;
			if (ps_name(ps, "a zone (or outside)", &gs->to) != 0)
				return -1;
		}
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "to")) {
		if (gs->has_to)
			ld_err(ps->ld, ps->t.loc, "E011", "gate '%s' already says where it leads to",
			    g->name);
		free(gs->to.name);
		gs->to.name = NULL;
		gs->has_to = 1;
		if (ps_name(ps, "a zone (or outside)", &gs->to) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "door")) {
		g->kind = POLICY_GATE_DOOR;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "turnstile")) {
		g->kind = POLICY_GATE_TURNSTILE;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "lane")) {
		g->kind = POLICY_GATE_LANE;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "unlock"))
		return ps_duration(ps, &g->unlock_s) == 0 ? ps_end(ps) : -1;
	if (ps_accept_word(ps, "held-open"))
		return ps_duration(ps, &g->held_open_s) == 0 ? ps_end(ps) : -1;
	if (ps_accept_word(ps, "exit")) {
		if (!ps_accept_word(ps, "reader"))
			return ps_fail(ps, "'reader' (exit reader;)");
		g->exit_reader = 1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "egress")) {
		if (!ps_accept_word(ps, "free"))
			return ps_fail(ps, "'free' (egress free;)");
		g->egress_free = 1;
		return ps_end(ps);
	}
	return ps_fail(ps, "a gate attribute (from, to, door, turnstile, lane, unlock, "
	    "held-open, exit reader, egress free)");
}

static int
ps_gate(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct ref r = { 0 };
	struct pol_gate *g;
	struct pol_loc loc = ps->t.loc;

	ps_lex(ps);
	if (ps_name(ps, "a gate name", &r) != 0)
		return -1;
	DUP_CHECK(ps, p->gates, p->ngates, name, r, "gate");
	p->gates = ld_grow(p->gates, p->ngates, sizeof(*p->gates));
	ld->gsrc = ld_grow(ld->gsrc, p->ngates, sizeof(*ld->gsrc));
	g = &p->gates[p->ngates];
	memset(g, 0, sizeof(*g));
	memset(&ld->gsrc[p->ngates], 0, sizeof(ld->gsrc[0]));
	p->ngates++;
	g->name = r.name;
	g->loc = r.loc;
	g->unlock_s = 5;
	g->held_open_s = 30;
	g->kind = POLICY_GATE_DOOR;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF)
		if (ps_gate_attr(ps, &p->gates[p->ngates - 1],
		    &ld->gsrc[p->ngates - 1]) != 0)
			ps_sync(ps, 1);
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	if (!ld->gsrc[p->ngates - 1].has_from || !ld->gsrc[p->ngates - 1].has_to)
		ld_err(ld, loc, "E013", "gate '%s' needs both 'from ZONE;' and 'to ZONE;'",
		    p->gates[p->ngates - 1].name);
	return 0;
}

static int
ps_date(struct ps *ps, int32_t *day)
{
	if (ps->t.kind != T_WORD)
		return ps_fail(ps, "a date YYYY-MM-DD");
	if (tz_parse_date(ps->t.s, ps->t.n, day) != 0) {
		ld_err(ps->ld, ps->t.loc, "E020", "'%.*s' is not a date: write YYYY-MM-DD "
		    "with a real day of that month", (int)(ps->t.n > 40 ? 40 : ps->t.n),
		    ps->t.s);
		ps_lex(ps);
		return -1;
	}
	ps_lex(ps);
	return 0;
}

static int
cmp_day(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int
ps_holidays(struct ps *ps)
{
	struct policy *p = ps->ld->p;
	struct ref r = { 0 };
	struct pol_holidays *h;

	ps_lex(ps);
	if (ps_name(ps, "a name for the set of holidays", &r) != 0)
		return -1;
	DUP_CHECK(ps, p->hols, p->nhols, name, r, "holidays");
	p->hols = ld_grow(p->hols, p->nhols, sizeof(*p->hols));
	h = &p->hols[p->nhols++];
	memset(h, 0, sizeof(*h));
	h->name = r.name;
	h->loc = r.loc;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF) {
		int32_t day;
		struct pol_loc loc = ps->t.loc;

		if (ps_date(ps, &day) != 0) {
			ps_sync(ps, 1);
			continue;
		}
		h = &p->hols[p->nhols - 1];
		for (size_t i = 0; i < h->ndays; i++)
			if (h->days[i] == day)
				ld_warn(ps->ld, loc, "W010", "holiday listed twice");
		h->days = ld_grow(h->days, h->ndays, sizeof(*h->days));
		h->days[h->ndays++] = day;
		if (!ps_accept(ps, T_COMMA) && ps_end(ps) != 0)
			ps_sync(ps, 1);
	}
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	h = &p->hols[p->nhols - 1];
	if (h->ndays > 1)
		qsort(h->days, h->ndays, sizeof(*h->days), cmp_day);
	return 0;
}

static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int
day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && memcmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* mon | mon-fri | fri-mon (wraps) | daily | weekdays | weekends -> bits */
static int
parse_days(const char *s, size_t n, uint8_t *bits)
{
	const char *dash;
	int a, b;

	if (n == 5 && memcmp(s, "daily", 5) == 0) { *bits = 0x7f; return 0; }
	if (n == 8 && memcmp(s, "weekdays", 8) == 0) { *bits = 0x1f; return 0; }
	if (n == 8 && memcmp(s, "weekends", 8) == 0) { *bits = 0x60; return 0; }
	dash = memchr(s, '-', n);
	if (dash == NULL) {
		if ((a = day_index(s, n)) < 0)
			return -1;
		*bits = (uint8_t)(1u << a);
		return 0;
	}
	a = day_index(s, (size_t)(dash - s));
	b = day_index(dash + 1, n - (size_t)(dash - s) - 1);
	if (a < 0 || b < 0)
		return -1;
	*bits = 0;
	for (int i = a;; i = (i + 1) % 7) {
		*bits |= (uint8_t)(1u << i);
		if (i == b)
			break;
	}
	return 0;
}

/* "07:00-19:30" -> minutes; start > end means overnight (caller splits) */
static int
parse_range(const char *s, size_t n, unsigned *start, unsigned *end)
{
	const char *dash = memchr(s, '-', n);

	if (dash == NULL)
		return -1;
	if (tz_parse_hhmm(s, (size_t)(dash - s), start, 0) != 0)
		return -1;
	if (tz_parse_hhmm(dash + 1, n - (size_t)(dash - s) - 1, end, 1) != 0)
		return -1;
	return 0;
}

static void
sched_add_range(struct pol_sched *s, uint8_t days, unsigned start,
    unsigned end, struct pol_loc loc)
{
	struct pol_range *r;

	s->ranges = ld_grow(s->ranges, s->nranges, sizeof(*s->ranges));
	r = &s->ranges[s->nranges++];
	r->days = days;
	r->start = (uint16_t)start;
	r->end = (uint16_t)end;
	r->loc = loc;
}

static int
ps_sched_stmt(struct ps *ps, size_t si)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct pol_sched *s = &p->scheds[si];
	uint8_t days = 0;
	int ranges = 0;

	if (ps_accept_word(ps, "always")) {
		s->always = 1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "except")) {
		struct sched_src *ss = &ld->ssrc[si];
		do {
			ss->except = ld_grow(ss->except, ss->nexcept, sizeof(*ss->except));
			memset(&ss->except[ss->nexcept], 0, sizeof(ss->except[0]));
			if (ps_name(ps, "a set of holidays", &ss->except[ss->nexcept]) != 0)
				return -1;
			ss->nexcept++;
		} while (ps_accept(ps, T_COMMA));
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "on")) {
		int32_t day;
		if (ps_date(ps, &day) != 0)
			return -1;
		do {
			unsigned a, b;
			struct pol_dated *dt;
			if (ps->t.kind != T_WORD || parse_range(ps->t.s, ps->t.n, &a, &b) != 0 ||
			    a >= b) {
				if (ps->t.kind == T_WORD)
					ld_err(ld, ps->t.loc, "E021", "'%.*s' is not a time range "
					    "HH:MM-HH:MM with the start before the end",
					    (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s);
				else
					ps_fail(ps, "a time range HH:MM-HH:MM");
				return -1;
			}
			s->dated = ld_grow(s->dated, s->ndated, sizeof(*s->dated));
			dt = &s->dated[s->ndated++];
			dt->day = day;
			dt->start = (uint16_t)a;
			dt->end = (uint16_t)b;
			dt->loc = ps->t.loc;
			ps_lex(ps);
		} while (ps_accept(ps, T_COMMA));
		return ps_end(ps);
	}
	/* days[,days...] range[,range...] */
	for (;;) {
		uint8_t b;
		if (ps->t.kind != T_WORD || parse_days(ps->t.s, ps->t.n, &b) != 0) {
			if (ps->t.kind == T_WORD && memchr(ps->t.s, ':', ps->t.n) == NULL) {
				ld_err(ld, ps->t.loc, "E020", "'%.*s' is not a day: write mon, tue, "
				    "wed, thu, fri, sat, sun, a range like mon-fri, daily, weekdays "
				    "or weekends", (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s);
				return -1;
			}
			return ps_fail(ps, "days (mon-fri), always, except HOLIDAYS or on DATE");
		}
		days |= b;
		ps_lex(ps);
		if (!ps_accept(ps, T_COMMA))
			break;
		if (ps->t.kind == T_WORD && memchr(ps->t.s, ':', ps->t.n))
			break;
	}
	while (ps->t.kind == T_WORD) {
		unsigned a, b;
		struct pol_loc loc = ps->t.loc;
		if (parse_range(ps->t.s, ps->t.n, &a, &b) != 0) {
			ld_err(ld, loc, "E021", "'%.*s' is not a time range: write HH:MM-HH:MM "
			    "(00:00-24:00)", (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s);
			return -1;
		}
		s = &p->scheds[si];
		if (a == b) {
			ld_err(ld, loc, "E021", "time range '%.*s' is empty", (int)ps->t.n,
			    ps->t.s);
			return -1;
		}
		if (a < b)
			sched_add_range(s, days, a, b, loc);
		else {
			/* overnight: the evening on these days, the morning after */
			uint8_t next = (uint8_t)(((days << 1) | (days >> 6)) & 0x7f);
			sched_add_range(s, days, a, 1440, loc);
			if (b > 0)
				sched_add_range(s, next, 0, b, loc);
		}
		ranges++;
		ps_lex(ps);
		ps_accept(ps, T_COMMA);
	}
	if (ranges == 0)
		return ps_fail(ps, "a time range HH:MM-HH:MM after the days");
	return ps_end(ps);
}

static int
ps_schedule(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct ref r = { 0 };
	struct pol_sched *s;
	size_t si;

	ps_lex(ps);
	if (ps_name(ps, "a schedule name", &r) != 0)
		return -1;
	DUP_CHECK(ps, p->scheds, p->nscheds, name, r, "schedule");
	p->scheds = ld_grow(p->scheds, p->nscheds, sizeof(*p->scheds));
	ld->ssrc = ld_grow(ld->ssrc, p->nscheds, sizeof(*ld->ssrc));
	si = p->nscheds++;
	s = &p->scheds[si];
	memset(s, 0, sizeof(*s));
	memset(&ld->ssrc[si], 0, sizeof(ld->ssrc[0]));
	s->name = r.name;
	s->loc = r.loc;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF)
		if (ps_sched_stmt(ps, si) != 0)
			ps_sync(ps, 1);
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	s = &p->scheds[si];
	if (!s->always && s->nranges == 0 && s->ndated == 0)
		ld_err(ld, r.loc, "E021", "schedule '%s' is never open: give it time ranges "
		    "or 'always;'", s->name);
	return 0;
}

static int
ps_rule(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct pol_rule *ru;
	struct rule_src *rs;
	int forbid = ps_is(ps, "forbid");

	p->rules = ld_grow(p->rules, p->nrules, sizeof(*p->rules));
	ld->rsrc = ld_grow(ld->rsrc, p->nrules, sizeof(*ld->rsrc));
	ru = &p->rules[p->nrules];
	rs = &ld->rsrc[p->nrules];
	p->nrules++;
	memset(ru, 0, sizeof(*ru));
	memset(rs, 0, sizeof(*rs));
	ru->effect = forbid ? POL_FORBID : POL_PERMIT;
	ru->loc = ps->t.loc;
	ru->mode = ps->mode;
	ru->zone = ru->sched = ru->cond_group = ru->who = POLICY_NONE;
	ps_lex(ps);

	if (ps_accept_word(ps, "everyone")) {
		ru->who_kind = POL_WHO_EVERYONE;
	} else if (ps_accept_word(ps, "group")) {
		ru->who_kind = POL_WHO_GROUP;
		if (ps_name(ps, "a group name", &rs->who) != 0)
			return -1;
	} else if (ps_accept_word(ps, "credential")) {
		ru->who_kind = POL_WHO_CRED;
		if (ps_badge(ps, &rs->who) != 0)
			return -1;
	} else {
		if (ps->t.kind == T_WORD && valid_name(ps->t.s, ps->t.n)) {
			ld_err(ld, ps->t.loc, "E001", "expected everyone, group NAME or "
			    "credential ID; did you mean 'group %.*s'?",
			    (int)ps->t.n, ps->t.s);
			return -1;
		}
		return ps_fail(ps, "everyone, group NAME or credential ID");
	}
	if (!ps_accept_word(ps, "into"))
		return ps_fail(ps, "'into' and a zone");
	if (ps_is(ps, "*")) {
		ru->zone = POL_ALL_ZONES;
		ps_lex(ps);
	} else if (ps_name(ps, "a zone or '*'", &rs->zone) != 0)
		return -1;
	if (ps_accept_word(ps, "during")) {
		if (ps_name(ps, "a schedule name", &rs->sched) != 0)
			return -1;
	}
	if (ps_is(ps, "require") || ps_is(ps, "unless")) {
		int unless = ps_is(ps, "unless");
		if (unless != forbid) {
			ld_err(ld, ps->t.loc, "E001", "%s", forbid ?
			    "a forbid rule takes 'unless CONDITION', not 'require'" :
			    "a permit rule takes 'require CONDITION', not 'unless'");
			return -1;
		}
		ps_lex(ps);
		do {
			if (ps_accept_word(ps, "secure"))
				ru->cond_secure = 1;
			else if (ps_accept_word(ps, "pin"))
				ru->cond_pin = 1;
			else if (forbid && ps_accept_word(ps, "group")) {
				if (rs->cond_group.name != NULL) {
					ld_err(ld, ps->t.loc, "E011", "only one 'unless group' per rule");
					return -1;
				}
				if (ps_name(ps, "a group name", &rs->cond_group) != 0)
					return -1;
			} else
				return ps_fail(ps, forbid ? "secure, pin or group NAME" :
				    "secure or pin");
		} while (ps_accept(ps, T_COMMA));
	}
	if (ps->t.kind == T_WORD && (ps_is(ps, "during") || ps_is(ps, "into")))
		return ps_fail(ps, "';' (during comes before require/unless)");
	return ps_end(ps);
}

static int
ps_target(struct ps *ps, struct pol_action *a, struct act_src *as)
{
	a->target = POLICY_NONE;
	if (ps_accept_word(ps, "all"))
		a->target_kind = POL_T_ALL;
	else if (ps_accept_word(ps, "perimeter"))
		a->target_kind = POL_T_PERIMETER;
	else if (ps_accept_word(ps, "egress"))
		a->target_kind = POL_T_EGRESS;
	else if (ps_accept_word(ps, "gate")) {
		a->target_kind = POL_T_GATE;
		return ps_name(ps, "a gate name", &as->target);
	} else if (ps_accept_word(ps, "zone")) {
		a->target_kind = POL_T_ZONE;
		return ps_name(ps, "a zone name", &as->target);
	} else
		return ps_fail(ps, "all, perimeter, egress, gate NAME or zone NAME");
	return 0;
}

static int
ps_mode_stmt(struct ps *ps, size_t mi)
{
	struct loader *ld = ps->ld;
	struct pol_mode *m = &ld->p->modes[mi];

	if (ps_is(ps, "permit") || ps_is(ps, "forbid"))
		return ps_rule(ps);
	if (ps_accept_word(ps, "default")) {
		m->is_default = 1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "antipassback")) {
		if (!ps_accept_word(ps, "off"))
			return ps_fail(ps, "'off' (antipassback off;)");
		m->apb_off = 1;
		return ps_end(ps);
	}
	if (ps_is(ps, "lock") || ps_is(ps, "unlock")) {
		struct pol_action *a;
		struct act_src *as;
		int lock = ps_is(ps, "lock");
		struct pol_loc loc = ps->t.loc;

		ps_lex(ps);
		m->acts = ld_grow(m->acts, m->nacts, sizeof(*m->acts));
		ld->asrc[mi] = ld_grow(ld->asrc[mi], m->nacts, sizeof(*ld->asrc[mi]));
		a = &m->acts[m->nacts];
		as = &ld->asrc[mi][m->nacts];
		m->nacts++;
		memset(a, 0, sizeof(*a));
		memset(as, 0, sizeof(*as));
		a->loc = loc;
		a->what = lock ? POL_ACT_LOCK : POL_ACT_UNLOCK;
		if (lock && ps_accept_word(ps, "exit"))
			a->what = POL_ACT_LOCK_EXIT;
		if (ps_target(ps, a, as) != 0)
			return -1;
		return ps_end(ps);
	}
	return ps_fail(ps, "a mode statement (default, antipassback off, lock, unlock, "
	    "permit, forbid)");
}

static int
ps_mode(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct ref r = { 0 };
	struct pol_mode *m;
	size_t mi;

	ps_lex(ps);
	if (ps->mode != POLICY_NONE) {
		ld_err(ld, ps->t.loc, "E001", "modes do not nest");
		return -1;
	}
	if (ps_name(ps, "a mode name", &r) != 0)
		return -1;
	DUP_CHECK(ps, p->modes, p->nmodes, name, r, "mode");
	p->modes = ld_grow(p->modes, p->nmodes, sizeof(*p->modes));
	ld->asrc = ld_grow(ld->asrc, p->nmodes, sizeof(*ld->asrc));
	mi = p->nmodes++;
	m = &p->modes[mi];
	memset(m, 0, sizeof(*m));
	ld->asrc[mi] = NULL;
	m->name = r.name;
	m->loc = r.loc;
	if (ps_accept(ps, T_SEMI))
		return 0;
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	ps->mode = (uint32_t)mi;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF)
		if (ps_mode_stmt(ps, mi) != 0)
			ps_sync(ps, 1);
	ps->mode = POLICY_NONE;
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	return 0;
}

static int
ps_datetime(struct ps *ps, struct test_src *ts, int64_t *out)
{
	int64_t secs;
	int absolute = 0;

	if (ps->t.kind != T_WORD)
		return ps_fail(ps, "a date and time YYYY-MM-DDTHH:MM");
	if (tz_parse_datetime(ps->t.s, ps->t.n, &secs, &absolute) != 0) {
		ld_err(ps->ld, ps->t.loc, "E020", "'%.*s' is not a date and time: write "
		    "YYYY-MM-DDTHH:MM in the venue's local time",
		    (int)(ps->t.n > 40 ? 40 : ps->t.n), ps->t.s);
		ps_lex(ps);
		return -1;
	}
	/* local times are converted once the venue's zone is known (ld_tests) */
	ts->at_absolute = absolute;
	ts->at_loc = ps->t.loc;
	*out = secs;
	ps_lex(ps);
	return 0;
}

static int
ps_test_stmt(struct ps *ps, size_t ti)
{
	struct loader *ld = ps->ld;
	struct pol_test *t = &ld->p->tests[ti];
	struct test_src *ts = &ld->tsrc[ti];

	if (ps_accept_word(ps, "tap")) {
		struct ref b = { 0 };
		if (ts->has_tap)
			ld_err(ld, ps->t.loc, "E011", "a test has one tap");
		ts->has_tap = 1;
		if (ps_badge(ps, &b) != 0)
			return -1;
		free(t->badge);
		t->badge = b.name;
		if (!ps_accept_word(ps, "at"))
			return ps_fail(ps, "'at' and a gate");
		free(ts->gate.name);
		ts->gate.name = NULL;
		if (ps_name(ps, "a gate name", &ts->gate) != 0)
			return -1;
		if (!ps_accept_word(ps, "on"))
			return ps_fail(ps, "'on' and a date and time");
		if (ps_datetime(ps, ts, &t->at) != 0)
			return -1;
		if (ps_accept_word(ps, "exit"))
			t->dir = POLICY_OUT;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "mode")) {
		free(ts->mode.name);
		ts->mode.name = NULL;
		return ps_name(ps, "a mode name", &ts->mode) == 0 ? ps_end(ps) : -1;
	}
	if (ps_accept_word(ps, "exit")) {
		t->dir = POLICY_OUT;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "pin")) {
		free(t->pin);
		t->pin = NULL;
		if (ps->t.kind == T_WORD) {
			t->pin = ld_strndup(ps->t.s, ps->t.n);
			ps_lex(ps);
		} else if (ps_string(ps, "a PIN in quotes", &t->pin, NULL) != 0)
			return -1;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "class")) {
		if (ps_accept_word(ps, "legacy"))
			t->cls = POLICY_CLASS_LEGACY;
		else if (ps_accept_word(ps, "secure"))
			t->cls = POLICY_CLASS_SECURE;
		else
			return ps_fail(ps, "legacy or secure");
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "inside")) {
		struct ref c = { 0 }, z = { 0 };
		uint32_t ago = 60;
		if (ps_badge(ps, &c) != 0)
			return -1;
		if (ps_name(ps, "a zone name", &z) != 0) {
			free(c.name);
			return -1;
		}
		if (ps->t.kind == T_WORD && ps_duration(ps, &ago) != 0) {
			free(c.name);
			free(z.name);
			return -1;
		}
		t->inside = ld_grow(t->inside, t->ninside, sizeof(*t->inside));
		ts->inside_cred = ld_grow(ts->inside_cred, t->ninside, sizeof(struct ref));
		ts->inside_zone = ld_grow(ts->inside_zone, t->ninside, sizeof(struct ref));
		ts->inside_cred[t->ninside] = c;
		ts->inside_zone[t->ninside] = z;
		t->inside[t->ninside].since = -(int64_t)ago;	/* relative until resolved */
		t->ninside++;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "occupancy")) {
		struct ref z = { 0 };
		uint32_t n;
		if (ps_name(ps, "a zone name", &z) != 0)
			return -1;
		if (ps_number(ps, "occupancy", 10000000, &n) != 0) {
			free(z.name);
			return -1;
		}
		t->occ = ld_grow(t->occ, t->nocc, sizeof(*t->occ));
		ts->occ_zone = ld_grow(ts->occ_zone, t->nocc, sizeof(struct ref));
		ts->occ_zone[t->nocc] = z;
		t->occ[t->nocc].count = n;
		t->nocc++;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "recent")) {
		struct ref c = { 0 };
		uint32_t ago;
		if (ps_badge(ps, &c) != 0)
			return -1;
		if (ps_duration(ps, &ago) != 0) {
			free(c.name);
			return -1;
		}
		t->recent = ld_grow(t->recent, t->nrecent, sizeof(*t->recent));
		ts->recent_cred = ld_grow(ts->recent_cred, t->nrecent, sizeof(struct ref));
		ts->recent_cred[t->nrecent] = c;
		t->recent[t->nrecent].at = ago;
		t->recent[t->nrecent].flags = POLICY_RECENT_AUTHORISED;
		t->nrecent++;
		return ps_end(ps);
	}
	if (ps_accept_word(ps, "expect")) {
		enum policy_reason rc;
		if (ps_accept_word(ps, "grant"))
			t->want_effect = POLICY_GRANT;
		else if (ps_accept_word(ps, "deny"))
			t->want_effect = POLICY_DENY;
		else
			return ps_fail(ps, "grant or deny");
		t->want_reason = -1;
		if (ps->t.kind == T_WORD) {
			char code[40];
			snprintf(code, sizeof(code), "%.*s", (int)(ps->t.n > 39 ? 39 : ps->t.n),
			    ps->t.s);
			if (policy_reason_parse(code, &rc) != 0) {
				const char *names[POLICY_R__COUNT];
				const char *s;
				for (int i = 0; i < POLICY_R__COUNT; i++)
					names[i] = policy_reason_code((enum policy_reason)i);
				s = policy_suggest(code, names, POLICY_R__COUNT);
				ld_err(ld, ps->t.loc, "E010", "unknown reason code '%s'%s%s%s",
				    code, s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
				ps_lex(ps);
				return -1;
			}
			t->want_reason = (int)rc;
			ps_lex(ps);
		}
		return ps_end(ps);
	}
	return ps_fail(ps, "a test statement (tap, mode, exit, pin, class, inside, "
	    "occupancy, recent, expect)");
}

static int
ps_test(struct ps *ps)
{
	struct loader *ld = ps->ld;
	struct policy *p = ld->p;
	struct pol_test *t;
	struct pol_loc loc = ps->t.loc;
	size_t ti;
	int has_expect;

	ps_lex(ps);
	p->tests = ld_grow(p->tests, p->ntests, sizeof(*p->tests));
	ld->tsrc = ld_grow(ld->tsrc, p->ntests, sizeof(*ld->tsrc));
	ti = p->ntests++;
	t = &p->tests[ti];
	memset(t, 0, sizeof(*t));
	memset(&ld->tsrc[ti], 0, sizeof(ld->tsrc[0]));
	t->loc = loc;
	t->cred = t->gate = t->mode = POLICY_NONE;
	t->cls = -1;
	t->want_reason = -2;	/* no expect yet */
	if (ps_string(ps, "the test's name in quotes", &t->name, NULL) != 0) {
		t->name = ld_strndup("?", 1);
		return -1;
	}
	if (ps_expect(ps, T_LBRACE) != 0)
		return -1;
	while (ps->t.kind != T_RBRACE && ps->t.kind != T_EOF)
		if (ps_test_stmt(ps, ti) != 0)
			ps_sync(ps, 1);
	ps_expect(ps, T_RBRACE);
	ps_accept(ps, T_SEMI);
	t = &p->tests[ti];
	has_expect = t->want_reason != -2;
	if (!ld->tsrc[ti].has_tap)
		ld_err(ld, loc, "E013", "test \"%s\" needs a 'tap BADGE at GATE on TIME;'",
		    t->name);
	if (!has_expect) {
		ld_err(ld, loc, "E013", "test \"%s\" needs 'expect grant|deny [REASON];'",
		    t->name);
		t->want_reason = -1;
	}
	return 0;
}

static const char *const top_keywords[] = {
	"venue", "credentials", "responders", "group", "zone", "gate", "holidays",
	"schedule", "permit", "forbid", "mode", "test"
};

static void
ps_statement(struct ps *ps)
{
	struct loader *ld = ps->ld;
	int r;

	if (ps_is(ps, "venue"))
		r = ps_venue(ps);
	else if (ps_is(ps, "credentials")) {
		ld->cred_loc = ps->t.loc;
		if (ld->p->cred_file != NULL)
			ld_err(ld, ps->t.loc, "E011", "only one credentials file per policy");
		ps_lex(ps);
		free(ld->p->cred_file);
		ld->p->cred_file = NULL;
		r = ps_string(ps, "the credentials file name in quotes", &ld->p->cred_file, NULL);
		if (r == 0)
			r = ps_end(ps);
	} else if (ps_is(ps, "responders")) {
		ps_lex(ps);
		free(ld->responders.name);
		ld->responders.name = NULL;
		r = ps_name(ps, "the responders' group", &ld->responders);
		if (r == 0)
			r = ps_end(ps);
	} else if (ps_is(ps, "group"))
		r = ps_group(ps);
	else if (ps_is(ps, "zone"))
		r = ps_zone(ps);
	else if (ps_is(ps, "gate"))
		r = ps_gate(ps);
	else if (ps_is(ps, "holidays"))
		r = ps_holidays(ps);
	else if (ps_is(ps, "schedule"))
		r = ps_schedule(ps);
	else if (ps_is(ps, "permit") || ps_is(ps, "forbid"))
		r = ps_rule(ps);
	else if (ps_is(ps, "mode"))
		r = ps_mode(ps);
	else if (ps_is(ps, "test"))
		r = ps_test(ps);
	else {
		if (ps->t.kind == T_WORD) {
			char w[70];
			const char *s;
			snprintf(w, sizeof(w), "%.*s", (int)(ps->t.n > 64 ? 64 : ps->t.n), ps->t.s);
			s = policy_suggest(w, top_keywords,
			    sizeof(top_keywords) / sizeof(top_keywords[0]));
			ld_err(ld, ps->t.loc, "E001", "unknown statement '%s'%s%s%s", w,
			    s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
		} else
			ps_fail(ps, "a statement (venue, zone, gate, group, schedule, permit, "
			    "forbid, mode, test...)");
		r = -1;
	}
	if (r != 0)
		ps_sync(ps, 0);
}

void
ld_parse(struct loader *ld)
{
	struct ps ps = { 0 };
	struct pol_zone *out;

	ps.ld = ld;
	ps.line = 1;
	ps.mode = POLICY_NONE;
	ld->lines = ld_grow(ld->lines, 0, sizeof(*ld->lines));
	ld->lines[0] = 0;
	ld->nlines = 1;

	/* zone 0 is the implicit outside */
	ld->p->zones = ld_grow(ld->p->zones, 0, sizeof(*ld->p->zones));
	ld->zsrc = ld_grow(ld->zsrc, 0, sizeof(*ld->zsrc));
	out = &ld->p->zones[0];
	memset(out, 0, sizeof(*out));
	memset(&ld->zsrc[0], 0, sizeof(ld->zsrc[0]));
	out->name = ld_strndup("outside", 7);
	out->parent = POLICY_NONE;
	out->escort_group = out->escort_host = POLICY_NONE;
	ld->p->nzones = 1;

	ps_lex(&ps);
	while (ps.t.kind != T_EOF) {
		if (ld->d->errors >= ERROR_LIMIT) {
			ld_err(ld, ps.t.loc, "E000", "too many errors; giving up here");
			break;
		}
		ps_statement(&ps);
	}
	/* finish the line table so diagnostics can echo any line */
	while (ps.pos < ld->len) {
		if (ld->src[ps.pos++] == '\n')
			ps_newline(&ps);
	}
}
