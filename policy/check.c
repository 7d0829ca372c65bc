/*
 * check.c — what a careful reviewer of a venue policy would look for, run
 * on a policy that already resolved cleanly: the life-safety invariants
 * (errors), topology that traps people "inside" (errors), and rules that
 * cannot fire, over-broad permits, unused declarations and schedule ranges
 * that daylight saving makes odd (warnings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"

#define REPORT_LIMIT	5	/* per check, so one mistake is not 500 lines */

static int
who_covers_group(const struct pol_rule *r, uint32_t group)
{
	return r->who_kind == POL_WHO_EVERYONE ||
	    (r->who_kind == POL_WHO_GROUP && r->who == group);
}

static int
rule_in_mode(const struct pol_rule *r, uint32_t mode)
{
	return r->mode == POLICY_NONE || r->mode == mode;
}

static int
sched_always(const struct policy *p, uint32_t s)
{
	return s == POLICY_NONE || p->scheds[s].always;
}

/* Which side of gate g leads people out of the building? */
static unsigned
egress_lock_bit(const struct pol_gate *g)
{
	return g->to == POL_OUTSIDE ? POLICY_GATE_LOCK_ENTRY : POLICY_GATE_LOCK_EXIT;
}

static void
check_egress(struct loader *ld)
{
	struct policy *p = ld->p;

	for (size_t m = 0; m < p->nmodes; m++)
		for (size_t g = 0; g < p->ngates; g++) {
			const struct pol_gate *gt = &p->gates[g];
			if (gt->egress_free && (p->modes[m].gate_bits[g] & egress_lock_bit(gt)))
				ld_err(ld, p->modes[m].loc, "E040", "mode '%s' locks the way out "
				    "through gate '%s', which is 'egress free': egress must never "
				    "depend on the gateway", p->modes[m].name, gt->name);
		}
}

static void
check_responders(struct loader *ld)
{
	struct policy *p = ld->p;
	uint32_t resp = p->responders;
	size_t reported = 0;

	if (resp == POLICY_NONE) {
		if (p->nmodes > 1)
			ld_warn(ld, (struct pol_loc){ 1, 1 }, "W030", "no 'responders GROUP;' is "
			    "declared: nothing checks that security and medical staff can reach "
			    "every zone in every mode");
		return;
	}
	for (size_t m = 0; m < p->nmodes; m++)
		for (size_t z = 1; z < p->nzones; z++) {
			const struct pol_zone *zz = &p->zones[z];
			int permitted = 0;
			const struct pol_rule *forbid = NULL;
			for (size_t i = 0; i < zz->nrules; i++) {
				const struct pol_rule *r = &p->rules[zz->rules[i]];
				if (!rule_in_mode(r, (uint32_t)m) || !who_covers_group(r, resp))
					continue;
				if (r->effect == POL_PERMIT && sched_always(p, r->sched))
					permitted = 1;
				if (r->effect == POL_FORBID && r->cond_group != resp &&
				    !r->cond_secure && !r->cond_pin && forbid == NULL)
					forbid = r;
			}
			if (permitted && forbid == NULL)
				continue;
			if (reported++ >= REPORT_LIMIT)
				continue;
			if (forbid != NULL)
				ld_err(ld, forbid->loc, "E041", "this rule forbids the responders "
				    "group '%s' from zone '%s' in mode '%s'; add 'unless group %s'",
				    p->groups[resp].name, zz->name, p->modes[m].name,
				    p->groups[resp].name);
			else
				ld_err(ld, p->responders_loc, "E041", "the responders group '%s' "
				    "cannot enter zone '%s' in mode '%s': no permit covers them at "
				    "all times (e.g. 'permit group %s into *;')", p->groups[resp].name,
				    zz->name, p->modes[m].name, p->groups[resp].name);
		}
	if (reported > REPORT_LIMIT)
		ld_err(ld, p->responders_loc, "E041", "... and %zu more zones and modes the "
		    "responders cannot reach", reported - REPORT_LIMIT);
}

static void
check_topology(struct loader *ld)
{
	struct policy *p = ld->p;

	for (size_t z = 1; z < p->nzones; z++) {
		const struct pol_zone *zz = &p->zones[z];
		int way_in = 0, way_out = 0;
		for (size_t g = 0; g < p->ngates; g++) {
			const struct pol_gate *gt = &p->gates[g];
			int into = gt->to != POL_OUTSIDE && policy_zone_contains(p, (uint32_t)z, gt->to) &&
			    !policy_zone_contains(p, (uint32_t)z, gt->from);
			int outof = policy_zone_contains(p, (uint32_t)z, gt->from) &&
			    (gt->to == POL_OUTSIDE || !policy_zone_contains(p, (uint32_t)z, gt->to));
			way_in |= into;
			/* counted out: an exit reader, or a gate whose entry side leads out */
			way_out |= (into && gt->exit_reader) || outof;
		}
		if ((zz->apb != POL_LIMIT_NONE || zz->capacity > 0) && !way_out)
			ld_err(ld, zz->loc, "E042", "zone '%s' has %s but no gate out of it has "
			    "an exit reader: people would stay counted inside forever; add "
			    "'exit reader;' to a gate into it", zz->name,
			    zz->apb != POL_LIMIT_NONE ? "anti-passback" : "a capacity");
		if (!way_in)
			ld_warn(ld, zz->loc, "W031", "no gate leads into zone '%s'", zz->name);
	}
}

/* A permit that a forbid without exceptions always overrides. */
static void
check_shadowed(struct loader *ld)
{
	struct policy *p = ld->p;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *pr = &p->rules[i];
		if (pr->effect != POL_PERMIT || pr->zone == POLICY_NONE)
			continue;
		for (size_t k = 0; k < p->nrules; k++) {
			const struct pol_rule *f = &p->rules[k];
			if (f->effect != POL_FORBID || f->cond_secure || f->cond_pin ||
			    f->cond_group != POLICY_NONE || f->zone == POLICY_NONE)
				continue;
			if (!(f->who_kind == POL_WHO_EVERYONE || (f->who_kind == pr->who_kind &&
			    f->who == pr->who)))
				continue;
			if (!(f->zone == POL_ALL_ZONES || (pr->zone != POL_ALL_ZONES &&
			    policy_zone_contains(p, f->zone, pr->zone))))
				continue;
			if (!(f->sched == POLICY_NONE || f->sched == pr->sched ||
			    p->scheds[f->sched].always))
				continue;
			if (!(f->mode == POLICY_NONE || f->mode == pr->mode))
				continue;
			ld_warn(ld, pr->loc, "W001", "this permit can never grant: the forbid at "
			    "line %u always overrides it", f->loc.line);
			break;
		}
	}
}

static int
rule_covers_cred(const struct pol_rule *r, const struct pol_cred *cr, uint32_t c)
{
	return r->who_kind == POL_WHO_EVERYONE ||
	    (r->who_kind == POL_WHO_GROUP && pol_cred_in_group(cr, r->who)) ||
	    (r->who_kind == POL_WHO_CRED && r->who == c);
}

/* Can a legacy credential get into zone z through permit r? Not if a forbid
 * that no legacy card can satisfy (none, or only `unless secure`) blocks it. */
static int
legacy_covered(const struct policy *p, const struct pol_zone *z,
    const struct pol_rule *r)
{
	for (size_t c = 0; c < p->ncreds; c++) {
		const struct pol_cred *cr = &p->creds[c];
		int blocked = 0;
		if (cr->cls != POLICY_CLASS_LEGACY || !rule_covers_cred(r, cr, (uint32_t)c))
			continue;
		for (size_t i = 0; i < z->nrules && !blocked; i++) {
			const struct pol_rule *f = &p->rules[z->rules[i]];
			blocked = f->effect == POL_FORBID && !f->cond_pin &&
			    f->cond_group == POLICY_NONE && f->sched == POLICY_NONE &&
			    (f->mode == POLICY_NONE || f->mode == r->mode) &&
			    rule_covers_cred(f, cr, (uint32_t)c);
		}
		if (!blocked)
			return 1;
	}
	return 0;
}

static void
check_sensitive(struct loader *ld)
{
	struct policy *p = ld->p;

	for (size_t z = 1; z < p->nzones; z++) {
		const struct pol_zone *zz = &p->zones[z];
		int legacy_warned = 0;
		if (!zz->sensitive)
			continue;
		for (size_t i = 0; i < zz->nrules; i++) {
			const struct pol_rule *r = &p->rules[zz->rules[i]];
			if (r->effect != POL_PERMIT)
				continue;
			if (r->who_kind == POL_WHO_EVERYONE && !r->cond_secure && !r->cond_pin &&
			    !zz->need_secure && !zz->need_pin)
				ld_warn(ld, r->loc, "W002", "this lets everyone into sensitive zone "
				    "'%s' with no condition; narrow it to a group or require secure "
				    "or pin", zz->name);
			if (!legacy_warned && !zz->need_secure && !r->cond_secure &&
			    legacy_covered(p, zz, r)) {
				ld_warn(ld, r->loc, "W003", "legacy (UID-only, clonable) credentials "
				    "can enter sensitive zone '%s' through this rule; add 'require "
				    "secure' to the zone or the rule", zz->name);
				legacy_warned = 1;
			}
		}
	}
}

static void
check_unused(struct loader *ld)
{
	struct policy *p = ld->p;
	uint8_t *gused = calloc(p->ngroups + 1, 1), *sused = calloc(p->nscheds + 1, 1);
	uint8_t *hused = calloc(p->nhols + 1, 1);

	if (gused == NULL || sused == NULL || hused == NULL)
		abort();
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		if (r->who_kind == POL_WHO_GROUP && r->who != POLICY_NONE)
			gused[r->who] = 1;
		if (r->cond_group != POLICY_NONE)
			gused[r->cond_group] = 1;
		if (r->sched != POLICY_NONE)
			sused[r->sched] = 1;
	}
	for (size_t z = 1; z < p->nzones; z++) {
		if (p->zones[z].escort_group != POLICY_NONE)
			gused[p->zones[z].escort_group] = 1;
		if (p->zones[z].escort_host != POLICY_NONE)
			gused[p->zones[z].escort_host] = 1;
	}
	if (p->responders != POLICY_NONE)
		gused[p->responders] = 1;
	for (size_t s = 0; s < p->nscheds; s++)
		for (size_t k = 0; k < p->scheds[s].nexcept; k++)
			hused[p->scheds[s].except[k]] = 1;
	for (size_t g = 0; g < p->ngroups; g++)
		if (!gused[g])
			ld_warn(ld, p->groups[g].loc, "W005", "group '%s' is used by no rule",
			    p->groups[g].name);
	for (size_t s = 0; s < p->nscheds; s++)
		if (!sused[s])
			ld_warn(ld, p->scheds[s].loc, "W005", "schedule '%s' is used by no rule",
			    p->scheds[s].name);
	for (size_t h = 0; h < p->nhols; h++)
		if (!hused[h])
			ld_warn(ld, p->hols[h].loc, "W005", "holidays '%s' are excepted by no "
			    "schedule", p->hols[h].name);
	free(gused);
	free(sused);
	free(hused);
}

static void
fmt_hhmm(unsigned m, char *buf, size_t len)
{
	snprintf(buf, len, "%02u:%02u", m / 60, m % 60);
}

static void
check_schedules(struct loader *ld)
{
	struct policy *p = ld->p;
	int32_t gaps[64];
	size_t ngaps = 0;

	for (size_t s = 0; s < p->nscheds; s++) {
		const struct pol_sched *sc = &p->scheds[s];
		for (size_t i = 0; i < sc->nranges; i++)
			for (size_t k = 0; k < i; k++) {
				const struct pol_range *a = &sc->ranges[k], *b = &sc->ranges[i];
				if ((a->days & b->days) && a->start < b->end && b->start < a->end &&
				    a->loc.line != b->loc.line)
					ld_warn(ld, b->loc, "W006", "this range overlaps the one at line "
					    "%u in schedule '%s'", a->loc.line, sc->name);
			}
	}
	/* days in the next five years when the clocks jump forward */
	if (p->tz == NULL)
		return;
	for (int64_t day = tz_days_from_civil(2026, 1, 1);
	    day < tz_days_from_civil(2031, 1, 1) && ngaps < 64; day++) {
		int64_t noon = day * 86400 + 43200;
		int32_t a = tz_offset(p->tz, noon - 86400, NULL), b = tz_offset(p->tz, noon, NULL);
		if (b > a)
			gaps[ngaps++] = (int32_t)day;
	}
	for (size_t s = 0; s < p->nscheds; s++) {
		const struct pol_sched *sc = &p->scheds[s];
		for (size_t i = 0; i < sc->nranges; i++) {
			const struct pol_range *r = &sc->ranges[i];
			for (size_t g = 0; g < ngaps; g++) {
				int64_t utc;
				unsigned wd = tz_weekday(gaps[g]);
				unsigned edge = 0;
				int hit = 0;
				if (!(r->days & (1u << wd)))
					continue;
				if (r->start > 0 && tz_from_local(p->tz, (int64_t)gaps[g] * 86400 +
				    r->start * 60, &utc) == TZ_GAP)
					hit = 1, edge = r->start;
				else if (r->end < 1440 && tz_from_local(p->tz, (int64_t)gaps[g] *
				    86400 + r->end * 60, &utc) == TZ_GAP)
					hit = 1, edge = r->end;
				if (hit) {
					char hm[8];
					int64_t y;
					unsigned mo, d;
					fmt_hhmm(edge, hm, sizeof(hm));
					tz_civil_from_days(gaps[g], &y, &mo, &d);
					ld_warn(ld, r->loc, "W007", "%s does not exist on %04lld-%02u-%02u "
					    "in %s (clocks go forward): that day the range starts or ends "
					    "when the clocks have jumped", hm, (long long)y, mo, d, p->tzname);
					break;
				}
			}
		}
	}
}

void
ld_check(struct loader *ld)
{
	check_egress(ld);
	check_responders(ld);
	check_topology(ld);
	check_shadowed(ld);
	check_sensitive(ld);
	check_unused(ld);
	check_schedules(ld);
}
