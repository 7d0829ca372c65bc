/*
 * state.c — people inside zones, occupancy counts and recent taps, in
 * small string-keyed hash tables. Loop thread only.
 *
 * Owns: copies of every name it stores. Trusts: the journal records it
 * replays only as far as journal_iter checked them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/journal.h"
#include "gateway/state.h"

#define STATE_ZONES_PER_PERSON	8
#define STATE_RECENT_PER_GATE	16
#define STATE_NAME		64

/* ---- a string-keyed open-addressing map ---- */
struct smap {
	char	**keys;
	void	**vals;
	size_t	  cap, n;
};

static uint64_t
smap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void **
smap_slot(const struct smap *m, const char *key, size_t *idx)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = smap_hash(key) & (m->cap - 1); m->keys[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (strcmp(m->keys[i], key) == 0) {
			*idx = i;
			return &m->vals[i];
		}
	*idx = i;
	return NULL;
}

static void *
smap_get(const struct smap *m, const char *key)
{
	size_t i;
	void **v = smap_slot(m, key, &i);

	return v ? *v : NULL;
}

static int
smap_grow(struct smap *m)
{
	struct smap n;

	n.cap = m->cap ? m->cap * 2 : 64;
	n.n = 0;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (n.keys == NULL || n.vals == NULL) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (m->keys[i] == NULL)
			continue;
		(void)smap_slot(&n, m->keys[i], &j);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
		n.n++;
	}
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

/* Insert key -> val (key copied); the existing value if present. */
static void *
smap_put(struct smap *m, const char *key, void *val)
{
	size_t i;
	void **v;

	if ((m->n + 1) * 10 >= m->cap * 7 && smap_grow(m) == -1)
		return NULL;
	if ((v = smap_slot(m, key, &i)) != NULL)
		return *v;
	if ((m->keys[i] = strdup(key)) == NULL)
		return NULL;
	m->vals[i] = val;
	m->n++;
	return val;
}

static void
smap_free(struct smap *m, void (*freeval)(void *))
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != NULL) {
			free(m->keys[i]);
			if (freeval != NULL)
				freeval(m->vals[i]);
		}
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- the state ---- */

struct person {
	char		 cred[STATE_NAME];
	char		 holder[96];
	size_t		 n;
	struct {
		char	 zone[STATE_NAME];
		int64_t	 since;
	} in[STATE_ZONES_PER_PERSON];
};

struct zone_count {
	int64_t		count;
};

struct recent_ring {
	size_t		 n, head;
	struct {
		char	 cred[STATE_NAME];
		int64_t	 at;
		uint32_t flags;
	} v[STATE_RECENT_PER_GATE];
};

struct state {
	struct smap	people;		/* cred -> struct person */
	struct smap	zones;		/* zone -> struct zone_count */
	struct smap	recent;		/* gate -> struct recent_ring */
};

struct state *
state_new(void)
{
	return calloc(1, sizeof(struct state));
}

void
state_free(struct state *st)
{
	if (st == NULL)
		return;
	smap_free(&st->people, free);
	smap_free(&st->zones, free);
	smap_free(&st->recent, free);
	free(st);
}

static void
state_count(struct state *st, const char *zone, int64_t delta)
{
	struct zone_count *z = smap_get(&st->zones, zone);

	if (z == NULL) {
		if ((z = calloc(1, sizeof(*z))) == NULL)
			return;
		if (smap_put(&st->zones, zone, z) != z) {
			free(z);
			return;
		}
	}
	z->count += delta;
	if (z->count < 0)
		z->count = 0;
}

static void
state_enter(struct state *st, struct person *p, const char *zone, int64_t at)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->in[i].zone, zone) == 0)
			return;		/* soft anti-passback: already counted */
	if (p->n == STATE_ZONES_PER_PERSON)
		return;
	snprintf(p->in[p->n].zone, STATE_NAME, "%s", zone);
	p->in[p->n].since = at;
	p->n++;
	state_count(st, zone, 1);
}

static void
state_leave(struct state *st, struct person *p, const char *zone)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->in[i].zone, zone) == 0) {
			p->in[i] = p->in[--p->n];
			state_count(st, zone, -1);
			return;
		}
	/* leaving a zone nobody saw them enter: nothing to count down */
}

/* Zone names from z up to the top that do not contain `other`. */
static size_t
state_chain(const struct policy *pol, const char *zname, const char *oname,
    const char *out[], size_t max)
{
	uint32_t z = policy_zone_find(pol, zname);
	uint32_t o = policy_zone_find(pol, oname);
	size_t n = 0;

	if (z == POLICY_NONE) {
		/* unknown to this policy version: just the named zone */
		if (strcmp(zname, "outside") != 0 && zname[0] != '\0' && max > 0)
			out[n++] = zname;
		return n;
	}
	for (; z != POLICY_NONE && n < max; z = policy_zone_parent(pol, z)) {
		if (z == 0)		/* outside */
			break;
		if (o != POLICY_NONE && policy_zone_contains(pol, z, o))
			break;
		out[n++] = policy_zone_name(pol, z);
	}
	return n;
}

void
state_passage(struct state *st, const struct policy *pol, const char *cred,
    const char *holder, const char *from, const char *to, int64_t at)
{
	const char *left[STATE_ZONES_PER_PERSON], *entered[STATE_ZONES_PER_PERSON];
	size_t nl, ne;
	struct person *p;

	if (cred == NULL || cred[0] == '\0')
		return;		/* nobody known went through */
	nl = state_chain(pol, from, to, left, STATE_ZONES_PER_PERSON);
	ne = state_chain(pol, to, from, entered, STATE_ZONES_PER_PERSON);
	if ((p = smap_get(&st->people, cred)) == NULL) {
		if (ne == 0)
			return;
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return;
		snprintf(p->cred, sizeof(p->cred), "%s", cred);
		if (smap_put(&st->people, cred, p) != p) {
			free(p);
			return;
		}
	}
	if (holder != NULL && holder[0] != '\0')
		snprintf(p->holder, sizeof(p->holder), "%s", holder);
	for (size_t i = 0; i < nl; i++)
		state_leave(st, p, left[i]);
	for (size_t i = 0; i < ne; i++)
		state_enter(st, p, entered[i], at);
}

int
state_inside(const struct state *st, const char *cred, const char *zone,
    int64_t *since)
{
	const struct person *p = smap_get(&st->people, cred);

	if (p == NULL)
		return 0;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->in[i].zone, zone) == 0) {
			if (since != NULL)
				*since = p->in[i].since;
			return 1;
		}
	return 0;
}

int64_t
state_occupancy(const struct state *st, const char *zone)
{
	const struct zone_count *z = smap_get(&st->zones, zone);

	return z ? z->count : 0;
}

void
state_recent_add(struct state *st, const char *gate, const char *cred,
    int64_t at, uint32_t flags)
{
	struct recent_ring *r = smap_get(&st->recent, gate);
	size_t i;

	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return;
		if (smap_put(&st->recent, gate, r) != r) {
			free(r);
			return;
		}
	}
	i = (r->head + r->n) % STATE_RECENT_PER_GATE;
	if (r->n == STATE_RECENT_PER_GATE)
		r->head = (r->head + 1) % STATE_RECENT_PER_GATE;
	else
		r->n++;
	snprintf(r->v[i].cred, STATE_NAME, "%s", cred);
	r->v[i].at = at;
	r->v[i].flags = flags;
}

size_t
state_recent(const struct state *st, const struct policy *pol,
    const char *gate, int64_t now, int64_t window_s,
    struct policy_recent *out, size_t max)
{
	const struct recent_ring *r = smap_get(&st->recent, gate);
	size_t n = 0;

	if (r == NULL)
		return 0;
	for (size_t k = r->n; k > 0 && n < max; k--) {
		size_t i = (r->head + k - 1) % STATE_RECENT_PER_GATE;
		uint32_t c;

		if (now - r->v[i].at > window_s || r->v[i].at > now)
			continue;
		if ((c = policy_cred_find(pol, r->v[i].cred)) == POLICY_NONE)
			continue;
		out[n].cred = c;
		out[n].at = r->v[i].at;
		out[n].flags = r->v[i].flags;
		n++;
	}
	return n;
}

static int
state_ops_inside(void *ctx, uint32_t cred, uint32_t zone, int64_t *since)
{
	const struct state_view *v = ctx;
	const char *c, *z;

	if (cred == POLICY_NONE)
		return 0;
	if ((c = policy_cred_id(v->pol, cred)) == NULL ||
	    (z = policy_zone_name(v->pol, zone)) == NULL)
		return -1;
	return state_inside(v->st, c, z, since);
}

static int64_t
state_ops_occupancy(void *ctx, uint32_t zone)
{
	const struct state_view *v = ctx;
	const char *z = policy_zone_name(v->pol, zone);

	return z ? state_occupancy(v->st, z) : -1;
}

const struct policy_state_ops state_ops = {
	.inside = state_ops_inside,
	.occupancy = state_ops_occupancy,
};

static int
state_person_cmp(const void *a, const void *b)
{
	const struct state_person *x = a, *y = b;
	int c = strcmp(x->zone, y->zone);

	if (c == 0)
		c = strcmp(x->holder, y->holder);
	if (c == 0)
		c = strcmp(x->cred, y->cred);
	return c;
}

size_t
state_muster(const struct state *st, const char *zone,
    struct state_person **out)
{
	size_t n = 0, cap = 0;
	struct state_person *v = NULL;

	for (size_t i = 0; i < st->people.cap; i++) {
		const struct person *p = st->people.vals[i];
		if (st->people.keys[i] == NULL)
			continue;
		for (size_t k = 0; k < p->n; k++) {
			if (zone != NULL && strcmp(zone, p->in[k].zone) != 0)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct state_person *nv = realloc(v,
				    nc * sizeof(*nv));
				if (nv == NULL)
					goto out;
				v = nv;
				cap = nc;
			}
			v[n].cred = p->cred;
			v[n].holder = p->holder;
			v[n].zone = p->in[k].zone;
			v[n].since = p->in[k].since;
			n++;
		}
	}
out:
	if (n > 0)
		qsort(v, n, sizeof(*v), state_person_cmp);
	*out = v;
	return n;
}

static int
state_zone_cmp(const void *a, const void *b)
{
	return strcmp(((const struct state_zone_count *)a)->zone,
	    ((const struct state_zone_count *)b)->zone);
}

size_t
state_zones(const struct state *st, struct state_zone_count **out)
{
	size_t n = 0;
	struct state_zone_count *v;

	*out = NULL;
	if ((v = calloc(st->zones.n + 1, sizeof(*v))) == NULL)
		return 0;
	for (size_t i = 0; i < st->zones.cap; i++) {
		const struct zone_count *z = st->zones.vals[i];
		if (st->zones.keys[i] == NULL || z->count == 0)
			continue;
		v[n].zone = st->zones.keys[i];
		v[n].count = z->count;
		n++;
	}
	qsort(v, n, sizeof(*v), state_zone_cmp);
	*out = v;
	return n;
}

int
state_replay(struct state *st, const struct policy *pol, const char *dir,
    struct state_replay *sr, char *err, size_t errlen)
{
	struct journal_iter *it;
	struct journal_record *r;
	int rc;

	sr->records = sr->passages = 0;
	if ((r = malloc(sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sr->after_seq > 0) {
		/* the caller loaded a snapshot of records 1..after_seq: the
		 * journal must still hold that record with that hash */
		it = journal_iter_resume(dir, sr->after_seq, sr->after_hash,
		    err, errlen);
		if (it == NULL) {
			free(r);
			return -2;
		}
		sr->last_seq = sr->after_seq;
		memcpy(sr->last_hash, sr->after_hash, 32);
	} else {
		sr->last_seq = 0;
		memset(sr->last_hash, 0, 32);
		sr->mode[0] = '\0';
		if ((it = journal_iter_open(dir, 1, err, errlen)) == NULL) {
			free(r);
			return -1;
		}
	}
	for (;;) {
		/* a live journal grows at its tail: never read past upto */
		if (sr->upto > 0 && sr->last_seq >= sr->upto) {
			rc = 0;
			break;
		}
		if ((rc = journal_iter_next(it, r, err, errlen)) != 1)
			break;
		sr->records++;
		sr->last_seq = r->seq;
		memcpy(sr->last_hash, r->hash, 32);
		if (sr->each != NULL)
			sr->each(sr->each_ctx, r);
		sr->passages += (uint64_t)state_apply(st, pol, r, sr->mode);
	}
	journal_iter_close(it);
	free(r);
	return rc == 0 ? 0 : -1;
}

/* ---- one record, as replay and the daemon's durable replica apply it ---- */

int
state_apply(struct state *st, const struct policy *pol,
    const struct journal_record *r, char mode[32])
{
	if (strcmp(r->type, "passage") == 0) {
		state_passage(st, pol, r->cred, r->holder, r->zone_from,
		    r->zone_to, r->time_us / 1000000);
		return 1;
	}
	if (strcmp(r->type, "decision") == 0 && r->cred[0]) {
		uint32_t fl = 0;
		if (strcmp(r->decision, "grant") == 0 ||
		    (r->flags & POLICY_F_PENDING))
			fl = POLICY_RECENT_AUTHORISED;
		state_recent_add(st, r->gate, r->cred, r->time_us / 1000000,
		    fl);
	} else if (strcmp(r->type, "mode") == 0 && mode != NULL)
		snprintf(mode, 32, "%s", r->mode);
	return 0;
}

/* ---- encoding (the state section of a snapshot) ---- */

struct sbuf {
	uint8_t	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t nc = b->cap ? b->cap : 4096;
		uint8_t *np;
		while (nc - b->len < n)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
sbuf_u64(struct sbuf *b, uint64_t v, size_t n)
{
	uint8_t x[8];

	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	sbuf_put(b, x, n);
}

static void
sbuf_str(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	sbuf_u64(b, n, 2);
	sbuf_put(b, s, n);
}

int
state_encode(const struct state *st, uint8_t **out, size_t *outlen)
{
	struct sbuf b = { 0 };

	/* room for the usual sizes at once: no doubling (and copying) */
	b.cap = 64 + st->people.n * 64 + st->zones.n * 32 +
	    st->recent.n * (32 + 8 * 24);
	if ((b.p = malloc(b.cap)) == NULL)
		return -1;
	sbuf_u64(&b, st->people.n, 4);
	for (size_t i = 0; i < st->people.cap; i++) {
		const struct person *p = st->people.vals[i];
		if (st->people.keys[i] == NULL)
			continue;
		/* people inside nowhere too: they keep the holder name a
		 * later passage without one would show */
		sbuf_str(&b, p->cred);
		sbuf_str(&b, p->holder);
		sbuf_u64(&b, p->n, 1);
		for (size_t k = 0; k < p->n; k++) {
			sbuf_str(&b, p->in[k].zone);
			sbuf_u64(&b, (uint64_t)p->in[k].since, 8);
		}
	}
	sbuf_u64(&b, st->zones.n, 4);
	for (size_t i = 0; i < st->zones.cap; i++) {
		const struct zone_count *z = st->zones.vals[i];
		if (st->zones.keys[i] == NULL)
			continue;
		sbuf_str(&b, st->zones.keys[i]);
		sbuf_u64(&b, (uint64_t)z->count, 8);
	}
	sbuf_u64(&b, st->recent.n, 4);
	for (size_t i = 0; i < st->recent.cap; i++) {
		const struct recent_ring *r = st->recent.vals[i];
		if (st->recent.keys[i] == NULL)
			continue;
		sbuf_str(&b, st->recent.keys[i]);
		sbuf_u64(&b, r->n, 1);
		for (size_t k = 0; k < r->n; k++) {	/* oldest first */
			size_t j = (r->head + k) % STATE_RECENT_PER_GATE;
			sbuf_str(&b, r->v[j].cred);
			sbuf_u64(&b, (uint64_t)r->v[j].at, 8);
			sbuf_u64(&b, r->v[j].flags, 4);
		}
	}
	if (b.oom) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

struct sread {
	const uint8_t	*p, *end;
	char		*err;
	size_t		 errlen;
	int		 bad;
};

static uint64_t
sread_u(struct sread *r, size_t n, const char *what)
{
	uint64_t v = 0;

	if (r->bad)
		return 0;
	if ((size_t)(r->end - r->p) < n) {
		snprintf(r->err, r->errlen, "state section truncated in %s",
		    what);
		r->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

/* A string into out (size max, so its length must be < max), no NUL. */
static int
sread_str(struct sread *r, char *out, size_t max, const char *what)
{
	size_t n = (size_t)sread_u(r, 2, what);

	if (r->bad)
		return -1;
	if (n >= max || (size_t)(r->end - r->p) < n ||
	    memchr(r->p, '\0', n) != NULL) {
		snprintf(r->err, r->errlen, "state section: bad %s (length %zu)",
		    what, n);
		r->bad = 1;
		return -1;
	}
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	return 0;
}

static int
sread_fail(struct sread *r, const char *fmt, const char *name)
{
	if (!r->bad)
		snprintf(r->err, r->errlen, fmt, name);
	r->bad = 1;
	return -1;
}

int
state_decode(struct state *st, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	struct sread r = { buf, buf + len, err, errlen, 0 };
	char name[STATE_NAME];
	uint64_t n;

	if (st->people.n || st->zones.n || st->recent.n) {
		snprintf(err, errlen, "state to decode into is not empty");
		return -1;
	}
	n = sread_u(&r, 4, "people");
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		struct person *p = calloc(1, sizeof(*p));
		if (p == NULL)
			return sread_fail(&r, "out of memory%s", "");
		if (sread_str(&r, p->cred, sizeof(p->cred), "credential") == 0 &&
		    p->cred[0] == '\0')
			sread_fail(&r, "state section: empty credential%s", "");
		(void)sread_str(&r, p->holder, sizeof(p->holder), "holder");
		p->n = (size_t)sread_u(&r, 1, "zones per person");
		if (p->n > STATE_ZONES_PER_PERSON)
			sread_fail(&r, "state section: %s is inside too many "
			    "zones", p->cred);
		for (size_t k = 0; k < p->n && !r.bad; k++) {
			(void)sread_str(&r, p->in[k].zone, STATE_NAME, "zone");
			p->in[k].since = (int64_t)sread_u(&r, 8, "since");
		}
		if (!r.bad && smap_get(&st->people, p->cred) != NULL)
			sread_fail(&r, "state section: credential %s twice",
			    p->cred);
		if (r.bad || smap_put(&st->people, p->cred, p) != p) {
			free(p);
			return sread_fail(&r, "out of memory%s", "");
		}
	}
	n = sread_u(&r, 4, "zones");
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		struct zone_count *z;
		int64_t c;
		if (sread_str(&r, name, sizeof(name), "zone") == -1)
			break;
		c = (int64_t)sread_u(&r, 8, "count");
		if (!r.bad && (c < 0 || smap_get(&st->zones, name) != NULL))
			return sread_fail(&r, "state section: bad count or "
			    "zone %s twice", name);
		if (r.bad || (z = calloc(1, sizeof(*z))) == NULL)
			return sread_fail(&r, "out of memory%s", "");
		z->count = c;
		if (smap_put(&st->zones, name, z) != z) {
			free(z);
			return sread_fail(&r, "out of memory%s", "");
		}
	}
	n = sread_u(&r, 4, "gates");
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		struct recent_ring *g;
		if (sread_str(&r, name, sizeof(name), "gate") == -1)
			break;
		if (smap_get(&st->recent, name) != NULL)
			return sread_fail(&r, "state section: gate %s twice",
			    name);
		if ((g = calloc(1, sizeof(*g))) == NULL)
			return sread_fail(&r, "out of memory%s", "");
		g->n = (size_t)sread_u(&r, 1, "taps per gate");
		if (g->n > STATE_RECENT_PER_GATE)
			sread_fail(&r, "state section: too many taps at %s", name);
		for (size_t k = 0; k < g->n && !r.bad; k++) {
			(void)sread_str(&r, g->v[k].cred, STATE_NAME, "tap");
			g->v[k].at = (int64_t)sread_u(&r, 8, "tap time");
			g->v[k].flags = (uint32_t)sread_u(&r, 4, "tap flags");
		}
		if (r.bad || smap_put(&st->recent, name, g) != g) {
			free(g);
			return sread_fail(&r, "out of memory%s", "");
		}
	}
	if (!r.bad && r.p != r.end)
		sread_fail(&r, "state section: %s", "trailing bytes");
	return r.bad ? -1 : 0;
}

struct state *
state_clone(const struct state *st)
{
	struct state *c;
	uint8_t *buf;
	size_t len;
	char err[128];

	if (state_encode(st, &buf, &len) == -1)
		return NULL;
	if ((c = state_new()) != NULL &&
	    state_decode(c, buf, len, err, sizeof(err)) == -1) {
		state_free(c);
		c = NULL;
	}
	free(buf);
	return c;
}
