/*
 * test_gate.c — the gate state machine on a real event_base with short
 * timers: grants unlock and relock, a grant with no passage is not entry,
 * tailgating, forced, held open, REX, holds and both fail modes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "gateway/gate.h"

struct rec {
	int		locks, unlocks, last_unlocked;
	int		alarms[GATE_ALARM__COUNT], cleared[GATE_ALARM__COUNT];
	int		passages, unattributed;
	char		last_cred[64];
	int		lock_fails;	/* make the lock hook fail */
};

static int
hook_lock(void *ctx, struct gate *g, int unlocked)
{
	struct rec *r = ctx;

	(void)g;
	r->last_unlocked = unlocked;
	if (unlocked)
		r->unlocks++;
	else
		r->locks++;
	return r->lock_fails ? -1 : 0;
}

static void
hook_alarm(void *ctx, struct gate *g, enum gate_alarm a, int raised,
    const char *detail)
{
	struct rec *r = ctx;

	(void)g;
	assert_non_null(detail);
	if (raised)
		r->alarms[a]++;
	else
		r->cleared[a]++;
}

static void
hook_passage(void *ctx, struct gate *g, const struct gate_credit *c)
{
	struct rec *r = ctx;

	(void)g;
	r->passages++;
	if (c == NULL || c->kind != GATE_CREDIT_GRANT)
		r->unattributed++;
	else
		snprintf(r->last_cred, sizeof(r->last_cred), "%s", c->cred);
}

struct fx {
	struct event_base	*base;
	struct gate		*g;
	struct rec		 r;
};

static void
run_ms(struct event_base *base, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct fx *
fx_new(int fail_safe)
{
	static struct fx f;
	struct gate_params p = { .unlock_ms = 60, .held_open_ms = 100,
	    .fail_safe = fail_safe, .egress = 1 };
	struct gate_hooks h = { .ctx = &f.r, .lock = hook_lock,
	    .alarm = hook_alarm, .passage = hook_passage };

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	assert_non_null(f.base);
	f.g = gate_new(f.base, "g1", &p, &h);
	assert_non_null(f.g);
	return &f;
}

static void
fx_free(struct fx *f)
{
	gate_free(f->g);
	event_base_free(f->base);
}

static struct gate_credit
credit(const char *cred)
{
	struct gate_credit c;

	memset(&c, 0, sizeof(c));
	c.kind = GATE_CREDIT_GRANT;
	snprintf(c.cred, sizeof(c.cred), "%s", cred);
	return c;
}

static void
test_grant_passage_relock(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-1");

	(void)st;
	assert_int_equal(gate_state(f->g), GATE_LOCKED);
	gate_deciding(f->g, 1);
	assert_int_equal(gate_state(f->g), GATE_DECIDING);
	assert_int_equal(f->r.unlocks, 0);	/* nothing before the grant */
	assert_int_equal(gate_grant(f->g, &c), 0);
	gate_deciding(f->g, -1);
	assert_int_equal(f->r.unlocks, 1);
	assert_int_equal(gate_state(f->g), GATE_UNLOCKED);
	gate_sensor(f->g, DRIVER_DOOR_OPEN);
	assert_int_equal(gate_state(f->g), GATE_OPEN);
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_int_equal(f->r.passages, 1);
	assert_string_equal(f->r.last_cred, "N-1");
	gate_sensor(f->g, DRIVER_DOOR_CLOSED);
	/* everyone entitled is through and the door shut: relock at once */
	assert_int_equal(f->r.locks, 1);
	assert_int_equal(gate_state(f->g), GATE_LOCKED);
	for (int a = 0; a < GATE_ALARM__COUNT; a++)
		assert_int_equal(f->r.alarms[a], 0);
	fx_free(f);
}

static void
test_grant_without_passage_is_not_entry(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-2");

	(void)st;
	gate_grant(f->g, &c);
	assert_int_equal(gate_credits(f->g), 1);
	run_ms(f->base, 120);			/* unlock window 60 ms */
	assert_int_equal(f->r.locks, 1);
	assert_int_equal(gate_credits(f->g), 0);
	assert_int_equal(f->r.passages, 0);
	/* a late passage is not on that grant: it is tailgating */
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_int_equal(f->r.unattributed, 1);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 1);
	fx_free(f);
}

static void
test_tailgating(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-3");

	(void)st;
	gate_grant(f->g, &c);
	gate_sensor(f->g, DRIVER_DOOR_OPEN);
	gate_sensor(f->g, DRIVER_PASSAGE);
	gate_sensor(f->g, DRIVER_PASSAGE);	/* two on one grant */
	assert_int_equal(f->r.passages, 2);
	assert_int_equal(f->r.unattributed, 1);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 1);
	assert_int_equal(f->r.alarms[GATE_ALARM_FORCED], 0);
	fx_free(f);
}

static void
test_two_grants_two_passages(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit a = credit("A"), b = credit("B");

	(void)st;
	gate_grant(f->g, &a);
	gate_grant(f->g, &b);
	assert_int_equal(f->r.unlocks, 1);
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_string_equal(f->r.last_cred, "A");
	assert_int_equal(gate_unlocked(f->g), 1);	/* B still to come */
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_string_equal(f->r.last_cred, "B");
	assert_int_equal(gate_unlocked(f->g), 0);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 0);
	fx_free(f);
}

static void
test_forced_and_held_open(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-4");

	(void)st;
	gate_sensor(f->g, DRIVER_DOOR_OPEN);	/* while locked */
	assert_int_equal(f->r.alarms[GATE_ALARM_FORCED], 1);
	gate_sensor(f->g, DRIVER_DOOR_CLOSED);

	gate_grant(f->g, &c);
	gate_sensor(f->g, DRIVER_DOOR_OPEN);
	assert_int_equal(f->r.alarms[GATE_ALARM_FORCED], 1);	/* no new one */
	run_ms(f->base, 80);	/* window over, door still open: stays unlocked */
	assert_int_equal(gate_unlocked(f->g), 1);
	assert_int_equal(f->r.alarms[GATE_ALARM_HELD_OPEN], 0);
	run_ms(f->base, 60);	/* 140 ms > held-open 100 ms */
	assert_int_equal(f->r.alarms[GATE_ALARM_HELD_OPEN], 1);
	gate_sensor(f->g, DRIVER_DOOR_CLOSED);
	assert_int_equal(f->r.cleared[GATE_ALARM_HELD_OPEN], 1);
	assert_int_equal(gate_unlocked(f->g), 0);	/* relocked on close */
	fx_free(f);
}

static void
test_rex(void **st)
{
	struct fx *f = fx_new(0);

	(void)st;
	gate_sensor(f->g, DRIVER_REX);
	assert_int_equal(gate_unlocked(f->g), 1);
	gate_sensor(f->g, DRIVER_DOOR_OPEN);
	assert_int_equal(f->r.alarms[GATE_ALARM_FORCED], 0);
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_int_equal(f->r.unattributed, 1);	/* not an entry */
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 0);
	gate_sensor(f->g, DRIVER_DOOR_CLOSED);
	assert_int_equal(gate_unlocked(f->g), 0);
	gate_sensor(f->g, DRIVER_TAMPER);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAMPER], 1);
	gate_offline(f->g, 1);
	gate_offline(f->g, 1);			/* edge only */
	assert_int_equal(f->r.alarms[GATE_ALARM_OFFLINE], 1);
	gate_offline(f->g, 0);
	assert_int_equal(f->r.cleared[GATE_ALARM_OFFLINE], 1);
	fx_free(f);
}

static void
test_fail_secure_and_fire(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-5");

	(void)st;
	gate_grant(f->g, &c);
	assert_int_equal(gate_unlocked(f->g), 1);
	gate_fail(f->g, 1);		/* journal failed: lock, drop grants */
	assert_int_equal(gate_unlocked(f->g), 0);
	assert_int_equal(gate_state(f->g), GATE_FAIL_LOCKED);
	assert_int_equal(gate_grant(f->g, &c), -1);
	assert_int_equal(gate_unlocked(f->g), 0);
	gate_hold(f->g, GATE_HOLD_FIRE, 1);	/* life safety wins */
	assert_int_equal(gate_unlocked(f->g), 1);
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 0);
	gate_hold(f->g, GATE_HOLD_FIRE, 0);
	assert_int_equal(gate_unlocked(f->g), 0);
	gate_fail(f->g, 0);
	assert_int_equal(gate_state(f->g), GATE_LOCKED);
	assert_int_equal(gate_grant(f->g, &c), 0);
	fx_free(f);
}

static void
test_fail_safe_and_mode_hold(void **st)
{
	struct fx *f = fx_new(1);

	(void)st;
	gate_fail(f->g, 1);
	assert_int_equal(gate_unlocked(f->g), 1);
	assert_int_equal(gate_state(f->g), GATE_HELD_UNLOCKED);
	gate_fail(f->g, 0);
	assert_int_equal(gate_unlocked(f->g), 0);
	gate_hold(f->g, GATE_HOLD_MODE, 1);
	assert_int_equal(gate_unlocked(f->g), 1);
	gate_sensor(f->g, DRIVER_DOOR_OPEN);
	run_ms(f->base, 150);	/* held unlocked: no held-open alarm */
	assert_int_equal(f->r.alarms[GATE_ALARM_HELD_OPEN], 0);
	assert_int_equal(f->r.alarms[GATE_ALARM_FORCED], 0);
	gate_sensor(f->g, DRIVER_PASSAGE);
	assert_int_equal(f->r.unattributed, 1);
	assert_int_equal(f->r.alarms[GATE_ALARM_TAILGATING], 0);
	fx_free(f);
}

static void
test_lock_fault(void **st)
{
	struct fx *f = fx_new(0);
	struct gate_credit c = credit("N-6");
	enum gate_alarm a;

	(void)st;
	f->r.lock_fails = 1;
	gate_grant(f->g, &c);
	assert_int_equal(f->r.alarms[GATE_ALARM_LOCK_FAULT], 1);
	assert_int_equal(gate_alarm_parse("held-open", &a), 0);
	assert_int_equal(a, GATE_ALARM_HELD_OPEN);
	assert_int_equal(gate_alarm_parse("nope", &a), -1);
	assert_string_equal(gate_state_name(GATE_FAIL_LOCKED), "fail-locked");
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grant_passage_relock),
		cmocka_unit_test(test_grant_without_passage_is_not_entry),
		cmocka_unit_test(test_tailgating),
		cmocka_unit_test(test_two_grants_two_passages),
		cmocka_unit_test(test_forced_and_held_open),
		cmocka_unit_test(test_rex),
		cmocka_unit_test(test_fail_secure_and_fire),
		cmocka_unit_test(test_fail_safe_and_mode_hold),
		cmocka_unit_test(test_lock_fault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
