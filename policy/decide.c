/*
 * decide.c — the evaluator: may this badge pass this gate now? A pure
 * function of the compiled policy, the request and the state the caller
 * keeps (who is inside, occupancy, recent taps). Also the words around a
 * decision: reason codes and texts, the one-line explanation for gate staff,
 * venue-local time formatting and parsing, and PIN hashing.
 *
 * Trusts the model (every index valid, built by the loader); trusts nothing
 * in the request (indices are range-checked) nor the state callbacks (an
 * error from them is a deny). The decide path allocates nothing and compares
 * no strings: everything is an index or a bit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/model.h"
#include "policy/sha256.h"

/* ---- reason codes ---- */

static const struct {
	const char	*code;
	const char	*text;
} decide_reasons[POLICY_R__COUNT] = {
	[POLICY_R_PERMIT] =		{ "permit", "allowed in" },
	[POLICY_R_EXIT] =		{ "exit", "allowed out" },
	[POLICY_R_DURESS] =		{ "duress", "allowed in under duress PIN: silent alarm raised" },
	[POLICY_R_APB_SOFT] =		{ "apb-soft", "allowed, but anti-passback was broken (alarm raised)" },
	[POLICY_R_CAPACITY_SOFT] =	{ "capacity-soft", "allowed, but the zone is over its limit (alarm raised)" },
	[POLICY_R_RESPONDER] =		{ "responder", "responder: allowed through the lock" },
	[POLICY_R_NO_PERMIT] =		{ "no-permit", "this badge has no access here" },
	[POLICY_R_FORBIDDEN] =		{ "forbidden", "a rule forbids this badge here" },
	[POLICY_R_OUTSIDE_SCHEDULE] =	{ "outside-schedule", "closed to this badge at this time" },
	[POLICY_R_UNKNOWN_BADGE] =	{ "unknown-badge", "badge not known" },
	[POLICY_R_NOT_YET_VALID] =	{ "not-yet-valid", "badge not valid yet" },
	[POLICY_R_EXPIRED] =		{ "expired", "badge expired" },
	[POLICY_R_SECURE_REQUIRED] =	{ "secure-required", "a secure badge is needed here" },
	[POLICY_R_CLASS_MISMATCH] =	{ "class-mismatch", "badge read as a bare copy: possibly cloned" },
	[POLICY_R_PIN_REQUIRED] =	{ "pin-required", "PIN needed" },
	[POLICY_R_PIN_WRONG] =		{ "pin-wrong", "wrong PIN" },
	[POLICY_R_APB_ALREADY_INSIDE] =	{ "apb-already-inside", "already inside: exit first" },
	[POLICY_R_APB_NOT_INSIDE] =	{ "apb-not-inside", "not recorded as inside: enter first" },
	[POLICY_R_ZONE_FULL] =		{ "zone-full", "zone is full" },
	[POLICY_R_TWO_PERSON_WAITING] =	{ "two-person-waiting", "waiting for a second person to badge" },
	[POLICY_R_ESCORT_REQUIRED] =	{ "escort-required", "needs an escort: host must badge first" },
	[POLICY_R_MODE_LOCKED] =	{ "mode-locked", "gate locked in the current mode" },
	[POLICY_R_UNKNOWN_GATE] =	{ "unknown-gate", "unknown gate" },
	[POLICY_R_ERROR] =		{ "error", "system error: denied to be safe" },
	[POLICY_R_AUTH_FAILED] =	{ "auth-failed", "card failed authentication: possibly cloned" },
	[POLICY_R_ISSUE_REPLACED] =	{ "issue-replaced", "card replaced by a newer issue: lost or stolen" },
};

const char *
policy_reason_code(enum policy_reason r)
{
	if ((unsigned)r >= POLICY_R__COUNT)
		return "error";
	return decide_reasons[r].code;
}

const char *
policy_reason_text(enum policy_reason r)
{
	if ((unsigned)r >= POLICY_R__COUNT)
		return decide_reasons[POLICY_R_ERROR].text;
	return decide_reasons[r].text;
}

int
policy_reason_parse(const char *code, enum policy_reason *out)
{
	if (code == NULL)
		return -1;
	for (unsigned i = 0; i < POLICY_R__COUNT; i++)
		if (strcmp(decide_reasons[i].code, code) == 0) {
			*out = (enum policy_reason)i;
			return 0;
		}
	return -1;
}

/* ---- PINs ---- */

enum { PIN_NONE, PIN_OK, PIN_DURESS, PIN_WRONG };

/* PINs are short; anything longer is cut so a hostile keypad cannot make us
 * hash megabytes. 64 bytes is far beyond any real PIN. */
#define PIN_MAX	64

static void
decide_pin_digest(const uint8_t *salt, size_t saltlen, const char *pin,
    size_t pinlen, uint8_t out[32])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, salt, saltlen);
	sha256_update(&c, pin, pinlen);
	sha256_final(&c, out);
	explicit_bzero(&c, sizeof(c));
}

/* Constant time so a keypad cannot learn the hash byte by byte. */
static int
decide_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int
decide_pin_check(const struct pol_cred *c, const char *pin)
{
	static const struct pol_pin none;
	const struct pol_pin *pp, *dp;
	uint8_t md[32];
	size_t n;
	int ok = 0, duress = 0;

	if (pin == NULL)
		return PIN_NONE;
	n = strnlen(pin, PIN_MAX);
	/* both hashes are always computed: timing says nothing about which */
	pp = c->pin ? c->pin : &none;
	dp = c->duress ? c->duress : &none;
	decide_pin_digest(pp->salt, pp->salt_len, pin, n, md);
	ok = c->pin != NULL && decide_ct_equal(md, pp->hash, 32);
	decide_pin_digest(dp->salt, dp->salt_len, pin, n, md);
	duress = c->duress != NULL && decide_ct_equal(md, dp->hash, 32);
	explicit_bzero(md, sizeof(md));
	/* a duress match wins: raising a silent alarm by mistake is the safe
	 * side of a policy that gave both PINs the same value */
	if (duress)
		return PIN_DURESS;
	return ok ? PIN_OK : PIN_WRONG;
}

size_t
policy_pin_hash(const uint8_t *salt, size_t saltlen, const char *pin,
    char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[32];
	size_t need, o = 0;

	/* the loader takes 4 to 32 salt bytes; hash exactly what is printed */
	if (saltlen > 32)
		saltlen = 32;
	if (pin == NULL)
		pin = "";
	need = 7 + 2 * saltlen + 1 + 64;
	decide_pin_digest(salt, saltlen, pin, strnlen(pin, PIN_MAX), md);
	if (len > 0) {
		char tmp[7 + 2 * 32 + 1 + 64 + 1];

		memcpy(tmp, "sha256:", 7);
		o = 7;
		for (size_t i = 0; i < saltlen; i++) {
			tmp[o++] = hex[salt[i] >> 4];
			tmp[o++] = hex[salt[i] & 15];
		}
		tmp[o++] = ':';
		for (size_t i = 0; i < 32; i++) {
			tmp[o++] = hex[md[i] >> 4];
			tmp[o++] = hex[md[i] & 15];
		}
		tmp[o] = '\0';
		snprintf(buf, len, "%s", tmp);
		explicit_bzero(tmp, sizeof(tmp));
	}
	explicit_bzero(md, sizeof(md));
	return need;
}

/* ---- time ---- */

static int64_t
decide_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static void
decide_local(const struct policy *p, int64_t utc, int32_t *day,
    unsigned *minute)
{
	int64_t local = utc + (p->tz ? tz_offset(p->tz, utc, NULL) : 0);
	int64_t d = decide_floordiv(local, 86400);

	*day = (int32_t)d;
	*minute = (unsigned)((local - d * 86400) / 60);
}

size_t
policy_format_time(const struct policy *p, int64_t utc, char *buf,
    size_t len)
{
	const char *abbr = NULL;
	int64_t local, d, y, s;
	unsigned m, dd;
	int32_t off;
	int n;

	off = p->tz ? tz_offset(p->tz, utc, &abbr) : 0;
	local = utc + off;
	d = decide_floordiv(local, 86400);
	s = local - d * 86400;
	tz_civil_from_days(d, &y, &m, &dd);
	n = snprintf(buf, len, "%04lld-%02u-%02u %02lld:%02lld:%02lld %s",
	    (long long)y, m, dd, (long long)(s / 3600),
	    (long long)(s / 60 % 60), (long long)(s % 60),
	    abbr ? abbr : "UTC");
	return n < 0 ? 0 : (size_t)n;
}

int
policy_parse_time(const struct policy *p, const char *s, int64_t *utc)
{
	int64_t secs;
	int absolute = 0;

	if (s == NULL || tz_parse_datetime(s, strlen(s), &secs, &absolute) != 0)
		return -1;
	if (absolute || p->tz == NULL) {
		*utc = secs;
		return 0;
	}
	/* in a spring-forward gap: the instant the gap ends; in a fall-back
	 * hour: the first of the two (documented in tz.h) */
	(void)tz_from_local(p->tz, secs, utc);
	return 0;
}

/* ---- deciding ---- */

/* Per-decision facts computed once. */
struct ctx {
	const struct policy	*p;
	const struct policy_request *rq;
	const struct pol_cred	*c;
	const struct policy_state_ops *ops;
	void			*sctx;
	uint32_t		 mode;
	int			 secure;	/* the reader proved a secure credential */
	int			 pin;		/* PIN_* */
	int32_t			 day;		/* venue-local */
	unsigned		 minute;
	int			 tdone;
	/* the passage as seen by the policy: into dst, entering zones[] (or,
	 * going the other way, leaving them) */
	uint32_t		 dst;
	const uint32_t		*zones;
	size_t			 nzones;
	unsigned		 bits;		/* mode's gate bits, as seen from dst */
};

/* Deep enough for any venue; the loader's nesting limit is far lower. */
#define DECIDE_MAXDEPTH	64

static void
decide_time(struct ctx *x)
{
	if (!x->tdone) {
		decide_local(x->p, x->rq->now, &x->day, &x->minute);
		x->tdone = 1;
	}
}

/* Membership: badges hold a handful of groups, where a linear scan of the
 * sorted list beats bisection; long lists go to the model's bisection. */
static inline int
decide_in_group(const struct pol_cred *c, uint32_t g)
{
	if (c->ngroups > 8)
		return pol_cred_in_group(c, g);
	for (uint32_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] >= g)
			return c->groups[i] == g;
	return 0;
}

static int
decide_who(const struct ctx *x, const struct pol_rule *r)
{
	switch (r->who_kind) {
	case POL_WHO_EVERYONE:
		return 1;
	case POL_WHO_GROUP:
		return decide_in_group(x->c, r->who);
	case POL_WHO_CRED:
		return r->who == x->rq->cred;
	}
	return 0;
}

static int
decide_sched(struct ctx *x, uint32_t sched)
{
	if (sched == POLICY_NONE)
		return 1;
	decide_time(x);
	return pol_sched_open(x->p, sched, x->day, x->minute);
}

static int
decide_pin_holds(const struct ctx *x)
{
	return x->pin == PIN_OK || x->pin == PIN_DURESS;
}

static enum policy_reason
decide_pin_reason(const struct ctx *x)
{
	return x->pin == PIN_NONE ? POLICY_R_PIN_REQUIRED : POLICY_R_PIN_WRONG;
}

static void
decide_set(struct policy_decision *out, enum policy_effect e,
    enum policy_reason r)
{
	out->effect = e;
	out->reason = r;
}

static void
decide_rule(const struct policy *p, struct policy_decision *out, uint32_t line)
{
	out->rule_file = p->file;
	out->rule_line = line;
}

/* What decided is the credential's own row (validity, class): point there. */
static void
decide_cred_row(const struct policy *p, const struct pol_cred *c,
    struct policy_decision *out)
{
	if (p->cred_file != NULL && c->line > 0) {
		out->rule_file = p->cred_file;
		out->rule_line = c->line;
	}
}

/* The innermost zone (z or an ancestor) where `require secure|pin` is
 * written, so a deny can point at the line that caused it. */
static uint32_t
decide_require_line(const struct policy *p, uint32_t z, int pin)
{
	while (z < p->nzones) {
		const struct pol_zone *zz = &p->zones[z];
		if (pin ? zz->require_pin : zz->require_secure)
			return zz->loc.line;
		z = zz->parent;
	}
	return 0;
}

static int
decide_responder(const struct ctx *x)
{
	return x->p->responders != POLICY_NONE &&
	    pol_cred_in_group(x->c, x->p->responders);
}

/* Is any authorised tap by another credential (in group `grp`, unless NONE)
 * recent enough? */
static int
decide_recent(const struct ctx *x, uint32_t grp, uint32_t window)
{
	const struct policy_request *rq = x->rq;

	if (rq->recent == NULL)
		return 0;
	for (size_t i = 0; i < rq->nrecent; i++) {
		const struct policy_recent *r = &rq->recent[i];
		if (!(r->flags & POLICY_RECENT_AUTHORISED))
			continue;
		if (r->cred == rq->cred || r->cred >= x->p->ncreds)
			continue;
		if (r->at > rq->now || rq->now - r->at > (int64_t)window)
			continue;
		if (grp != POLICY_NONE &&
		    !pol_cred_in_group(&x->p->creds[r->cred], grp))
			continue;
		return 1;
	}
	return 0;
}

/* State lookups; a missing callback means "no state kept": nobody inside. */
static int
decide_inside(const struct ctx *x, uint32_t zone, int64_t *since)
{
	*since = 0;
	if (x->ops == NULL || x->ops->inside == NULL)
		return 0;
	return x->ops->inside(x->sctx, x->rq->cred, zone, since);
}

static int64_t
decide_occupancy(const struct ctx *x, uint32_t zone)
{
	if (x->ops == NULL || x->ops->occupancy == NULL)
		return 0;
	return x->ops->occupancy(x->sctx, zone);
}

static void
decide_error(struct policy_decision *out, uint32_t zone)
{
	decide_set(out, POLICY_DENY, POLICY_R_ERROR);
	out->flags &= POLICY_F_SILENT_ALARM;
	out->guard_zone = zone;
	out->detail = 0;
	out->rule_file = NULL;
	out->rule_line = 0;
}

/* The line of the mode action that locks this gate (for the record). */
static uint32_t
decide_lock_line(const struct policy *p, uint32_t mode, const struct pol_gate *g,
    uint32_t gate, int exitside)
{
	const struct pol_mode *m = &p->modes[mode];
	enum pol_act_what want;

	/* actions name the physical reader side */
	if (g->to == POL_OUTSIDE)
		exitside = !exitside;
	want = exitside ? POL_ACT_LOCK_EXIT : POL_ACT_LOCK;

	for (size_t i = 0; i < m->nacts; i++) {
		const struct pol_action *a = &m->acts[i];
		if (a->what != want)
			continue;
		if ((a->target_kind == POL_T_GATE && a->target == gate) ||
		    (a->target_kind == POL_T_ZONE &&
		    policy_zone_contains(p, a->target, g->to)))
			return a->loc.line;
	}
	for (size_t i = 0; i < m->nacts; i++)
		if (m->acts[i].what == want &&
		    m->acts[i].target_kind != POL_T_GATE &&
		    m->acts[i].target_kind != POL_T_ZONE)
			return m->acts[i].loc.line;
	return m->loc.line;
}

/* Exit: granted unless anti-passback says the holder never went in. */
static void
decide_exit(struct ctx *x, struct policy_decision *out)
{
	const struct policy *p = x->p;

	decide_set(out, POLICY_GRANT, POLICY_R_EXIT);
	/* a held-open exit is free passage: nothing to check against */
	if (p->modes[x->mode].apb_off ||
	    (x->bits & POLICY_GATE_UNLOCK_EXIT))
		return;
	for (size_t i = 0; i < x->nzones; i++) {
		uint32_t z = x->zones[i];
		const struct pol_zone *zz = &p->zones[z];
		int64_t since;
		int in;

		/* timed anti-passback only limits re-entry */
		if (zz->apb != POL_LIMIT_HARD && zz->apb != POL_LIMIT_SOFT)
			continue;
		if ((in = decide_inside(x, z, &since)) < 0) {
			decide_error(out, z);
			return;
		}
		if (in)
			continue;
		out->guard_zone = z;
		decide_rule(p, out, zz->loc.line);
		if (zz->apb == POL_LIMIT_HARD) {
			decide_set(out, POLICY_DENY, POLICY_R_APB_NOT_INSIDE);
			return;
		}
		decide_set(out, POLICY_GRANT, POLICY_R_APB_SOFT);
		out->flags |= POLICY_F_ALARM_APB;
	}
}

/* Guards of the entered zones, innermost first. Two-person comes last, over
 * all zones, so "pending" means every other check has passed. */
static void
decide_guards(struct ctx *x, struct policy_decision *out)
{
	const struct policy *p = x->p;
	int apb_off = p->modes[x->mode].apb_off;

	for (size_t i = 0; i < x->nzones; i++) {
		uint32_t z = x->zones[i];
		const struct pol_zone *zz = &p->zones[z];

		if (zz->apb != POL_LIMIT_NONE && !apb_off) {
			int64_t since;
			int in = decide_inside(x, z, &since);

			if (in < 0) {
				decide_error(out, z);
				return;
			}
			if (in && zz->apb == POL_LIMIT_TIMED &&
			    x->rq->now - since >= (int64_t)zz->apb_timeout_s)
				in = 0;		/* forgiven */
			if (in) {
				out->guard_zone = z;
				out->detail = since;
				decide_rule(p, out, zz->loc.line);
				if (zz->apb == POL_LIMIT_SOFT) {
					out->flags |= POLICY_F_ALARM_APB;
					if (out->reason == POLICY_R_PERMIT)
						out->reason = POLICY_R_APB_SOFT;
				} else {
					decide_set(out, POLICY_DENY,
					    POLICY_R_APB_ALREADY_INSIDE);
					return;
				}
			}
		}
		if (zz->capacity > 0) {
			int64_t n = decide_occupancy(x, z);

			if (n < 0) {
				decide_error(out, z);
				return;
			}
			if (n >= (int64_t)zz->capacity) {
				out->guard_zone = z;
				out->detail = zz->capacity;
				decide_rule(p, out, zz->loc.line);
				if (zz->cap_mode == POL_LIMIT_SOFT) {
					out->flags |= POLICY_F_ALARM_CAPACITY;
					if (out->reason == POLICY_R_PERMIT)
						out->reason = POLICY_R_CAPACITY_SOFT;
				} else {
					decide_set(out, POLICY_DENY,
					    POLICY_R_ZONE_FULL);
					return;
				}
			}
		}
		if (zz->escort_group != POLICY_NONE &&
		    pol_cred_in_group(x->c, zz->escort_group) &&
		    !decide_recent(x, zz->escort_host, zz->escort_s)) {
			out->guard_zone = z;
			out->detail = zz->escort_s;
			decide_rule(p, out, zz->loc.line);
			decide_set(out, POLICY_DENY, POLICY_R_ESCORT_REQUIRED);
			return;
		}
	}
	for (size_t i = 0; i < x->nzones; i++) {
		uint32_t z = x->zones[i];
		const struct pol_zone *zz = &p->zones[z];

		if (zz->two_person_s == 0)
			continue;
		if (decide_recent(x, POLICY_NONE, zz->two_person_s)) {
			out->flags |= POLICY_F_TWO_PERSON;
			continue;
		}
		out->guard_zone = z;
		out->detail = zz->two_person_s;
		decide_rule(p, out, zz->loc.line);
		out->flags |= POLICY_F_PENDING;
		decide_set(out, POLICY_DENY, POLICY_R_TWO_PERSON_WAITING);
		return;
	}
}

/* How close a failed permit came: the most actionable failure wins. */
static int
decide_fail_rank(enum policy_reason r)
{
	switch (r) {
	case POLICY_R_PIN_WRONG:	return 3;
	case POLICY_R_PIN_REQUIRED:	return 2;
	case POLICY_R_SECURE_REQUIRED:	return 1;
	default:			return 0;
	}
}

/* Entry: rules of the target zone (they include every rule into an
 * enclosing zone and `into *`), zone requirements, then guards. */
static void
decide_entry(struct ctx *x, struct policy_decision *out)
{
	const struct policy *p = x->p;
	const struct pol_zone *zt = &p->zones[x->dst];
	uint32_t permit = POLICY_NONE, forbid = POLICY_NONE;
	uint32_t failed = POLICY_NONE, closed = POLICY_NONE, fail_line = 0;
	enum policy_reason fail_reason = POLICY_R_NO_PERMIT;

	for (size_t i = 0; i < zt->nrules; i++) {
		uint32_t ri = zt->rules[i];
		const struct pol_rule *r = &p->rules[ri];

		if (r->mode != POLICY_NONE && r->mode != x->mode)
			continue;
		if (r->effect == POL_FORBID) {
			if (ri >= forbid || !decide_who(x, r) ||
			    !decide_sched(x, r->sched))
				continue;
			/* `unless` exempts only when every listed condition
			 * holds, as `require` needs every condition */
			if ((r->cond_secure || r->cond_pin ||
			    r->cond_group != POLICY_NONE) &&
			    (!r->cond_secure || x->secure) &&
			    (!r->cond_pin || decide_pin_holds(x)) &&
			    (r->cond_group == POLICY_NONE ||
			    decide_in_group(x->c, r->cond_group)))
				continue;
			forbid = ri;
			continue;
		}
		if (ri >= permit || !decide_who(x, r))
			continue;
		if (!decide_sched(x, r->sched)) {
			if (ri < closed)
				closed = ri;
			continue;
		}
		/* zone requirements are conditions of every permit into it */
		enum policy_reason why = POLICY_R_PERMIT;
		uint32_t line = r->loc.line;
		if ((r->cond_secure || zt->need_secure) && !x->secure) {
			why = POLICY_R_SECURE_REQUIRED;
			if (!r->cond_secure)
				line = decide_require_line(p, x->dst, 0);
		} else if ((r->cond_pin || zt->need_pin) &&
		    !decide_pin_holds(x)) {
			why = decide_pin_reason(x);
			if (!r->cond_pin)
				line = decide_require_line(p, x->dst, 1);
		}
		if (why != POLICY_R_PERMIT) {
			int rank = decide_fail_rank(why);
			int cur = decide_fail_rank(fail_reason);
			if (rank > cur || (rank == cur && ri < failed)) {
				fail_reason = why;
				failed = ri;
				fail_line = line;
			}
			continue;
		}
		permit = ri;
	}
	if (forbid != POLICY_NONE) {
		decide_set(out, POLICY_DENY, POLICY_R_FORBIDDEN);
		decide_rule(p, out, p->rules[forbid].loc.line);
		return;
	}
	if (permit == POLICY_NONE) {
		if (failed != POLICY_NONE) {
			decide_set(out, POLICY_DENY, fail_reason);
			decide_rule(p, out, fail_line);
		} else if (closed != POLICY_NONE) {
			decide_set(out, POLICY_DENY, POLICY_R_OUTSIDE_SCHEDULE);
			decide_rule(p, out, p->rules[closed].loc.line);
		}
		return;		/* else default deny: no-permit, no rule */
	}
	decide_set(out, POLICY_GRANT, POLICY_R_PERMIT);
	decide_rule(p, out, p->rules[permit].loc.line);
	decide_guards(x, out);
	if (out->effect == POLICY_GRANT && x->pin == PIN_DURESS)
		out->reason = POLICY_R_DURESS;
}

int
policy_decide(const struct policy *p, const struct policy_request *rq,
    const struct policy_state_ops *ops, void *state_ctx,
    struct policy_decision *out)
{
	const struct pol_gate *g;
	struct ctx x;
	unsigned bits;
	uint32_t chain[DECIDE_MAXDEPTH];
	enum policy_direction dir;

	memset(out, 0, sizeof(*out));
	out->effect = POLICY_DENY;
	out->reason = POLICY_R_NO_PERMIT;
	out->zone = POLICY_NONE;
	out->guard_zone = POLICY_NONE;
	if (p == NULL || rq == NULL) {
		out->reason = POLICY_R_ERROR;
		return -1;
	}
	if (rq->gate >= p->ngates) {
		out->reason = POLICY_R_UNKNOWN_GATE;
		return -1;
	}
	g = &p->gates[rq->gate];

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.rq = rq;
	x.ops = ops;
	x.sctx = state_ctx;
	x.mode = rq->mode == POLICY_NONE ? p->default_mode : rq->mode;
	if (x.mode >= p->nmodes || (rq->dir != POLICY_IN && rq->dir != POLICY_OUT)) {
		out->reason = POLICY_R_ERROR;
		return -1;
	}
	/* Whoever it claims to be, a card that failed to prove it is out. */
	if (rq->cls == POLICY_CLASS_FAILED) {
		out->reason = POLICY_R_AUTH_FAILED;
		return 0;
	}
	if (rq->cred >= p->ncreds) {
		out->reason = POLICY_R_UNKNOWN_BADGE;
		return 0;
	}
	/*
	 * A gate into `outside` is a way out of the venue: its entry reader
	 * asks to leave every zone around `from`, its exit reader to come
	 * back into them. Every other gate enters g->enters going to -> from.
	 */
	dir = rq->dir;
	if (g->to == POL_OUTSIDE) {
		dir = dir == POLICY_IN ? POLICY_OUT : POLICY_IN;
		x.dst = g->from;
		for (uint32_t z = g->from; z < p->nzones && z != POL_OUTSIDE &&
		    x.nzones < DECIDE_MAXDEPTH; z = p->zones[z].parent)
			chain[x.nzones++] = z;
		x.zones = chain;
		out->zone = dir == POLICY_OUT ? POL_OUTSIDE : g->from;
	} else {
		x.dst = g->to;
		x.zones = g->enters;
		x.nzones = g->nenters;
		out->zone = dir == POLICY_OUT ? g->from : g->to;
	}
	x.c = &p->creds[rq->cred];
	x.secure = rq->cls == POLICY_CLASS_SECURE;
	/* Checked first and whatever the outcome: someone under duress must
	 * raise the alarm even at a door that will not open for them. */
	x.pin = decide_pin_check(x.c, rq->pin);
	if (x.pin == PIN_DURESS)
		out->flags |= POLICY_F_SILENT_ALARM;

	/* A card issued secure that answers only with its UID is a copy. */
	if (x.c->cls == POLICY_CLASS_SECURE && !x.secure) {
		decide_set(out, POLICY_DENY, POLICY_R_CLASS_MISMATCH);
		decide_cred_row(p, x.c, out);
		return 0;
	}
	/* An older issue of a replaced card (lost, stolen): it still proves
	 * itself, so only the counter tells. */
	if (x.secure && rq->issue < x.c->issue) {
		decide_set(out, POLICY_DENY, POLICY_R_ISSUE_REPLACED);
		decide_cred_row(p, x.c, out);
		out->detail = x.c->issue;
		return 0;
	}
	bits = p->modes[x.mode].gate_bits[rq->gate];
	if (g->to == POL_OUTSIDE)	/* the bits name the reader's side */
		bits = ((bits & (POLICY_GATE_LOCK_ENTRY | POLICY_GATE_UNLOCK_ENTRY)) << 1) |
		    ((bits & (POLICY_GATE_LOCK_EXIT | POLICY_GATE_UNLOCK_EXIT)) >> 1);
	x.bits = bits;
	if (dir == POLICY_OUT) {
		/* Leaving is not refused for an expired badge: nobody is kept
		 * in because a date passed. */
		if (bits & POLICY_GATE_LOCK_EXIT) {
			if (decide_responder(&x)) {
				decide_set(out, POLICY_GRANT, POLICY_R_RESPONDER);
				decide_rule(p, out, p->responders_loc.line);
			} else {
				decide_set(out, POLICY_DENY, POLICY_R_MODE_LOCKED);
				decide_rule(p, out, decide_lock_line(p, x.mode,
				    g, rq->gate, 1));
			}
			return 0;
		}
		decide_exit(&x, out);
		return 0;
	}
	if (rq->now < x.c->valid_from) {
		decide_set(out, POLICY_DENY, POLICY_R_NOT_YET_VALID);
		decide_cred_row(p, x.c, out);
		out->detail = x.c->valid_from;
		return 0;
	}
	if (rq->now >= x.c->valid_until) {	/* exclusive: the loader makes
						 * "until DATE" the next midnight */
		decide_set(out, POLICY_DENY, POLICY_R_EXPIRED);
		decide_cred_row(p, x.c, out);
		out->detail = x.c->valid_until;
		return 0;
	}
	if (bits & POLICY_GATE_LOCK_ENTRY) {
		/* the lock is the mode's word: only responders pass, and the
		 * load-time invariant guarantees they may enter every zone */
		if (decide_responder(&x)) {
			decide_set(out, POLICY_GRANT, POLICY_R_RESPONDER);
			decide_rule(p, out, p->responders_loc.line);
		} else {
			decide_set(out, POLICY_DENY, POLICY_R_MODE_LOCKED);
			decide_rule(p, out, decide_lock_line(p, x.mode, g,
			    rq->gate, 0));
		}
		return 0;
	}
	decide_entry(&x, out);
	return 0;
}

/* ---- words for people ---- */

struct sbuf {
	char	*buf;
	size_t	 len, n;	/* n: length needed so far */
};

static void sb_add(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	if (b->n < b->len)
		k = vsnprintf(b->buf + b->n, b->len - b->n, fmt, ap);
	else
		k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		b->n += (size_t)k;
}

size_t
policy_decision_where(const struct policy_decision *d, char *buf, size_t len)
{
	int n;

	if (d->rule_file == NULL)
		/* a grant with no rule is the built-in right to leave */
		n = snprintf(buf, len, "%s", d->effect == POLICY_GRANT ?
		    "built-in exit" : "default deny");
	else
		n = snprintf(buf, len, "%s:%u", d->rule_file, d->rule_line);
	return n < 0 ? 0 : (size_t)n;
}

static const char *
explain_zone(const struct policy *p, uint32_t z)
{
	if (z >= p->nzones)
		return "?";
	return p->zones[z].name;
}

static void
explain_duration(struct sbuf *b, int64_t s)
{
	if (s < 0)
		s = -s;
	if (s < 120)
		sb_add(b, "%llds", (long long)s);
	else if (s < 2 * 3600)
		sb_add(b, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		sb_add(b, "%lld hours", (long long)(s / 3600));
	else
		sb_add(b, "%lld days", (long long)(s / 86400));
}

/* "2026-01-03" or "2026-01-03 14:30": local, the date alone when it is
 * midnight (validity dates are written as dates). */
static void
explain_when(struct sbuf *b, const struct policy *p, int64_t t)
{
	char tmp[64];

	policy_format_time(p, t, tmp, sizeof(tmp));
	if (strncmp(tmp + 10, " 00:00:00", 9) == 0)
		tmp[10] = '\0';
	else
		tmp[16] = '\0';
	sb_add(b, "%s", tmp);
}

/* An end of validity at midnight reads best as the last day it covered. */
static void
explain_until(struct sbuf *b, const struct policy *p, int64_t t)
{
	char tmp[64];

	policy_format_time(p, t, tmp, sizeof(tmp));
	if (strncmp(tmp + 10, " 00:00:00", 9) == 0) {
		policy_format_time(p, t - 1, tmp, sizeof(tmp));
		tmp[10] = '\0';
		sb_add(b, "%s", tmp);
	} else
		explain_when(b, p, t);
}

static void
explain_at(struct sbuf *b, const struct policy_decision *d)
{
	if (d->rule_file != NULL)
		sb_add(b, " (%s:%u)", d->rule_file, d->rule_line);
}

size_t
policy_explain(const struct policy *p, const struct policy_request *rq,
    const struct policy_decision *d, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	const char *zone = explain_zone(p, d->zone);
	const char *gz = d->guard_zone != POLICY_NONE ?
	    explain_zone(p, d->guard_zone) : zone;
	const char *gate = rq->gate < p->ngates ? p->gates[rq->gate].name : "?";
	uint32_t mode = rq->mode == POLICY_NONE ? p->default_mode : rq->mode;
	const char *mname = mode < p->nmodes ? p->modes[mode].name : "?";
	const struct pol_rule *r = NULL;

	if (len > 0)
		buf[0] = '\0';
	/* the rule that decided, when the location names one */
	if (d->rule_file != NULL && d->rule_file == p->file)
		for (size_t i = 0; i < p->nrules; i++)
			if (p->rules[i].loc.line == d->rule_line) {
				r = &p->rules[i];
				break;
			}
	sb_add(&b, "%s: ", d->effect == POLICY_GRANT ? "granted" : "denied");
	switch (d->reason) {
	case POLICY_R_PERMIT:
		sb_add(&b, "permit into %s", zone);
		if (d->rule_file)
			sb_add(&b, " at %s:%u", d->rule_file, d->rule_line);
		break;
	case POLICY_R_EXIT:
		sb_add(&b, "exit to %s through %s", zone, gate);
		break;
	case POLICY_R_DURESS:
		sb_add(&b, "duress PIN entered: silent alarm raised; permit "
		    "into %s", zone);
		explain_at(&b, d);
		break;
	case POLICY_R_APB_SOFT:
		if (rq->dir == POLICY_OUT)
			sb_add(&b, "not recorded as inside %s", gz);
		else {
			sb_add(&b, "already inside %s since ", gz);
			explain_when(&b, p, d->detail);
		}
		sb_add(&b, " (anti-passback alarm raised)");
		break;
	case POLICY_R_CAPACITY_SOFT:
		sb_add(&b, "%s is over its limit of %lld (alarm raised)", gz,
		    (long long)d->detail);
		break;
	case POLICY_R_RESPONDER:
		sb_add(&b, "responder through %s, locked in mode %s", gate,
		    mname);
		break;
	case POLICY_R_NO_PERMIT:
		sb_add(&b, "no rule lets this badge into %s", zone);
		if (d->rule_file == NULL)
			sb_add(&b, " (default deny)");
		break;
	case POLICY_R_FORBIDDEN:
		sb_add(&b, "forbidden into %s", zone);
		explain_at(&b, d);
		if (r != NULL && r->effect == POL_FORBID &&
		    (r->cond_secure || r->cond_pin ||
		    r->cond_group != POLICY_NONE)) {
			const char *sep = "";
			sb_add(&b, " unless ");
			if (r->cond_secure) {
				sb_add(&b, "a secure badge");
				sep = " and ";
			}
			if (r->cond_pin) {
				sb_add(&b, "%sthe PIN", sep);
				sep = " and ";
			}
			if (r->cond_group != POLICY_NONE &&
			    r->cond_group < p->ngroups)
				sb_add(&b, "%sin group %s", sep,
				    p->groups[r->cond_group].name);
		}
		break;
	case POLICY_R_OUTSIDE_SCHEDULE:
		sb_add(&b, "%s is closed to this badge at this time", zone);
		if (r != NULL && r->sched != POLICY_NONE &&
		    r->sched < p->nscheds)
			sb_add(&b, " (open during %s, %s:%u)",
			    p->scheds[r->sched].name, d->rule_file,
			    d->rule_line);
		break;
	case POLICY_R_UNKNOWN_BADGE:
		sb_add(&b, "badge not known");
		break;
	case POLICY_R_NOT_YET_VALID:
		sb_add(&b, "badge not valid until ");
		explain_when(&b, p, d->detail);
		sb_add(&b, " (in ");
		explain_duration(&b, d->detail - rq->now);
		sb_add(&b, ")");
		break;
	case POLICY_R_EXPIRED:
		sb_add(&b, "badge expired ");
		explain_until(&b, p, d->detail);
		sb_add(&b, " (");
		explain_duration(&b, rq->now - d->detail);
		sb_add(&b, " ago)");
		break;
	case POLICY_R_SECURE_REQUIRED:
		sb_add(&b, "%s needs a secure badge, this one was read as "
		    "bare UID", zone);
		explain_at(&b, d);
		break;
	case POLICY_R_CLASS_MISMATCH:
		sb_add(&b, "badge issued as secure answered with its bare UID: "
		    "possibly cloned, keep it and call security");
		break;
	case POLICY_R_PIN_REQUIRED:
		sb_add(&b, "PIN needed for %s", zone);
		explain_at(&b, d);
		break;
	case POLICY_R_PIN_WRONG:
		sb_add(&b, "wrong PIN for %s", zone);
		break;
	case POLICY_R_APB_ALREADY_INSIDE:
		sb_add(&b, "already inside %s since ", gz);
		explain_when(&b, p, d->detail);
		sb_add(&b, ": exit first");
		if (d->guard_zone < p->nzones &&
		    p->zones[d->guard_zone].apb == POL_LIMIT_TIMED) {
			sb_add(&b, " or wait until ");
			explain_when(&b, p, d->detail +
			    p->zones[d->guard_zone].apb_timeout_s);
		}
		break;
	case POLICY_R_APB_NOT_INSIDE:
		sb_add(&b, "not recorded as inside %s: cannot exit before "
		    "entering", gz);
		break;
	case POLICY_R_ZONE_FULL:
		sb_add(&b, "%s is full (limit %lld)", gz, (long long)d->detail);
		break;
	case POLICY_R_TWO_PERSON_WAITING:
		sb_add(&b, "%s needs two people: a second authorised badge "
		    "within ", gz);
		explain_duration(&b, d->detail);
		break;
	case POLICY_R_ESCORT_REQUIRED:
		sb_add(&b, "%s needs an escort", gz);
		if (d->guard_zone < p->nzones) {
			uint32_t h = p->zones[d->guard_zone].escort_host;
			if (h < p->ngroups)
				sb_add(&b, ": someone in %s must badge here "
				    "within ", p->groups[h].name);
			else
				sb_add(&b, ": a host must badge here within ");
			explain_duration(&b, d->detail);
		}
		break;
	case POLICY_R_MODE_LOCKED:
		sb_add(&b, "%s is locked in mode %s", gate, mname);
		break;
	case POLICY_R_UNKNOWN_GATE:
		sb_add(&b, "unknown gate");
		break;
	case POLICY_R_AUTH_FAILED:
		sb_add(&b, "card failed authentication (wrong key or MAC): "
		    "possibly cloned, keep it and call security");
		break;
	case POLICY_R_ISSUE_REPLACED:
		sb_add(&b, "card issue %lu was replaced by issue %lld: "
		    "reported lost or stolen, keep it", (unsigned long)rq->issue,
		    (long long)d->detail);
		break;
	case POLICY_R_ERROR:
	default:
		sb_add(&b, "system error while deciding, denied to be safe");
		break;
	}
	if (d->reason != POLICY_R_DURESS && (d->flags & POLICY_F_SILENT_ALARM))
		sb_add(&b, " [duress PIN: silent alarm raised]");
	if (d->flags & POLICY_F_TWO_PERSON)
		sb_add(&b, " [second of two]");
	return b.n;
}
