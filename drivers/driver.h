/*
 * driver.h — the one interface every hardware adapter implements: badge
 * readers, door sensors, inputs (fire-alarm panel) and lock outputs.
 *
 * A driver is a table filled with designated initializers; every method is
 * static in the driver's file and the file exports only the table. Drivers
 * never block: the core watches driver_fd() (and calls on_ready on a tick
 * when tick_ms is set), and on_ready reads what is there and hands back
 * normalized, length-checked events by value. Events are messages, never
 * pointers into driver state, because later readers run in their own
 * processes and these structs cross a socket.
 *
 * Trusts: nothing the hardware says; every event is bounded and checked by
 * driver_event_check() before the core uses it.
 */
#ifndef DRIVERS_DRIVER_H
#define DRIVERS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* What an instance is used for; a driver may serve several (kind bits). */
#define DRIVER_READER	0x1
#define DRIVER_SENSOR	0x2
#define DRIVER_INPUT	0x4
#define DRIVER_OUTPUT	0x8

enum driver_event_type {
	DRIVER_EV_TAP = 1,	/* a credential was presented */
	DRIVER_EV_SENSOR,	/* door contact, passage beam, REX, tamper */
	DRIVER_EV_INPUT,	/* a site input changed (fire alarm) */
	DRIVER_EV_OFFLINE,	/* the device stopped answering */
	DRIVER_EV_ONLINE,	/* ... and is back */
	DRIVER_EV_ALARM,	/* the device is refused or attacked: alarm
				 * named by id (TEXT), detail in text;
				 * value 1 raised, 0 cleared */
	DRIVER_EV_NOTICE	/* a line for the operational log (text); with
				 * a tag, the outcome of a request: value 0
				 * done, 1 failed */
};

enum driver_sensor {
	DRIVER_DOOR_OPEN = 1, DRIVER_DOOR_CLOSED, DRIVER_PASSAGE, DRIVER_REX,
	DRIVER_TAMPER
};

enum driver_input { DRIVER_IN_FIRE_ALARM = 1 };

/* How the reader identified the credential. */
enum driver_id_format {
	DRIVER_ID_UID = 1,	/* raw UID bytes: the core prints them as hex */
	DRIVER_ID_TEXT		/* a printable credential id (sim, keypad) */
};

#define DRIVER_ID_MAX	32
#define DRIVER_PIN_MAX	16
#define DRIVER_TEXT_MAX	96
#define DRIVER_ATS_MAX	32

struct driver_event {
	uint8_t		type;		/* enum driver_event_type */
	uint8_t		reader;		/* 0 entry reader, 1 exit reader */
	uint8_t		sensor;		/* enum driver_sensor */
	uint8_t		input;		/* enum driver_input */
	uint8_t		value;		/* input on (1) / off (0) */
	uint8_t		id_format;	/* enum driver_id_format */
	uint8_t		id_len;		/* bytes used in id[] */
	uint8_t		cls;		/* what the reader proved: enum policy_class
					 * (2: the card failed to prove it) */
	uint8_t		id[DRIVER_ID_MAX];
	uint8_t		pin_len;	/* 0: no PIN entered */
	char		pin[DRIVER_PIN_MAX];	/* digits, not NUL-terminated */
	uint32_t	tag;		/* correlation for injected events (sim) */
	int64_t		time_us;	/* when the hardware saw it, UTC */
	char		text[DRIVER_TEXT_MAX];	/* ALARM / NOTICE: printable,
						 * NUL-terminated */
	/* TAP from an ISO 14443-A reader (zero otherwise): what the card
	 * answered to activation, ATQA in the chip's byte order */
	uint8_t		atqa[2];
	uint8_t		sak;
	uint8_t		ats_len;	/* bytes used in ats[] (longer ATS cut) */
	uint8_t		ats[DRIVER_ATS_MAX];
	uint32_t	issue;		/* secure card's issue counter (cls 1) */
};

/* GRANT / DENY go to readers: show and sound the decision (LED, buzzer);
 * a reader without them returns <0, which the core ignores. */
enum driver_cmd_type { DRIVER_CMD_LOCK = 1, DRIVER_CMD_UNLOCK,
	DRIVER_CMD_GRANT, DRIVER_CMD_DENY };

struct driver_cmd {
	uint8_t		type;		/* enum driver_cmd_type */
	uint8_t		reason;		/* free for the core: why (grant, mode...) */
	uint32_t	tag;
};

struct driver {
	const char	*name;
	unsigned	 kind;		/* DRIVER_* bits the driver can serve */
	/* Open one instance with the args string from gateway.conf (may be
	 * ""). 0 and *ctx set, or -1 with a reason in err. */
	int		(*open)(void **ctx, unsigned kind, const char *args,
			    char *err, size_t errlen);
	/* The descriptor the loop watches for readability, or -1 for none. */
	int		(*fd)(void *ctx);
	/* Poll interval in ms for devices that must be polled (0: none). */
	uint32_t	 tick_ms;
	/* Read without blocking; store up to max events. Returns the number
	 * stored (0: nothing yet), or -1 when the device is gone (the core
	 * raises reader-offline and stops watching it). */
	int		(*on_ready)(void *ctx, struct driver_event *evs,
			    size_t max);
	/* Drive an output: 0 done or queued, >0 busy (retry later), <0 fatal. */
	int		(*actuate)(void *ctx, const struct driver_cmd *cmd);
	/* One line about the instance for `gatectl status` (optional). */
	size_t		(*describe)(void *ctx, char *buf, size_t len);
	/* Simulation only (NULL for real hardware): feed an event as if the
	 * device had produced it. It still arrives through fd/on_ready. */
	int		(*inject)(void *ctx, const struct driver_event *ev);
	void		(*close)(void *ctx);
};

/* The registry: every compiled-in driver. */
const struct driver *driver_find(const char *name);
/* The closest registered name to a misspelt one, or NULL. */
const char *driver_suggest(const char *name);
size_t	driver_count(void);
const struct driver *driver_at(size_t i);

/* 0 if ev is well formed (type known, lengths in bounds, id printable for
 * TEXT, PIN digits only), -1 otherwise. */
int	driver_event_check(const struct driver_event *ev);
/* The credential id as the policy knows it: TEXT as is, UID as upper-case
 * hex. Always NUL-terminates; returns -1 if buf is too small. */
int	driver_event_id(const struct driver_event *ev, char *buf, size_t len);

extern const struct driver driver_sim;
extern const struct driver driver_nfc;
extern const struct driver driver_osdp;
extern const struct driver driver_gpio;

#endif
