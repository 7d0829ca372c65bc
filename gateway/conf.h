/*
 * conf.h — gateway.conf: what the installer says about this gateway (its
 * id, where the policy and journal live, the control socket, which Unix
 * groups hold which role, and each gate's hardware). Separate from the
 * administrator's policy. See docs/gateway-conf.md.
 *
 * The parser is pure: it reads the text it is handed, resolves relative
 * paths against the conf file's directory, and returns every problem as a
 * diagnostic (policy_diag_add), never printing. Names of Unix groups and
 * policy gates are checked later, by the daemon, against the live system.
 */
#ifndef GATEWAY_CONF_H
#define GATEWAY_CONF_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "policy/policy.h"

#define CONF_NAME_MAX	48
#define CONF_PATH_MAX	512
#define CONF_ARGS_MAX	256

enum conf_role { CONF_ROLE_STAFF, CONF_ROLE_ADMIN, CONF_ROLE_AUDITOR,
	CONF_ROLE_CONSOLE,	/* may speak for signed-in people (docs/console.md) */
	CONF_ROLE__COUNT };
enum conf_fail { CONF_FAIL_SECURE, CONF_FAIL_SAFE };

struct conf_loc {
	uint32_t	line, col;
};

/* One piece of hardware: a driver name from the registry and its args. */
struct conf_hw {
	int		 set;
	char		 driver[32];
	char		 args[CONF_ARGS_MAX];
	struct conf_loc	 loc;
};

struct conf_gate {
	char		 name[CONF_NAME_MAX];
	struct conf_loc	 loc;
	char		 policy_gate[CONF_NAME_MAX];	/* defaults to name */
	struct conf_loc	 policy_loc;
	struct conf_hw	 reader, exit_reader, sensors, lock;
	enum conf_fail	 fail;
};

/* sync { ... }: the central rsyslog over RELP/TLS (docs/gateway-conf.md) */
struct conf_sync {
	int		 set;
	char		 server[256];	/* host name the certificate must carry */
	char		 address[256];	/* connect here ("" = resolve server) */
	uint16_t	 port;		/* default 2514 */
	char		 ca[CONF_PATH_MAX], cert[CONF_PATH_MAX],
			 key[CONF_PATH_MAX];	/* resolved */
	uint32_t	 window;	/* records in flight, default 128 */
	uint32_t	 ack_timeout_s;	/* default 10 */
	uint32_t	 retry_max_s;	/* backoff cap, default 60 */
	uint64_t	 backlog_alarm;	/* records unsent; default 10000 */
	struct conf_loc	 loc;
};

/* An OSDP RS-485 bus (drivers/osdp.h); gates name BUS:ADDR in args. */
#define CONF_OSDP_BUSES	8
struct conf_osdp_bus {
	char		 name[32];
	char		 device[256];
	uint32_t	 baud;		/* default 9600 */
	char		 keys[CONF_PATH_MAX];	/* resolved; "" if secure off */
	int		 secure;	/* default on */
	uint32_t	 poll_ms;	/* default 50 */
	struct conf_loc	 loc;
};

struct gateway_conf {
	char		*file;
	char		 id[32];
	char		 policy[CONF_PATH_MAX];		/* resolved */
	char		 journal[CONF_PATH_MAX];	/* resolved */
	uint64_t	 segment_bytes, retain_bytes;	/* 0: journal default */
	int64_t		 retain_days;
	char		 socket[CONF_PATH_MAX];
	char		 role_group[CONF_ROLE__COUNT][64];	/* "" = nobody */
	struct conf_loc	 role_loc[CONF_ROLE__COUNT];
	struct conf_hw	 fire_alarm;			/* optional input */
	struct conf_sync sync;				/* optional */
	struct conf_gate *gates;
	size_t		 ngates;
	struct conf_osdp_bus osdp[CONF_OSDP_BUSES];
	size_t		 nosdp;
};

/* Parse text (named file in diagnostics). Returns NULL if there was any
 * error; every problem found is in diags either way. */
/* Read the file (at most CONF_FILE_MAX bytes) and parse it; every
 * diagnostic rendered to diag (NULL: none). NULL with why in err. */
#define CONF_FILE_MAX	(1u << 20)
struct gateway_conf *conf_load(const char *path, FILE *diag, char *err,
	    size_t errlen);
struct gateway_conf *conf_parse(const char *file, const char *text,
	    size_t len, struct policy_diags *diags);
void	conf_free(struct gateway_conf *);
const char *conf_role_name(enum conf_role);
const struct conf_gate *conf_gate_find(const struct gateway_conf *,
	    const char *name);
/* Normalized print of what was understood (malloc'd). */
char	*conf_print(const struct gateway_conf *);

#endif
