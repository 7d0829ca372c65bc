/*
 * conf.c — the gateway.conf parser: a small tokenizer and a recursive
 * statement parser that reports every error in one pass (recovering at the
 * next `;` or block), each with file:line:col, the line echoed and, for
 * misspelt keywords and drivers, the nearest valid name.
 *
 * Owns: the struct gateway_conf it returns. Trusts: nothing in the text.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "gateway/conf.h"
#include "gateway/policyio.h"

#define CONF_MAX_GATES	256
#define CONF_TOKEN_MAX	512

enum tok_type { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_BAD };

struct tok {
	enum tok_type	 type;
	char		 s[CONF_TOKEN_MAX];
	uint32_t	 line, col;
	const char	*line_text;
};

struct parser {
	const char		*file;
	const char		*p, *end;
	const char		*line_start;
	uint32_t		 line;
	struct tok		 tok;		/* current (lookahead) token */
	struct policy_diags	*diags;
	struct gateway_conf	*conf;
	int			 seen_gateway, seen_policy, seen_journal,
				 seen_socket, seen_role[CONF_ROLE__COUNT];
	/* every gate name declared, valid or not, for duplicate checks */
	char			 gate_names[CONF_MAX_GATES][CONF_NAME_MAX];
	uint32_t		 gate_lines[CONF_MAX_GATES];
	size_t			 ngate_names;
};

static const char *const top_keywords[] = {
	"gateway", "policy", "journal", "socket", "role", "input", "gate",
	"osdp-bus",
	"sync",
};
static const char *const gate_keywords[] = {
	"policy-gate", "reader", "exit-reader", "sensors", "lock", "fail",
};
static const char *const journal_keywords[] = {
	"segment", "retain", "retain-age",
};
static const char *const sync_keywords[] = {
	"server", "address", "port", "ca", "cert", "key", "window",
	"ack-timeout", "retry-max", "backlog-alarm",
};
static const char *const role_names[CONF_ROLE__COUNT] = {
	"staff", "admin", "auditor", "console",
};
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

const char *
conf_role_name(enum conf_role r)
{
	return (unsigned)r < CONF_ROLE__COUNT ? role_names[r] : "?";
}

/* The token's source line, copied: the text need not be NUL-terminated
 * and diagnostics only get one line of it. */
static const char *
conf_line(const struct parser *ps, const struct tok *t, char *buf, size_t len)
{
	size_t n = 0;

	if (t == NULL || t->line_text == NULL || len == 0)
		return NULL;
	for (const char *p = t->line_text; p < ps->end && *p != '\n' &&
	    n + 1 < len; p++)
		buf[n++] = *p;
	buf[n] = '\0';
	return buf;
}

static void
conf_vdiag(struct parser *ps, enum policy_severity sev, const struct tok *t,
    const char *code, const char *fmt, va_list ap)
{
	char msg[600], line[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	policy_diag_add(ps->diags, sev, code, ps->file, t ? t->line : 0,
	    t ? t->col : 0, conf_line(ps, t, line, sizeof(line)), "%s", msg);
}

static void
conf_error(struct parser *ps, const struct tok *t, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_error(struct parser *ps, const struct tok *t, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vdiag(ps, POLICY_ERROR, t, code, fmt, ap);
	va_end(ap);
}

static void
conf_warn(struct parser *ps, const struct tok *t, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_warn(struct parser *ps, const struct tok *t, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vdiag(ps, POLICY_WARNING, t, code, fmt, ap);
	va_end(ap);
}

static int
conf_wordch(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' ||
	    c == ':' || c == '+' || c == '@';
}

/* Read the next token into ps->tok; errors become T_BAD (reported here). */
static void
conf_next(struct parser *ps)
{
	struct tok *t = &ps->tok;
	size_t n = 0;

	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
		    *ps->p == '\r'))
			ps->p++;
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		}
		if (ps->p < ps->end && *ps->p == '\n') {
			ps->p++;
			ps->line++;
			ps->line_start = ps->p;
			continue;
		}
		break;
	}
	t->line = ps->line;
	t->col = (uint32_t)(ps->p - ps->line_start) + 1;
	t->line_text = ps->line_start;
	t->s[0] = '\0';
	if (ps->p >= ps->end) {
		t->type = T_EOF;
		return;
	}
	switch (*ps->p) {
	case '{': t->type = T_LBRACE; ps->p++; strcpy(t->s, "{"); return;
	case '}': t->type = T_RBRACE; ps->p++; strcpy(t->s, "}"); return;
	case ';': t->type = T_SEMI; ps->p++; strcpy(t->s, ";"); return;
	case '"':
		ps->p++;
		for (;;) {
			if (ps->p >= ps->end || *ps->p == '\n') {
				conf_error(ps, t, "C001", "unterminated string");
				t->type = T_BAD;
				return;
			}
			char c = *ps->p++;
			if (c == '"')
				break;
			if (c == '\\') {
				if (ps->p >= ps->end || (*ps->p != '"' &&
				    *ps->p != '\\')) {
					conf_error(ps, t, "C001", "bad escape in "
					    "string (only \\\" and \\\\)");
					t->type = T_BAD;
					/* resynchronise at the line's end */
					while (ps->p < ps->end && *ps->p != '\n')
						ps->p++;
					return;
				}
				c = *ps->p++;
			} else if ((unsigned char)c < 0x20 && c != '\t') {
				conf_error(ps, t, "C001", "control character in "
				    "string");
				t->type = T_BAD;
				while (ps->p < ps->end && *ps->p != '\n')
					ps->p++;
				return;
			}
			if (n + 1 >= sizeof(t->s)) {
				conf_error(ps, t, "C001", "string longer than "
				    "%zu bytes", sizeof(t->s) - 1);
				t->type = T_BAD;
				while (ps->p < ps->end && *ps->p != '\n')
					ps->p++;
				return;
			}
			t->s[n++] = c;
		}
		t->s[n] = '\0';
		t->type = T_STRING;
		return;
	default:
		break;
	}
	if (!conf_wordch((unsigned char)*ps->p)) {
		conf_error(ps, t, "C001", "unexpected character '%s%c'",
		    isprint((unsigned char)*ps->p) ? "" : "\\",
		    isprint((unsigned char)*ps->p) ? *ps->p : '?');
		ps->p++;
		t->type = T_BAD;
		return;
	}
	while (ps->p < ps->end && conf_wordch((unsigned char)*ps->p)) {
		if (n + 1 < sizeof(t->s))
			t->s[n++] = *ps->p;
		ps->p++;
	}
	t->s[n] = '\0';
	t->type = T_WORD;
}

static const char *
conf_tokname(const struct tok *t)
{
	switch (t->type) {
	case T_EOF: return "end of file";
	case T_SEMI: return "';'";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	default: return t->s;
	}
}

/*
 * Error recovery: skip the rest of a statement. Stops after a `;`, after a
 * whole `{...}` block, or before a `}` that closes the enclosing block.
 */
static int
conf_is_top_keyword(const char *s)
{
	for (size_t i = 0; i < NELEM(top_keywords); i++)
		if (strcmp(s, top_keywords[i]) == 0)
			return 1;
	return 0;
}

static void
conf_skip(struct parser *ps)
{
	int depth = 0;
	uint32_t line0 = ps->tok.line;

	for (;;) {
		/* a top-level keyword opening a later line starts afresh */
		if (depth == 0 && ps->tok.type == T_WORD &&
		    ps->tok.line > line0 && ps->tok.col == 1 &&
		    conf_is_top_keyword(ps->tok.s))
			return;
		switch (ps->tok.type) {
		case T_EOF:
			return;
		case T_SEMI:
			conf_next(ps);
			if (depth == 0)
				return;
			break;
		case T_LBRACE:
			depth++;
			conf_next(ps);
			break;
		case T_RBRACE:
			if (depth == 0)
				return;
			conf_next(ps);
			if (--depth == 0) {
				if (ps->tok.type == T_SEMI)
					conf_next(ps);
				return;
			}
			break;
		default:
			conf_next(ps);
		}
	}
}

/* Expect `;` ending a statement; on anything else report and recover. */
static int
conf_end(struct parser *ps)
{
	if (ps->tok.type == T_SEMI) {
		conf_next(ps);
		return 0;
	}
	if (ps->tok.type != T_BAD)
		conf_error(ps, &ps->tok, "C001", "expected ';', got %s",
		    conf_tokname(&ps->tok));
	conf_skip(ps);
	return -1;
}

/* A value: word or string. Copies into out; 0 or -1 (reported). */
static int
conf_value(struct parser *ps, const char *what, char *out, size_t outlen,
    struct tok *where)
{
	struct tok *t = &ps->tok;

	if (t->type != T_WORD && t->type != T_STRING) {
		if (t->type != T_BAD)
			conf_error(ps, t, "C001", "expected %s, got %s", what,
			    conf_tokname(t));
		conf_skip(ps);
		return -1;
	}
	if (where != NULL)
		*where = *t;
	if (strlen(t->s) >= outlen) {
		conf_error(ps, t, "C006", "%s too long (at most %zu bytes)",
		    what, outlen - 1);
		conf_skip(ps);
		return -1;
	}
	snprintf(out, outlen, "%s", t->s);
	conf_next(ps);
	return 0;
}

static int
conf_name_ok(const char *s)
{
	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

static void
conf_unknown_keyword(struct parser *ps, const struct tok *t,
    const char *where, const char *const *kws, size_t n)
{
	const char *s = policy_suggest(t->s, kws, n);

	if (s != NULL)
		conf_error(ps, t, "C002", "unknown keyword '%s' in %s; "
		    "did you mean '%s'?", t->s, where, s);
	else
		conf_error(ps, t, "C002", "unknown keyword '%s' in %s",
		    t->s, where);
}

/* "64M", "10G", "4096" -> bytes */
static int
conf_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 'K': case 'k': mul = 1ULL << 10; break;
		case 'M': case 'm': mul = 1ULL << 20; break;
		case 'G': case 'g': mul = 1ULL << 30; break;
		case 'T': case 't': mul = 1ULL << 40; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* Join a relative path to the conf file's directory. */
static int
conf_resolve(const char *conffile, const char *path, char *out, size_t len)
{
	const char *slash;
	int n;

	if (path[0] == '/' || (slash = strrchr(conffile, '/')) == NULL)
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - conffile),
		    conffile, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* `KEYWORD DRIVER [ARGS];` for a piece of hardware of the given kind. */
static void
conf_hw(struct parser *ps, const struct tok *kw, struct conf_hw *hw,
    unsigned kind, const char *what)
{
	struct tok dt;
	const struct driver *d;
	struct conf_hw h;

	memset(&h, 0, sizeof(h));
	h.loc.line = kw->line;
	h.loc.col = kw->col;
	if (conf_value(ps, "a driver name", h.driver, sizeof(h.driver),
	    &dt) == -1)
		return;
	/* args only as a string, so a forgotten ';' is not read as args */
	if (ps->tok.type == T_STRING) {
		if (conf_value(ps, "driver arguments", h.args, sizeof(h.args),
		    NULL) == -1)
			return;
	}
	if (conf_end(ps) == -1)
		return;
	if (hw->set) {
		conf_error(ps, kw, "C003", "%s given twice (first at line %u)",
		    what, hw->loc.line);
		return;
	}
	if ((d = driver_find(h.driver)) == NULL) {
		const char *s = driver_suggest(h.driver);
		if (s != NULL)
			conf_error(ps, &dt, "C004", "unknown driver '%s'; did "
			    "you mean '%s'?", h.driver, s);
		else
			conf_error(ps, &dt, "C004", "unknown driver '%s'",
			    h.driver);
		return;
	}
	if ((d->kind & kind) == 0) {
		conf_error(ps, &dt, "C004", "driver '%s' cannot be used as %s",
		    h.driver, what);
		return;
	}
	h.set = 1;
	*hw = h;
}

static void
conf_gate(struct parser *ps, const struct tok *kw)
{
	struct gateway_conf *c = ps->conf;
	struct conf_gate g;
	struct tok nt;
	int fail_set = 0, bad = 0;

	memset(&g, 0, sizeof(g));
	g.loc.line = kw->line;
	g.loc.col = kw->col;
	if (conf_value(ps, "a gate name", g.name, sizeof(g.name), &nt) == -1)
		return;
	if (!conf_name_ok(g.name)) {
		conf_error(ps, &nt, "C006", "bad gate name '%s' (letters, "
		    "digits, '-', '_', '.')", g.name);
		bad = 1;
	}
	g.loc.line = nt.line;
	g.loc.col = nt.col;
	if (ps->tok.type != T_LBRACE) {
		if (ps->tok.type != T_BAD)
			conf_error(ps, &ps->tok, "C001", "expected '{' after "
			    "gate %s, got %s", g.name, conf_tokname(&ps->tok));
		conf_skip(ps);
		return;
	}
	conf_next(ps);
	while (ps->tok.type != T_RBRACE && ps->tok.type != T_EOF) {
		struct tok k = ps->tok;

		if (k.type != T_WORD) {
			if (k.type != T_BAD)
				conf_error(ps, &k, "C001", "expected a gate "
				    "setting, got %s", conf_tokname(&k));
			conf_skip(ps);
			continue;
		}
		conf_next(ps);
		if (strcmp(k.s, "policy-gate") == 0) {
			struct tok vt;
			if (conf_value(ps, "a policy gate name", g.policy_gate,
			    sizeof(g.policy_gate), &vt) == -1)
				continue;
			g.policy_loc.line = vt.line;
			g.policy_loc.col = vt.col;
			conf_end(ps);
		} else if (strcmp(k.s, "reader") == 0)
			conf_hw(ps, &k, &g.reader, DRIVER_READER, "reader");
		else if (strcmp(k.s, "exit-reader") == 0)
			conf_hw(ps, &k, &g.exit_reader, DRIVER_READER,
			    "exit-reader");
		else if (strcmp(k.s, "sensors") == 0)
			conf_hw(ps, &k, &g.sensors, DRIVER_SENSOR, "sensors");
		else if (strcmp(k.s, "lock") == 0)
			conf_hw(ps, &k, &g.lock, DRIVER_OUTPUT, "lock");
		else if (strcmp(k.s, "fail") == 0) {
			struct tok vt = ps->tok;
			char v[16];
			if (conf_value(ps, "secure or safe", v, sizeof(v),
			    NULL) == -1)
				continue;
			if (strcmp(v, "secure") == 0)
				g.fail = CONF_FAIL_SECURE;
			else if (strcmp(v, "safe") == 0)
				g.fail = CONF_FAIL_SAFE;
			else {
				conf_error(ps, &vt, "C006", "fail mode must be "
				    "'secure' or 'safe', not '%s'", v);
				conf_skip(ps);
				continue;
			}
			if (fail_set)
				conf_error(ps, &k, "C003", "fail given twice");
			fail_set = 1;
			conf_end(ps);
		} else {
			conf_unknown_keyword(ps, &k, "a gate block",
			    gate_keywords, NELEM(gate_keywords));
			conf_skip(ps);
		}
	}
	if (ps->tok.type == T_EOF) {
		conf_error(ps, &ps->tok, "C001", "end of file inside gate %s "
		    "(missing '}')", g.name);
		return;
	}
	conf_next(ps);			/* } */
	if (ps->tok.type == T_SEMI)
		conf_next(ps);
	if (!g.reader.set) {
		conf_error(ps, &nt, "C005", "gate %s has no reader", g.name);
		bad = 1;
	}
	if (!g.lock.set) {
		conf_error(ps, &nt, "C005", "gate %s has no lock", g.name);
		bad = 1;
	}
	if (!fail_set) {
		conf_error(ps, &nt, "C005", "gate %s must say 'fail secure;' or "
		    "'fail safe;' (what the lock does when the journal fails)",
		    g.name);
		bad = 1;
	}
	if (g.reader.set && !g.sensors.set)
		conf_warn(ps, &nt, "W001", "gate %s has no sensors: passages "
		    "cannot be seen, so nobody is ever counted inside", g.name);
	for (size_t i = 0; i < ps->ngate_names; i++)
		if (strcmp(ps->gate_names[i], g.name) == 0) {
			conf_error(ps, &nt, "C003", "gate %s declared twice "
			    "(first at line %u)", g.name, ps->gate_lines[i]);
			bad = 1;
			break;
		}
	if (ps->ngate_names < CONF_MAX_GATES) {
		snprintf(ps->gate_names[ps->ngate_names], CONF_NAME_MAX, "%s",
		    g.name);
		ps->gate_lines[ps->ngate_names++] = nt.line;
	}
	if (bad)
		return;
	if (g.policy_gate[0] == '\0') {
		snprintf(g.policy_gate, sizeof(g.policy_gate), "%s", g.name);
		g.policy_loc = g.loc;
	}
	if (c->ngates >= CONF_MAX_GATES) {
		conf_error(ps, &nt, "C006", "more than %d gates",
		    CONF_MAX_GATES);
		return;
	}
	struct conf_gate *v = realloc(c->gates, (c->ngates + 1) * sizeof(*v));
	if (v == NULL) {
		conf_error(ps, &nt, "C000", "out of memory");
		return;
	}
	c->gates = v;
	c->gates[c->ngates++] = g;
}

static void
conf_journal(struct parser *ps, const struct tok *kw)
{
	struct gateway_conf *c = ps->conf;
	char path[CONF_PATH_MAX];
	struct tok pt;

	if (conf_value(ps, "the journal directory", path, sizeof(path),
	    &pt) == -1)
		return;
	if (ps->seen_journal)
		conf_error(ps, kw, "C003", "journal given twice");
	ps->seen_journal = 1;
	if (conf_resolve(ps->file, path, c->journal, sizeof(c->journal)) == -1)
		conf_error(ps, &pt, "C006", "journal path too long");
	if (ps->tok.type != T_LBRACE) {
		conf_end(ps);
		return;
	}
	conf_next(ps);
	while (ps->tok.type != T_RBRACE && ps->tok.type != T_EOF) {
		struct tok k = ps->tok, vt;
		char v[64];

		if (k.type != T_WORD) {
			if (k.type != T_BAD)
				conf_error(ps, &k, "C001", "expected a journal "
				    "setting, got %s", conf_tokname(&k));
			conf_skip(ps);
			continue;
		}
		conf_next(ps);
		if (strcmp(k.s, "segment") == 0 || strcmp(k.s, "retain") == 0) {
			uint64_t sz;
			if (conf_value(ps, "a size (64M, 10G)", v, sizeof(v),
			    &vt) == -1)
				continue;
			if (conf_size(v, &sz) == -1) {
				conf_error(ps, &vt, "C006", "bad size '%s' "
				    "(a number with K, M, G or T)", v);
				conf_skip(ps);
				continue;
			}
			if (k.s[0] == 's') {
				if (sz < 4096) {
					conf_error(ps, &vt, "C006", "segment "
					    "size %s is below 4K", v);
					conf_skip(ps);
					continue;
				}
				c->segment_bytes = sz;
			} else
				c->retain_bytes = sz;
			conf_end(ps);
		} else if (strcmp(k.s, "retain-age") == 0) {
			char *end;
			long long d;
			if (conf_value(ps, "an age in days (400d)", v,
			    sizeof(v), &vt) == -1)
				continue;
			errno = 0;
			d = strtoll(v, &end, 10);
			if (!isdigit((unsigned char)v[0]) || errno != 0 ||
			    strcmp(end, "d") != 0 || d <= 0 || d > 36500) {
				conf_error(ps, &vt, "C006", "bad age '%s' "
				    "(days, like 400d)", v);
				conf_skip(ps);
				continue;
			}
			c->retain_days = d;
			conf_end(ps);
		} else {
			conf_unknown_keyword(ps, &k, "a journal block",
			    journal_keywords, NELEM(journal_keywords));
			conf_skip(ps);
		}
	}
	if (ps->tok.type == T_EOF) {
		conf_error(ps, &ps->tok, "C001", "end of file inside journal "
		    "block (missing '}')");
		return;
	}
	conf_next(ps);
	if (ps->tok.type == T_SEMI)
		conf_next(ps);
}

/* A number in [lo, hi], with an optional unit suffix ("10s"). */
static int
conf_uint(const char *v, const char *unit, uint64_t lo, uint64_t hi,
    uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || (strcmp(end, "") != 0 && strcmp(end, unit) != 0) ||
	    n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* sync { server NAME; [address A;] [port N;] ca F; cert F; key F; ... } */
static void
conf_sync(struct parser *ps, const struct tok *kw)
{
	struct conf_sync *sy = &ps->conf->sync;
	int seen_ca = 0, seen_cert = 0, seen_key = 0;

	if (sy->set)
		conf_error(ps, kw, "C003", "sync given twice");
	sy->set = 1;
	sy->loc.line = kw->line;
	sy->loc.col = kw->col;
	if (ps->tok.type != T_LBRACE) {
		conf_error(ps, &ps->tok, "C001", "expected '{' after sync");
		conf_skip(ps);
		return;
	}
	conf_next(ps);
	while (ps->tok.type != T_RBRACE && ps->tok.type != T_EOF) {
		struct tok k = ps->tok, vt;
		char v[CONF_PATH_MAX], *path = NULL;
		uint64_t n;

		if (k.type != T_WORD) {
			if (k.type != T_BAD)
				conf_error(ps, &k, "C001", "expected a sync "
				    "setting, got %s", conf_tokname(&k));
			conf_skip(ps);
			continue;
		}
		conf_next(ps);
		if (conf_value(ps, "a value", v, sizeof(v), &vt) == -1)
			continue;
		if (strcmp(k.s, "server") == 0 || strcmp(k.s, "address") == 0) {
			char *dst = k.s[0] == 's' ? sy->server : sy->address;
			if (strlen(v) >= sizeof(sy->server) || v[0] == '\0') {
				conf_error(ps, &vt, "C006", "bad host name '%s'",
				    v);
				conf_skip(ps);
				continue;
			}
			memcpy(dst, v, strlen(v) + 1);	/* length checked */
		} else if (strcmp(k.s, "ca") == 0) {
			path = sy->ca;
			seen_ca = 1;
		} else if (strcmp(k.s, "cert") == 0) {
			path = sy->cert;
			seen_cert = 1;
		} else if (strcmp(k.s, "key") == 0) {
			path = sy->key;
			seen_key = 1;
		} else if (strcmp(k.s, "port") == 0 ||
		    strcmp(k.s, "window") == 0 ||
		    strcmp(k.s, "ack-timeout") == 0 ||
		    strcmp(k.s, "retry-max") == 0 ||
		    strcmp(k.s, "backlog-alarm") == 0) {
			int w = k.s[0] == 'w', a = k.s[0] == 'a',
			    r = k.s[0] == 'r', b = k.s[0] == 'b';
			if (conf_uint(v, a || r ? "s" : "", 1, w ? 4096 :
			    a || r ? 3600 : b ? UINT32_MAX : 65535, &n) == -1) {
				conf_error(ps, &vt, "C006", "bad %s '%s' (%s)",
				    k.s, v, w ? "1..4096 records" : a || r ?
				    "seconds, like 10s" : b ? "a record count" :
				    "a TCP port");
				conf_skip(ps);
				continue;
			}
			if (w)
				sy->window = (uint32_t)n;
			else if (a)
				sy->ack_timeout_s = (uint32_t)n;
			else if (r)
				sy->retry_max_s = (uint32_t)n;
			else if (b)
				sy->backlog_alarm = n;
			else
				sy->port = (uint16_t)n;
		} else {
			conf_unknown_keyword(ps, &k, "a sync block",
			    sync_keywords, NELEM(sync_keywords));
			conf_skip(ps);
			continue;
		}
		if (path != NULL && conf_resolve(ps->file, v, path,
		    CONF_PATH_MAX) == -1) {
			conf_error(ps, &vt, "C006", "path too long");
			conf_skip(ps);
			continue;
		}
		conf_end(ps);
	}
	if (ps->tok.type == T_EOF) {
		conf_error(ps, &ps->tok, "C001", "end of file inside sync "
		    "block (missing '}')");
		return;
	}
	if (!sy->server[0] || !seen_ca || !seen_cert || !seen_key)
		conf_error(ps, kw, "C005", "sync needs server, ca, cert and "
		    "key");
	conf_next(ps);
	if (ps->tok.type == T_SEMI)
		conf_next(ps);
}

static const char *const osdp_keywords[] = {
	"device", "baud", "keys", "secure", "poll",
};

/* osdp-bus NAME { device "/dev/ttyS1"; baud 9600; keys "osdp.keys";
 *                 secure on|off; poll 50; } */
static void
conf_osdp_bus(struct parser *ps, const struct tok *kw)
{
	struct gateway_conf *c = ps->conf;
	struct conf_osdp_bus b;
	struct tok nt;
	char keys[CONF_PATH_MAX] = "";
	int bad = 0;

	memset(&b, 0, sizeof(b));
	b.loc.line = kw->line;
	b.loc.col = kw->col;
	b.baud = 9600;
	b.secure = 1;
	b.poll_ms = 50;
	if (conf_value(ps, "an osdp bus name", b.name, sizeof(b.name), &nt) ==
	    -1)
		return;
	if (!conf_name_ok(b.name)) {
		conf_error(ps, &nt, "C006", "bad osdp bus name '%s'", b.name);
		bad = 1;
	}
	for (size_t i = 0; i < c->nosdp; i++)
		if (strcmp(c->osdp[i].name, b.name) == 0) {
			conf_error(ps, &nt, "C003", "osdp-bus %s given twice "
			    "(first at line %u)", b.name, c->osdp[i].loc.line);
			bad = 1;
		}
	if (ps->tok.type != T_LBRACE) {
		conf_error(ps, &ps->tok, "C001", "expected '{' after osdp-bus "
		    "%s", b.name);
		conf_skip(ps);
		return;
	}
	conf_next(ps);
	while (ps->tok.type != T_RBRACE && ps->tok.type != T_EOF) {
		struct tok k = ps->tok, vt;
		char v[CONF_PATH_MAX];
		char *end;
		unsigned long n;

		if (k.type != T_WORD) {
			if (k.type != T_BAD)
				conf_error(ps, &k, "C001", "expected an osdp-bus "
				    "setting, got %s", conf_tokname(&k));
			conf_skip(ps);
			continue;
		}
		conf_next(ps);
		if (conf_value(ps, "a value", v, sizeof(v), &vt) == -1)
			continue;
		if (strcmp(k.s, "device") == 0) {
			size_t dl = strlen(v);
			if (dl >= sizeof(b.device)) {
				conf_error(ps, &vt, "C006", "device path too long");
				bad = 1;
			} else
				memcpy(b.device, v, dl + 1);
		} else if (strcmp(k.s, "keys") == 0) {
			snprintf(keys, sizeof(keys), "%s", v);
		} else if (strcmp(k.s, "secure") == 0) {
			if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
				conf_error(ps, &vt, "C006", "secure is on or off");
				bad = 1;
			}
			b.secure = strcmp(v, "off") != 0;
		} else if (strcmp(k.s, "baud") == 0 || strcmp(k.s, "poll") == 0) {
			n = strtoul(v, &end, 10);
			if (k.s[0] == 'b' && (*end != '\0' || (n != 9600 &&
			    n != 19200 && n != 38400 && n != 57600 &&
			    n != 115200 && n != 230400))) {
				conf_error(ps, &vt, "C006", "baud '%s': one of "
				    "9600 19200 38400 57600 115200 230400", v);
				bad = 1;
			} else if (k.s[0] == 'p' && (*end != '\0' || n < 5 ||
			    n > 1000)) {
				conf_error(ps, &vt, "C006", "poll '%s': 5..1000 "
				    "ms", v);
				bad = 1;
			} else if (k.s[0] == 'b')
				b.baud = (uint32_t)n;
			else
				b.poll_ms = (uint32_t)n;
		} else {
			conf_unknown_keyword(ps, &k, "an osdp-bus block",
			    osdp_keywords, NELEM(osdp_keywords));
			conf_skip(ps);
			continue;
		}
		conf_end(ps);
	}
	if (ps->tok.type == T_EOF) {
		conf_error(ps, &ps->tok, "C001", "end of file inside osdp-bus "
		    "block (missing '}')");
		return;
	}
	conf_next(ps);
	if (ps->tok.type == T_SEMI)
		conf_next(ps);
	if (b.device[0] == '\0') {
		conf_error(ps, kw, "C005", "osdp-bus %s: missing 'device'",
		    b.name);
		bad = 1;
	}
	if (b.secure && keys[0] == '\0') {
		conf_error(ps, kw, "C005", "osdp-bus %s: secure channel needs "
		    "'keys \"FILE\";' (or say 'secure off;')", b.name);
		bad = 1;
	}
	if (keys[0] && conf_resolve(ps->file, keys, b.keys, sizeof(b.keys)) ==
	    -1) {
		conf_error(ps, kw, "C006", "keys path too long");
		bad = 1;
	}
	if (c->nosdp == CONF_OSDP_BUSES) {
		conf_error(ps, kw, "C006", "at most %d osdp buses",
		    CONF_OSDP_BUSES);
		bad = 1;
	}
	if (!bad)
		c->osdp[c->nosdp++] = b;
}

static void
conf_statement(struct parser *ps)
{
	struct gateway_conf *c = ps->conf;
	struct tok k = ps->tok, vt;

	if (k.type != T_WORD) {
		if (k.type != T_BAD)
			conf_error(ps, &k, "C001", "expected a statement, got %s",
			    conf_tokname(&k));
		if (k.type == T_RBRACE)
			conf_next(ps);
		else
			conf_skip(ps);
		return;
	}
	conf_next(ps);
	if (strcmp(k.s, "gateway") == 0) {
		if (conf_value(ps, "the gateway id", c->id, sizeof(c->id),
		    &vt) == -1)
			return;
		if (!conf_name_ok(c->id))
			conf_error(ps, &vt, "C006", "bad gateway id '%s' "
			    "(letters, digits, '-', '_', '.')", c->id);
		if (ps->seen_gateway)
			conf_error(ps, &k, "C003", "gateway given twice");
		ps->seen_gateway = 1;
		conf_end(ps);
	} else if (strcmp(k.s, "policy") == 0) {
		char path[CONF_PATH_MAX];
		if (conf_value(ps, "the policy file", path, sizeof(path),
		    &vt) == -1)
			return;
		if (ps->seen_policy)
			conf_error(ps, &k, "C003", "policy given twice");
		ps->seen_policy = 1;
		if (conf_resolve(ps->file, path, c->policy,
		    sizeof(c->policy)) == -1)
			conf_error(ps, &vt, "C006", "policy path too long");
		conf_end(ps);
	} else if (strcmp(k.s, "journal") == 0) {
		conf_journal(ps, &k);
	} else if (strcmp(k.s, "socket") == 0) {
		char path[CONF_PATH_MAX];
		if (conf_value(ps, "the control socket path", path,
		    sizeof(path), &vt) == -1)
			return;
		if (ps->seen_socket)
			conf_error(ps, &k, "C003", "socket given twice");
		ps->seen_socket = 1;
		/* sun_path holds 108 bytes */
		if (conf_resolve(ps->file, path, c->socket, sizeof(c->socket))
		    == -1 || strlen(c->socket) >= 108)
			conf_error(ps, &vt, "C006", "socket path too long "
			    "(at most 107 bytes)");
		conf_end(ps);
	} else if (strcmp(k.s, "role") == 0) {
		char rn[32], grp[64];
		struct tok rt;
		int r;
		if (conf_value(ps, "a role (staff, admin, auditor, console)", rn,
		    sizeof(rn), &rt) == -1)
			return;
		for (r = 0; r < CONF_ROLE__COUNT; r++)
			if (strcmp(rn, role_names[r]) == 0)
				break;
		if (r == CONF_ROLE__COUNT) {
			const char *s = policy_suggest(rn, role_names,
			    CONF_ROLE__COUNT);
			conf_error(ps, &rt, "C007", "unknown role '%s'%s%s%s "
			    "(staff, admin, auditor, console)", rn,
			    s ? "; did you mean '" : "", s ? s : "",
			    s ? "'?" : "");
			conf_skip(ps);
			return;
		}
		if (conf_value(ps, "a Unix group name", grp, sizeof(grp),
		    &vt) == -1)
			return;
		if (ps->seen_role[r])
			conf_error(ps, &k, "C003", "role %s given twice", rn);
		ps->seen_role[r] = 1;
		snprintf(c->role_group[r], sizeof(c->role_group[r]), "%s", grp);
		c->role_loc[r].line = vt.line;
		c->role_loc[r].col = vt.col;
		conf_end(ps);
	} else if (strcmp(k.s, "input") == 0) {
		char in[32];
		struct tok it;
		if (conf_value(ps, "an input name", in, sizeof(in), &it) == -1)
			return;
		if (strcmp(in, "fire-alarm") != 0) {
			conf_error(ps, &it, "C006", "unknown input '%s' (only "
			    "fire-alarm)", in);
			conf_skip(ps);
			return;
		}
		conf_hw(ps, &k, &c->fire_alarm, DRIVER_INPUT, "input");
	} else if (strcmp(k.s, "gate") == 0) {
		conf_gate(ps, &k);
	} else if (strcmp(k.s, "sync") == 0) {
		conf_sync(ps, &k);
	} else if (strcmp(k.s, "osdp-bus") == 0) {
		conf_osdp_bus(ps, &k);
	} else {
		conf_unknown_keyword(ps, &k, "gateway.conf", top_keywords,
		    NELEM(top_keywords));
		conf_skip(ps);
	}
}

struct gateway_conf *
conf_parse(const char *file, const char *text, size_t len,
    struct policy_diags *diags)
{
	struct parser ps;
	struct gateway_conf *c;
	size_t errors0 = diags->errors;
	struct tok eof;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->file = strdup(file ? file : "<input>")) == NULL) {
		free(c);
		policy_diag_add(diags, POLICY_ERROR, "C000", file, 0, 0, NULL,
		    "out of memory");
		return NULL;
	}
	memset(&ps, 0, sizeof(ps));
	ps.file = c->file;
	ps.p = text;
	ps.end = text + len;
	ps.line_start = text;
	ps.line = 1;
	ps.diags = diags;
	ps.conf = c;
	if (memchr(text, '\0', len) != NULL) {
		policy_diag_add(diags, POLICY_ERROR, "C001", c->file, 0, 0, NULL,
		    "file contains a NUL byte");
		conf_free(c);
		return NULL;
	}
	conf_next(&ps);
	while (ps.tok.type != T_EOF && diags->errors - errors0 < 200)
		conf_statement(&ps);
	eof = ps.tok;
	eof.line_text = NULL;
	if (!ps.seen_gateway)
		conf_error(&ps, &eof, "C005", "missing 'gateway \"ID\";'");
	if (!ps.seen_policy)
		conf_error(&ps, &eof, "C005", "missing 'policy \"FILE\";'");
	if (!ps.seen_journal)
		conf_error(&ps, &eof, "C005", "missing 'journal \"DIR\";'");
	if (!ps.seen_socket)
		snprintf(c->socket, sizeof(c->socket), "/run/gatewayd.sock");
	if (c->ngates == 0 && diags->errors == errors0)
		conf_error(&ps, &eof, "C005", "no gate declared");
	if (diags->errors != errors0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct gateway_conf *c)
{
	if (c == NULL)
		return;
	free(c->gates);
	free(c->file);
	free(c);
}

const struct conf_gate *
conf_gate_find(const struct gateway_conf *c, const char *name)
{
	for (size_t i = 0; i < c->ngates; i++)
		if (strcmp(c->gates[i].name, name) == 0)
			return &c->gates[i];
	return NULL;
}

struct sbuf {
	char	*s;
	size_t	 n, cap;
	int	 oom;
};

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->n + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap + (n < 0 ? 0 : (size_t)n) + 1) * 2;
		char *s = realloc(b->s, cap);
		if (n < 0 || s == NULL) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

static void
conf_print_hw(struct sbuf *b, const char *kw, const struct conf_hw *hw)
{
	if (!hw->set)
		return;
	if (hw->args[0])
		sbuf_printf(b, "\t%s %s \"%s\";\n", kw, hw->driver, hw->args);
	else
		sbuf_printf(b, "\t%s %s;\n", kw, hw->driver);
}

char *
conf_print(const struct gateway_conf *c)
{
	struct sbuf b = { NULL, 0, 0, 0 };

	sbuf_printf(&b, "gateway \"%s\";\n", c->id);
	sbuf_printf(&b, "policy \"%s\";\n", c->policy);
	sbuf_printf(&b, "journal \"%s\" {", c->journal);
	if (c->segment_bytes)
		sbuf_printf(&b, " segment %llu;",
		    (unsigned long long)c->segment_bytes);
	if (c->retain_bytes)
		sbuf_printf(&b, " retain %llu;",
		    (unsigned long long)c->retain_bytes);
	if (c->retain_days)
		sbuf_printf(&b, " retain-age %lldd;", (long long)c->retain_days);
	sbuf_printf(&b, " }\n");
	sbuf_printf(&b, "socket \"%s\";\n", c->socket);
	for (int r = 0; r < CONF_ROLE__COUNT; r++)
		if (c->role_group[r][0])
			sbuf_printf(&b, "role %s \"%s\";\n", role_names[r],
			    c->role_group[r]);
	if (c->fire_alarm.set) {
		if (c->fire_alarm.args[0])
			sbuf_printf(&b, "input fire-alarm %s \"%s\";\n",
			    c->fire_alarm.driver, c->fire_alarm.args);
		else
			sbuf_printf(&b, "input fire-alarm %s;\n",
			    c->fire_alarm.driver);
	}
	if (c->sync.set) {
		const struct conf_sync *sy = &c->sync;
		sbuf_printf(&b, "sync {\n\tserver \"%s\";\n", sy->server);
		if (sy->address[0])
			sbuf_printf(&b, "\taddress \"%s\";\n", sy->address);
		sbuf_printf(&b, "\tport %u;\n\tca \"%s\";\n\tcert \"%s\";\n"
		    "\tkey \"%s\";\n\twindow %u;\n\tack-timeout %us;\n"
		    "\tretry-max %us;\n\tbacklog-alarm %llu;\n}\n",
		    sy->port ? sy->port : 2514, sy->ca, sy->cert, sy->key,
		    sy->window ? sy->window : 128,
		    sy->ack_timeout_s ? sy->ack_timeout_s : 10,
		    sy->retry_max_s ? sy->retry_max_s : 60,
		    (unsigned long long)(sy->backlog_alarm ? sy->backlog_alarm :
		    10000));
	}
	for (size_t i = 0; i < c->nosdp; i++) {
		const struct conf_osdp_bus *o = &c->osdp[i];
		sbuf_printf(&b, "osdp-bus %s {\n\tdevice \"%s\";\n\tbaud %u;\n"
		    "\tsecure %s;\n", o->name, o->device, o->baud,
		    o->secure ? "on" : "off");
		if (o->keys[0])
			sbuf_printf(&b, "\tkeys \"%s\";\n", o->keys);
		sbuf_printf(&b, "\tpoll %u;\n}\n", o->poll_ms);
	}
	for (size_t i = 0; i < c->ngates; i++) {
		const struct conf_gate *g = &c->gates[i];
		sbuf_printf(&b, "gate %s {\n\tpolicy-gate %s;\n", g->name,
		    g->policy_gate);
		conf_print_hw(&b, "reader", &g->reader);
		conf_print_hw(&b, "exit-reader", &g->exit_reader);
		conf_print_hw(&b, "sensors", &g->sensors);
		conf_print_hw(&b, "lock", &g->lock);
		sbuf_printf(&b, "\tfail %s;\n}\n",
		    g->fail == CONF_FAIL_SAFE ? "safe" : "secure");
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

struct gateway_conf *
conf_load(const char *path, FILE *diag, char *err, size_t errlen)
{
	struct policy_diags d;
	struct gateway_conf *conf;
	char *text;
	size_t len;

	if (policyio_read(path, CONF_FILE_MAX, &text, &len, err, errlen) != 0)
		return NULL;
	memset(&d, 0, sizeof(d));
	conf = conf_parse(path, text, len, &d);
	free(text);
	if (diag != NULL)
		policyio_print_diags(diag, &d);
	policy_diags_free(&d);
	if (conf == NULL)
		snprintf(err, errlen, "%s: configuration has errors", path);
	return conf;
}
