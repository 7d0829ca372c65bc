/*
 * proto.h — the payloads of the messages between gatewayd's processes
 * (types in msg.h). Fixed-size structs of plain fields and fixed char
 * arrays, so a message is checked by its exact size and each string by
 * msg_str_ok before use; no pointers, no lengths that index anything
 * without a bound check.
 */
#ifndef GATEWAY_PROTO_H
#define GATEWAY_PROTO_H

#include <stdint.h>

#include "drivers/driver.h"
#include "gateway/journal.h"
#include "gateway/sync.h"

/* which device of a gate an event came from / a command goes to */
enum proto_dev {
	PROTO_DEV_READER = 0,
	PROTO_DEV_EXIT_READER,
	PROTO_DEV_SENSORS,
	PROTO_DEV_LOCK,
	PROTO_DEV_FIRE,		/* the site's fire-alarm input (gate unused) */
	PROTO_DEV__COUNT
};

struct msg_pe_hello {
	uint64_t	durable_seq;	/* the engine replays up to here */
	uint64_t	restarts;	/* of the engine, since the parent started */
	int64_t		clock_offset_us;
	char		why[160];	/* why this is a restart ("" first start) */
};

struct msg_ready {
	int64_t		clock_offset_us;	/* --sim-clock, for the parent's
						   own records and restarts */
};

/* A driver event, already checked by driver_event_check in the parent and
 * checked again by the engine. gate is an index in gateway.conf's gates.
 * online/offline of a device that died are events too. */
struct msg_device {
	uint32_t		gate;
	uint32_t		dev;		/* enum proto_dev */
	uint32_t		failed;		/* 1: the driver failed (ev unused) */
	uint32_t		pad;
	struct driver_event	ev;
};

/* The engine submits a record; the parent journals it and answers with a
 * jdone carrying the same cookie, in submission order. */
struct msg_jsubmit {
	uint64_t		cookie;
	/* unlock: 1 = a grant; once durable, the parent itself unlocks the
	 * lock of gate `gate` (which the record must name) before it
	 * answers: the door opens one message sooner, and only on a durable
	 * grant */
	uint32_t		unlock;
	uint32_t		gate;
	struct journal_record	rec;
};

struct msg_jdone {
	uint64_t		cookie;
	int32_t			status;		/* 0 durable, -errno failed */
	uint32_t		pad;
	struct journal_record	rec;		/* with seq, time, hash set */
};

/* A record the parent journaled on its own, once durable (engine: to
 * watchers and state; net: to ship). */
struct msg_jrecord {
	uint32_t		late;	/* 1: an engine record reported failed
					   earlier, made durable by a retry
					   (state replica only) */
	uint32_t		pad;
	struct journal_record	rec;
};

struct msg_actuate {
	uint32_t		gate;
	uint32_t		dev;		/* PROTO_DEV_LOCK or a reader (feedback) */
	struct driver_cmd	cmd;
};

struct msg_actfail {
	uint32_t		gate;
	uint32_t		dev;
	uint32_t		tag;		/* the engine's waiter, 0 none */
	int32_t			rc;
	char			text[120];
};

/* What a lock's driver says of itself, after each command it took (for
 * `gatectl status`: the engine never holds the device). */
struct msg_describe {
	uint32_t		gate;
	uint32_t		dev;
	char			text[160];
};

struct msg_inject {
	uint32_t		gate;
	uint32_t		dev;
	struct driver_event	ev;		/* ev.tag: the engine's waiter */
};

#define PROTO_PATH_MAX	1024
struct msg_file_req {
	uint32_t	id;
	uint32_t	max;		/* largest acceptable size */
	char		path[PROTO_PATH_MAX];
};

/* A file (answer to a request) or a snapshot, in chunks. The first chunk
 * has off 0; the last one has off + n == total. status < 0: -errno and
 * the text says why (no data follows). */
struct msg_file_chunk {
	uint32_t	id;
	int32_t		status;
	uint64_t	total, off;
	uint64_t	seq;		/* a snapshot's: records 1..seq */
	uint32_t	n;
	char		why[200];
	/* then n bytes: the message is sizeof(struct) + n long */
};
#define PROTO_CHUNK_MAX	(48 * 1024)

/* audit export|verify: the engine has parsed and role-checked the request
 * and hands the client's socket to the journal's owner. */
struct msg_audit {
	uint32_t	verify;		/* 1 verify, 0 export */
	uint32_t	argc;
	char		argv[16][128];	/* export's filter arguments */
};

struct msg_audit_done {
	uint64_t	count;
};

struct msg_osdp_key {
	uint32_t	tag;
	uint32_t	addr;
	char		bus[32];
};

struct msg_sync_status {
	struct sync_status	st;
};

struct msg_pn_hello {
	uint64_t	durable_seq;
	uint64_t	acked_seq;	/* the persisted position (sync.state) */
};

struct msg_seq {
	uint64_t	seq;
};

#endif
