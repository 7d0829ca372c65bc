/*
 * resolve.c — names to indices, with "did you mean" and "wrong kind of
 * name" errors, then compilation of what the evaluator needs precomputed:
 * zone depth and inherited conditions, the zones a gate enters, the rules
 * that can apply to each zone, and each mode's effect on each gate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

enum kind { K_ZONE, K_GATE, K_GROUP, K_SCHED, K_HOLS, K_MODE, K__COUNT };
static const char *const kind_names[] = {
	"zone", "gate", "group", "schedule", "set of holidays", "mode"
};

static size_t
kind_count(const struct policy *p, enum kind k)
{
	switch (k) {
	case K_ZONE:	return p->nzones;
	case K_GATE:	return p->ngates;
	case K_GROUP:	return p->ngroups;
	case K_SCHED:	return p->nscheds;
	case K_HOLS:	return p->nhols;
	case K_MODE:	return p->nmodes;
	default:	return 0;
	}
}

static const char *
kind_name_at(const struct policy *p, enum kind k, size_t i)
{
	switch (k) {
	case K_ZONE:	return p->zones[i].name;
	case K_GATE:	return p->gates[i].name;
	case K_GROUP:	return p->groups[i].name;
	case K_SCHED:	return p->scheds[i].name;
	case K_HOLS:	return p->hols[i].name;
	case K_MODE:	return p->modes[i].name;
	default:	return NULL;
	}
}

static uint32_t
kind_find(const struct policy *p, enum kind k, const char *name)
{
	switch (k) {
	case K_ZONE:	return policy_zone_find(p, name);
	case K_GATE:	return policy_gate_find(p, name);
	case K_MODE:	return policy_mode_find(p, name);
	default:
		/* groups, schedules and holidays are few: a scan is fine */
		for (size_t i = 0; i < kind_count(p, k); i++)
			if (strcmp(kind_name_at(p, k, i), name) == 0)
				return (uint32_t)i;
		return POLICY_NONE;
	}
}

static const char *
kind_suggest(const struct policy *p, enum kind k, const char *name)
{
	size_t n = kind_count(p, k);
	const char **names;
	const char *s;

	if (n == 0 || n > 20000)
		return NULL;
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		names[i] = kind_name_at(p, k, i);
	s = policy_suggest(name, names, n);
	free(names);
	return s;
}

/* Resolve r as a `want`; on failure report it (once) and return NONE. */
static uint32_t
resolve(struct loader *ld, const struct ref *r, enum kind want)
{
	const struct policy *p = ld->p;
	uint32_t i;
	const char *s;

	if (r->name == NULL)
		return POLICY_NONE;
	if ((i = kind_find(p, want, r->name)) != POLICY_NONE)
		return i;
	for (int k = 0; k < K__COUNT; k++) {
		if (k == (int)want || kind_find(p, (enum kind)k, r->name) == POLICY_NONE)
			continue;
		ld_err(ld, r->loc, "E012", "'%s' is a %s, but a %s is expected here",
		    r->name, kind_names[k], kind_names[want]);
		return POLICY_NONE;
	}
	s = kind_suggest(p, want, r->name);
	if (s != NULL)
		ld_err(ld, r->loc, "E010", "unknown %s '%s'; did you mean '%s'?",
		    kind_names[want], r->name, s);
	else
		ld_err(ld, r->loc, "E010", "unknown %s '%s': every %s must be declared",
		    kind_names[want], r->name, kind_names[want]);
	return POLICY_NONE;
}

/* Resolve everything but credentials, which are loaded next. */
void
ld_resolve(struct loader *ld)
{
	struct policy *p = ld->p;

	pol_indexes_build(p);

	/* zones: parents, then cycles, depth and inherited conditions */
	for (size_t z = 1; z < p->nzones; z++) {
		struct zone_src *zs = &ld->zsrc[z];
		uint32_t par = resolve(ld, &zs->parent, K_ZONE);
		if (par == (uint32_t)z) {
			ld_err(ld, zs->parent.loc, "E030", "zone '%s' cannot be inside itself",
			    p->zones[z].name);
			par = POLICY_NONE;
		}
		/* `in outside` just means top level */
		p->zones[z].parent = par == POL_OUTSIDE ? POLICY_NONE : par;
		p->zones[z].escort_group = resolve(ld, &zs->escort_g, K_GROUP);
		p->zones[z].escort_host = resolve(ld, &zs->escort_h, K_GROUP);
	}
	for (size_t z = 1; z < p->nzones; z++) {
		uint32_t a = p->zones[z].parent;
		size_t steps = 0;
		while (a != POLICY_NONE && steps <= p->nzones) {
			a = p->zones[a].parent;
			steps++;
		}
		if (a != POLICY_NONE) {
			ld_err(ld, ld->zsrc[z].parent.loc, "E030", "zones '%s' and '%s' are "
			    "inside each other (a cycle of 'in')", p->zones[z].name,
			    p->zones[p->zones[z].parent].name);
			p->zones[z].parent = POLICY_NONE;
		}
	}
	for (size_t z = 1; z < p->nzones; z++) {
		struct pol_zone *zz = &p->zones[z];
		zz->depth = 0;
		zz->need_secure = zz->require_secure;
		zz->need_pin = zz->require_pin;
		for (uint32_t a = zz->parent; a != POLICY_NONE; a = p->zones[a].parent) {
			zz->depth++;
			zz->need_secure |= p->zones[a].require_secure;
			zz->need_pin |= p->zones[a].require_pin;
		}
	}

	/* gates */
	for (size_t g = 0; g < p->ngates; g++) {
		struct pol_gate *gt = &p->gates[g];
		struct gate_src *gs = &ld->gsrc[g];
		gt->from = resolve(ld, &gs->from, K_ZONE);
		gt->to = resolve(ld, &gs->to, K_ZONE);
		if (gt->from == POLICY_NONE || gt->to == POLICY_NONE) {
			gt->from = gt->to = POLICY_NONE;
			continue;
		}
		if (gt->from == gt->to) {
			ld_err(ld, gs->to.loc, "E031", "gate '%s' leads from '%s' into the same "
			    "zone", gt->name, p->zones[gt->to].name);
			continue;
		}
		if (policy_zone_contains(p, gt->to, gt->from) || gt->to == POL_OUTSIDE) {
			if (gt->to == POL_OUTSIDE)
				continue;	/* a gate out of the venue: enters nothing */
			ld_err(ld, gs->to.loc, "E031", "gate '%s' leads from '%s' into '%s', "
			    "which already contains it; swap 'from' and 'to' (the entry "
			    "reader faces the zone being entered)", gt->name,
			    p->zones[gt->from].name, p->zones[gt->to].name);
		}
	}

	for (size_t s = 0; s < p->nscheds; s++) {
		struct sched_src *ss = &ld->ssrc[s];
		struct pol_sched *sc = &p->scheds[s];
		sc->except = calloc(ss->nexcept ? ss->nexcept : 1, sizeof(*sc->except));
		if (sc->except == NULL)
			abort();
		for (size_t i = 0; i < ss->nexcept; i++) {
			uint32_t h = resolve(ld, &ss->except[i], K_HOLS);
			if (h != POLICY_NONE)
				sc->except[sc->nexcept++] = h;
		}
	}

	for (size_t r = 0; r < p->nrules; r++) {
		struct pol_rule *ru = &p->rules[r];
		struct rule_src *rs = &ld->rsrc[r];
		if (ru->who_kind == POL_WHO_GROUP)
			ru->who = resolve(ld, &rs->who, K_GROUP);
		if (ru->zone != POL_ALL_ZONES) {
			ru->zone = resolve(ld, &rs->zone, K_ZONE);
			if (ru->zone == POL_OUTSIDE) {
				ld_err(ld, rs->zone.loc, "E012", "rules cannot govern 'outside': "
				    "leaving the venue is never refused by policy");
				ru->zone = POLICY_NONE;
			}
		}
		if (rs->sched.name)
			ru->sched = resolve(ld, &rs->sched, K_SCHED);
		if (rs->cond_group.name)
			ru->cond_group = resolve(ld, &rs->cond_group, K_GROUP);
		if (rs->who.name) {
			ru->who_name = rs->who.name;
			rs->who.name = NULL;
		}
	}

	if (ld->responders.name != NULL) {
		p->responders = resolve(ld, &ld->responders, K_GROUP);
		p->responders_loc = ld->responders.loc;
	}
}

static void
mode_apply(struct policy *p, struct pol_mode *m, const struct pol_action *a)
{
	for (size_t g = 0; g < p->ngates; g++) {
		const struct pol_gate *gt = &p->gates[g];
		unsigned entry = 0, exitb = 0;
		int hit = 0;

		switch (a->target_kind) {
		case POL_T_ALL:
			hit = 1;
			break;
		case POL_T_PERIMETER:
			hit = gt->from == POL_OUTSIDE;
			break;
		case POL_T_EGRESS:
			/* every way out of the venue, and every push-bar door */
			hit = gt->from == POL_OUTSIDE || gt->to == POL_OUTSIDE ||
			    gt->egress_free;
			break;
		case POL_T_GATE:
			hit = a->target == (uint32_t)g;
			break;
		case POL_T_ZONE:
			hit = a->target != POLICY_NONE && gt->to != POLICY_NONE &&
			    policy_zone_contains(p, a->target, gt->to) &&
			    !policy_zone_contains(p, a->target, gt->from);
			break;
		}
		if (!hit)
			continue;
		switch (a->what) {
		case POL_ACT_LOCK:
			entry = POLICY_GATE_LOCK_ENTRY;
			break;
		case POL_ACT_LOCK_EXIT:
			exitb = POLICY_GATE_LOCK_EXIT;
			break;
		case POL_ACT_UNLOCK:
			if (a->target_kind == POL_T_EGRESS) {
				/* the direction that leads out */
				if (gt->to == POL_OUTSIDE)
					entry = POLICY_GATE_UNLOCK_ENTRY;
				else
					exitb = POLICY_GATE_UNLOCK_EXIT;
			} else if (a->target_kind == POL_T_ZONE ||
			    a->target_kind == POL_T_PERIMETER)
				entry = POLICY_GATE_UNLOCK_ENTRY;
			else {
				entry = POLICY_GATE_UNLOCK_ENTRY;
				exitb = POLICY_GATE_UNLOCK_EXIT;
			}
			break;
		}
		m->gate_bits[g] |= (uint8_t)(entry | exitb);
	}
}

/* After credentials are loaded: rule credentials, modes, per-zone rule lists. */
void
ld_compile(struct loader *ld)
{
	struct policy *p = ld->p;
	size_t ndefault = 0;

	for (size_t r = 0; r < p->nrules; r++) {
		struct pol_rule *ru = &p->rules[r];
		if (ru->who_kind != POL_WHO_CRED || ru->who_name == NULL)
			continue;
		ru->who = policy_cred_find(p, ru->who_name);
		if (ru->who == POLICY_NONE)
			ld_err(ld, ld->rsrc[r].who.loc.line ? ld->rsrc[r].who.loc : ru->loc,
			    "E010", "unknown credential '%s': it is not in %s", ru->who_name,
			    p->cred_file ? p->cred_file : "the credentials file (none named)");
	}

	/* modes: the default one, created if the policy declares none */
	if (p->nmodes == 0) {
		p->modes = ld_grow(p->modes, 0, sizeof(*p->modes));
		ld->asrc = ld_grow(ld->asrc, 0, sizeof(*ld->asrc));
		memset(&p->modes[0], 0, sizeof(p->modes[0]));
		ld->asrc[0] = NULL;
		p->modes[0].name = ld_strndup("normal", 6);
		p->modes[0].is_default = 1;
		p->nmodes = 1;
		pol_indexes_build(p);	/* cheap to redo; only the mode index changed */
	}
	p->default_mode = POLICY_NONE;
	for (size_t m = 0; m < p->nmodes; m++)
		if (p->modes[m].is_default) {
			if (ndefault++ > 0)
				ld_err(ld, p->modes[m].loc, "E011", "mode '%s' is marked default, "
				    "but so is '%s'", p->modes[m].name,
				    p->modes[p->default_mode].name);
			else
				p->default_mode = (uint32_t)m;
		}
	if (p->default_mode == POLICY_NONE) {
		uint32_t n = policy_mode_find(p, "normal");
		if (n != POLICY_NONE)
			p->default_mode = n;
		else {
			ld_err(ld, p->modes[0].loc, "E013", "no mode is marked 'default;' "
			    "and there is no mode called 'normal'");
			p->default_mode = 0;
		}
	}
	for (size_t m = 0; m < p->nmodes; m++) {
		struct pol_mode *md = &p->modes[m];
		md->gate_bits = calloc(p->ngates ? p->ngates : 1, 1);
		if (md->gate_bits == NULL)
			abort();
		for (size_t a = 0; a < md->nacts; a++) {
			struct pol_action *ac = &md->acts[a];
			if (ac->target_kind == POL_T_GATE)
				ac->target = resolve(ld, &ld->asrc[m][a].target, K_GATE);
			else if (ac->target_kind == POL_T_ZONE)
				ac->target = resolve(ld, &ld->asrc[m][a].target, K_ZONE);
			if ((ac->target_kind == POL_T_GATE || ac->target_kind == POL_T_ZONE) &&
			    ac->target == POLICY_NONE)
				continue;
			mode_apply(p, md, ac);
		}
		for (size_t g = 0; g < p->ngates; g++) {
			unsigned b = md->gate_bits[g];
			if ((b & POLICY_GATE_LOCK_ENTRY) && (b & POLICY_GATE_UNLOCK_ENTRY))
				ld_err(ld, md->loc, "E043", "mode '%s' both locks and unlocks the "
				    "entry side of gate '%s'", md->name, p->gates[g].name);
			if ((b & POLICY_GATE_LOCK_EXIT) && (b & POLICY_GATE_UNLOCK_EXIT))
				ld_err(ld, md->loc, "E043", "mode '%s' both locks and unlocks the "
				    "exit side of gate '%s'", md->name, p->gates[g].name);
		}
	}

	/* gate -> zones entered (innermost first) */
	for (size_t g = 0; g < p->ngates; g++) {
		struct pol_gate *gt = &p->gates[g];
		size_t n = 0;
		if (gt->to == POLICY_NONE || gt->to == POL_OUTSIDE)
			continue;
		gt->enters = calloc(p->zones[gt->to].depth + 1, sizeof(*gt->enters));
		if (gt->enters == NULL)
			abort();
		for (uint32_t z = gt->to; z != POLICY_NONE; z = p->zones[z].parent) {
			if (policy_zone_contains(p, z, gt->from))
				break;
			gt->enters[n++] = z;
		}
		gt->nenters = n;
	}

	/* zone -> the rules whose zone contains it, in rule order */
	for (size_t z = 1; z < p->nzones; z++) {
		struct pol_zone *zz = &p->zones[z];
		size_t n = 0;
		for (size_t r = 0; r < p->nrules; r++) {
			uint32_t rz = p->rules[r].zone;
			if (rz == POL_ALL_ZONES || (rz != POLICY_NONE &&
			    policy_zone_contains(p, rz, (uint32_t)z)))
				n++;
		}
		zz->rules = calloc(n ? n : 1, sizeof(*zz->rules));
		if (zz->rules == NULL)
			abort();
		for (size_t r = 0; r < p->nrules; r++) {
			uint32_t rz = p->rules[r].zone;
			if (rz == POL_ALL_ZONES || (rz != POLICY_NONE &&
			    policy_zone_contains(p, rz, (uint32_t)z)))
				zz->rules[zz->nrules++] = (uint32_t)r;
		}
	}
}

void
ld_tests(struct loader *ld)
{
	struct policy *p = ld->p;

	for (size_t i = 0; i < p->ntests; i++) {
		struct pol_test *t = &p->tests[i];
		struct test_src *ts = &ld->tsrc[i];
		int64_t utc = t->at;

		if (!ts->at_absolute && p->tz != NULL) {
			int r = tz_from_local(p->tz, t->at, &utc);
			if (r == TZ_GAP)
				ld_warn(ld, ts->at_loc, "W020", "this local time does not exist in "
				    "%s (clocks go forward); the test uses the instant the gap ends",
				    p->tzname);
			else if (r == TZ_AMBIGUOUS)
				ld_warn(ld, ts->at_loc, "W021", "this local time happens twice in %s "
				    "(clocks go back); the test uses the first; add Z or an offset "
				    "to choose", p->tzname);
		}
		t->at = utc;
		t->gate = resolve(ld, &ts->gate, K_GATE);
		if (ts->mode.name)
			t->mode = resolve(ld, &ts->mode, K_MODE);
		if (t->badge)
			t->cred = policy_cred_find(p, t->badge);
		for (size_t k = 0; k < t->ninside; k++) {
			t->inside[k].cred = policy_cred_find(p, ts->inside_cred[k].name);
			if (t->inside[k].cred == POLICY_NONE)
				ld_err(ld, ts->inside_cred[k].loc, "E010", "unknown credential '%s'",
				    ts->inside_cred[k].name);
			t->inside[k].zone = resolve(ld, &ts->inside_zone[k], K_ZONE);
			t->inside[k].since = utc + t->inside[k].since;
		}
		for (size_t k = 0; k < t->nocc; k++)
			t->occ[k].zone = resolve(ld, &ts->occ_zone[k], K_ZONE);
		for (size_t k = 0; k < t->nrecent; k++) {
			t->recent[k].cred = policy_cred_find(p, ts->recent_cred[k].name);
			if (t->recent[k].cred == POLICY_NONE)
				ld_err(ld, ts->recent_cred[k].loc, "E010", "unknown credential '%s'",
				    ts->recent_cred[k].name);
		}
	}
}
