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

struct buf {
	char	*s;
	size_t	 n, cap;
};

static void __attribute__((format(printf, 2, 3)))
out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->n += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		if ((b->s = realloc(b->s, b->cap)) == NULL)
			abort();
	}
}

static void
out_str(struct buf *b, const char *s)
{
	out(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out(b, "\\");
		out(b, "%c", *s);
	}
	out(b, "\"");
}

static void
out_dur(struct buf *b, uint32_t s)
{
	if (s % 86400 == 0)
		out(b, "%ud", s / 86400);
	else if (s % 3600 == 0)
		out(b, "%uh", s / 3600);
	else if (s % 60 == 0)
		out(b, "%um", s / 60);
	else
		out(b, "%us", s);
}

static void
out_date(struct buf *b, int64_t day)
{
	int64_t y;
	unsigned m, d;

	tz_civil_from_days(day, &y, &m, &d);
	out(b, "%04lld-%02u-%02u", (long long)y, m, d);
}

static void
out_range(struct buf *b, unsigned start, unsigned end)
{
	out(b, "%02u:%02u-%02u:%02u", start / 60, start % 60, end / 60, end % 60);
}

static const char *const dnames[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void
out_days(struct buf *b, uint8_t days)
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
		out(b, "%s%s", first ? "" : ",", dnames[i]);
		if (j > i)
			out(b, "-%s", dnames[j]);
		first = 0;
		i = j + 1;
	}
}

static void
out_rule(struct buf *b, const struct policy *p, const struct pol_rule *r,
    const char *indent)
{
	int first = 1;

	out(b, "%s%s ", indent, r->effect == POL_PERMIT ? "permit" : "forbid");
	switch (r->who_kind) {
	case POL_WHO_EVERYONE: out(b, "everyone"); break;
	case POL_WHO_GROUP: out(b, "group %s", p->groups[r->who].name); break;
	case POL_WHO_CRED: out(b, "credential %s", r->who_name); break;
	}
	out(b, " into %s", r->zone == POL_ALL_ZONES ? "*" : p->zones[r->zone].name);
	if (r->sched != POLICY_NONE)
		out(b, " during %s", p->scheds[r->sched].name);
	if (r->cond_secure || r->cond_pin || r->cond_group != POLICY_NONE) {
		out(b, " %s ", r->effect == POL_PERMIT ? "require" : "unless");
		if (r->cond_secure) {
			out(b, "secure");
			first = 0;
		}
		if (r->cond_pin) {
			out(b, "%spin", first ? "" : ", ");
			first = 0;
		}
		if (r->cond_group != POLICY_NONE)
			out(b, "%sgroup %s", first ? "" : ", ", p->groups[r->cond_group].name);
	}
	out(b, ";\n");
}

static void
out_target(struct buf *b, const struct policy *p, const struct pol_action *a)
{
	switch (a->target_kind) {
	case POL_T_ALL: out(b, "all"); break;
	case POL_T_PERIMETER: out(b, "perimeter"); break;
	case POL_T_EGRESS: out(b, "egress"); break;
	case POL_T_GATE: out(b, "gate %s", p->gates[a->target].name); break;
	case POL_T_ZONE: out(b, "zone %s", p->zones[a->target].name); break;
	}
}

static void
out_time(struct buf *b, const struct policy *p, int64_t utc)
{
	int32_t off = p->tz ? tz_offset(p->tz, utc, NULL) : 0;
	int64_t local = utc + off, day = local / 86400, sec = local % 86400;
	unsigned aoff = (unsigned)(off < 0 ? -off : off);

	if (sec < 0) {
		sec += 86400;
		day--;
	}
	out_date(b, day);
	out(b, "T%02lld:%02lld:%02lld%c%02u:%02u", (long long)(sec / 3600),
	    (long long)(sec / 60 % 60), (long long)(sec % 60), off < 0 ? '-' : '+',
	    aoff / 3600, aoff / 60 % 60);
}

static void
out_limit(struct buf *b, enum pol_limit l, uint32_t timeout)
{
	switch (l) {
	case POL_LIMIT_HARD: out(b, "hard"); break;
	case POL_LIMIT_SOFT: out(b, "soft"); break;
	case POL_LIMIT_TIMED: out(b, "timed "); out_dur(b, timeout); break;
	case POL_LIMIT_NONE: break;
	}
}

static void
print_zones(struct buf *b, const struct policy *p)
{
	for (size_t i = 1; i < p->nzones; i++) {
		const struct pol_zone *z = &p->zones[i];
		out(b, "zone %s", z->name);
		if (z->desc) {
			out(b, " ");
			out_str(b, z->desc);
		}
		out(b, " {\n");
		if (z->parent != POLICY_NONE)
			out(b, "\tin %s;\n", p->zones[z->parent].name);
		if (z->capacity) {
			out(b, "\tcapacity %u ", z->capacity);
			out_limit(b, z->cap_mode, 0);
			out(b, ";\n");
		}
		if (z->apb != POL_LIMIT_NONE) {
			out(b, "\tantipassback ");
			out_limit(b, z->apb, z->apb_timeout_s);
			out(b, ";\n");
		}
		if (z->two_person_s) {
			out(b, "\ttwo-person ");
			out_dur(b, z->two_person_s);
			out(b, ";\n");
		}
		if (z->escort_group != POLICY_NONE) {
			out(b, "\tescort %s by %s within ", p->groups[z->escort_group].name,
			    p->groups[z->escort_host].name);
			out_dur(b, z->escort_s);
			out(b, ";\n");
		}
		if (z->require_secure)
			out(b, "\trequire secure;\n");
		if (z->require_pin)
			out(b, "\trequire pin;\n");
		if (z->sensitive)
			out(b, "\tsensitive;\n");
		out(b, "}\n");
	}
}

static void
print_tests(struct buf *b, const struct policy *p)
{
	for (size_t i = 0; i < p->ntests; i++) {
		const struct pol_test *t = &p->tests[i];
		out(b, "test ");
		out_str(b, t->name);
		out(b, " {\n\ttap ");
		out_str(b, t->badge ? t->badge : "");
		out(b, " at %s on ", p->gates[t->gate].name);
		out_time(b, p, t->at);
		out(b, "%s;\n", t->dir == POLICY_OUT ? " exit" : "");
		if (t->mode != POLICY_NONE)
			out(b, "\tmode %s;\n", p->modes[t->mode].name);
		if (t->pin) {
			out(b, "\tpin ");
			out_str(b, t->pin);
			out(b, ";\n");
		}
		if (t->cls >= 0)
			out(b, "\tclass %s;\n", t->cls == POLICY_CLASS_SECURE ? "secure" : "legacy");
		for (size_t k = 0; k < t->ninside; k++) {
			out(b, "\tinside ");
			out_str(b, p->creds[t->inside[k].cred].id);
			out(b, " %s ", p->zones[t->inside[k].zone].name);
			out_dur(b, (uint32_t)(t->at - t->inside[k].since > 0 ?
			    t->at - t->inside[k].since : 1));
			out(b, ";\n");
		}
		for (size_t k = 0; k < t->nocc; k++)
			out(b, "\toccupancy %s %lld;\n", p->zones[t->occ[k].zone].name,
			    (long long)t->occ[k].count);
		for (size_t k = 0; k < t->nrecent; k++) {
			out(b, "\trecent ");
			out_str(b, p->creds[t->recent[k].cred].id);
			out(b, " ");
			out_dur(b, (uint32_t)(t->recent[k].at > 0 ? t->recent[k].at : 1));
			out(b, ";\n");
		}
		out(b, "\texpect %s", t->want_effect == POLICY_GRANT ? "grant" : "deny");
		if (t->want_reason >= 0)
			out(b, " %s", policy_reason_code((enum policy_reason)t->want_reason));
		out(b, ";\n}\n");
	}
}

char *
policy_print(const struct policy *p)
{
	struct buf b = { 0 };

	out(&b, "venue ");
	out_str(&b, p->venue ? p->venue : "");
	out(&b, " {\n\ttimezone ");
	out_str(&b, p->tzname ? p->tzname : "UTC");
	out(&b, ";\n}\n");
	if (p->cred_file) {
		out(&b, "credentials ");
		out_str(&b, p->cred_file);
		out(&b, ";\n");
	}
	if (p->responders != POLICY_NONE)
		out(&b, "responders %s;\n", p->groups[p->responders].name);
	for (size_t i = 0; i < p->ngroups; i++) {
		out(&b, "group %s", p->groups[i].name);
		if (p->groups[i].desc) {
			out(&b, " ");
			out_str(&b, p->groups[i].desc);
		}
		out(&b, ";\n");
	}
	for (size_t i = 0; i < p->nhols; i++) {
		out(&b, "holidays %s {\n", p->hols[i].name);
		for (size_t k = 0; k < p->hols[i].ndays; k++) {
			out(&b, "\t");
			out_date(&b, p->hols[i].days[k]);
			out(&b, ";\n");
		}
		out(&b, "}\n");
	}
	for (size_t i = 0; i < p->nscheds; i++) {
		const struct pol_sched *s = &p->scheds[i];
		out(&b, "schedule %s {\n", s->name);
		if (s->always)
			out(&b, "\talways;\n");
		for (size_t k = 0; k < s->nranges; k++) {
			out(&b, "\t");
			out_days(&b, s->ranges[k].days);
			out(&b, " ");
			out_range(&b, s->ranges[k].start, s->ranges[k].end);
			out(&b, ";\n");
		}
		for (size_t k = 0; k < s->nexcept; k++)
			out(&b, "\texcept %s;\n", p->hols[s->except[k]].name);
		for (size_t k = 0; k < s->ndated; k++) {
			out(&b, "\ton ");
			out_date(&b, s->dated[k].day);
			out(&b, " ");
			out_range(&b, s->dated[k].start, s->dated[k].end);
			out(&b, ";\n");
		}
		out(&b, "}\n");
	}
	print_zones(&b, p);
	for (size_t i = 0; i < p->ngates; i++) {
		const struct pol_gate *g = &p->gates[i];
		static const char *const kinds[] = { "door", "turnstile", "lane" };
		out(&b, "gate %s {\n\tfrom %s;\n\tto %s;\n\t%s;\n\tunlock ", g->name,
		    p->zones[g->from].name, p->zones[g->to].name, kinds[g->kind]);
		out_dur(&b, g->unlock_s);
		out(&b, ";\n\theld-open ");
		out_dur(&b, g->held_open_s);
		out(&b, ";\n");
		if (g->exit_reader)
			out(&b, "\texit reader;\n");
		if (g->egress_free)
			out(&b, "\tegress free;\n");
		out(&b, "}\n");
	}
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].mode == POLICY_NONE)
			out_rule(&b, p, &p->rules[i], "");
	for (size_t m = 0; m < p->nmodes; m++) {
		const struct pol_mode *md = &p->modes[m];
		static const char *const what[] = { "lock", "lock exit", "unlock" };
		out(&b, "mode %s {\n", md->name);
		if (md->is_default)
			out(&b, "\tdefault;\n");
		if (md->apb_off)
			out(&b, "\tantipassback off;\n");
		for (size_t a = 0; a < md->nacts; a++) {
			out(&b, "\t%s ", what[md->acts[a].what]);
			out_target(&b, p, &md->acts[a]);
			out(&b, ";\n");
		}
		for (size_t i = 0; i < p->nrules; i++)
			if (p->rules[i].mode == (uint32_t)m)
				out_rule(&b, p, &p->rules[i], "\t");
		out(&b, "}\n");
	}
	print_tests(&b, p);
	return b.s;
}
