/*
 * print.c — the normalized print of a loaded policy: what the library
 * understood, in one canonical layout. Printing it and loading the print
 * gives the same print again (the round-trip tests rely on it), so every
 * field the evaluator reads appears here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"
#include "policy/strbuf.h"

static void
out_str(struct strbuf *b, const char *s)
{
	strbuf_add(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_add(b, "\\");
		strbuf_add(b, "%c", *s);
	}
	strbuf_add(b, "\"");
}

static void
out_dur(struct strbuf *b, uint32_t s)
{
	if (s % 86400 == 0)
		strbuf_add(b, "%ud", s / 86400);
	else if (s % 3600 == 0)
		strbuf_add(b, "%uh", s / 3600);
	else if (s % 60 == 0)
		strbuf_add(b, "%um", s / 60);
	else
		strbuf_add(b, "%us", s);
}

static void
out_date(struct strbuf *b, int64_t day)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	strbuf_add(b, "%04lld-%02u-%02u", (long long)y, m, d);
}

static void
out_range(struct strbuf *b, unsigned start, unsigned end)
{
	strbuf_add(b, "%02u:%02u-%02u:%02u", start / 60, start % 60, end / 60, end % 60);
}

static const char *const dnames[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void
out_days(struct strbuf *b, uint8_t days)
{
	int first = 1;

	/* runs of consecutive days as a-b, others listed */
	for (int i = 0; i < 7;) {
		int j = i;
		if (!(days & (1u << i))) {
			i++;
			continue;
		}
		while (j + 1 < 7 && (days & (1u << (j + 1))))
			j++;
		strbuf_add(b, "%s%s", first ? "" : ",", dnames[i]);
		if (j > i)
			strbuf_add(b, "-%s", dnames[j]);
		first = 0;
		i = j + 1;
	}
}

static void
out_rule(struct strbuf *b, const struct policy *p, const struct pol_rule *r,
    const char *indent)
{
	int first = 1;

	strbuf_add(b, "%s%s ", indent, r->effect == POL_PERMIT ? "permit" : "forbid");
	switch (r->who_kind) {
	case POL_WHO_EVERYONE: strbuf_add(b, "everyone"); break;
	case POL_WHO_GROUP: strbuf_add(b, "group %s", p->groups[r->who].name); break;
	case POL_WHO_CRED: strbuf_add(b, "credential %s", r->who_name); break;
	}
	strbuf_add(b, " into %s", r->zone == POL_ALL_ZONES ? "*" : p->zones[r->zone].name);
	if (r->sched != POLICY_NONE)
		strbuf_add(b, " during %s", p->scheds[r->sched].name);
	if (r->cond_secure || r->cond_pin || r->cond_group != POLICY_NONE) {
		strbuf_add(b, " %s ", r->effect == POL_PERMIT ? "require" : "unless");
		if (r->cond_secure) {
			strbuf_add(b, "secure");
			first = 0;
		}
		if (r->cond_pin) {
			strbuf_add(b, "%spin", first ? "" : ", ");
			first = 0;
		}
		if (r->cond_group != POLICY_NONE)
			strbuf_add(b, "%sgroup %s", first ? "" : ", ", p->groups[r->cond_group].name);
	}
	strbuf_add(b, ";\n");
}

static void
out_target(struct strbuf *b, const struct policy *p, const struct pol_action *a)
{
	switch (a->target_kind) {
	case POL_T_ALL: strbuf_add(b, "all"); break;
	case POL_T_PERIMETER: strbuf_add(b, "perimeter"); break;
	case POL_T_EGRESS: strbuf_add(b, "egress"); break;
	case POL_T_GATE: strbuf_add(b, "gate %s", p->gates[a->target].name); break;
	case POL_T_ZONE: strbuf_add(b, "zone %s", p->zones[a->target].name); break;
	}
}

static void
out_time(struct strbuf *b, const struct policy *p, int64_t utc)
{
	int32_t off = p->tz ? tz_offset(p->tz, utc, NULL) : 0;
	int64_t local = utc + off, day = local / 86400, sec = local % 86400;
	unsigned aoff = (unsigned)(off < 0 ? -off : off);

	if (sec < 0) {
		sec += 86400;
		day--;
	}
	out_date(b, day);
	strbuf_add(b, "T%02lld:%02lld:%02lld%c%02u:%02u", (long long)(sec / 3600),
	    (long long)(sec / 60 % 60), (long long)(sec % 60), off < 0 ? '-' : '+',
	    aoff / 3600, aoff / 60 % 60);
}

static void
out_limit(struct strbuf *b, enum pol_limit l, uint32_t timeout)
{
	switch (l) {
	case POL_LIMIT_HARD: strbuf_add(b, "hard"); break;
	case POL_LIMIT_SOFT: strbuf_add(b, "soft"); break;
	case POL_LIMIT_TIMED: strbuf_add(b, "timed "); out_dur(b, timeout); break;
	case POL_LIMIT_NONE: break;
	}
}

static void
print_zones(struct strbuf *b, const struct policy *p)
{
	for (size_t i = 1; i < p->nzones; i++) {
		const struct pol_zone *z = &p->zones[i];
		strbuf_add(b, "zone %s", z->name);
		if (z->desc) {
			strbuf_add(b, " ");
			out_str(b, z->desc);
		}
		strbuf_add(b, " {\n");
		if (z->parent != POLICY_NONE)
			strbuf_add(b, "\tin %s;\n", p->zones[z->parent].name);
		if (z->capacity) {
			strbuf_add(b, "\tcapacity %u ", z->capacity);
			out_limit(b, z->cap_mode, 0);
			strbuf_add(b, ";\n");
		}
		if (z->apb != POL_LIMIT_NONE) {
			strbuf_add(b, "\tantipassback ");
			out_limit(b, z->apb, z->apb_timeout_s);
			strbuf_add(b, ";\n");
		}
		if (z->two_person_s) {
			strbuf_add(b, "\ttwo-person ");
			out_dur(b, z->two_person_s);
			strbuf_add(b, ";\n");
		}
		if (z->escort_group != POLICY_NONE) {
			strbuf_add(b, "\tescort %s by %s within ", p->groups[z->escort_group].name,
			    p->groups[z->escort_host].name);
			out_dur(b, z->escort_s);
			strbuf_add(b, ";\n");
		}
		if (z->require_secure)
			strbuf_add(b, "\trequire secure;\n");
		if (z->require_pin)
			strbuf_add(b, "\trequire pin;\n");
		if (z->sensitive)
			strbuf_add(b, "\tsensitive;\n");
		strbuf_add(b, "}\n");
	}
}

static void
print_tests(struct strbuf *b, const struct policy *p)
{
	for (size_t i = 0; i < p->ntests; i++) {
		const struct pol_test *t = &p->tests[i];
		strbuf_add(b, "test ");
		out_str(b, t->name);
		strbuf_add(b, " {\n\ttap ");
		out_str(b, t->badge ? t->badge : "");
		strbuf_add(b, " at %s on ", p->gates[t->gate].name);
		out_time(b, p, t->at);
		strbuf_add(b, "%s;\n", t->dir == POLICY_OUT ? " exit" : "");
		if (t->mode != POLICY_NONE)
			strbuf_add(b, "\tmode %s;\n", p->modes[t->mode].name);
		if (t->pin) {
			strbuf_add(b, "\tpin ");
			out_str(b, t->pin);
			strbuf_add(b, ";\n");
		}
		if (t->cls >= 0)
			strbuf_add(b, "\tclass %s;\n", t->cls == POLICY_CLASS_SECURE ? "secure" : "legacy");
		for (size_t k = 0; k < t->ninside; k++) {
			strbuf_add(b, "\tinside ");
			out_str(b, p->creds[t->inside[k].cred].id);
			strbuf_add(b, " %s ", p->zones[t->inside[k].zone].name);
			out_dur(b, (uint32_t)(t->at - t->inside[k].since > 0 ?
			    t->at - t->inside[k].since : 1));
			strbuf_add(b, ";\n");
		}
		for (size_t k = 0; k < t->nocc; k++)
			strbuf_add(b, "\toccupancy %s %lld;\n", p->zones[t->occ[k].zone].name,
			    (long long)t->occ[k].count);
		for (size_t k = 0; k < t->nrecent; k++) {
			strbuf_add(b, "\trecent ");
			out_str(b, p->creds[t->recent[k].cred].id);
			strbuf_add(b, " ");
			out_dur(b, (uint32_t)(t->recent[k].at > 0 ? t->recent[k].at : 1));
			strbuf_add(b, ";\n");
		}
		strbuf_add(b, "\texpect %s", t->want_effect == POLICY_GRANT ? "grant" : "deny");
		if (t->want_reason >= 0)
			strbuf_add(b, " %s", policy_reason_code((enum policy_reason)t->want_reason));
		strbuf_add(b, ";\n}\n");
	}
}

char *
policy_print(const struct policy *p)
{
	struct strbuf b = { 0 };

	strbuf_add(&b, "venue ");
	out_str(&b, p->venue ? p->venue : "");
	strbuf_add(&b, " {\n\ttimezone ");
	out_str(&b, p->tzname ? p->tzname : "UTC");
	strbuf_add(&b, ";\n}\n");
	if (p->cred_file) {
		strbuf_add(&b, "credentials ");
		out_str(&b, p->cred_file);
		strbuf_add(&b, ";\n");
	}
	if (p->responders != POLICY_NONE)
		strbuf_add(&b, "responders %s;\n", p->groups[p->responders].name);
	for (size_t i = 0; i < p->ngroups; i++) {
		strbuf_add(&b, "group %s", p->groups[i].name);
		if (p->groups[i].desc) {
			strbuf_add(&b, " ");
			out_str(&b, p->groups[i].desc);
		}
		strbuf_add(&b, ";\n");
	}
	for (size_t i = 0; i < p->nhols; i++) {
		strbuf_add(&b, "holidays %s {\n", p->hols[i].name);
		for (size_t k = 0; k < p->hols[i].ndays; k++) {
			strbuf_add(&b, "\t");
			out_date(&b, p->hols[i].days[k]);
			strbuf_add(&b, ";\n");
		}
		strbuf_add(&b, "}\n");
	}
	for (size_t i = 0; i < p->nscheds; i++) {
		const struct pol_sched *s = &p->scheds[i];
		strbuf_add(&b, "schedule %s {\n", s->name);
		if (s->always)
			strbuf_add(&b, "\talways;\n");
		for (size_t k = 0; k < s->nranges; k++) {
			strbuf_add(&b, "\t");
			out_days(&b, s->ranges[k].days);
			strbuf_add(&b, " ");
			out_range(&b, s->ranges[k].start, s->ranges[k].end);
			strbuf_add(&b, ";\n");
		}
		for (size_t k = 0; k < s->nexcept; k++)
			strbuf_add(&b, "\texcept %s;\n", p->hols[s->except[k]].name);
		for (size_t k = 0; k < s->ndated; k++) {
			strbuf_add(&b, "\ton ");
			out_date(&b, s->dated[k].day);
			strbuf_add(&b, " ");
			out_range(&b, s->dated[k].start, s->dated[k].end);
			strbuf_add(&b, ";\n");
		}
		strbuf_add(&b, "}\n");
	}
	print_zones(&b, p);
	for (size_t i = 0; i < p->ngates; i++) {
		const struct pol_gate *g = &p->gates[i];
		static const char *const kinds[] = { "door", "turnstile", "lane" };
		strbuf_add(&b, "gate %s {\n\tfrom %s;\n\tto %s;\n\t%s;\n\tunlock ", g->name,
		    p->zones[g->from].name, p->zones[g->to].name, kinds[g->kind]);
		out_dur(&b, g->unlock_s);
		strbuf_add(&b, ";\n\theld-open ");
		out_dur(&b, g->held_open_s);
		strbuf_add(&b, ";\n");
		if (g->exit_reader)
			strbuf_add(&b, "\texit reader;\n");
		if (g->egress_free)
			strbuf_add(&b, "\tegress free;\n");
		strbuf_add(&b, "}\n");
	}
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].mode == POLICY_NONE)
			out_rule(&b, p, &p->rules[i], "");
	for (size_t m = 0; m < p->nmodes; m++) {
		const struct pol_mode *md = &p->modes[m];
		static const char *const what[] = { "lock", "lock exit", "unlock" };
		strbuf_add(&b, "mode %s {\n", md->name);
		if (md->is_default)
			strbuf_add(&b, "\tdefault;\n");
		if (md->apb_off)
			strbuf_add(&b, "\tantipassback off;\n");
		for (size_t a = 0; a < md->nacts; a++) {
			strbuf_add(&b, "\t%s ", what[md->acts[a].what]);
			out_target(&b, p, &md->acts[a]);
			strbuf_add(&b, ";\n");
		}
		for (size_t i = 0; i < p->nrules; i++)
			if (p->rules[i].mode == (uint32_t)m)
				out_rule(&b, p, &p->rules[i], "\t");
		strbuf_add(&b, "}\n");
	}
	print_tests(&b, p);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
