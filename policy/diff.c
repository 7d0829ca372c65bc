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
 * To stay fast on a venue of 100,000 badges, zone by zone the credentials
 * are sorted into classes that no rule of that zone can tell apart (same
 * class, same membership of the groups those rules mention, not named by
 * one of them), on both sides; access is computed once per class.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"
#include "policy/strbuf.h"

#define SLOTS		(7 * 96)		/* 15-minute slots, Monday 00:00 first */
#define W		((SLOTS + 63) / 64)
#define MAXMODES	64
#define SHOW_IDS	3

struct mask { uint64_t w[W]; };

enum dkind { K_GAIN, K_GAIN_PIN, K_LOSE, K_LOSE_PIN, K_PIN_ADD, K_PIN_DROP, K__N };

/* One side (old or new) of the comparison. */
struct side {
	const struct policy	*p;
	struct mask		*smask;		/* per schedule */
	uint32_t		*gmap;		/* group -> unified id, NONE: no rule mentions it */
	uint32_t		*gcount;	/* members per group */
	uint32_t		 modes[MAXMODES];	/* common mode -> index here */
};

struct ucred {					/* a credential in either policy */
	uint32_t	 o, n;			/* index in old / new, NONE if absent */
	uint64_t	 h1, h2;		/* its share of a set's fingerprint */
};

#define MAXGI	8			/* groups kept for naming a set */

/* Credentials one zone's rules cannot tell apart. */
struct zclass {
	uint32_t	 rep_o, rep_n;
	uint32_t	 key, keylen;		/* in the key pool */
	uint32_t	 count;
	uint32_t	 first[SHOW_IDS], nfirst;
	uint64_t	 h1, h2;
	/* groups every member is in, each side (for "nurses (12 ...)") */
	uint32_t	 gi[2][MAXGI], ngi[2];
	int		 gi_init[2], changed;
};

struct entry {
	uint64_t	 modes;			/* bit per common mode */
	uint32_t	 mask;			/* interned mask */
	uint32_t	 cls;			/* zone class */
	uint8_t		 kind;
};

struct line {
	uint64_t	 modes;
	uint32_t	 zone;			/* common zone index */
	uint32_t	 mask;
	uint8_t		 kind;
	uint32_t	 count;
	uint32_t	 first[SHOW_IDS], nfirst;
	uint64_t	 h1, h2;
	uint32_t	 label;			/* group on the side shown, or NONE */
	int		 exact;			/* the label is exactly this set */
	uint32_t	 sub;			/* sub-zones folded into this line */
	int		 folded;
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
	uint32_t	 nunified;		/* groups some rule mentions */
	/* per zone, reused */
	uint32_t	*gbit;			/* unified group -> bit, NONE */
	uint32_t	*glist;
	uint32_t	*stamp[2];		/* per credential: named in this zone */
	uint32_t	*ucls;			/* ucred -> zone class */
	uint64_t	*tab;			/* stamp << 32 | class + 1 */
	size_t		 tabmask;
	uint32_t	 zstamp;
	const uint32_t	*iter;			/* credentials to sort, NULL: all */
	size_t		 niter;
	uint32_t	*uchg;			/* credentials that changed */
	size_t		 nchg;
	struct zclass	*zc;
	size_t		 nzc, capzc;
	uint32_t	*pool;
	size_t		 npool, cappool;
	struct entry	*e;
	size_t		 ne, cape;
	/* results */
	struct mask	*masks;			/* interned */
	size_t		 nmasks, capmasks;
	uint32_t	*mtab;			/* hash table of masks: id + 1 */
	size_t		 mtabmask;
	struct line	*l;
	size_t		 nl, capl;
	struct strbuf	 out;
	int		 oom;
};

/* ---- small helpers ---- */

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
	s->gcount = calloc(p->ngroups ? p->ngroups : 1, sizeof(*s->gcount));
	s->gmap = malloc((p->ngroups ? p->ngroups : 1) * sizeof(*s->gmap));
	if (!s->smask || !s->gcount || !s->gmap)
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
	df->nunified = n ? id + 1 : 0;
	free(v);
	return 0;
}

static uint64_t
diff_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Every credential of either policy, matched by id. */
static int
diff_creds(struct diff *df)
{
	const struct policy *po = df->o.p, *pn = df->n.p;
	size_t nuc = 0, tabsize = 16;

	df->uc = calloc(po->ncreds + pn->ncreds + 1, sizeof(*df->uc));
	df->ucls = calloc(po->ncreds + pn->ncreds + 1, sizeof(*df->ucls));
	df->stamp[0] = calloc(po->ncreds + 1, sizeof(uint32_t));
	df->stamp[1] = calloc(pn->ncreds + 1, sizeof(uint32_t));
	df->gbit = malloc((df->nunified + 1) * sizeof(uint32_t));
	df->glist = malloc((df->nunified + 1) * sizeof(uint32_t));
	while (tabsize < 2 * (po->ncreds + pn->ncreds) + 1)
		tabsize *= 2;
	df->tab = calloc(tabsize, sizeof(*df->tab));
	df->tabmask = tabsize - 1;
	if (!df->uc || !df->ucls || !df->stamp[0] || !df->stamp[1] ||
	    !df->gbit || !df->glist || !df->tab)
		return -1;
	for (size_t i = 0; i < df->nunified; i++)
		df->gbit[i] = POLICY_NONE;
	for (size_t i = 0; i < po->ncreds; i++) {
		df->uc[nuc].o = (uint32_t)i;
		df->uc[nuc++].n = policy_cred_find(pn, po->creds[i].id);
	}
	for (size_t i = 0; i < pn->ncreds; i++)
		if (policy_cred_find(po, pn->creds[i].id) == POLICY_NONE) {
			df->uc[nuc].o = POLICY_NONE;
			df->uc[nuc++].n = (uint32_t)i;
		}
	for (size_t i = 0; i < nuc; i++) {
		df->uc[i].h1 = diff_mix(2 * i + 1);
		df->uc[i].h2 = diff_mix(~(uint64_t)i);
	}
	df->nuc = nuc;
	/* who changed class or groups, or came or went */
	if ((df->uchg = malloc((nuc + 1) * sizeof(*df->uchg))) == NULL)
		return -1;
	for (size_t i = 0; i < nuc; i++) {
		const struct ucred *u = &df->uc[i];
		const struct pol_cred *a, *b;
		int same;
		if (u->o == POLICY_NONE || u->n == POLICY_NONE) {
			df->uchg[df->nchg++] = (uint32_t)i;
			continue;
		}
		a = &po->creds[u->o];
		b = &pn->creds[u->n];
		same = a->cls == b->cls && a->ngroups == b->ngroups;
		for (uint32_t g = 0; same && g < a->ngroups; g++) {
			uint32_t x = 0;
			const char *name = po->groups[a->groups[g]].name;
			while (x < b->ngroups &&
			    strcmp(pn->groups[b->groups[x]].name, name) != 0)
				x++;
			same = x < b->ngroups;
		}
		if (!same)
			df->uchg[df->nchg++] = (uint32_t)i;
	}
	return 0;
}

/* Keep in gi only the groups c is also in. */
static void
diff_gi_meet(struct zclass *k, int side, const struct pol_cred *c)
{
	uint32_t n = 0;

	if (c == NULL) {
		k->gi_init[side] = 1;
		k->ngi[side] = 0;
		return;
	}
	if (!k->gi_init[side]) {
		k->gi_init[side] = 1;
		for (uint32_t i = 0; i < c->ngroups && n < MAXGI; i++)
			k->gi[side][n++] = c->groups[i];
		k->ngi[side] = n;
		return;
	}
	for (uint32_t i = 0; i < k->ngi[side]; i++)
		if (pol_cred_in_group(c, k->gi[side][i]))
			k->gi[side][n++] = k->gi[side][i];
	k->ngi[side] = n;
}

/* The part of a zone class key one side contributes. */
static size_t
diff_zkey_side(const struct diff *df, int side, uint32_t ci, uint32_t nw,
    uint32_t *k)
{
	const struct side *s = side ? &df->n : &df->o;
	const struct pol_cred *c;

	if (ci == POLICY_NONE) {
		k[0] = POLICY_NONE;
		k[1] = POLICY_NONE;
		memset(k + 2, 0, nw * sizeof(*k));
		return 2 + nw;
	}
	c = &s->p->creds[ci];
	k[0] = (uint32_t)c->cls;
	k[1] = df->stamp[side][ci] == df->zstamp ? ci : POLICY_NONE;
	memset(k + 2, 0, nw * sizeof(*k));
	for (uint32_t i = 0; i < c->ngroups; i++) {
		uint32_t g = c->groups[i], u, b;
		if (g >= s->p->ngroups || (u = s->gmap[g]) == POLICY_NONE ||
		    (b = df->gbit[u]) == POLICY_NONE)
			continue;
		k[2 + b / 32] |= 1u << (b % 32);
	}
	return 2 + nw;
}

/* Sort the credentials into classes for zone z (common index). */
static int
diff_zone_classes(struct diff *df, size_t z)
{
	const struct side *sd[2] = { &df->o, &df->n };
	uint32_t zi[2] = { df->zo[z], df->zn[z] }, nb = 0, nw, key[2 * 64 + 8];

	df->zstamp++;
	df->nzc = 0;
	df->npool = 0;
	for (int k = 0; k < 2; k++) {
		const struct policy *p = sd[k]->p;
		const struct pol_zone *zz = &p->zones[zi[k]];
		for (size_t i = 0; i < zz->nrules; i++) {
			const struct pol_rule *r = &p->rules[zz->rules[i]];
			uint32_t g[2] = { POLICY_NONE, r->cond_group };
			if (r->who_kind == POL_WHO_GROUP)
				g[0] = r->who;
			else if (r->who_kind == POL_WHO_CRED && r->who < p->ncreds)
				df->stamp[k][r->who] = df->zstamp;
			for (int j = 0; j < 2; j++) {
				uint32_t u;
				if (g[j] >= p->ngroups ||
				    (u = sd[k]->gmap[g[j]]) == POLICY_NONE ||
				    df->gbit[u] != POLICY_NONE)
					continue;
				if (nb >= 64 * 32) {
					/* beyond 2,048 groups in one zone's rules
					 * the rest are not told apart: a known
					 * limit, far past any real venue */
					continue;
				}
				df->gbit[u] = nb;
				df->glist[nb++] = u;
			}
		}
	}
	nw = (nb + 31) / 32;
	for (size_t ii = 0; ii < df->niter; ii++) {
		size_t i = df->iter ? df->iter[ii] : ii;
		const struct ucred *u = &df->uc[i];
		size_t kn = diff_zkey_side(df, 0, u->o, nw, key);
		kn += diff_zkey_side(df, 1, u->n, nw, key + kn);
		size_t h = diff_hash32(key, kn) & df->tabmask;
		struct zclass *c;
		for (;;) {
			uint64_t t = df->tab[h];
			if ((uint32_t)(t >> 32) != df->zstamp) {
				df->zc = diff_grow(df->zc, &df->capzc, df->nzc + 1,
				    sizeof(*df->zc), &df->oom);
				df->pool = diff_grow(df->pool, &df->cappool,
				    df->npool + kn, sizeof(*df->pool), &df->oom);
				if (df->oom)
					return -1;
				c = &df->zc[df->nzc];
				memset(c, 0, sizeof(*c));
				c->rep_o = u->o;
				c->rep_n = u->n;
				c->key = (uint32_t)df->npool;
				c->keylen = (uint32_t)kn;
				memcpy(df->pool + df->npool, key, kn * sizeof(*key));
				df->npool += kn;
				df->tab[h] = (uint64_t)df->zstamp << 32 | (df->nzc + 1);
				df->nzc++;
				break;
			}
			c = &df->zc[(uint32_t)t - 1];
			if (c->keylen == kn && memcmp(df->pool + c->key, key,
			    kn * sizeof(*key)) == 0)
				break;
			h = (h + 1) & df->tabmask;
		}
		df->ucls[i] = (uint32_t)(c - df->zc);
		c->count++;
		c->h1 += u->h1;
		c->h2 += u->h2;
		if (c->nfirst < SHOW_IDS)
			c->first[c->nfirst++] = (uint32_t)i;
	}
	for (uint32_t b = 0; b < nb; b++)
		df->gbit[df->glist[b]] = POLICY_NONE;
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
diff_push(struct diff *df, enum dkind kind, uint64_t modes,
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
	e->modes = modes;
	e->mask = id;
	e->cls = cls;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->modes != y->modes)
		return x->modes < y->modes ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	return 0;
}

/* Lines from zone z's entries: one per (kind, modes, slots), with the
 * classes that share it merged into one set of people. */
static void
diff_zone_lines(struct diff *df, size_t z)
{
	qsort(df->e, df->ne, sizeof(*df->e), entry_cmp);
	/* groups in common, only for classes that changed */
	for (size_t i = 0; i < df->ne; i++)
		df->zc[df->e[i].cls].changed = 1;
	for (size_t ii = 0; ii < df->niter; ii++) {
		size_t i = df->iter ? df->iter[ii] : ii;
		struct zclass *k = &df->zc[df->ucls[i]];
		const struct ucred *u = &df->uc[i];
		if (!k->changed)
			continue;
		diff_gi_meet(k, 0, u->o != POLICY_NONE ?
		    &df->o.p->creds[u->o] : NULL);
		diff_gi_meet(k, 1, u->n != POLICY_NONE ?
		    &df->n.p->creds[u->n] : NULL);
	}
	for (size_t i = 0; i < df->ne && !df->oom;) {
		const struct entry *e = &df->e[i];
		int side = e->kind != K_LOSE && e->kind != K_LOSE_PIN;
		const struct side *sd = side ? &df->n : &df->o;
		uint32_t gi[MAXGI], ngi = 0;
		struct line *l;
		size_t j;

		df->l = diff_grow(df->l, &df->capl, df->nl + 1, sizeof(*df->l),
		    &df->oom);
		if (df->oom)
			return;
		l = &df->l[df->nl++];
		memset(l, 0, sizeof(*l));
		l->kind = e->kind;
		l->zone = (uint32_t)z;
		l->modes = e->modes;
		l->mask = e->mask;
		l->label = POLICY_NONE;
		for (j = i; j < df->ne && df->e[j].kind == e->kind &&
		    df->e[j].modes == e->modes && df->e[j].mask == e->mask; j++) {
			const struct zclass *k = &df->zc[df->e[j].cls];
			uint32_t merged[2 * SHOW_IDS], nm = 0, a = 0, b = 0;
			l->count += k->count;
			l->h1 += k->h1;
			l->h2 += k->h2;
			/* the first few, in file order */
			while (nm < SHOW_IDS && (a < l->nfirst || b < k->nfirst))
				if (b >= k->nfirst || (a < l->nfirst &&
				    l->first[a] < k->first[b]))
					merged[nm++] = l->first[a++];
				else
					merged[nm++] = k->first[b++];
			memcpy(l->first, merged, nm * sizeof(*merged));
			l->nfirst = nm;
			if (j == i) {
				ngi = k->ngi[side];
				memcpy(gi, k->gi[side], ngi * sizeof(*gi));
			} else {
				uint32_t n2 = 0;
				for (uint32_t x = 0; x < ngi; x++)
					for (uint32_t y = 0; y < k->ngi[side]; y++)
						if (gi[x] == k->gi[side][y]) {
							gi[n2++] = gi[x];
							break;
						}
				ngi = n2;
			}
		}
		/* a group that is all of them, else the smallest holding them */
		for (uint32_t x = 0; x < ngi; x++) {
			uint32_t g = gi[x];
			if (sd->gcount[g] == l->count)
				l->exact = 1, l->label = g;
			if (!l->exact && (l->label == POLICY_NONE ||
			    sd->gcount[g] < sd->gcount[l->label]))
				l->label = g;
		}
		i = j;
	}
}

static int
diff_name_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static const char *
diff_gname(const struct policy *p, uint32_t g)
{
	return g < p->ngroups ? p->groups[g].name : NULL;
}

/* Two rules that read the same and mean the same (schedules by content). */
static int
diff_rule_same(const struct diff *df, const struct pol_rule *a,
    const struct pol_rule *b)
{
	const struct policy *po = df->o.p, *pn = df->n.p;

	if (a->effect != b->effect || a->who_kind != b->who_kind ||
	    a->cond_secure != b->cond_secure || a->cond_pin != b->cond_pin)
		return 0;
	if (a->who_kind == POL_WHO_GROUP &&
	    !diff_name_eq(diff_gname(po, a->who), diff_gname(pn, b->who)))
		return 0;
	if (a->who_kind == POL_WHO_CRED && !diff_name_eq(a->who_name, b->who_name))
		return 0;
	if (!diff_name_eq(diff_gname(po, a->cond_group), diff_gname(pn, b->cond_group)))
		return 0;
	if ((a->mode == POLICY_NONE) != (b->mode == POLICY_NONE) ||
	    (a->mode != POLICY_NONE && !diff_name_eq(policy_mode_name(po, a->mode),
	    policy_mode_name(pn, b->mode))))
		return 0;
	if ((a->zone == POL_ALL_ZONES) != (b->zone == POL_ALL_ZONES) ||
	    (a->zone != POL_ALL_ZONES && !diff_name_eq(policy_zone_name(po, a->zone),
	    policy_zone_name(pn, b->zone))))
		return 0;
	if ((a->sched < po->nscheds) != (b->sched < pn->nscheds))
		return 0;
	if (a->sched < po->nscheds && memcmp(&df->o.smask[a->sched],
	    &df->n.smask[b->sched], sizeof(struct mask)) != 0)
		return 0;
	return 1;
}

/* Same rules, in the same order, and the same requirements? */
static int
diff_zone_same(const struct diff *df, size_t z)
{
	const struct pol_zone *a = &df->o.p->zones[df->zo[z]];
	const struct pol_zone *b = &df->n.p->zones[df->zn[z]];

	if (a->nrules != b->nrules || a->need_secure != b->need_secure ||
	    a->need_pin != b->need_pin)
		return 0;
	for (size_t i = 0; i < a->nrules; i++)
		if (!diff_rule_same(df, &df->o.p->rules[a->rules[i]],
		    &df->n.p->rules[b->rules[i]]))
			return 0;
	return 1;
}

static void
diff_compute(struct diff *df)
{
	struct mask ch[K__N][MAXMODES];

	for (size_t z = 0; z < df->nz && !df->oom; z++) {
		/* where the rules are the same, only people who changed can
		 * see a difference */
		if (diff_zone_same(df, z)) {
			if (df->nchg == 0)
				continue;
			df->iter = df->uchg;
			df->niter = df->nchg;
		} else {
			df->iter = NULL;
			df->niter = df->nuc;
		}
		if (diff_zone_classes(df, z) != 0)
			return;
		df->ne = 0;
		for (size_t c = 0; c < df->nzc && !df->oom; c++) {
			const struct zclass *k = &df->zc[c];
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
					/* lost: entry they had without a PIN,
					 * or only with one */
					ch[K_LOSE][m].w[w] = og.w[w] & ~na.w[w];
					ch[K_LOSE_PIN][m].w[w] = oa.w[w] &
					    ~og.w[w] & ~na.w[w];
					ch[K_PIN_ADD][m].w[w] = og.w[w] &
					    ~ng.w[w] & na.w[w];
					ch[K_PIN_DROP][m].w[w] = ng.w[w] &
					    ~og.w[w] & oa.w[w];
					any |= (ch[K_GAIN][m].w[w] |
					    ch[K_GAIN_PIN][m].w[w] |
					    ch[K_LOSE][m].w[w] |
					    ch[K_LOSE_PIN][m].w[w] |
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
					diff_push(df, (enum dkind)kind, set,
					    &ch[kind][m], (uint32_t)c);
				}
			}
		}
		if (df->ne > 0)
			diff_zone_lines(df, z);
	}
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
diff_mask_text(struct strbuf *b, const struct mask *m)
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
			strbuf_add(b, "%severy day %s", sep, day[d]);
		else if (e - d == 1)
			strbuf_add(b, "%s%s %s", sep, diff_days[d], day[d]);
		else
			strbuf_add(b, "%s%s-%s %s", sep, diff_days[d],
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
diff_who(struct diff *df, const struct line *l)
{
	const struct policy *p = l->kind != K_LOSE && l->kind != K_LOSE_PIN ?
	    df->n.p : df->o.p;

	if (l->count == 1) {
		const struct ucred *one = &df->uc[l->first[0]];
		const char *h = diff_uc_holder(df, one);
		strbuf_add(&df->out, "%s", diff_uc_id(df, one));
		if (h != NULL && *h != '\0')
			strbuf_add(&df->out, " (%s)", h);
		return;
	}
	if (l->label != POLICY_NONE && l->exact)
		strbuf_add(&df->out, "%s (%u credentials: ", p->groups[l->label].name,
		    l->count);
	else if (l->label != POLICY_NONE)
		strbuf_add(&df->out, "%u credentials in %s (", l->count,
		    p->groups[l->label].name);
	else
		strbuf_add(&df->out, "%u credentials (", l->count);
	for (uint32_t i = 0; i < l->nfirst; i++)
		strbuf_add(&df->out, "%s%s", i ? ", " : "",
		    diff_uc_id(df, &df->uc[l->first[i]]));
	strbuf_add(&df->out, "%s)", l->count > l->nfirst ? ", …" : "");
}

static void
diff_print_line(struct diff *df, const struct line *l)
{
	int plural = l->count != 1;
	const char *zname = df->n.p->zones[df->zn[l->zone]].name;
	static const char *const sign[K__N] = { "+", "+", "-", "-", "~", "~" };

	strbuf_add(&df->out, "%s ", sign[l->kind]);
	diff_who(df, l);
	switch (l->kind) {
	case K_GAIN:
		strbuf_add(&df->out, " %s %s", plural ? "gain" : "gains", zname);
		break;
	case K_GAIN_PIN:
		strbuf_add(&df->out, " %s %s with PIN", plural ? "gain" : "gains",
		    zname);
		break;
	case K_LOSE:
		strbuf_add(&df->out, " %s %s", plural ? "lose" : "loses", zname);
		break;
	case K_LOSE_PIN:
		strbuf_add(&df->out, " %s %s with PIN", plural ? "lose" : "loses",
		    zname);
		break;
	case K_PIN_ADD:
		strbuf_add(&df->out, " now %s a PIN for %s",
		    plural ? "need" : "needs", zname);
		break;
	case K_PIN_DROP:
		strbuf_add(&df->out, " no longer %s a PIN for %s",
		    plural ? "need" : "needs", zname);
		break;
	}
	if (l->sub == 1)
		strbuf_add(&df->out, " and 1 sub-zone");
	else if (l->sub > 1)
		strbuf_add(&df->out, " and %u sub-zones", l->sub);
	if (!df->virtual_mode) {
		uint64_t allm = df->nmodes >= 64 ? ~0ULL :
		    (1ULL << df->nmodes) - 1;
		int nin = __builtin_popcountll(l->modes);
		if (l->modes == allm && df->nmodes > 1)
			strbuf_add(&df->out, " in every mode");
		else if (df->nmodes >= 4 && (size_t)nin + 2 >= df->nmodes) {
			/* "every mode except lockdown" reads better than a
			 * list of all the others */
			const char *sep = "";
			strbuf_add(&df->out, " in every mode except ");
			for (size_t m = 0; m < df->nmodes; m++)
				if (!((l->modes >> m) & 1)) {
					strbuf_add(&df->out, "%s%s", sep,
					    df->mname[m]);
					sep = " and ";
				}
		} else if (l->modes != allm) {
			const char *sep = "";
			strbuf_add(&df->out, " in mode%s ",
			    __builtin_popcountll(l->modes) > 1 ? "s" : "");
			for (size_t m = 0; m < df->nmodes; m++)
				if ((l->modes >> m) & 1) {
					strbuf_add(&df->out, "%s%s", sep,
					    df->mname[m]);
					sep = ", ";
				}
		} else
			strbuf_add(&df->out, " in mode %s", df->mname[0]);
	}
	if (!mask_full(&df->masks[l->mask])) {
		strbuf_add(&df->out, ": ");
		diff_mask_text(&df->out, &df->masks[l->mask]);
	}
	strbuf_add(&df->out, "\n");
}

static int
line_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	if (x->modes != y->modes)
		return x->modes < y->modes ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	return 0;
}

/* Fold sub-zones whose change is exactly their parent's (same people, by
 * fingerprint and count), deepest first; then print. */
static void
diff_lines(struct diff *df)
{
	uint32_t *zdepth = NULL, *zpar = NULL, *order = NULL, maxd = 0, at = 0;
	size_t nl = df->nl;
	struct line *l = df->l;

	if (nl == 0)
		return;
	qsort(l, nl, sizeof(*l), line_cmp);
	zdepth = calloc(df->nz + 1, sizeof(*zdepth));
	zpar = calloc(df->nz + 1, sizeof(*zpar));
	order = malloc(nl * sizeof(*order));
	if (zdepth == NULL || zpar == NULL || order == NULL) {
		df->oom = 1;
		goto out;
	}
	/* parent as a common zone index, when it is the parent on both sides */
	for (size_t z = 0; z < df->nz; z++) {
		const struct policy *p = df->n.p;
		uint32_t par = p->zones[df->zn[z]].parent;
		zpar[z] = POLICY_NONE;
		zdepth[z] = p->zones[df->zn[z]].depth;
		if (zdepth[z] > maxd)
			maxd = zdepth[z];
		if (par >= p->nzones || par == POL_OUTSIDE)
			continue;
		uint32_t po = policy_zone_find(df->o.p, p->zones[par].name);
		if (po == POLICY_NONE || df->o.p->zones[df->zo[z]].parent != po)
			continue;
		/* common indices follow the new side's order */
		size_t lo = 0, hi = df->nz;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (df->zn[mid] < par)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < df->nz && df->zn[lo] == par)
			zpar[z] = (uint32_t)lo;
	}
	for (int64_t d = maxd; d >= 0; d--)
		for (size_t i = 0; i < nl; i++)
			if (zdepth[l[i].zone] == (uint32_t)d)
				order[at++] = (uint32_t)i;
	for (size_t oi = 0; oi < at; oi++) {
		struct line *a = &l[order[oi]], key = *a;
		size_t lo = 0, hi = nl;

		if ((key.zone = zpar[a->zone]) == POLICY_NONE)
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (line_cmp(&l[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= nl || line_cmp(&l[lo], &key) != 0 ||
		    l[lo].count != a->count || l[lo].h1 != a->h1 ||
		    l[lo].h2 != a->h2)
			continue;
		a->folded = 1;
		l[lo].sub += 1 + a->sub;
	}
	for (size_t i = 0; i < nl && !df->out.oom; i++)
		if (!l[i].folded)
			diff_print_line(df, &l[i]);
out:
	free(order);
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
	strbuf_add(&df->out, "%s %zu %s%s %s: ", sign, count, what,
	    count == 1 ? "" : "s", *sign == '+' ? "added" : "removed");
	for (size_t i = 0; i < n && shown < 10; i++)
		if (i != skip && find(b, name(a, (uint32_t)i)) == POLICY_NONE)
			strbuf_add(&df->out, "%s%s", shown++ ? ", " : "",
			    name(a, (uint32_t)i));
	strbuf_add(&df->out, "%s\n", count > shown ? ", …" : "");
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
diff_date(struct strbuf *b, const char *sep, int32_t day)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	strbuf_add(b, "%s%04lld-%02u-%02u", sep, (long long)y, m, d);
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
					strbuf_add(&df->out, "~ holidays %s:",
					    hn->name);
				diff_date(&df->out, " -", ho->days[a++]);
			} else if (a >= ho->ndays || hn->days[b] < ho->days[a]) {
				if (!any++)
					strbuf_add(&df->out, "~ holidays %s:",
					    hn->name);
				diff_date(&df->out, " +", hn->days[b++]);
			} else {
				a++;
				b++;
			}
		}
		if (any)
			strbuf_add(&df->out, "\n");
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
		strbuf_add(&df->out, "~ schedule %s: holidays or dated openings "
		    "changed (except", sn->name);
		if (sn->nexcept == 0)
			strbuf_add(&df->out, " none");
		for (size_t k = 0; k < sn->nexcept; k++)
			strbuf_add(&df->out, " %s", pn->hols[sn->except[k]].name);
		strbuf_add(&df->out, "; %zu dated opening%s)\n", sn->ndated,
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
						strbuf_add(&df->out, "~ mode %s %s %s:",
						    mn->name, now ? "now" :
						    "no longer", acts[a].what);
					if (count <= 10)
						strbuf_add(&df->out, " %s",
						    pn->gates[g].name);
				}
				if (count > 10)
					strbuf_add(&df->out, " … (%zu gates)", count);
				if (count)
					strbuf_add(&df->out, "\n");
			}
		if (mo->apb_off != mn->apb_off)
			strbuf_add(&df->out, "~ mode %s %s anti-passback\n",
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
			strbuf_add(&df->out, "~ gate %s now leads from %s to %s "
			    "(was %s to %s)\n", gn->name,
			    pn->zones[gn->from].name, pn->zones[gn->to].name,
			    po->zones[og->from].name, po->zones[og->to].name);
		if (og->egress_free != gn->egress_free)
			strbuf_add(&df->out, "~ gate %s egress is %s\n", gn->name,
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
		strbuf_add(&df->out, "~ %zu credential%s with a changed validity "
		    "window\n", added, added == 1 ? "" : "s");
	if (removed)
		strbuf_add(&df->out, "~ %zu credential%s with a changed class\n",
		    removed, removed == 1 ? "" : "s");
	if (po->responders != POLICY_NONE || pn->responders != POLICY_NONE) {
		const char *a = po->responders < po->ngroups ?
		    po->groups[po->responders].name : "(none)";
		const char *b = pn->responders < pn->ngroups ?
		    pn->groups[pn->responders].name : "(none)";
		if (strcmp(a, b) != 0)
			strbuf_add(&df->out, "~ responders: %s (was %s)\n", b, a);
	}
}

static void
diff_side_free(struct side *s)
{
	free(s->smask);
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
	if (diff_creds(&df) != 0)
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
	free(df.uchg);
	free(df.ucls);
	free(df.stamp[0]);
	free(df.stamp[1]);
	free(df.gbit);
	free(df.glist);
	free(df.tab);
	free(df.zc);
	free(df.pool);
	free(df.e);
	free(df.masks);
	free(df.mtab);
	free(df.l);
	return res;
}
