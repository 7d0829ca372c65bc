/*
 * gate.h — one gate (door, turnstile, lane) as a state machine on the
 * event loop: locked -> deciding -> unlocked (for the unlock time) ->
 * door open / passage -> relocked, with door supervision (forced, held
 * open, tailgating, tamper, reader offline), request-to-exit, holds
 * (mode unlock, fire alarm) and the journal-failure fail mode.
 *
 * The gate knows nothing of policy or journal: the daemon tells it about
 * durable grants and sensor events, and it answers through hooks (drive
 * the lock, raise/clear an alarm, a passage happened). A grant that is not
 * followed by a passage before relock is discarded: it never counts as
 * entry.
 */
#ifndef GATEWAY_GATE_H
#define GATEWAY_GATE_H

#include <stdint.h>

#include "drivers/driver.h"

struct event_base;
struct gate;

enum gate_state {
	GATE_LOCKED, GATE_DECIDING, GATE_UNLOCKED, GATE_OPEN,
	GATE_HELD_UNLOCKED, GATE_FAIL_LOCKED
};

enum gate_alarm {
	GATE_ALARM_FORCED, GATE_ALARM_HELD_OPEN, GATE_ALARM_TAILGATING,
	GATE_ALARM_TAMPER, GATE_ALARM_OFFLINE, GATE_ALARM_LOCK_FAULT,
	GATE_ALARM__COUNT
};

/* Why a gate is held unlocked (bits). */
#define GATE_HOLD_MODE	0x1	/* the mode unlocks this gate (evacuate) */
#define GATE_HOLD_FIRE	0x2	/* fire-alarm input: life safety first */

enum gate_credit_kind { GATE_CREDIT_GRANT, GATE_CREDIT_REX,
	GATE_CREDIT_MANUAL };

/* One allowed passage: what the grant was for. */
struct gate_credit {
	uint8_t		kind;		/* enum gate_credit_kind */
	uint8_t		dir;		/* enum policy_direction */
	char		cred[64];	/* "" for REX / manual */
	char		holder[96];
	uint64_t	seq;		/* journal seq of the grant record */
};

struct gate_params {
	uint32_t	unlock_ms;	/* lock released this long per grant */
	uint32_t	held_open_ms;	/* door open longer: alarm (0: never) */
	int		fail_safe;	/* journal failure: 1 unlock, 0 stay locked */
	int		egress;		/* the fire alarm unlocks it */
};

struct gate_hooks {
	void	*ctx;
	/* Drive the lock output; 0 ok, <0 failed (the gate raises
	 * lock-fault). Called only on changes. */
	int	(*lock)(void *ctx, struct gate *, int unlocked);
	void	(*alarm)(void *ctx, struct gate *, enum gate_alarm, int raised,
		    const char *detail);
	/* Someone went through: credit is what they went on (kind GRANT with
	 * the credential), or NULL when nobody was entitled (tailgating is
	 * raised separately) or the gate is held unlocked. */
	void	(*passage)(void *ctx, struct gate *,
		    const struct gate_credit *credit);
};

struct gate *gate_new(struct event_base *, const char *name,
	    const struct gate_params *, const struct gate_hooks *);
void	gate_free(struct gate *);
/* New unlock / held-open times after a policy reload. */
void	gate_set_params(struct gate *, const struct gate_params *);

/* A tap is being decided (+1) / its decision path ended (-1). */
void	gate_deciding(struct gate *, int delta);
/* A durably journaled grant (or REX / manual opening): unlock for the
 * unlock time and allow one passage. -1 if the gate is fail-locked. */
int	gate_grant(struct gate *, const struct gate_credit *);
/* A sensor event from the hardware. REX unlocks for one exit. */
void	gate_sensor(struct gate *, enum driver_sensor);
void	gate_offline(struct gate *, int offline);
void	gate_hold(struct gate *, unsigned bits, int on);
/* Journal failure (1) or recovery (0): apply the configured fail mode. */
void	gate_fail(struct gate *, int failed);

enum gate_state gate_state(const struct gate *);
const char *gate_state_name(enum gate_state);
const char *gate_alarm_name(enum gate_alarm);
int	gate_alarm_parse(const char *, enum gate_alarm *);
const char *gate_name(const struct gate *);
int	gate_unlocked(const struct gate *);	/* what the lock was last told */
int	gate_door_open(const struct gate *);
unsigned gate_holds(const struct gate *);
int	gate_failed(const struct gate *);
size_t	gate_credits(const struct gate *);	/* grants not yet passed */
/* Caller's pointer, for hooks. */
void	gate_set_data(struct gate *, void *);
void	*gate_data(const struct gate *);

#endif
