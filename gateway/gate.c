/*
 * gate.c — the per-gate state machine and its two timers (relock, held
 * open). Everything here runs on the loop thread.
 *
 * The lock is released while any of: a grant's unlock window is open, the
 * door that was opened in that window has not closed yet, a hold (mode,
 * fire alarm) is on, or the journal failed and the gate is fail-safe. Fire
 * overrides fail-secure: life safety comes before security.
 */
#include <sys/time.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gate.h"

#define GATE_CREDITS_MAX	32

struct gate {
	char			 name[48];
	struct gate_params	 p;
	struct gate_hooks	 h;
	void			*data;
	struct event		*relock_ev, *held_ev;

	int			 deciding;
	int			 unlocking;	/* inside an unlock window */
	int			 relock_wait;	/* window over, door still open */
	int			 unlocked;	/* what the lock was last told */
	int			 door_open;
	int			 opened_legit;	/* this opening was allowed */
	int			 failed;
	unsigned		 holds;
	unsigned		 alarms;	/* raised condition alarms (bits) */

	struct gate_credit	 credits[GATE_CREDITS_MAX];
	size_t			 ncredits, head;
	unsigned		 passages;	/* in this unlock cycle */
};

static const char *const alarm_names[GATE_ALARM__COUNT] = {
	"door-forced", "held-open", "tailgating", "tamper", "reader-offline",
	"lock-fault",
};

const char *
gate_alarm_name(enum gate_alarm a)
{
	return (unsigned)a < GATE_ALARM__COUNT ? alarm_names[a] : "?";
}

int
gate_alarm_parse(const char *s, enum gate_alarm *out)
{
	for (int i = 0; i < GATE_ALARM__COUNT; i++)
		if (strcmp(s, alarm_names[i]) == 0) {
			*out = (enum gate_alarm)i;
			return 0;
		}
	return -1;
}

const char *
gate_state_name(enum gate_state s)
{
	switch (s) {
	case GATE_LOCKED: return "locked";
	case GATE_DECIDING: return "deciding";
	case GATE_UNLOCKED: return "unlocked";
	case GATE_OPEN: return "open";
	case GATE_HELD_UNLOCKED: return "held-unlocked";
	case GATE_FAIL_LOCKED: return "fail-locked";
	}
	return "?";
}

static void
gate_raise(struct gate *g, enum gate_alarm a, int raised, const char *detail)
{
	unsigned bit = 1u << a;

	/* condition alarms are reported on edges only */
	if (raised && (g->alarms & bit) && a != GATE_ALARM_TAILGATING &&
	    a != GATE_ALARM_TAMPER && a != GATE_ALARM_FORCED)
		return;
	if (!raised && !(g->alarms & bit))
		return;
	if (raised)
		g->alarms |= bit;
	else
		g->alarms &= ~bit;
	if (g->h.alarm != NULL)
		g->h.alarm(g->h.ctx, g, a, raised, detail);
}

static int
gate_want_unlocked(const struct gate *g)
{
	if (g->holds & GATE_HOLD_FIRE)
		return 1;
	if (g->failed)
		return g->p.fail_safe;
	return (g->holds & GATE_HOLD_MODE) || g->unlocking || g->relock_wait;
}

/* Bring the lock output in line with what the state says. */
static void
gate_apply(struct gate *g)
{
	int want = gate_want_unlocked(g);

	if (want == g->unlocked)
		return;
	g->unlocked = want;
	if (g->h.lock != NULL && g->h.lock(g->h.ctx, g, want) < 0)
		gate_raise(g, GATE_ALARM_LOCK_FAULT, 1,
		    want ? "lock did not accept unlock" :
		    "lock did not accept lock");
}

/* The unlock cycle is over: unused grants expire, counters reset. */
static void
gate_relock(struct gate *g)
{
	g->unlocking = 0;
	g->relock_wait = 0;
	g->ncredits = 0;
	g->head = 0;
	g->passages = 0;
	evtimer_del(g->relock_ev);
	gate_apply(g);
}

static void
gate_relock_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct gate *g = arg;

	(void)fd;
	(void)ev;
	if (g->door_open) {
		/* a lock cannot latch an open door: relock when it closes */
		g->unlocking = 0;
		g->relock_wait = 1;
		return;
	}
	gate_relock(g);
}

static void
gate_held_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct gate *g = arg;
	char detail[96];

	(void)fd;
	(void)ev;
	snprintf(detail, sizeof(detail), "door open longer than %u.%03us",
	    g->p.held_open_ms / 1000, g->p.held_open_ms % 1000);
	gate_raise(g, GATE_ALARM_HELD_OPEN, 1, detail);
}

static void
gate_ms(struct timeval *tv, uint32_t ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

struct gate *
gate_new(struct event_base *base, const char *name,
    const struct gate_params *p, const struct gate_hooks *h)
{
	struct gate *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->p = *p;
	g->h = *h;
	g->relock_ev = evtimer_new(base, gate_relock_cb, g);
	g->held_ev = evtimer_new(base, gate_held_cb, g);
	if (g->relock_ev == NULL || g->held_ev == NULL) {
		gate_free(g);
		return NULL;
	}
	return g;
}

void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	if (g->relock_ev)
		event_free(g->relock_ev);
	if (g->held_ev)
		event_free(g->held_ev);
	free(g);
}

void
gate_set_params(struct gate *g, const struct gate_params *p)
{
	g->p = *p;
}

void
gate_deciding(struct gate *g, int delta)
{
	g->deciding += delta;
	if (g->deciding < 0)
		g->deciding = 0;
}

static void
gate_open_window(struct gate *g)
{
	struct timeval tv;

	g->unlocking = 1;
	g->relock_wait = 0;
	gate_ms(&tv, g->p.unlock_ms);
	evtimer_add(g->relock_ev, &tv);	/* a new grant extends the window */
	gate_apply(g);
}

int
gate_grant(struct gate *g, const struct gate_credit *c)
{
	if (g->failed && !g->p.fail_safe && !(g->holds & GATE_HOLD_FIRE))
		return -1;
	if (g->ncredits == GATE_CREDITS_MAX) {
		/* the oldest unused grant is forfeited */
		g->head = (g->head + 1) % GATE_CREDITS_MAX;
		g->ncredits--;
	}
	g->credits[(g->head + g->ncredits) % GATE_CREDITS_MAX] = *c;
	g->ncredits++;
	gate_open_window(g);
	return 0;
}

static int
gate_take_credit(struct gate *g, struct gate_credit *out)
{
	if (g->ncredits == 0)
		return 0;
	*out = g->credits[g->head];
	g->head = (g->head + 1) % GATE_CREDITS_MAX;
	g->ncredits--;
	return 1;
}

static void
gate_passage(struct gate *g)
{
	struct gate_credit c;

	if (gate_take_credit(g, &c)) {
		g->passages++;
		if (g->h.passage != NULL)
			g->h.passage(g->h.ctx, g, &c);
		/* turnstile or door: once everyone entitled is through and the
		 * door is shut, relock now rather than at the window's end */
		if (g->ncredits == 0 && !g->door_open && g->unlocking)
			gate_relock(g);
		return;
	}
	if (g->holds || (g->failed && g->p.fail_safe)) {
		/* free passage (evacuation, fire, fail-safe): count, no alarm */
		if (g->h.passage != NULL)
			g->h.passage(g->h.ctx, g, NULL);
		return;
	}
	g->passages++;
	if (g->h.passage != NULL)
		g->h.passage(g->h.ctx, g, NULL);
	gate_raise(g, GATE_ALARM_TAILGATING, 1,
	    "more passages than grants");
}

void
gate_sensor(struct gate *g, enum driver_sensor s)
{
	struct timeval tv;
	struct gate_credit rex;

	switch (s) {
	case DRIVER_DOOR_OPEN:
		if (g->door_open)
			return;
		g->door_open = 1;
		g->opened_legit = g->unlocked;
		if (!g->unlocked)
			gate_raise(g, GATE_ALARM_FORCED, 1,
			    "door opened while locked");
		if (g->p.held_open_ms > 0 && !g->holds) {
			gate_ms(&tv, g->p.held_open_ms);
			evtimer_add(g->held_ev, &tv);
		}
		break;
	case DRIVER_DOOR_CLOSED:
		if (!g->door_open)
			return;
		g->door_open = 0;
		evtimer_del(g->held_ev);
		gate_raise(g, GATE_ALARM_HELD_OPEN, 0, "door closed");
		/* relock when the window is over, or when the people entitled
		 * have all gone through */
		if (g->relock_wait || (g->unlocking && g->ncredits == 0 &&
		    g->passages > 0))
			gate_relock(g);
		break;
	case DRIVER_PASSAGE:
		gate_passage(g);
		break;
	case DRIVER_REX:
		memset(&rex, 0, sizeof(rex));
		rex.kind = GATE_CREDIT_REX;
		rex.dir = 1;		/* POLICY_OUT */
		gate_grant(g, &rex);
		break;
	case DRIVER_TAMPER:
		gate_raise(g, GATE_ALARM_TAMPER, 1, "tamper switch");
		break;
	}
}

void
gate_offline(struct gate *g, int offline)
{
	gate_raise(g, GATE_ALARM_OFFLINE, offline,
	    offline ? "reader stopped answering" : "reader back");
}

void
gate_hold(struct gate *g, unsigned bits, int on)
{
	if (on)
		g->holds |= bits;
	else
		g->holds &= ~bits;
	if (g->holds)
		evtimer_del(g->held_ev);
	gate_apply(g);
}

void
gate_fail(struct gate *g, int failed)
{
	g->failed = failed != 0;
	if (g->failed && !g->p.fail_safe) {
		/* fail-secure: nothing already granted may still go through */
		g->unlocking = 0;
		g->relock_wait = 0;
		g->ncredits = 0;
		evtimer_del(g->relock_ev);
	}
	gate_apply(g);
}

enum gate_state
gate_state(const struct gate *g)
{
	if (g->failed && !g->p.fail_safe && !(g->holds & GATE_HOLD_FIRE))
		return GATE_FAIL_LOCKED;
	if (g->holds || g->failed)
		return GATE_HELD_UNLOCKED;
	if (g->door_open)
		return GATE_OPEN;
	if (g->unlocked)
		return GATE_UNLOCKED;
	if (g->deciding > 0)
		return GATE_DECIDING;
	return GATE_LOCKED;
}

const char *
gate_name(const struct gate *g)
{
	return g->name;
}

int
gate_unlocked(const struct gate *g)
{
	return g->unlocked;
}

int
gate_door_open(const struct gate *g)
{
	return g->door_open;
}

unsigned
gate_holds(const struct gate *g)
{
	return g->holds;
}

int
gate_failed(const struct gate *g)
{
	return g->failed;
}

size_t
gate_credits(const struct gate *g)
{
	return g->ncredits;
}

void
gate_set_data(struct gate *g, void *d)
{
	g->data = d;
}

void *
gate_data(const struct gate *g)
{
	return g->data;
}
