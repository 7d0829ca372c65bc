/*
 * diff.c — what changes for people when a new policy replaces an old one:
 * who gains and who loses entry to which zone, in which mode, at which
 * times of the week; plus a short list of what was added or removed.
 *
 * Static access only: rules, schedules (weekly, in 15-minute slots),
 * conditions (class, PIN); the stateful guards (anti-passback, capacity,
 * two-person, escort) and validity windows are not part of it. Holidays and
 * dated openings are reported as schedule changes, not as slots.
 *
 * To stay fast on a venue of 100,000 badges, credentials are first sorted
 * into classes that no rule can tell apart (same class, same groups among
 * those rules mention, not named by a rule) on both sides; access is
 * computed once per class.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"

#define SLOTS		(7 * 96)		/* 15-minute slots, Monday 00:00 first */
#define W		((SLOTS + 63) / 64)
#define MAXMODES	64
#define SHOW_IDS	3

struct mask { uint64_t w[W]; };

enum dkind { K_GAIN, K_GAIN_PIN, K_LOSE, K_PIN_ADD, K_PIN_DROP, K__N };

/* One side (old or new) of the comparison. */
struct side {
	const struct policy	*p;
	struct mask		*smask;		/* per schedule */
	uint8_t			*named;		/* per credential: a rule names it */
	uint32_t		*gmap;		/* group -> unified id, NONE: no rule mentions it */
	uint32_t		*gcount;	/* members per group */
	uint32_t		 modes[MAXMODES];	/* common mode -> index here */
};

struct ucred {					/* a credential in either policy */
	uint32_t	 o, n;			/* index in old / new, NONE if absent */
	uint32_t	 cls;			/* its class (below) */
};

struct klass {
	uint32_t	 rep_o, rep_n;
	uint32_t	 key, keylen;		/* in the key pool */
	uint32_t	 first, count;		/* members, in the sorted member list */
};

struct entry {
	uint64_t	 modes;			/* bit per common mode */
	uint32_t	 zone;			/* common zone index */
	uint32_t	 mask;			/* interned mask */
	uint32_t	 cls;
	uint8_t		 kind;
};

struct line {
	size_t		 first, n;		/* entries */
	uint32_t	 sub;			/* sub-zones folded into this line */
	int		 folded;
};

struct buf {
	char	*s;
	size_t	 n, cap;
	int	 oom;
};

struct diff {
	struct side	 o, n;
	/* common zones: indices on each side */
	uint32_t	*zo, *zn;
	size_t		 nz;
	size_t		 nmodes;		/* common modes */
	const char	*mname[MAXMODES];
	int		 virtual_mode;		/* neither side has modes */
	struct ucred	*uc;
	size_t		 nuc;
	struct klass	*cls;
	size_t		 ncls, capcls;
	uint32_t	*pool;
	size_t		 npool, cappool;
	uint32_t	*members;		/* ucred indices, grouped by class */
	struct mask	*masks;			/* interned */
	size_t		 nmasks, capmasks;
	uint32_t	*mtab;			/* hash table of masks: id + 1 */
	size_t		 mtabmask;
	struct entry	*e;
	size_t		 ne, cape;
	struct buf	 out;
	int		 oom;
};

/* ---- small helpers ---- */

static void
buf_add(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->oom)
		return;
	va_start(ap, fmt);
	k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	if (b->n + (size_t)k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *s;
		while (cap < b->n + (size_t)k + 1)
			cap *= 2;
		if ((s = realloc(b->s, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

static void *
diff_grow(void *arr, size_t *cap, size_t need, size_t el, int *oom)
{
	void *p;
	size_t c;

	if (need <= *cap)
		return arr;
	c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	if ((p = realloc(arr, c * el)) == NULL) {
		*oom = 1;
		return NULL;
	}
	*cap = c;
	return p;
}

static uint64_t
diff_hash32(const uint32_t *v, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static int
mask_empty(const struct mask *m)
{
	for (int i = 0; i < W; i++)
		if (m->w[i])
			return 0;
	return 1;
}

static int
mask_full(const struct mask *m)
{
	for (int i = 0; i < SLOTS; i++)
		if (!(m->w[i / 64] & (1ULL << (i % 64))))
			return 0;
	return 1;
}

static void
mask_all(struct mask *m)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < SLOTS; i++)
		m->w[i / 64] |= 1ULL << (i % 64);
}

/* ---- per side preparation ---- */

static int
diff_side_prep(struct diff *df, struct side *s)
{
	const struct policy *p = s->p;

	s->smask = calloc(p->nscheds ? p->nscheds : 1, sizeof(*s->smask));
	s->named = calloc(p->ncreds ? p->ncreds : 1, 1);
	s->gcount = calloc(p->ngroups ? p->ngroups : 1, sizeof(*s->gcount));
	s->gmap = malloc((p->ngroups ? p->ngroups : 1) * sizeof(*s->gmap));
	if (!s->smask || !s->named || !s->gcount || !s->gmap)
		return -1;
	for (size_t i = 0; i < p->ngroups; i++)
		s->gmap[i] = POLICY_NONE;
	/* A slot is open when its first minute is: ranges are written on
	 * quarter hours in practice, and this keeps gain and loss symmetric. */
	for (size_t i = 0; i < p->nscheds; i++) {
		const struct pol_sched *sc = &p->scheds[i];
		struct mask *m = &s->smask[i];
		if (sc->always) {
			mask_all(m);
			continue;
		}
		for (size_t j = 0; j < sc->nranges; j++) {
			const struct pol_range *r = &sc->ranges[j];
			for (int d = 0; d < 7; d++) {
				if (!(r->days & (1u << d)))
					continue;
				for (unsigned k = 0; k < 96; k++) {
					unsigned min = k * 15, bit = d * 96 + k;
					if (min >= r->start && min < r->end)
						m->w[bit / 64] |= 1ULL << (bit % 64);
				}
			}
		}
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		if (r->who_kind == POL_WHO_CRED && r->who < p->ncreds)
			s->named[r->who] = 1;
	}
	for (size_t i = 0; i < p->ncreds; i++)
		for (size_t j = 0; j < p->creds[i].ngroups; j++)
			if (p->creds[i].groups[j] < p->ngroups)
				s->gcount[p->creds[i].groups[j]]++;
	(void)df;
	return 0;
}

struct gname {
	const char	*name;
	int		 side;
	uint32_t	 idx;
};

static int
gname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gname *)a)->name,
	    ((const struct gname *)b)->name);
}

/* Unified ids for the groups some rule mentions (by name, either side). */
static int
diff_groups(struct diff *df)
{
	struct side *sd[2] = { &df->o, &df->n };
	struct gname *v;
	size_t n = 0, cap = 0;
	uint32_t id = 0;

	for (int k = 0; k < 2; k++)
		cap += sd[k]->p->nrules * 2;
	if ((v = calloc(cap ? cap : 1, sizeof(*v))) == NULL)
		return -1;
	for (int k = 0; k < 2; k++) {
		const struct policy *p = sd[k]->p;
		for (size_t i = 0; i < p->nrules; i++) {
			const struct pol_rule *r = &p->rules[i];
			uint32_t g[2] = { POLICY_NONE, r->cond_group };
			if (r->who_kind == POL_WHO_GROUP)
				g[0] = r->who;
			for (int j = 0; j < 2; j++)
				if (g[j] < p->ngroups &&
				    sd[k]->gmap[g[j]] == POLICY_NONE) {
					sd[k]->gmap[g[j]] = 0;	/* seen */
					v[n].name = p->groups[g[j]].name;
					v[n].side = k;
					v[n].idx = g[j];
					n++;
				}
		}
	}
	qsort(v, n, sizeof(*v), gname_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i].name, v[i - 1].name) != 0)
			id++;
		sd[v[i].side]->gmap[v[i].idx] = id;
	}
	free(v);
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The part of a class key one side contributes. */
static size_t
diff_key_side(const struct side *s, uint32_t ci, uint32_t *k)
{
	const struct pol_cred *c;
	size_t n = 3;

	if (ci == POLICY_NONE) {
		k[0] = POLICY_NONE;
		return 1;
	}
	c = &s->p->creds[ci];
	k[0] = (uint32_t)c->cls;
	k[1] = s->named[ci] ? ci : POLICY_NONE;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] < s->p->ngroups &&
		    s->gmap[c->groups[i]] != POLICY_NONE)
			k[n++] = s->gmap[c->groups[i]];
	qsort(k + 3, n - 3, sizeof(*k), u32_cmp);
	k[2] = (uint32_t)(n - 3);
	return n;
}

static int
diff_classes(struct diff *df)
{
	const struct policy *po = df->o.p, *pn = df->n.p;
	size_t maxg = 0, tabsize = 16, nuc = 0;
	uint32_t *key, *tab, *count;

	for (size_t i = 0; i < po->ncreds; i++)
		if (po->creds[i].ngroups > maxg)
			maxg = po->creds[i].ngroups;
	for (size_t i = 0; i < pn->ncreds; i++)
		if (pn->creds[i].ngroups > maxg)
			maxg = pn->creds[i].ngroups;
	df->uc = calloc(po->ncreds + pn->ncreds + 1, sizeof(*df->uc));
	key = malloc((2 * maxg + 8) * sizeof(*key));
	while (tabsize < 2 * (po->ncreds + pn->ncreds) + 1)
		tabsize *= 2;
	tab = calloc(tabsize, sizeof(*tab));
	if (df->uc == NULL || key == NULL || tab == NULL) {
		free(key);
		free(tab);
		return -1;
	}
	for (size_t i = 0; i < po->ncreds; i++) {
		df->uc[nuc].o = (uint32_t)i;
		df->uc[nuc++].n = policy_cred_find(pn, po->creds[i].id);
	}
	for (size_t i = 0; i < pn->ncreds; i++)
		if (policy_cred_find(po, pn->creds[i].id) == POLICY_NONE) {
			df->uc[nuc].o = POLICY_NONE;
			df->uc[nuc++].n = (uint32_t)i;
		}
	df->nuc = nuc;
	for (size_t i = 0; i < nuc; i++) {
		struct ucred *u = &df->uc[i];
		size_t kn = diff_key_side(&df->o, u->o, key);
		kn += diff_key_side(&df->n, u->n, key + kn);
		size_t s = diff_hash32(key, kn) & (tabsize - 1);
		for (;;) {
			struct klass *k;
			if (tab[s] == 0) {
				df->cls = diff_grow(df->cls, &df->capcls,
				    df->ncls + 1, sizeof(*df->cls), &df->oom);
				df->pool = diff_grow(df->pool, &df->cappool,
				    df->npool + kn, sizeof(*df->pool), &df->oom);
				if (df->oom) {
					free(key);
					free(tab);
					return -1;
				}
				k = &df->cls[df->ncls];
				memset(k, 0, sizeof(*k));
				k->rep_o = u->o;
				k->rep_n = u->n;
				k->key = (uint32_t)df->npool;
				k->keylen = (uint32_t)kn;
				memcpy(df->pool + df->npool, key, kn * sizeof(*key));
				df->npool += kn;
				tab[s] = (uint32_t)++df->ncls;
				u->cls = (uint32_t)(df->ncls - 1);
				break;
			}
			k = &df->cls[tab[s] - 1];
			if (k->keylen == kn && memcmp(df->pool + k->key, key,
			    kn * sizeof(*key)) == 0) {
				u->cls = tab[s] - 1;
				if (k->rep_o == POLICY_NONE)
					k->rep_o = u->o;
				if (k->rep_n == POLICY_NONE)
					k->rep_n = u->n;
				break;
			}
			s = (s + 1) & (tabsize - 1);
		}
	}
	free(key);
	free(tab);
	/* members grouped by class, in credential order */
	df->members = malloc((nuc ? nuc : 1) * sizeof(*df->members));
	count = calloc(df->ncls + 1, sizeof(*count));
	if (df->members == NULL || count == NULL) {
		free(count);
		return -1;
	}
	for (size_t i = 0; i < nuc; i++)
		df->cls[df->uc[i].cls].count++;
	for (size_t i = 0, at = 0; i < df->ncls; i++) {
		df->cls[i].first = (uint32_t)at;
		at += df->cls[i].count;
	}
	for (size_t i = 0; i < nuc; i++) {
		struct klass *k = &df->cls[df->uc[i].cls];
		df->members[k->first + count[df->uc[i].cls]++] = (uint32_t)i;
	}
	free(count);
	return 0;
}

/* ---- access of one credential, one mode, one zone ---- */

/* g: slots granted without a PIN; a: granted when the right PIN is given */
static void
diff_access(const struct side *s, uint32_t ci, uint32_t mode, uint32_t zi,
    struct mask *g, struct mask *a)
{
	const struct policy *p = s->p;
	const struct pol_zone *z;
	const struct pol_cred *c;
	struct mask pn, pp, fn, fp, all;
	int secure;

	memset(g, 0, sizeof(*g));
	memset(a, 0, sizeof(*a));
	if (ci == POLICY_NONE || zi >= p->nzones)
		return;
	z = &p->zones[zi];
	c = &p->creds[ci];
	secure = c->cls == POLICY_CLASS_SECURE;
	if (z->need_secure && !secure)
		return;
	memset(&pn, 0, sizeof(pn));
	memset(&pp, 0, sizeof(pp));
	memset(&fn, 0, sizeof(fn));
	memset(&fp, 0, sizeof(fp));
	mask_all(&all);
	for (size_t i = 0; i < z->nrules; i++) {
		const struct pol_rule *r = &p->rules[z->rules[i]];
		const struct mask *sm;
		int who;

		if (r->mode != POLICY_NONE && r->mode != mode)
			continue;
		switch (r->who_kind) {
		case POL_WHO_EVERYONE:	who = 1; break;
		case POL_WHO_GROUP:	who = pol_cred_in_group(c, r->who); break;
		default:		who = r->who == ci; break;
		}
		if (!who)
			continue;
		sm = r->sched < p->nscheds ? &s->smask[r->sched] : &all;
		if (r->effect == POL_PERMIT) {
			if (r->cond_secure && !secure)
				continue;
			for (int k = 0; k < W; k++) {
				pp.w[k] |= sm->w[k];
				if (!r->cond_pin && !z->need_pin)
					pn.w[k] |= sm->w[k];
			}
		} else {
			int conds = r->cond_secure || r->cond_pin ||
			    r->cond_group != POLICY_NONE;
			int base = conds && (!r->cond_secure || secure) &&
			    (r->cond_group == POLICY_NONE ||
			    pol_cred_in_group(c, r->cond_group));
			int ex_n = base && !r->cond_pin, ex_p = base;
			for (int k = 0; k < W; k++) {
				if (!ex_n)
					fn.w[k] |= sm->w[k];
				if (!ex_p)
					fp.w[k] |= sm->w[k];
			}
		}
	}
	for (int k = 0; k < W; k++) {
		g->w[k] = pn.w[k] & ~fn.w[k];
		a->w[k] = (pp.w[k] & ~fp.w[k]) | g->w[k];
	}
}

static uint32_t
diff_intern(struct diff *df, const struct mask *m)
{
	size_t s;

	if (df->mtab == NULL || df->nmasks * 2 >= df->mtabmask) {
		size_t size = df->mtab ? (df->mtabmask + 1) * 2 : 256;
		uint32_t *t = calloc(size, sizeof(*t));
		if (t == NULL) {
			df->oom = 1;
			return 0;
		}
		for (size_t i = 0; i < df->nmasks; i++) {
			s = diff_hash32((const uint32_t *)df->masks[i].w,
			    sizeof(struct mask) / 4) & (size - 1);
			while (t[s])
				s = (s + 1) & (size - 1);
			t[s] = (uint32_t)i + 1;
		}
		free(df->mtab);
		df->mtab = t;
		df->mtabmask = size - 1;
	}
	s = diff_hash32((const uint32_t *)m->w, sizeof(*m) / 4) & df->mtabmask;
	while (df->mtab[s]) {
		if (memcmp(&df->masks[df->mtab[s] - 1], m, sizeof(*m)) == 0)
			return df->mtab[s] - 1;
		s = (s + 1) & df->mtabmask;
	}
	df->masks = diff_grow(df->masks, &df->capmasks, df->nmasks + 1,
	    sizeof(*df->masks), &df->oom);
	if (df->oom)
		return 0;
	df->masks[df->nmasks] = *m;
	df->mtab[s] = (uint32_t)++df->nmasks;
	return (uint32_t)(df->nmasks - 1);
}

static void
diff_push(struct diff *df, enum dkind kind, uint32_t zone, uint64_t modes,
    const struct mask *m, uint32_t cls)
{
	struct entry *e;
	uint32_t id = diff_intern(df, m);

	df->e = diff_grow(df->e, &df->cape, df->ne + 1, sizeof(*df->e),
	    &df->oom);
	if (df->oom)
		return;
	e = &df->e[df->ne++];
	e->kind = (uint8_t)kind;
	e->zone = zone;
	e->modes = modes;
	e->mask = id;
	e->cls = cls;
}

static void
diff_compute(struct diff *df)
{
	struct mask ch[K__N][MAXMODES];

	for (size_t c = 0; c < df->ncls && !df->oom; c++) {
		const struct klass *k = &df->cls[c];
		for (size_t z = 0; z < df->nz && !df->oom; z++) {
			int any = 0;
			for (size_t m = 0; m < df->nmodes; m++) {
				struct mask og, oa, ng, na;
				diff_access(&df->o, k->rep_o, df->o.modes[m],
				    df->zo[z], &og, &oa);
				diff_access(&df->n, k->rep_n, df->n.modes[m],
				    df->zn[z], &ng, &na);
				for (int w = 0; w < W; w++) {
					uint64_t gain = na.w[w] & ~oa.w[w];
					ch[K_GAIN][m].w[w] = gain & ng.w[w];
					ch[K_GAIN_PIN][m].w[w] = gain & ~ng.w[w];
					ch[K_LOSE][m].w[w] = oa.w[w] & ~na.w[w];
					ch[K_PIN_ADD][m].w[w] = og.w[w] &
					    ~ng.w[w] & na.w[w];
					ch[K_PIN_DROP][m].w[w] = ng.w[w] &
					    ~og.w[w] & oa.w[w];
					any |= (ch[K_GAIN][m].w[w] |
					    ch[K_GAIN_PIN][m].w[w] |
					    ch[K_LOSE][m].w[w] |
					    ch[K_PIN_ADD][m].w[w] |
					    ch[K_PIN_DROP][m].w[w]) != 0;
				}
			}
			if (!any)
				continue;
			/* modes with the same change share one entry */
			for (int kind = 0; kind < K__N; kind++) {
				uint64_t done = 0;
				for (size_t m = 0; m < df->nmodes; m++) {
					uint64_t set = 0;
					if ((done >> m) & 1 ||
					    mask_empty(&ch[kind][m]))
						continue;
					for (size_t m2 = m; m2 < df->nmodes; m2++)
						if (memcmp(&ch[kind][m],
						    &ch[kind][m2],
						    sizeof(struct mask)) == 0)
							set |= 1ULL << m2;
					done |= set;
					diff_push(df, (enum dkind)kind,
					    (uint32_t)z, set, &ch[kind][m],
					    (uint32_t)c);
				}
			}
		}
	}
}

/* ---- grouping and printing ---- */

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	if (x->modes != y->modes)
		return x->modes < y->modes ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return 0;
}

static int
entry_samekey(const struct entry *x, const struct entry *y)
{
	return x->kind == y->kind && x->zone == y->zone &&
	    x->modes == y->modes && x->mask == y->mask;
}

static const char *const diff_days[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* One day's open slots as "07:00-19:30, 20:00-21:00". */
static void
diff_day_text(const struct mask *m, int d, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (int k = 0; k < 96;) {
		int bit = d * 96 + k, e;
		if (!(m->w[bit / 64] & (1ULL << (bit % 64)))) {
			k++;
			continue;
		}
		for (e = k; e < 96; e++) {
			int b2 = d * 96 + e;
			if (!(m->w[b2 / 64] & (1ULL << (b2 % 64))))
				break;
		}
		int n = snprintf(out + o, len - o, "%s%02d:%02d-%02d:%02d",
		    o ? ", " : "", k * 15 / 60, k * 15 % 60, e * 15 / 60,
		    e * 15 % 60);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
		k = e;
	}
}

static void
diff_mask_text(struct buf *b, const struct mask *m)
{
	char day[7][96 * 14];
	const char *sep = "";

	for (int d = 0; d < 7; d++)
		diff_day_text(m, d, day[d], sizeof(day[d]));
	for (int d = 0; d < 7;) {
		int e = d + 1;
		if (day[d][0] == '\0') {
			d++;
			continue;
		}
		while (e < 7 && strcmp(day[e], day[d]) == 0)
			e++;
		if (d == 0 && e == 7)
			buf_add(b, "%severy day %s", sep, day[d]);
		else if (e - d == 1)
			buf_add(b, "%s%s %s", sep, diff_days[d], day[d]);
		else
			buf_add(b, "%s%s-%s %s", sep, diff_days[d],
			    diff_days[e - 1], day[d]);
		sep = "; ";
		d = e;
	}
}

static const char *
diff_uc_id(const struct diff *df, const struct ucred *u)
{
	return u->n != POLICY_NONE ? df->n.p->creds[u->n].id :
	    df->o.p->creds[u->o].id;
}

static const char *
diff_uc_holder(const struct diff *df, const struct ucred *u)
{
	return u->n != POLICY_NONE ? df->n.p->creds[u->n].holder :
	    df->o.p->creds[u->o].holder;
}

/* "nurses (12 credentials: N-1001, N-1002, N-1003, …)" or "B-77 (Bob)". */
static void
diff_who(struct diff *df, const struct entry *e, size_t n, int newside)
{
	const struct side *s = newside ? &df->n : &df->o;
	const struct policy *p = s->p;
	size_t total = 0, shown = 0;
	uint32_t best = POLICY_NONE, exact = POLICY_NONE;
	const struct ucred *one = NULL;

	for (size_t i = 0; i < n; i++)
		total += df->cls[e[i].cls].count;
	if (total == 1) {
		one = &df->uc[df->members[df->cls[e[0].cls].first]];
		const char *h = diff_uc_holder(df, one);
		buf_add(&df->out, "%s", diff_uc_id(df, one));
		if (h != NULL && *h != '\0')
			buf_add(&df->out, " (%s)", h);
		return;
	}
	/* a group every one of them is in: the exact one if it is all of
	 * them, else the smallest */
	const struct klass *k0 = &df->cls[e[0].cls];
	uint32_t rep = newside ? k0->rep_n : k0->rep_o;
	if (rep != POLICY_NONE) {
		const struct pol_cred *c = &p->creds[rep];
		for (size_t g = 0; g < c->ngroups; g++) {
			uint32_t gi = c->groups[g];
			int all = 1;
			for (size_t i = 1; i < n && all; i++) {
				uint32_t r = newside ? df->cls[e[i].cls].rep_n :
				    df->cls[e[i].cls].rep_o;
				all = r != POLICY_NONE &&
				    pol_cred_in_group(&p->creds[r], gi);
			}
			if (!all)
				continue;
			/* classes share groups among the mentioned ones only;
			 * check the others member by member */
			for (size_t i = 0; i < n && all; i++) {
				const struct klass *k = &df->cls[e[i].cls];
				for (uint32_t j = 0; j < k->count && all; j++) {
					const struct ucred *u =
					    &df->uc[df->members[k->first + j]];
					uint32_t ci = newside ? u->n : u->o;
					all = ci != POLICY_NONE &&
					    pol_cred_in_group(&p->creds[ci], gi);
				}
			}
			if (!all)
				continue;
			if (s->gcount[gi] == total)
				exact = gi;
			if (best == POLICY_NONE || s->gcount[gi] < s->gcount[best])
				best = gi;
		}
	}
	if (exact != POLICY_NONE)
		buf_add(&df->out, "%s (%zu credentials: ", p->groups[exact].name,
		    total);
	else if (best != POLICY_NONE)
		buf_add(&df->out, "%zu credentials in %s (", total,
		    p->groups[best].name);
	else
		buf_add(&df->out, "%zu credentials (", total);
	/* the first few in file order, across classes (members of each class
	 * are in file order already) */
	uint32_t last = 0;
	int any = 0;
	while (shown < SHOW_IDS) {
		uint32_t best_u = POLICY_NONE;
		for (size_t i = 0; i < n; i++) {
			const struct klass *k = &df->cls[e[i].cls];
			for (uint32_t j = 0; j < k->count; j++) {
				uint32_t u = df->members[k->first + j];
				if (any && u <= last)
					continue;
				if (u < best_u)
					best_u = u;
				break;
			}
		}
		if (best_u == POLICY_NONE)
			break;
		buf_add(&df->out, "%s%s", shown++ ? ", " : "",
		    diff_uc_id(df, &df->uc[best_u]));
		last = best_u;
		any = 1;
	}
	buf_add(&df->out, "%s)", total > shown ? ", …" : "");
}

static void
diff_print_line(struct diff *df, const struct line *l)
{
	const struct entry *e = &df->e[l->first];
	int plural, newside = e->kind != K_LOSE;
	size_t total = 0;
	const char *zname = df->n.p->zones[df->zn[e->zone]].name;
	static const char *const sign[K__N] = { "+", "+", "-", "~", "~" };

	for (size_t i = 0; i < l->n; i++)
		total += df->cls[e[i].cls].count;
	plural = total != 1;
	buf_add(&df->out, "%s ", sign[e->kind]);
	diff_who(df, e, l->n, newside);
	switch (e->kind) {
	case K_GAIN:
		buf_add(&df->out, " %s %s", plural ? "gain" : "gains", zname);
		break;
	case K_GAIN_PIN:
		buf_add(&df->out, " %s %s with PIN", plural ? "gain" : "gains",
		    zname);
		break;
	case K_LOSE:
		buf_add(&df->out, " %s %s", plural ? "lose" : "loses", zname);
		break;
	case K_PIN_ADD:
		buf_add(&df->out, " now %s a PIN for %s",
		    plural ? "need" : "needs", zname);
		break;
	case K_PIN_DROP:
		buf_add(&df->out, " no longer %s a PIN for %s",
		    plural ? "need" : "needs", zname);
		break;
	}
	if (l->sub == 1)
		buf_add(&df->out, " and 1 sub-zone");
	else if (l->sub > 1)
		buf_add(&df->out, " and %u sub-zones", l->sub);
	if (!df->virtual_mode) {
		uint64_t allm = df->nmodes >= 64 ? ~0ULL :
		    (1ULL << df->nmodes) - 1;
		if (e->modes == allm && df->nmodes > 1)
			buf_add(&df->out, " in every mode");
		else if (e->modes != allm) {
			const char *sep = "";
			buf_add(&df->out, " in mode%s ",
			    __builtin_popcountll(e->modes) > 1 ? "s" : "");
			for (size_t m = 0; m < df->nmodes; m++)
				if ((e->modes >> m) & 1) {
					buf_add(&df->out, "%s%s", sep,
					    df->mname[m]);
					sep = ", ";
				}
		} else
			buf_add(&df->out, " in mode %s", df->mname[0]);
	}
	if (!mask_full(&df->masks[e->mask])) {
		buf_add(&df->out, ": ");
		diff_mask_text(&df->out, &df->masks[e->mask]);
	}
	buf_add(&df->out, "\n");
}

/* Group entries into lines, fold sub-zones whose change is exactly their
 * parent's, then print. */
static void
diff_lines(struct diff *df)
{
	struct line *l;
	size_t nl = 0;
	uint32_t *zdepth, *zpar, *order;

	if (df->ne == 0)
		return;
	qsort(df->e, df->ne, sizeof(*df->e), entry_cmp);
	l = calloc(df->ne, sizeof(*l));
	zdepth = calloc(df->nz + 1, sizeof(*zdepth));
	zpar = calloc(df->nz + 1, sizeof(*zpar));
	if (l == NULL || zdepth == NULL || zpar == NULL) {
		df->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < df->ne;) {
		size_t j = i + 1;
		while (j < df->ne && entry_samekey(&df->e[i], &df->e[j]))
			j++;
		l[nl].first = i;
		l[nl].n = j - i;
		nl++;
		i = j;
	}
	/* parent as a common zone index, on the new side */
	for (size_t z = 0; z < df->nz; z++) {
		const struct policy *p = df->n.p;
		uint32_t par = p->zones[df->zn[z]].parent;
		zpar[z] = POLICY_NONE;
		zdepth[z] = p->zones[df->zn[z]].depth;
		if (par < p->nzones && par != POL_OUTSIDE) {
			/* common index of the parent: by name on the old side */
			uint32_t po = policy_zone_find(df->o.p,
			    p->zones[par].name);
			for (size_t y = 0; y < df->nz && po != POLICY_NONE; y++)
				if (df->zn[y] == par && df->zo[y] == po &&
				    df->o.p->zones[df->zo[z]].parent == po) {
					zpar[z] = (uint32_t)y;
					break;
				}
		}
	}
	/* deepest first, so folds accumulate upwards */
	order = malloc(nl * sizeof(*order));
	if (order == NULL) {
		df->oom = 1;
		goto out;
	}
	{
		uint32_t maxd = 0, at = 0;
		for (size_t z = 0; z < df->nz; z++)
			if (zdepth[z] > maxd)
				maxd = zdepth[z];
		for (int64_t d = maxd; d >= 0; d--)
			for (size_t i = 0; i < nl; i++)
				if (zdepth[df->e[l[i].first].zone] == (uint32_t)d)
					order[at++] = (uint32_t)i;
	}
	for (size_t oi = 0; oi < nl; oi++) {
		struct line *a = &l[order[oi]];
		const struct entry *ea = &df->e[a->first];
		uint32_t par = zpar[ea->zone];
		size_t lo = 0, hi = nl;

		if (par == POLICY_NONE)
			continue;
		struct entry key = *ea;
		key.zone = par;
		key.cls = 0;
		while (lo < hi) {	/* first line with key >= (kind, par, ...) */
			size_t mid = (lo + hi) / 2;
			struct entry k2 = df->e[l[mid].first];
			k2.cls = 0;
			if (entry_cmp(&k2, &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= nl || !entry_samekey(&df->e[l[lo].first], &key) ||
		    l[lo].n != a->n)
			continue;
		int same = 1;
		for (size_t i = 0; i < a->n && same; i++)
			same = df->e[l[lo].first + i].cls == df->e[a->first + i].cls;
		if (!same)
			continue;
		a->folded = 1;
		l[lo].sub += 1 + a->sub;
	}
	for (size_t i = 0; i < nl && !df->out.oom; i++)
		if (!l[i].folded)
			diff_print_line(df, &l[i]);
	free(order);
out:
	free(l);
	free(zdepth);
	free(zpar);
}

/* ---- structure ---- */

/* Names in one list and not the other, briefly. */
static void
diff_names(struct diff *df, const char *what, const struct policy *a,
    const struct policy *b, size_t n, const char *(*name)(const struct policy *, uint32_t),
    uint32_t (*find)(const struct policy *, const char *), const char *sign,
    uint32_t skip)
{
	size_t count = 0, shown = 0;

	for (size_t i = 0; i < n; i++)
		if (i != skip && find(b, name(a, (uint32_t)i)) == POLICY_NONE)
			count++;
	if (count == 0)
		return;
	buf_add(&df->out, "%s %zu %s%s %s: ", sign, count, what,
	    count == 1 ? "" : "s", *sign == '+' ? "added" : "removed");
	for (size_t i = 0; i < n && shown < 10; i++)
		if (i != skip && find(b, name(a, (uint32_t)i)) == POLICY_NONE)
			buf_add(&df->out, "%s%s", shown++ ? ", " : "",
			    name(a, (uint32_t)i));
	buf_add(&df->out, "%s\n", count > shown ? ", …" : "");
}

static const char *
diff_group_name(const struct policy *p, uint32_t i)
{
	return i < p->ngroups ? p->groups[i].name : NULL;
}

static uint32_t
diff_group_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return (uint32_t)i;
	return POLICY_NONE;
}

static const char *
diff_sched_name(const struct policy *p, uint32_t i)
{
	return i < p->nscheds ? p->scheds[i].name : NULL;
}

static uint32_t
diff_sched_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nscheds; i++)
		if (strcmp(p->scheds[i].name, name) == 0)
			return (uint32_t)i;
	return POLICY_NONE;
}

static uint32_t
diff_hol_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nhols; i++)
		if (strcmp(p->hols[i].name, name) == 0)
			return (uint32_t)i;
	return POLICY_NONE;
}

static void
diff_date(struct buf *b, const char *sep, int32_t day)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	buf_add(b, "%s%04lld-%02u-%02u", sep, (long long)y, m, d);
}

/* Holidays and dated openings: the part of a schedule slots do not show. */
static void
diff_scheds(struct diff *df)
{
	const struct policy *po = df->o.p, *pn = df->n.p;

	for (size_t i = 0; i < pn->nhols; i++) {
		const struct pol_holidays *hn = &pn->hols[i];
		uint32_t j = diff_hol_find(po, hn->name);
		if (j == POLICY_NONE)
			continue;
		const struct pol_holidays *ho = &po->hols[j];
		size_t a = 0, b = 0;
		int any = 0;
		while (a < ho->ndays || b < hn->ndays) {
			if (b >= hn->ndays || (a < ho->ndays &&
			    ho->days[a] < hn->days[b])) {
				if (!any++)
					buf_add(&df->out, "~ holidays %s:",
					    hn->name);
				diff_date(&df->out, " -", ho->days[a++]);
			} else if (a >= ho->ndays || hn->days[b] < ho->days[a]) {
				if (!any++)
					buf_add(&df->out, "~ holidays %s:",
					    hn->name);
				diff_date(&df->out, " +", hn->days[b++]);
			} else {
				a++;
				b++;
			}
		}
		if (any)
			buf_add(&df->out, "\n");
	}
	for (size_t i = 0; i < pn->nscheds; i++) {
		const struct pol_sched *sn = &pn->scheds[i];
		uint32_t j = diff_sched_find(po, sn->name);
		int changed = 0;
		if (j == POLICY_NONE)
			continue;
		const struct pol_sched *so = &po->scheds[j];
		if (so->nexcept != sn->nexcept || so->ndated != sn->ndated)
			changed = 1;
		for (size_t k = 0; !changed && k < sn->nexcept; k++)
			changed = strcmp(po->hols[so->except[k]].name,
			    pn->hols[sn->except[k]].name) != 0;
		for (size_t k = 0; !changed && k < sn->ndated; k++)
			changed = so->dated[k].day != sn->dated[k].day ||
			    so->dated[k].start != sn->dated[k].start ||
			    so->dated[k].end != sn->dated[k].end;
		if (!changed)
			continue;
		buf_add(&df->out, "~ schedule %s: holidays or dated openings "
		    "changed (except", sn->name);
		if (sn->nexcept == 0)
			buf_add(&df->out, " none");
		for (size_t k = 0; k < sn->nexcept; k++)
			buf_add(&df->out, " %s", pn->hols[sn->except[k]].name);
		buf_add(&df->out, "; %zu dated opening%s)\n", sn->ndated,
		    sn->ndated == 1 ? "" : "s");
	}
}

/* Mode gate actions: which gates a mode now locks or unlocks. */
static void
diff_mode_gates(struct diff *df)
{
	static const struct { unsigned bit; const char *what; } acts[] = {
		{ POLICY_GATE_LOCK_ENTRY, "locks" },
		{ POLICY_GATE_LOCK_EXIT, "locks the exit of" },
		{ POLICY_GATE_UNLOCK_ENTRY, "holds open" },
		{ POLICY_GATE_UNLOCK_EXIT, "holds open the exit of" },
	};
	const struct policy *po = df->o.p, *pn = df->n.p;

	if (df->virtual_mode)
		return;
	for (size_t m = 0; m < df->nmodes; m++) {
		const struct pol_mode *mo = &po->modes[df->o.modes[m]];
		const struct pol_mode *mn = &pn->modes[df->n.modes[m]];
		for (size_t a = 0; a < sizeof(acts) / sizeof(acts[0]); a++)
			for (int now = 1; now >= 0; now--) {
				size_t count = 0;
				for (size_t g = 0; g < pn->ngates; g++) {
					uint32_t go = policy_gate_find(po,
					    pn->gates[g].name);
					if (go == POLICY_NONE)
						continue;
					int was = (mo->gate_bits[go] & acts[a].bit) != 0;
					int is = (mn->gate_bits[g] & acts[a].bit) != 0;
					if (was == is || is != now)
						continue;
					if (count++ == 0)
						buf_add(&df->out, "~ mode %s %s %s:",
						    mn->name, now ? "now" :
						    "no longer", acts[a].what);
					if (count <= 10)
						buf_add(&df->out, " %s",
						    pn->gates[g].name);
				}
				if (count > 10)
					buf_add(&df->out, " … (%zu gates)", count);
				if (count)
					buf_add(&df->out, "\n");
			}
		if (mo->apb_off != mn->apb_off)
			buf_add(&df->out, "~ mode %s %s anti-passback\n",
			    mn->name, mn->apb_off ? "now turns off" :
			    "no longer turns off");
	}
}

static void
diff_structure(struct diff *df)
{
	const struct policy *po = df->o.p, *pn = df->n.p;
	size_t added = 0, removed = 0;

	diff_names(df, "zone", pn, po, pn->nzones, policy_zone_name,
	    policy_zone_find, "+", POL_OUTSIDE);
	diff_names(df, "zone", po, pn, po->nzones, policy_zone_name,
	    policy_zone_find, "-", POL_OUTSIDE);
	diff_names(df, "gate", pn, po, pn->ngates, policy_gate_name,
	    policy_gate_find, "+", POLICY_NONE);
	diff_names(df, "gate", po, pn, po->ngates, policy_gate_name,
	    policy_gate_find, "-", POLICY_NONE);
	diff_names(df, "mode", pn, po, pn->nmodes, policy_mode_name,
	    policy_mode_find, "+", POLICY_NONE);
	diff_names(df, "mode", po, pn, po->nmodes, policy_mode_name,
	    policy_mode_find, "-", POLICY_NONE);
	diff_names(df, "group", pn, po, pn->ngroups, diff_group_name,
	    diff_group_find, "+", POLICY_NONE);
	diff_names(df, "group", po, pn, po->ngroups, diff_group_name,
	    diff_group_find, "-", POLICY_NONE);
	diff_names(df, "schedule", pn, po, pn->nscheds, diff_sched_name,
	    diff_sched_find, "+", POLICY_NONE);
	diff_names(df, "schedule", po, pn, po->nscheds, diff_sched_name,
	    diff_sched_find, "-", POLICY_NONE);
	diff_names(df, "credential", pn, po, pn->ncreds, policy_cred_id,
	    policy_cred_find, "+", POLICY_NONE);
	diff_names(df, "credential", po, pn, po->ncreds, policy_cred_id,
	    policy_cred_find, "-", POLICY_NONE);
	/* gates that now lead somewhere else */
	for (size_t g = 0; g < pn->ngates; g++) {
		const struct pol_gate *gn = &pn->gates[g];
		uint32_t go = policy_gate_find(po, gn->name);
		if (go == POLICY_NONE)
			continue;
		const struct pol_gate *og = &po->gates[go];
		if (strcmp(po->zones[og->from].name, pn->zones[gn->from].name) ||
		    strcmp(po->zones[og->to].name, pn->zones[gn->to].name))
			buf_add(&df->out, "~ gate %s now leads from %s to %s "
			    "(was %s to %s)\n", gn->name,
			    pn->zones[gn->from].name, pn->zones[gn->to].name,
			    po->zones[og->from].name, po->zones[og->to].name);
		if (og->egress_free != gn->egress_free)
			buf_add(&df->out, "~ gate %s egress is %s\n", gn->name,
			    gn->egress_free ? "now free" : "no longer free");
	}
	/* validity: people whose badge window moved */
	for (size_t i = 0; i < pn->ncreds; i++) {
		uint32_t j = policy_cred_find(po, pn->creds[i].id);
		if (j == POLICY_NONE)
			continue;
		if (po->creds[j].valid_from != pn->creds[i].valid_from ||
		    po->creds[j].valid_until != pn->creds[i].valid_until)
			added++;
		if (po->creds[j].cls != pn->creds[i].cls)
			removed++;
	}
	if (added)
		buf_add(&df->out, "~ %zu credential%s with a changed validity "
		    "window\n", added, added == 1 ? "" : "s");
	if (removed)
		buf_add(&df->out, "~ %zu credential%s with a changed class\n",
		    removed, removed == 1 ? "" : "s");
	if (po->responders != POLICY_NONE || pn->responders != POLICY_NONE) {
		const char *a = po->responders < po->ngroups ?
		    po->groups[po->responders].name : "(none)";
		const char *b = pn->responders < pn->ngroups ?
		    pn->groups[pn->responders].name : "(none)";
		if (strcmp(a, b) != 0)
			buf_add(&df->out, "~ responders: %s (was %s)\n", b, a);
	}
}

static void
diff_side_free(struct side *s)
{
	free(s->smask);
	free(s->named);
	free(s->gmap);
	free(s->gcount);
}

char *
policy_diff(const struct policy *old, const struct policy *new_)
{
	struct diff df;
	char *res = NULL;

	memset(&df, 0, sizeof(df));
	df.o.p = old;
	df.n.p = new_;
	if (diff_side_prep(&df, &df.o) != 0 || diff_side_prep(&df, &df.n) != 0 ||
	    diff_groups(&df) != 0)
		goto out;
	/* modes in common, by name */
	if (old->nmodes == 0 || new_->nmodes == 0) {
		df.virtual_mode = 1;
		df.nmodes = 1;
		df.o.modes[0] = df.n.modes[0] = POLICY_NONE;
		df.mname[0] = "";
	} else {
		for (size_t m = 0; m < new_->nmodes && df.nmodes < MAXMODES; m++) {
			uint32_t mo = policy_mode_find(old, new_->modes[m].name);
			if (mo == POLICY_NONE)
				continue;
			df.o.modes[df.nmodes] = mo;
			df.n.modes[df.nmodes] = (uint32_t)m;
			df.mname[df.nmodes++] = new_->modes[m].name;
		}
	}
	/* zones in common, by name (not `outside`) */
	df.zo = malloc((new_->nzones + 1) * sizeof(*df.zo));
	df.zn = malloc((new_->nzones + 1) * sizeof(*df.zn));
	if (df.zo == NULL || df.zn == NULL)
		goto out;
	for (size_t z = 1; z < new_->nzones; z++) {
		uint32_t zo = policy_zone_find(old, new_->zones[z].name);
		if (zo == POLICY_NONE || zo == POL_OUTSIDE)
			continue;
		df.zo[df.nz] = zo;
		df.zn[df.nz++] = (uint32_t)z;
	}
	if (diff_classes(&df) != 0)
		goto out;
	diff_structure(&df);
	diff_scheds(&df);
	diff_mode_gates(&df);
	diff_compute(&df);
	if (df.oom)
		goto out;
	diff_lines(&df);
	if (df.oom || df.out.oom)
		goto out;
	if (df.out.s == NULL)
		res = calloc(1, 1);
	else {
		res = df.out.s;
		df.out.s = NULL;
	}
out:
	free(df.out.s);
	diff_side_free(&df.o);
	diff_side_free(&df.n);
	free(df.zo);
	free(df.zn);
	free(df.uc);
	free(df.cls);
	free(df.pool);
	free(df.members);
	free(df.masks);
	free(df.mtab);
	free(df.e);
	return res;
}
