/*
 * model.c — the compiled policy's indexes, accessors and lifetime. Read-only
 * after load: every function here is safe to call from several threads.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"

static uint64_t
model_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

void
pol_index_build(struct pol_index *ix, size_t n,
    const char *(*name_of)(const void *, size_t), const void *arr)
{
	size_t size = 16;

	while (size < n * 2 + 1)
		size *= 2;
	ix->slots = calloc(size, sizeof(*ix->slots));
	ix->mask = size - 1;
	if (ix->slots == NULL) {
		ix->mask = 0;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t s = model_hash(name_of(arr, i)) & ix->mask;
		while (ix->slots[s] != 0) {
			/* first declaration wins; duplicates are load errors */
			if (strcmp(name_of(arr, ix->slots[s] - 1), name_of(arr, i)) == 0)
				goto next;
			s = (s + 1) & ix->mask;
		}
		ix->slots[s] = (uint32_t)i + 1;
next:		;
	}
}

uint32_t
pol_index_get(const struct pol_index *ix, const char *name,
    const char *(*name_of)(const void *, size_t), const void *arr)
{
	size_t s;

	if (ix->slots == NULL || name == NULL)
		return POLICY_NONE;
	s = model_hash(name) & ix->mask;
	while (ix->slots[s] != 0) {
		if (strcmp(name_of(arr, ix->slots[s] - 1), name) == 0)
			return ix->slots[s] - 1;
		s = (s + 1) & ix->mask;
	}
	return POLICY_NONE;
}

int
pol_cred_in_group(const struct pol_cred *c, uint32_t group)
{
	uint32_t lo = 0, hi = c->ngroups;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (c->groups[mid] == group)
			return 1;
		if (c->groups[mid] < group)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
model_day_in(const int32_t *days, size_t n, int32_t day)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (days[mid] == day)
			return 1;
		if (days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
pol_sched_open(const struct policy *p, uint32_t sched, int32_t day,
    unsigned minute)
{
	const struct pol_sched *s;
	unsigned wd;

	if (sched == POLICY_NONE)
		return 1;
	s = &p->scheds[sched];
	if (s->always)
		return 1;
	/* dated openings apply even on holidays: that is what they are for */
	for (size_t i = 0; i < s->ndated; i++)
		if (s->dated[i].day == day && minute >= s->dated[i].start &&
		    minute < s->dated[i].end)
			return 1;
	for (size_t i = 0; i < s->nexcept; i++) {
		const struct pol_holidays *h = &p->hols[s->except[i]];
		if (model_day_in(h->days, h->ndays, day))
			return 0;
	}
	wd = tz_weekday(day);
	for (size_t i = 0; i < s->nranges; i++) {
		const struct pol_range *r = &s->ranges[i];
		if ((r->days & (1u << wd)) && minute >= r->start && minute < r->end)
			return 1;
	}
	return 0;
}

/* ---- public accessors ---- */

#define NAME_OF(type, field)						\
static const char *							\
model_##type##_name(const void *arr, size_t i)				\
{									\
	return ((const struct pol_##type *)arr)[i].field;		\
}
NAME_OF(zone, name)
NAME_OF(gate, name)
NAME_OF(mode, name)
NAME_OF(cred, id)
#undef NAME_OF

void
pol_indexes_build(struct policy *p)
{
	free(p->zone_index.slots);
	free(p->gate_index.slots);
	free(p->mode_index.slots);
	free(p->cred_index.slots);
	pol_index_build(&p->zone_index, p->nzones, model_zone_name, p->zones);
	pol_index_build(&p->gate_index, p->ngates, model_gate_name, p->gates);
	pol_index_build(&p->mode_index, p->nmodes, model_mode_name, p->modes);
	pol_index_build(&p->cred_index, p->ncreds, model_cred_name, p->creds);
}

uint32_t
policy_gate_find(const struct policy *p, const char *name)
{
	return pol_index_get(&p->gate_index, name, model_gate_name, p->gates);
}

uint32_t
policy_zone_find(const struct policy *p, const char *name)
{
	return pol_index_get(&p->zone_index, name, model_zone_name, p->zones);
}

uint32_t
policy_mode_find(const struct policy *p, const char *name)
{
	return pol_index_get(&p->mode_index, name, model_mode_name, p->modes);
}

uint32_t
policy_cred_find(const struct policy *p, const char *id)
{
	return pol_index_get(&p->cred_index, id, model_cred_name, p->creds);
}

uint32_t
policy_mode_default(const struct policy *p)
{
	return p->default_mode;
}

const char *
policy_gate_name(const struct policy *p, uint32_t i)
{
	return i < p->ngates ? p->gates[i].name : NULL;
}

const char *
policy_zone_name(const struct policy *p, uint32_t i)
{
	if (i == POL_ALL_ZONES)
		return "*";
	return i < p->nzones ? p->zones[i].name : NULL;
}

const char *
policy_mode_name(const struct policy *p, uint32_t i)
{
	return i < p->nmodes ? p->modes[i].name : NULL;
}

const char *
policy_cred_id(const struct policy *p, uint32_t i)
{
	return i < p->ncreds ? p->creds[i].id : NULL;
}

const char *
policy_cred_holder(const struct policy *p, uint32_t i)
{
	return i < p->ncreds ? p->creds[i].holder : NULL;
}

int
policy_cred_class(const struct policy *p, uint32_t i)
{
	return i < p->ncreds ? p->creds[i].cls : POLICY_CLASS_LEGACY;
}

uint32_t
policy_zone_parent(const struct policy *p, uint32_t z)
{
	return z < p->nzones ? p->zones[z].parent : POLICY_NONE;
}

int
policy_zone_contains(const struct policy *p, uint32_t outer, uint32_t inner)
{
	if (outer == POL_ALL_ZONES)
		return inner != POL_OUTSIDE;
	if (outer >= p->nzones)
		return 0;
	while (inner < p->nzones) {
		if (inner == outer)
			return 1;
		inner = p->zones[inner].parent;
	}
	return 0;
}

uint32_t
policy_zone_capacity(const struct policy *p, uint32_t z)
{
	return z < p->nzones ? p->zones[z].capacity : 0;
}

int
policy_gate_info(const struct policy *p, uint32_t g, struct policy_gate_info *gi)
{
	const struct pol_gate *gate;

	if (g >= p->ngates)
		return -1;
	gate = &p->gates[g];
	gi->name = gate->name;
	gi->from = gate->from;
	gi->to = gate->to;
	gi->kind = (enum policy_gate_kind)gate->kind;
	gi->egress_free = gate->egress_free;
	gi->exit_reader = gate->exit_reader;
	gi->unlock_s = gate->unlock_s;
	gi->held_open_s = gate->held_open_s;
	return 0;
}

unsigned
policy_mode_gate(const struct policy *p, uint32_t mode, uint32_t gate)
{
	if (mode >= p->nmodes || gate >= p->ngates)
		return 0;
	return p->modes[mode].gate_bits[gate];
}

int
policy_mode_apb_off(const struct policy *p, uint32_t mode)
{
	return mode < p->nmodes && p->modes[mode].apb_off;
}

const char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

const char *
policy_venue(const struct policy *p)
{
	return p->venue ? p->venue : "";
}

const char *
policy_timezone(const struct policy *p)
{
	return p->tzname ? p->tzname : "UTC";
}

size_t
policy_count(const struct policy *p, enum policy_count what)
{
	switch (what) {
	case POLICY_COUNT_ZONES:	return p->nzones - 1;	/* not `outside` */
	case POLICY_COUNT_GATES:	return p->ngates;
	case POLICY_COUNT_RULES:	return p->nrules;
	case POLICY_COUNT_CREDENTIALS:	return p->ncreds;
	case POLICY_COUNT_GROUPS:	return p->ngroups;
	case POLICY_COUNT_SCHEDULES:	return p->nscheds;
	case POLICY_COUNT_MODES:	return p->nmodes;
	case POLICY_COUNT_TESTS:	return p->ntests;
	}
	return 0;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->file);
	free(p->venue);
	free(p->tzname);
	free(p->cred_file);
	if (p->tz)
		tz_free(p->tz);
	for (size_t i = 0; i < p->nzones; i++) {
		free(p->zones[i].name);
		free(p->zones[i].desc);
		free(p->zones[i].rules);
	}
	free(p->zones);
	for (size_t i = 0; i < p->ngates; i++) {
		free(p->gates[i].name);
		free(p->gates[i].enters);
	}
	free(p->gates);
	for (size_t i = 0; i < p->ngroups; i++) {
		free(p->groups[i].name);
		free(p->groups[i].desc);
	}
	free(p->groups);
	for (size_t i = 0; i < p->nhols; i++) {
		free(p->hols[i].name);
		free(p->hols[i].days);
	}
	free(p->hols);
	for (size_t i = 0; i < p->nscheds; i++) {
		free(p->scheds[i].name);
		free(p->scheds[i].ranges);
		free(p->scheds[i].except);
		free(p->scheds[i].dated);
	}
	free(p->scheds);
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].who_name);
	free(p->rules);
	for (size_t i = 0; i < p->nmodes; i++) {
		free(p->modes[i].name);
		free(p->modes[i].acts);
		free(p->modes[i].gate_bits);
	}
	free(p->modes);
	for (size_t i = 0; i < p->ncreds; i++) {
		free(p->creds[i].id);
		free(p->creds[i].holder);
		free(p->creds[i].groups);
		/* PIN hashes are secrets of a kind: do not leave them in freed heap */
		if (p->creds[i].pin) {
			explicit_bzero(p->creds[i].pin, sizeof(*p->creds[i].pin));
			free(p->creds[i].pin);
		}
		if (p->creds[i].duress) {
			explicit_bzero(p->creds[i].duress, sizeof(*p->creds[i].duress));
			free(p->creds[i].duress);
		}
	}
	free(p->creds);
	for (size_t i = 0; i < p->ntests; i++) {
		struct pol_test *t = &p->tests[i];
		free(t->name);
		free(t->badge);
		free(t->pin);
		free(t->inside);
		free(t->occ);
		free(t->recent);
	}
	free(p->tests);
	free(p->cred_index.slots);
	free(p->gate_index.slots);
	free(p->zone_index.slots);
	free(p->mode_index.slots);
	free(p);
}
