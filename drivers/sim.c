/*
 * sim.c — simulated hardware: one instance can be a reader, sensors, an
 * input and a lock. Events are injected (by the control socket, through
 * driver->inject) into a socketpair and come back out through the same
 * fd/on_ready path real hardware uses, so the core cannot tell the
 * difference. The lock output records every command it receives, so tests
 * and `gatectl status` can see what the lock was told; with "log=PATH" it
 * also appends each one to that file ("unlock" / "lock", one per line),
 * which tests read to see what a lock was told while nothing else could
 * be asked (the engine down).
 *
 * Owns: its socketpair. Trusts: nothing it reads (exact size checked).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"

struct sim {
	int		 sv[2];		/* [0] read by on_ready, [1] written by inject */
	unsigned	 kind;
	int		 unlocked;	/* last lock command */
	uint64_t	 ncmds, nunlock;
	int		 offline_after;	/* args "offline": report gone at once */
	int		 log;		/* "log=PATH": every command, or -1 */
};

static int
sim_open(void **ctxp, unsigned kind, const char *args, char *err,
    size_t errlen)
{
	struct sim *s;

	if (args != NULL && *args != '\0' && strcmp(args, "offline") != 0 &&
	    strncmp(args, "log=", 4) != 0) {
		snprintf(err, errlen, "sim: unknown argument \"%s\" "
		    "(expected nothing, \"offline\" or \"log=PATH\")", args);
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "sim: out of memory");
		return -1;
	}
	/* SEQPACKET keeps one event per message: a short read is an error */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, s->sv) == -1) {
		snprintf(err, errlen, "sim: socketpair: %s", strerror(errno));
		free(s);
		return -1;
	}
	s->kind = kind;
	s->offline_after = args != NULL && strcmp(args, "offline") == 0;
	s->log = -1;
	if (args != NULL && strncmp(args, "log=", 4) == 0 &&
	    (s->log = open(args + 4, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		snprintf(err, errlen, "sim: %s: %s", args + 4, strerror(errno));
		close(s->sv[0]);
		close(s->sv[1]);
		free(s);
		return -1;
	}
	*ctxp = s;
	return 0;
}

static int
sim_fd(void *ctx)
{
	struct sim *s = ctx;

	return s->sv[0];
}

static int
sim_on_ready(void *ctx, struct driver_event *evs, size_t max)
{
	struct sim *s = ctx;
	size_t n = 0;

	if (s->offline_after)
		return -1;
	while (n < max) {
		struct driver_event ev;
		ssize_t r = recv(s->sv[0], &ev, sizeof(ev), MSG_TRUNC);

		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			return -1;
		}
		if (r != (ssize_t)sizeof(ev))
			continue;	/* not ours: drop, never misread */
		evs[n++] = ev;
	}
	return (int)n;
}

static int
sim_actuate(void *ctx, const struct driver_cmd *cmd)
{
	struct sim *s = ctx;

	switch (cmd->type) {
	case DRIVER_CMD_LOCK:
		s->unlocked = 0;
		break;
	case DRIVER_CMD_UNLOCK:
		s->unlocked = 1;
		s->nunlock++;
		break;
	default:
		return -1;
	}
	s->ncmds++;
	if (s->log != -1) {
		const char *w = s->unlocked ? "unlock\n" : "lock\n";
		(void)!write(s->log, w, strlen(w));
	}
	return 0;
}

static size_t
sim_describe(void *ctx, char *buf, size_t len)
{
	struct sim *s = ctx;
	int n;

	if (s->kind & DRIVER_OUTPUT)
		n = snprintf(buf, len, "sim lock %s (%llu commands, %llu unlocks)",
		    s->unlocked ? "unlocked" : "locked",
		    (unsigned long long)s->ncmds,
		    (unsigned long long)s->nunlock);
	else
		n = snprintf(buf, len, "sim");
	return n < 0 ? 0 : (size_t)n;
}

static int
sim_inject(void *ctx, const struct driver_event *ev)
{
	struct sim *s = ctx;

	if (send(s->sv[1], ev, sizeof(*ev), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(*ev))
		return -1;
	return 0;
}

static void
sim_close(void *ctx)
{
	struct sim *s = ctx;

	if (s == NULL)
		return;
	close(s->sv[0]);
	close(s->sv[1]);
	if (s->log != -1)
		close(s->log);
	free(s);
}

const struct driver driver_sim = {
	.name = "sim",
	.kind = DRIVER_READER | DRIVER_SENSOR | DRIVER_INPUT | DRIVER_OUTPUT,
	.open = sim_open,
	.fd = sim_fd,
	.tick_ms = 0,
	.on_ready = sim_on_ready,
	.actuate = sim_actuate,
	.describe = sim_describe,
	.inject = sim_inject,
	.close = sim_close,
};
