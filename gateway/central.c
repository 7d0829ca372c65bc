/*
 * central.c — checks a central server's copy of a gateway's journal (see
 * central.h). Owns nothing but the file it reads; every field of every
 * line is bounded before use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/central.h"
#include "gateway/journal.h"

#define SD_ID		"[gatewayd@32473 "
#define LINE_MAX_C	65536

struct central_ent {
	uint64_t	seq;
	uint8_t		hash[32], prev[32];
};

static int
central_unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* `name="value"` inside the SD element [p, e): the value's bounds. */
static int
central_sd_param(const char *p, const char *e, const char *name,
    const char **v, size_t *vlen)
{
	size_t nl = strlen(name);

	while (p < e) {
		if ((size_t)(e - p) > nl + 2 && memcmp(p, name, nl) == 0 &&
		    p[nl] == '=' && p[nl + 1] == '"' && p[-1] == ' ') {
			const char *s = p + nl + 2, *q;
			for (q = s; q < e && *q != '"'; q++)
				if (*q == '\\')
					return -1;	/* we never escape */
			if (q == e)
				return -1;
			*v = s;
			*vlen = (size_t)(q - s);
			return 0;
		}
		p++;
	}
	return -1;
}

/* A JSON string at *pp (after the opening quote) into out[outlen]:
 * \u00XX is one byte (journal_format_json writes bytes that way). */
static int
central_json_str(const char **pp, const char *e, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	while (p < e && *p != '"') {
		unsigned c = (unsigned char)*p++;
		if (c == '\\') {
			if (p >= e)
				return -1;
			switch (*p++) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				uint8_t b[2];
				if (e - p < 4 || central_unhex(p, 2, b) == -1 ||
				    b[0] != 0)
					return -1;
				c = b[1];
				p += 4;
				break;
			}
			default:
				return -1;
			}
		}
		if (n + 1 >= outlen)
			return -1;	/* longer than the field: not ours */
		out[n++] = (char)c;
	}
	if (p >= e)
		return -1;
	out[n] = '\0';
	*pp = p + 1;
	return 0;
}

static int
central_json_num(const char **pp, const char *e, int neg_ok, uint64_t *u,
    int64_t *s)
{
	const char *p = *pp;
	int neg = 0;
	uint64_t v = 0;

	if (p < e && *p == '-' && neg_ok) {
		neg = 1;
		p++;
	}
	if (p >= e || *p < '0' || *p > '9')
		return -1;
	while (p < e && *p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*pp = p;
	if (u)
		*u = v;
	if (s)
		*s = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static const struct {
	const char	*name;
	size_t		 off, size;
} central_strs[] = {
#define F(x) { #x, offsetof(struct journal_record, x), \
	    sizeof(((struct journal_record *)0)->x) }
	F(type), F(gateway), F(gate), F(zone_from), F(zone_to), F(cred),
	F(holder), F(decision), F(reason), F(rule), F(mode), F(policy),
	F(actor), F(text),
#undef F
};

/* The flat JSON object journal_format_json writes. */
static int
central_json(const char *p, const char *e, struct journal_record *r,
    char *why, size_t whylen)
{
	char key[32], tmp[80];
	int have_seq = 0, have_hash = 0, have_prev = 0;

	if (p >= e || *p++ != '{')
		goto bad;
	while (p < e && *p != '}') {
		if (*p++ != '"' || central_json_str(&p, e, key, sizeof(key)) ==
		    -1 || p >= e || *p++ != ':')
			goto bad;
		size_t i;
		for (i = 0; i < sizeof(central_strs) / sizeof(central_strs[0]);
		    i++)
			if (strcmp(key, central_strs[i].name) == 0)
				break;
		if (i < sizeof(central_strs) / sizeof(central_strs[0])) {
			if (p >= e || *p++ != '"' || central_json_str(&p, e,
			    (char *)r + central_strs[i].off,
			    central_strs[i].size) == -1)
				goto bad;
		} else if (strcmp(key, "seq") == 0) {
			if (central_json_num(&p, e, 0, &r->seq, NULL) == -1)
				goto bad;
			have_seq = 1;
		} else if (strcmp(key, "time_us") == 0) {
			if (central_json_num(&p, e, 1, NULL, &r->time_us) == -1)
				goto bad;
		} else if (strcmp(key, "flags") == 0) {
			uint64_t f;
			if (central_json_num(&p, e, 0, &f, NULL) == -1 ||
			    f > UINT32_MAX)
				goto bad;
			r->flags = (uint32_t)f;
		} else if (strcmp(key, "time") == 0 || strcmp(key, "prev") ==
		    0 || strcmp(key, "hash") == 0) {
			if (p >= e || *p++ != '"' || central_json_str(&p, e, tmp,
			    sizeof(tmp)) == -1)
				goto bad;
			if (key[0] != 't') {
				if (strlen(tmp) != 64 || central_unhex(tmp, 32,
				    key[0] == 'p' ? r->prev : r->hash) == -1)
					goto bad;
				if (key[0] == 'p')
					have_prev = 1;
				else
					have_hash = 1;
			}
		} else
			goto bad;
		if (p < e && *p == ',')
			p++;
	}
	if (p >= e || !have_seq || !have_hash || !have_prev)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "body is not a gatewayd JSON record");
	return -1;
}

int
central_parse_line(const char *line, size_t len, struct journal_record *r,
    char *why, size_t whylen)
{
	const char *e = line + len, *sd, *sde, *v;
	size_t vl;
	uint8_t h[32], ph[32];
	char num[24];
	uint64_t seq;

	memset(r, 0, sizeof(*r));
	while (e > line && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	sd = memmem(line, (size_t)(e - line), SD_ID, strlen(SD_ID));
	if (sd == NULL)
		return 0;
	if ((sde = memchr(sd, ']', (size_t)(e - sd))) == NULL) {
		snprintf(why, whylen, "structured data not closed");
		return -1;
	}
	if (central_sd_param(sd + 1, sde, "seq", &v, &vl) == -1 || vl == 0 ||
	    vl >= sizeof(num)) {
		snprintf(why, whylen, "no seq in the structured data");
		return -1;
	}
	memcpy(num, v, vl);
	num[vl] = '\0';
	{
		const char *q = num;
		if (central_json_num(&q, num + vl, 0, &seq, NULL) == -1 ||
		    *q != '\0') {
			snprintf(why, whylen, "bad seq '%s'", num);
			return -1;
		}
	}
	if (central_sd_param(sd + 1, sde, "hash", &v, &vl) == -1 || vl != 64 ||
	    central_unhex(v, 32, h) == -1 ||
	    central_sd_param(sd + 1, sde, "prev", &v, &vl) == -1 || vl != 64 ||
	    central_unhex(v, 32, ph) == -1) {
		snprintf(why, whylen, "seq %llu: bad hash or prev in the "
		    "structured data", (unsigned long long)seq);
		return -1;
	}
	if (sde + 2 > e || sde[1] != ' ') {
		snprintf(why, whylen, "seq %llu: no body",
		    (unsigned long long)seq);
		return -1;
	}
	if (central_json(sde + 2, e, r, why, whylen) == -1)
		return -1;
	if (r->seq != seq || memcmp(r->hash, h, 32) != 0 ||
	    memcmp(r->prev, ph, 32) != 0) {
		snprintf(why, whylen, "seq %llu: structured data and body "
		    "disagree", (unsigned long long)seq);
		return -1;
	}
	if (central_sd_param(sd + 1, sde, "gw", &v, &vl) == -1 ||
	    vl != strlen(r->gateway) || memcmp(v, r->gateway, vl) != 0) {
		snprintf(why, whylen, "seq %llu: gateway in structured data "
		    "and body disagree", (unsigned long long)seq);
		return -1;
	}
	return 1;
}

static int
central_cmp(const void *a, const void *b)
{
	const struct central_ent *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return memcmp(x->hash, y->hash, 32);
}

static void
central_note(struct central_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
central_note(struct central_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->first_problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rep->first_problem, sizeof(rep->first_problem), fmt, ap);
	va_end(ap);
}

int
central_verify(const char *file, const char *gw, uint64_t from,
    struct central_report *rep, char *err, size_t errlen)
{
	struct central_ent *v = NULL;
	struct journal_record r;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL, why[256], gwid[32] = "";
	uint8_t h[32];
	ssize_t got;
	FILE *f;

	memset(rep, 0, sizeof(*rep));
	if (gw != NULL)
		snprintf(gwid, sizeof(gwid), "%s", gw);
	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((got = getline(&line, &len, f)) != -1) {
		int k;
		rep->lines++;
		if (got > LINE_MAX_C) {
			rep->bad++;
			central_note(rep, "line %llu: longer than %d bytes",
			    (unsigned long long)rep->lines, LINE_MAX_C);
			continue;
		}
		k = central_parse_line(line, (size_t)got, &r, why, sizeof(why));
		if (k == 0) {
			rep->other++;
			continue;
		}
		if (k == 1 && gwid[0] == '\0')
			snprintf(gwid, sizeof(gwid), "%s", r.gateway);
		if (k == 1 && strcmp(r.gateway, gwid) != 0) {
			rep->other++;
			continue;
		}
		if (k == -1) {
			rep->bad++;
			central_note(rep, "line %llu: %s",
			    (unsigned long long)rep->lines, why);
			continue;
		}
		journal_rehash(&r, h);
		if (memcmp(h, r.hash, 32) != 0) {
			rep->bad++;
			central_note(rep, "line %llu: seq %llu altered or "
			    "truncated (its hash does not match its content)",
			    (unsigned long long)rep->lines,
			    (unsigned long long)r.seq);
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct central_ent *nv = realloc(v, nc * sizeof(*v));
			if (nv == NULL) {
				snprintf(err, errlen, "out of memory");
				free(v);
				free(line);
				fclose(f);
				return -1;
			}
			v = nv;
			cap = nc;
		}
		v[n].seq = r.seq;
		memcpy(v[n].hash, r.hash, 32);
		memcpy(v[n].prev, r.prev, 32);
		n++;
	}
	free(line);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", file);
		fclose(f);
		free(v);
		return -1;
	}
	fclose(f);
	qsort(v, n, sizeof(*v), central_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && v[m - 1].seq == v[i].seq) {
			if (memcmp(v[m - 1].hash, v[i].hash, 32) == 0)
				rep->duplicates++;
			else {
				rep->conflicts++;
				central_note(rep, "seq %llu stored twice with "
				    "different content",
				    (unsigned long long)v[i].seq);
			}
			continue;
		}
		v[m++] = v[i];
	}
	rep->records = m;
	if (m > 0) {
		rep->first = v[0].seq;
		rep->last = v[m - 1].seq;
		uint64_t want = from ? from : 1;
		if (rep->first > want) {
			rep->gaps += rep->first - want;
			central_note(rep, "records %llu..%llu missing",
			    (unsigned long long)want,
			    (unsigned long long)(rep->first - 1));
		}
	}
	for (size_t i = 1; i < m; i++) {
		if (v[i].seq != v[i - 1].seq + 1) {
			rep->gaps += v[i].seq - v[i - 1].seq - 1;
			central_note(rep, "records %llu..%llu missing",
			    (unsigned long long)(v[i - 1].seq + 1),
			    (unsigned long long)(v[i].seq - 1));
		} else if (memcmp(v[i].prev, v[i - 1].hash, 32) != 0) {
			rep->breaks++;
			central_note(rep, "chain broken at seq %llu (prev is "
			    "not the hash of seq %llu)",
			    (unsigned long long)v[i].seq,
			    (unsigned long long)v[i - 1].seq);
		}
	}
	free(v);
	if (m == 0)
		central_note(rep, "no records of gateway %s",
		    gwid[0] ? gwid : "(any)");
	return m > 0 && rep->gaps == 0 && rep->bad == 0 &&
	    rep->conflicts == 0 && rep->breaks == 0 ? 0 : 1;
}
