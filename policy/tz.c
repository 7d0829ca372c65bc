/*
 * tz.c — civil time and time zones for the policy library. Owns the parsed
 * zone; trusts nothing in the TZif bytes (RFC 8536): every count and length
 * is checked against the buffer before it is read, transitions must ascend,
 * indices must be in range, and the POSIX TZ footer is parsed strictly.
 *
 * tz_offset is on the decision path, so parsing does the work: the footer
 * rule is expanded into ordinary transitions up to the start of 2101 and
 * merged with the file's own, and a lookup is one binary search over an
 * int64 array, no allocation. Only instants beyond that (or before 1900 in
 * a zone described by its footer alone) evaluate the rule directly.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tz.h"

#define TZ_MAX_OFF	(26 * 3600)	/* |UT offset| we accept, seconds */
#define TZ_MAX_TYPES	256		/* a type index is one byte in TZif */
#define TZ_MAX_NAME	32		/* footer abbreviation length */
#define TZ_YEAR_LO	1900		/* footer rule expanded from here... */
#define TZ_YEAR_HI	2100		/* ...through this year */
#define TZ_RULE_CLAMP	((int64_t)1 << 50)	/* ~35M years: keeps math in range */

struct tz_type {
	int32_t		 off;		/* seconds east of UTC */
	int		 isdst;
	uint32_t	 abbr;		/* offset into chars */
};

/* One end of a DST period in the footer: Jn, n or Mm.w.d, at local secs. */
struct tz_when {
	char		 kind;		/* 'J', 'n', 'M' */
	int		 a, b, c;	/* n | month, week, weekday */
	int32_t		 secs;
};

struct tz_rule {
	int		 dst;		/* has a DST part */
	int32_t		 std_off, dst_off;
	unsigned	 std_type, dst_type;
	struct tz_when	 start, end;
};

struct tz {
	int64_t		*at;		/* transitions, strictly ascending */
	uint16_t	*ti;		/* type after each transition */
	size_t		 n;
	struct tz_type	*types;
	const char	**abbrs;	/* per type, into chars */
	size_t		 ntypes;
	char		*chars;
	size_t		 nchars;
	unsigned	 before;	/* type before the first transition */

	/* the footer rule governs instants after the file's last transition
	 * (lo); [slow_end, hi) is precomputed into at/ti, outside is not */
	int		 footer;
	struct tz_rule	 rule;
	int64_t		 lo;
	int64_t		 slow_end;
	int64_t		 hi;

	/* buckets of 2^TZ_BKT_SHIFT seconds from 1900 to 2101: bkt[k] counts
	 * the transitions at or before the start of bucket k, so a lookup
	 * scans the one or two transitions inside its bucket */
	uint32_t	*bkt;
	size_t		 nbkt;
};

#define TZ_BKT_SHIFT	22		/* ~48.5 days */
#define TZ_BKT_BASE	((int64_t)-2208988800)	/* 1900-01-01T00:00Z */
#define TZ_BKT_END	((int64_t)4133980800)	/* 2101-01-01T00:00Z */

/* ---- civil calendar (H. Hinnant's algorithms) ---- */

int64_t
tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
tz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

unsigned
tz_weekday(int64_t days)
{
	int64_t r = (days + 3) % 7;	/* 1970-01-01 was a Thursday */

	return (unsigned)(r < 0 ? r + 7 : r);
}

static int
tz_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned
tz_mdays(int64_t y, unsigned m)
{
	static const unsigned char md[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && tz_leap(y) ? 29 : md[m - 1];
}

static int64_t
tz_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
tz_year_of(int64_t t)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(tz_floordiv(t, 86400), &y, &m, &d);
	return y;
}

/* ---- the POSIX TZ footer ---- */

struct tz_cursor {
	const char	*p, *end;
};

static int
tz_peek(const struct tz_cursor *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int
tz_isdigit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
tz_isalpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* std or dst name: three or more letters, or <...> of alnum, '+' and '-' */
static int
tz_footer_name(struct tz_cursor *c, char *out)
{
	size_t n = 0;

	if (tz_peek(c) == '<') {
		c->p++;
		while (tz_peek(c) != '>') {
			int ch = tz_peek(c);
			if (ch == -1 || !(tz_isalpha(ch) || tz_isdigit(ch) ||
			    ch == '+' || ch == '-') || n >= TZ_MAX_NAME)
				return -1;
			out[n++] = (char)ch;
			c->p++;
		}
		c->p++;
	} else {
		while (tz_isalpha(tz_peek(c))) {
			if (n >= TZ_MAX_NAME)
				return -1;
			out[n++] = *c->p++;
		}
	}
	out[n] = '\0';
	return n >= 3 ? 0 : -1;
}

/* [+-]h[h[h]][:mm[:ss]] with hours up to maxh; seconds into *out */
static int
tz_footer_hms(struct tz_cursor *c, int maxh, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0, nd = 0;

	if (tz_peek(c) == '+' || tz_peek(c) == '-')
		sign = *c->p++ == '-' ? -1 : 1;
	while (tz_isdigit(tz_peek(c))) {
		if (++nd > 3)
			return -1;
		h = h * 10 + (*c->p++ - '0');
	}
	if (nd == 0 || h > maxh)
		return -1;
	if (tz_peek(c) == ':') {
		c->p++;
		if (!tz_isdigit(tz_peek(c)))
			return -1;
		m = *c->p++ - '0';
		if (tz_isdigit(tz_peek(c)))
			m = m * 10 + (*c->p++ - '0');
		if (m > 59)
			return -1;
		if (tz_peek(c) == ':') {
			c->p++;
			if (!tz_isdigit(tz_peek(c)))
				return -1;
			s = *c->p++ - '0';
			if (tz_isdigit(tz_peek(c)))
				s = s * 10 + (*c->p++ - '0');
			if (s > 59)
				return -1;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

static int
tz_footer_num(struct tz_cursor *c, int lo, int hi, int *out)
{
	int v = 0, nd = 0;

	while (tz_isdigit(tz_peek(c))) {
		if (++nd > 3)
			return -1;
		v = v * 10 + (*c->p++ - '0');
	}
	if (nd == 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
tz_footer_when(struct tz_cursor *c, struct tz_when *w)
{
	w->secs = 2 * 3600;
	if (tz_peek(c) == 'J') {
		c->p++;
		w->kind = 'J';
		if (tz_footer_num(c, 1, 365, &w->a) == -1)
			return -1;
	} else if (tz_peek(c) == 'M') {
		c->p++;
		w->kind = 'M';
		if (tz_footer_num(c, 1, 12, &w->a) == -1 ||
		    tz_peek(c) != '.' || (c->p++, 0) ||
		    tz_footer_num(c, 1, 5, &w->b) == -1 ||
		    tz_peek(c) != '.' || (c->p++, 0) ||
		    tz_footer_num(c, 0, 6, &w->c) == -1)
			return -1;
	} else {
		w->kind = 'n';
		if (tz_footer_num(c, 0, 365, &w->a) == -1)
			return -1;
	}
	/* RFC 8536 3.3.1: the time may be negative and up to 167 hours */
	if (tz_peek(c) == '/') {
		c->p++;
		if (tz_footer_hms(c, 167, &w->secs) == -1)
			return -1;
	}
	return 0;
}

/* The footer as parsed, before its names are interned as types. */
struct tz_footer {
	char		 std[TZ_MAX_NAME + 1], dst[TZ_MAX_NAME + 1];
	struct tz_rule	 rule;
};

static int
tz_footer_parse(const char *s, size_t n, struct tz_footer *f)
{
	struct tz_cursor c = { s, s + n };
	int32_t off;

	memset(f, 0, sizeof(*f));
	if (tz_footer_name(&c, f->std) == -1 || tz_footer_hms(&c, 24, &off) == -1)
		return -1;
	f->rule.std_off = -off;		/* POSIX counts west as positive */
	if (c.p == c.end)
		return 0;
	if (tz_footer_name(&c, f->dst) == -1)
		return -1;
	f->rule.dst = 1;
	f->rule.dst_off = f->rule.std_off + 3600;
	if (tz_peek(&c) != ',' && c.p != c.end) {
		if (tz_footer_hms(&c, 24, &off) == -1)
			return -1;
		f->rule.dst_off = -off;
	}
	if (c.p == c.end) {
		/* no rule: the POSIX default, as glibc has it (US rules) */
		f->rule.start = (struct tz_when){ 'M', 3, 2, 0, 7200 };
		f->rule.end = (struct tz_when){ 'M', 11, 1, 0, 7200 };
		return 0;
	}
	if (tz_peek(&c) != ',')
		return -1;
	c.p++;
	if (tz_footer_when(&c, &f->rule.start) == -1 || tz_peek(&c) != ',')
		return -1;
	c.p++;
	if (tz_footer_when(&c, &f->rule.end) == -1 || c.p != c.end)
		return -1;
	return 0;
}

/* Local seconds (days since epoch * 86400 + secs) of a rule end in year y. */
static int64_t
tz_when_local(const struct tz_when *w, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1), day;

	switch (w->kind) {
	case 'J':
		day = jan1 + w->a - 1 + (tz_leap(y) && w->a >= 60);
		break;
	case 'n':
		day = jan1 + w->a;
		break;
	default: {
		int64_t first = tz_days_from_civil(y, (unsigned)w->a, 1);
		/* tz_weekday is Monday-based; POSIX d is Sunday-based */
		int wd = (int)(tz_weekday(first) + 1) % 7;
		int64_t mday = 1 + (w->c - wd + 7) % 7 + 7 * (w->b - 1);
		while (mday > tz_mdays(y, (unsigned)w->a))
			mday -= 7;
		day = first + mday - 1;
		break;
	}
	}
	return day * 86400 + w->secs;
}

/* The two UTC transitions of year y, in order; [0] is the earlier. */
struct tz_edge {
	int64_t		at;
	unsigned	type;
};

static void
tz_rule_year(const struct tz_rule *r, int64_t y, struct tz_edge e[2])
{
	int64_t on = tz_when_local(&r->start, y) - r->std_off;
	int64_t off = tz_when_local(&r->end, y) - r->dst_off;

	if (on <= off) {
		e[0] = (struct tz_edge){ on, r->dst_type };
		e[1] = (struct tz_edge){ off, r->std_type };
	} else {
		e[0] = (struct tz_edge){ off, r->std_type };
		e[1] = (struct tz_edge){ on, r->dst_type };
	}
}

/* The rule's type at t, computed directly: the latest edge at or before t. */
static unsigned
tz_rule_type(const struct tz_rule *r, int64_t t)
{
	struct tz_edge e[2];
	int64_t y, best = INT64_MIN;
	unsigned type = r->std_type;

	if (!r->dst)
		return r->std_type;
	if (t > TZ_RULE_CLAMP)
		t = TZ_RULE_CLAMP;
	if (t < -TZ_RULE_CLAMP)
		t = -TZ_RULE_CLAMP;
	y = tz_year_of(t);
	/*
	 * A rule's edges stray at most ~8 days outside their year (times up
	 * to 167 h), so the latest edge at or before t is from years y-2..y+1
	 * (y-2 always has one, and beats all earlier years). Later years win
	 * ties: an all-year DST rule ends and restarts at the same instant.
	 */
	for (int64_t k = y - 2; k <= y + 1; k++) {
		tz_rule_year(r, k, e);
		for (int i = 0; i < 2; i++)
			if (e[i].at <= t && e[i].at >= best) {
				best = e[i].at;
				type = e[i].type;
			}
	}
	return type;
}

/* ---- building the zone ---- */

static int
tz_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

static uint32_t
tz_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

/* Find or add a type; -1 when the table is full or memory is short. */
static int
tz_intern(struct tz *z, int32_t off, int isdst, const char *name)
{
	size_t len = strlen(name);
	struct tz_type *t;
	char *c;

	for (size_t i = 0; i < z->ntypes; i++)
		if (z->types[i].off == off && z->types[i].isdst == isdst &&
		    strcmp(z->chars + z->types[i].abbr, name) == 0)
			return (int)i;
	if (z->ntypes >= TZ_MAX_TYPES + 2)
		return -1;
	if ((t = realloc(z->types, (z->ntypes + 1) * sizeof(*t))) == NULL)
		return -1;
	z->types = t;
	if ((c = realloc(z->chars, z->nchars + len + 1)) == NULL)
		return -1;
	z->chars = c;
	memcpy(z->chars + z->nchars, name, len + 1);
	z->types[z->ntypes] = (struct tz_type){ off, isdst, (uint32_t)z->nchars };
	z->nchars += len + 1;
	return (int)z->ntypes++;
}

struct tz_vec {
	int64_t		*at;
	uint16_t	*ti;
	size_t		 n, cap;
};

static int
tz_vec_push(struct tz_vec *v, int64_t at, unsigned type)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		int64_t *a = realloc(v->at, cap * sizeof(*a));
		uint16_t *t;
		if (a == NULL)
			return -1;
		v->at = a;
		if ((t = realloc(v->ti, cap * sizeof(*t))) == NULL)
			return -1;
		v->ti = t;
		v->cap = cap;
	}
	v->at[v->n] = at;
	v->ti[v->n] = (uint16_t)type;
	v->n++;
	return 0;
}

/*
 * Expand the footer rule for TZ_YEAR_LO..TZ_YEAR_HI after the file's own
 * transitions, so that lookups in that span are one binary search.
 */
static int
tz_expand(struct tz *z, struct tz_vec *v)
{
	int64_t lo_edge = tz_days_from_civil(TZ_YEAR_LO, 1, 1) * 86400;
	int64_t y0, y;
	size_t first = v->n, i, j;
	struct tz_edge e[2];

	z->hi = tz_days_from_civil(TZ_YEAR_HI + 1, 1, 1) * 86400;
	z->slow_end = z->lo;
	if (!z->rule.dst || z->lo >= z->hi)
		return 0;
	if (z->lo < lo_edge) {
		/* a footer-only zone, or one whose data ends before 1900 */
		z->slow_end = lo_edge;
		if (tz_vec_push(v, lo_edge, tz_rule_type(&z->rule, lo_edge)) == -1)
			return -1;
		y0 = TZ_YEAR_LO;
	} else
		y0 = tz_year_of(z->lo);
	for (y = y0 - 1; y <= TZ_YEAR_HI + 1; y++) {
		tz_rule_year(&z->rule, y, e);
		for (i = 0; i < 2; i++)
			if (e[i].at > z->lo && e[i].at >= z->slow_end &&
			    e[i].at < z->hi && tz_vec_push(v, e[i].at,
			    e[i].type) == -1)
				return -1;
	}
	/* nearly sorted already; stable insertion keeps later years last */
	for (i = first + 1; i < v->n; i++) {
		int64_t a = v->at[i];
		uint16_t t = v->ti[i];
		for (j = i; j > first && v->at[j - 1] > a; j--) {
			v->at[j] = v->at[j - 1];
			v->ti[j] = v->ti[j - 1];
		}
		v->at[j] = a;
		v->ti[j] = t;
	}
	/* equal instants: the later one stands; no-change edges go */
	for (i = j = first; i < v->n; i++) {
		if (i + 1 < v->n && v->at[i + 1] == v->at[i])
			continue;
		if ((j > 0 ? v->ti[j - 1] : z->before) == v->ti[i])
			continue;
		v->at[j] = v->at[i];
		v->ti[j] = v->ti[i];
		j++;
	}
	v->n = j;
	return 0;
}

static struct tz *
tz_fail(struct tz *z, struct tz_vec *v, char *err, size_t errlen,
    const char *msg)
{
	tz_err(err, errlen, msg);
	if (v != NULL) {
		free(v->at);
		free(v->ti);
	}
	tz_free(z);
	return NULL;
}

/* Point each type at its abbreviation once chars stops moving; index the
 * transitions by bucket. */
static int
tz_finish(struct tz *z)
{
	size_t i, k;

	if ((z->abbrs = calloc(z->ntypes, sizeof(*z->abbrs))) == NULL)
		return -1;
	for (i = 0; i < z->ntypes; i++)
		z->abbrs[i] = z->chars + z->types[i].abbr;
	if (z->n == 0 || z->n > UINT32_MAX)
		return 0;
	z->nbkt = (size_t)((TZ_BKT_END - TZ_BKT_BASE) >> TZ_BKT_SHIFT) + 1;
	if ((z->bkt = calloc(z->nbkt + 1, sizeof(*z->bkt))) == NULL)
		return -1;
	for (k = 0, i = 0; k <= z->nbkt; k++) {
		int64_t start = TZ_BKT_BASE + ((int64_t)k << TZ_BKT_SHIFT);
		while (i < z->n && z->at[i] <= start)
			i++;
		z->bkt[k] = (uint32_t)i;
	}
	return 0;
}

struct tz_hdr {
	uint32_t	isut, isstd, leap, time, type, chars;
	char		version;
};

static int
tz_header(const unsigned char *p, size_t len, struct tz_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = (char)p[4];
	h->isut = tz_be32(p + 20);
	h->isstd = tz_be32(p + 24);
	h->leap = tz_be32(p + 28);
	h->time = tz_be32(p + 32);
	h->type = tz_be32(p + 36);
	h->chars = tz_be32(p + 40);
	return 0;
}

/* Bytes of a data block, or UINT64_MAX when the counts are inconsistent. */
static uint64_t
tz_block_size(const struct tz_hdr *h, int wide, int used)
{
	uint64_t tsz = wide ? 8 : 4;

	/* a v1 block we skip may be minimal; the one we use must be whole */
	if ((used && (h->type == 0 || h->type > TZ_MAX_TYPES ||
	    h->chars == 0)) || (h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return UINT64_MAX;
	return (uint64_t)h->time * (tsz + 1) + (uint64_t)h->type * 6 +
	    h->chars + (uint64_t)h->leap * (tsz + 4) + h->isstd + h->isut;
}

struct tz *
tz_parse(const char *data, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)data, *q;
	struct tz_hdr h;
	struct tz_footer f;
	struct tz_vec v = { 0 };
	struct tz *z;
	uint64_t bsz;
	size_t off = 0, tsz = 4, i;
	int wide = 0, has_footer = 0;
	const char *fs = NULL;
	size_t fn = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (data == NULL || tz_header(p, len, &h) == -1)
		return tz_fail(NULL, NULL, err, errlen, "not a TZif file "
		    "(bad magic or shorter than a header)");
	if (h.version != 0 && (h.version < '2' || h.version > '4'))
		return tz_fail(NULL, NULL, err, errlen, "unknown TZif version");
	if ((bsz = tz_block_size(&h, 0, h.version == 0)) == UINT64_MAX)
		return tz_fail(NULL, NULL, err, errlen,
		    "TZif header counts are inconsistent");
	if (bsz > len - 44)
		return tz_fail(NULL, NULL, err, errlen,
		    "TZif data is truncated (v1 block)");
	off = 44;
	if (h.version >= '2') {
		/* skip the 32-bit block; the 64-bit one follows with its header */
		off += (size_t)bsz;
		if (tz_header(p + off, len - off, &h) == -1)
			return tz_fail(NULL, NULL, err, errlen,
			    "TZif v2+ second header is missing or bad");
		if ((bsz = tz_block_size(&h, 1, 1)) == UINT64_MAX)
			return tz_fail(NULL, NULL, err, errlen,
			    "TZif v2+ header counts are inconsistent");
		off += 44;
		if (bsz > len - off)
			return tz_fail(NULL, NULL, err, errlen,
			    "TZif data is truncated (v2+ block)");
		wide = 1;
		tsz = 8;
		/* the footer: "\n" TZ-string "\n" right after the data */
		q = p + off + bsz;
		if ((size_t)(q - p) >= len || *q != '\n')
			return tz_fail(NULL, NULL, err, errlen,
			    "TZif footer is missing");
		fs = (const char *)q + 1;
		{
			const char *nl = memchr(fs, '\n', len - (size_t)(q - p) - 1);
			if (nl == NULL)
				return tz_fail(NULL, NULL, err, errlen,
				    "TZif footer is not terminated");
			fn = (size_t)(nl - fs);
		}
		if (fn > 0) {
			if (tz_footer_parse(fs, fn, &f) == -1)
				return tz_fail(NULL, NULL, err, errlen,
				    "TZif footer is not a valid POSIX TZ "
				    "string");
			has_footer = 1;
		}
	}

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return tz_fail(NULL, NULL, err, errlen, "out of memory");
	q = p + off;
	{
		const unsigned char *times = q;
		const unsigned char *idx = times + (size_t)h.time * tsz;
		const unsigned char *ttinfo = idx + h.time;
		const unsigned char *chars = ttinfo + (size_t)h.type * 6;
		const unsigned char *ind = chars + h.chars +
		    (size_t)h.leap * (tsz + 4);

		/* indicators are booleans; UT implies standard time */
		for (i = 0; i < h.isstd; i++)
			if (ind[i] > 1)
				return tz_fail(z, NULL, err, errlen,
				    "TZif standard/wall indicator is not 0 or 1");
		for (i = 0; i < h.isut; i++)
			if (ind[h.isstd + i] > 1 || (ind[h.isstd + i] == 1 &&
			    (h.isstd == 0 || ind[i] != 1)))
				return tz_fail(z, NULL, err, errlen,
				    "TZif UT/local indicator is invalid");

		/* abbreviations: copy and terminate, so none can run off */
		if ((z->chars = malloc((size_t)h.chars + 1)) == NULL)
			return tz_fail(z, NULL, err, errlen, "out of memory");
		memcpy(z->chars, chars, h.chars);
		z->chars[h.chars] = '\0';
		z->nchars = (size_t)h.chars + 1;

		if ((z->types = calloc(h.type, sizeof(*z->types))) == NULL)
			return tz_fail(z, NULL, err, errlen, "out of memory");
		z->ntypes = h.type;
		for (i = 0; i < h.type; i++) {
			int32_t o = (int32_t)tz_be32(ttinfo + 6 * i);
			if (o < -TZ_MAX_OFF || o > TZ_MAX_OFF)
				return tz_fail(z, NULL, err, errlen,
				    "TZif UT offset out of range");
			if (ttinfo[6 * i + 4] > 1)
				return tz_fail(z, NULL, err, errlen,
				    "TZif isdst is not 0 or 1");
			if (ttinfo[6 * i + 5] >= h.chars)
				return tz_fail(z, NULL, err, errlen,
				    "TZif abbreviation index out of range");
			z->types[i] = (struct tz_type){ o, ttinfo[6 * i + 4],
			    ttinfo[6 * i + 5] };
		}

		for (i = 0; i < h.time; i++) {
			int64_t t = wide ? tz_be64(times + 8 * i) :
			    (int64_t)(int32_t)tz_be32(times + 4 * i);
			if (i > 0 && t <= v.at[v.n - 1])
				return tz_fail(z, &v, err, errlen,
				    "TZif transitions are not ascending");
			if (idx[i] >= h.type)
				return tz_fail(z, &v, err, errlen,
				    "TZif transition type out of range");
			if (tz_vec_push(&v, t, idx[i]) == -1)
				return tz_fail(z, &v, err, errlen,
				    "out of memory");
		}
	}
	z->before = 0;
	z->lo = v.n > 0 ? v.at[v.n - 1] : INT64_MIN;

	if (has_footer) {
		int st, dt = 0;
		if ((st = tz_intern(z, f.rule.std_off, 0, f.std)) == -1 ||
		    (f.rule.dst && (dt = tz_intern(z, f.rule.dst_off, 1,
		    f.dst)) == -1))
			return tz_fail(z, &v, err, errlen, "out of memory");
		if (f.rule.std_off < -TZ_MAX_OFF || f.rule.std_off > TZ_MAX_OFF ||
		    f.rule.dst_off < -TZ_MAX_OFF || f.rule.dst_off > TZ_MAX_OFF)
			return tz_fail(z, &v, err, errlen,
			    "TZif footer offset out of range");
		z->footer = 1;
		z->rule = f.rule;
		z->rule.std_type = (unsigned)st;
		z->rule.dst_type = (unsigned)dt;
		if (v.n == 0 && !f.rule.dst)
			z->before = (unsigned)st;	/* the footer is the zone */
		if (tz_expand(z, &v) == -1)
			return tz_fail(z, &v, err, errlen, "out of memory");
	}
	z->at = v.at;
	z->ti = v.ti;
	z->n = v.n;
	if (tz_finish(z) == -1)
		return tz_fail(z, NULL, err, errlen, "out of memory");
	return z;
}

struct tz *
tz_utc(void)
{
	struct tz *z;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	if ((z->chars = malloc(4)) == NULL ||
	    (z->types = calloc(1, sizeof(*z->types))) == NULL) {
		tz_free(z);
		return NULL;
	}
	memcpy(z->chars, "UTC", 4);
	z->nchars = 4;
	z->ntypes = 1;
	z->lo = INT64_MIN;
	if (tz_finish(z) == -1) {
		tz_free(z);
		return NULL;
	}
	return z;
}

void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->ti);
	free(z->types);
	free(z->abbrs);
	free(z->chars);
	free(z->bkt);
	free(z);
}

/* ---- lookups ---- */

static unsigned
tz_type_at(const struct tz *z, int64_t t)
{
	size_t lo, n;

	if (z->footer && t > z->lo && (t >= z->hi || t < z->slow_end))
		return tz_rule_type(&z->rule, t);
	if (z->nbkt > 0 && t >= TZ_BKT_BASE &&
	    t < TZ_BKT_BASE + ((int64_t)z->nbkt << TZ_BKT_SHIFT)) {
		size_t k = (size_t)((t - TZ_BKT_BASE) >> TZ_BKT_SHIFT);
		size_t i = z->bkt[k], end = z->bkt[k + 1];
		/* transitions in (bucket start, t]; few unless the file is
		 * hostile, and then halving below still bounds the work */
		if (end - i <= 8) {
			while (i < end && z->at[i] <= t)
				i++;
			return i == 0 ? z->before : z->ti[i - 1];
		}
	}
	if (z->n == 0 || t < z->at[0])
		return z->before;
	/* the last transition at or before t; branch-light halving */
	lo = 0;
	n = z->n;
	while (n > 1) {
		size_t half = n / 2;
		if (z->at[lo + half] <= t)
			lo += half;
		n -= half;
	}
	return z->ti[lo];
}

int32_t
tz_offset(const struct tz *z, int64_t utc, const char **abbr)
{
	unsigned type = tz_type_at(z, utc);

	if (abbr != NULL)
		*abbr = z->abbrs[type];
	return z->types[type].off;
}

/*
 * Every instant in (a, b] where the type may change, precomputed or from
 * the rule, handed to fn; no cap, so a hostile file with a transition every
 * second only costs time, never a wrong answer.
 */
static void
tz_edges_each(const struct tz *z, int64_t a, int64_t b,
    void (*fn)(const struct tz *, int64_t, void *), void *ctx)
{
	size_t lo = 0, hi = z->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < z->n && z->at[lo] <= b; lo++)
		fn(z, z->at[lo], ctx);
	/* the rule's own edges only where nothing was precomputed */
	if (z->footer && z->rule.dst && b > z->lo &&
	    (b >= z->hi || a + 1 < z->slow_end)) {
		struct tz_edge e[2];
		int64_t ca = a < -TZ_RULE_CLAMP ? -TZ_RULE_CLAMP : a;
		int64_t cb = b > TZ_RULE_CLAMP ? TZ_RULE_CLAMP : b;
		for (int64_t y = tz_year_of(ca) - 1;
		    ca <= cb && y <= tz_year_of(cb) + 1; y++) {
			tz_rule_year(&z->rule, y, e);
			for (int i = 0; i < 2; i++) {
				int64_t t = e[i].at;
				if (t > a && t <= b && t > z->lo &&
				    (t >= z->hi || t < z->slow_end))
					fn(z, t, ctx);
			}
		}
	}
	if (z->footer) {
		/* where the precomputed span meets the rule: a change there
		 * only in a file whose data and footer disagree */
		int64_t seams[3] = { z->hi, z->slow_end,
		    z->lo == INT64_MIN ? z->lo : z->lo + 1 };
		for (int i = 0; i < 3; i++)
			if (seams[i] > a && seams[i] <= b)
				fn(z, seams[i], ctx);
	}
}

struct tz_solve {
	int64_t		local;
	int		nfound;		/* 0, 1, or 2 meaning "two or more" */
	int64_t		first;
	int		gap;
	int64_t		gap_end;
};

/* Is local - o a solution, for o the offset in force from t on? */
static void
tz_solve_try(const struct tz *z, int32_t o, struct tz_solve *s)
{
	int64_t t = s->local - o;

	if (tz_offset(z, t, NULL) != o)
		return;
	if (s->nfound == 0) {
		s->first = t;
		s->nfound = 1;
	} else if (t != s->first) {
		if (t < s->first)
			s->first = t;
		s->nfound = 2;
	}
}

static void
tz_solve_edge(const struct tz *z, int64_t t, void *ctx)
{
	struct tz_solve *s = ctx;
	int32_t before = tz_offset(z, t - 1, NULL);
	int32_t after = tz_offset(z, t, NULL);

	tz_solve_try(z, after, s);
	/* the clock jumped forward over local at t: the gap ends at t */
	if (!s->gap && t + before <= s->local && s->local < t + after) {
		s->gap = 1;
		s->gap_end = t;
	}
}

int
tz_from_local(const struct tz *z, int64_t local, int64_t *utc)
{
	/* every instant that shows this wall time lies within the window */
	struct tz_solve s;
	int64_t a, b;

	if (local > INT64_MAX / 2)
		local = INT64_MAX / 2;
	if (local < INT64_MIN / 2)
		local = INT64_MIN / 2;
	memset(&s, 0, sizeof(s));
	s.local = local;
	a = local - TZ_MAX_OFF - 1;
	b = local + TZ_MAX_OFF + 1;
	tz_solve_try(z, tz_offset(z, a, NULL), &s);
	tz_edges_each(z, a, b, tz_solve_edge, &s);
	if (s.nfound > 0) {
		*utc = s.first;
		return s.nfound == 1 ? TZ_EXACT : TZ_AMBIGUOUS;
	}
	if (s.gap) {
		*utc = s.gap_end;
		return TZ_GAP;
	}
	/* only a malformed zone gets here; answer something near */
	*utc = local - tz_offset(z, local, NULL);
	return TZ_GAP;
}

/* ---- strict parsers ---- */

static int
tz_digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
tz_parse_date(const char *s, size_t n, int32_t *days)
{
	unsigned y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-' ||
	    tz_digits(s, 4, &y) == -1 || tz_digits(s + 5, 2, &m) == -1 ||
	    tz_digits(s + 8, 2, &d) == -1)
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > tz_mdays(y, m))
		return -1;
	*days = (int32_t)tz_days_from_civil(y, m, d);
	return 0;
}

int
tz_parse_hhmm(const char *s, size_t n, unsigned *minutes, int allow_24)
{
	unsigned h, m;

	if (n != 5 || s[2] != ':' || tz_digits(s, 2, &h) == -1 ||
	    tz_digits(s + 3, 2, &m) == -1 || m > 59)
		return -1;
	if (h == 24 && m == 0 && allow_24) {
		*minutes = 24 * 60;
		return 0;
	}
	if (h > 23)
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

int
tz_parse_datetime(const char *s, size_t n, int64_t *secs, int *absolute)
{
	int32_t days;
	unsigned mins = 0, sec = 0, oh, om;
	size_t p = 10;
	int64_t v;
	int abs = 0;

	if (n < 10 || tz_parse_date(s, 10, &days) == -1)
		return -1;
	if (p < n) {
		if (s[p] != 'T' && s[p] != ' ')
			return -1;
		p++;
		if (n - p < 5 || tz_parse_hhmm(s + p, 5, &mins, 0) == -1)
			return -1;
		p += 5;
		if (p < n && s[p] == ':') {
			if (n - p < 3 || tz_digits(s + p + 1, 2, &sec) == -1 ||
			    sec > 59)
				return -1;
			p += 3;
		}
	}
	v = (int64_t)days * 86400 + mins * 60 + sec;
	if (p < n) {
		if (p == 10)
			return -1;	/* a zone needs a time */
		if (s[p] == 'Z' && p + 1 == n) {
			abs = 1;
		} else if ((s[p] == '+' || s[p] == '-') && n - p == 6 &&
		    s[p + 3] == ':' && tz_digits(s + p + 1, 2, &oh) == 0 &&
		    tz_digits(s + p + 4, 2, &om) == 0 && oh <= 23 && om <= 59) {
			int64_t o = (int64_t)oh * 3600 + om * 60;
			v -= s[p] == '+' ? o : -o;
			abs = 1;
		} else
			return -1;
	}
	*secs = v;
	*absolute = abs;
	return 0;
}

int
tz_parse_duration(const char *s, size_t n, uint32_t *secs)
{
	uint64_t v = 0, mul;
	size_t i;

	if (n < 2 || n > 12)
		return -1;
	for (i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	switch (s[n - 1]) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return -1;
	}
	v *= mul;
	if (v == 0 || v > 366 * 86400)
		return -1;
	*secs = (uint32_t)v;
	return 0;
}
