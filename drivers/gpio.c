/*
 * gpio.c — contacts and relays wired straight to the board, through the
 * GPIO character device (libgpiod 1.6). Lines are named as the board's
 * device tree names them:
 *
 *	sensors gpio "chip=gpiochip0 door=DOOR rex=REX passage=BEAM
 *	              tamper=!TAMPER debounce=20";	(!NAME: active low)
 *	lock    gpio "chip=gpiochip0 line=RELAY [active-low] [stop=unlocked]";
 *
 * Inputs are requested for both edges; an edge only starts a debounce
 * interval, after which the line is sampled again and a level that held
 * becomes an event (a bouncing contact gives one event, a glitch none).
 * The lock output is requested already locked (the fail-secure state),
 * and on stop it is left as `stop=` says: locked by default, unlocked for
 * a fail-safe (egress) gate.
 *
 * Owns: the chip handle and requested lines. Trusts: the kernel's events.
 * Tested with the libgpiod calls replaced at link time; see the report
 * for what has run on real pins (nothing yet).
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gpiod.h>

#include "drivers/driver.h"

#define GPIO_IN_MAX	4	/* door, rex, passage, tamper */
#define GPIO_CONSUMER	"gatewayd"

struct gpio_in {
	struct gpiod_line *line;
	enum driver_sensor sensor;	/* DOOR_OPEN for the door contact */
	int		 fd;
	int		 stable;	/* last reported level (active = 1) */
	int		 pending;	/* an edge waits for its debounce */
	int64_t		 due_ms;
};

struct gpio {
	struct gpiod_chip *chip;
	unsigned	 kind;
	int		 epfd, tfd;
	struct gpio_in	 in[GPIO_IN_MAX];
	size_t		 nin;
	uint32_t	 debounce_ms;
	struct gpiod_line *out;
	int		 stop_unlocked, unlocked;
};

static int64_t
gpio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
gpio_close(void *ctx)
{
	struct gpio *g = ctx;

	if (g == NULL)
		return;
	if (g->out != NULL) {
		/* the state the gate must be left in when we are gone */
		gpiod_line_set_value(g->out, g->stop_unlocked);
		gpiod_line_release(g->out);
	}
	for (size_t i = 0; i < g->nin; i++)
		gpiod_line_release(g->in[i].line);
	if (g->chip != NULL)
		gpiod_chip_close(g->chip);
	if (g->epfd != -1)
		close(g->epfd);
	if (g->tfd != -1)
		close(g->tfd);
	free(g);
}

static int
gpio_add_input(struct gpio *g, const char *name, enum driver_sensor s,
    char *err, size_t errlen)
{
	struct gpio_in *in = &g->in[g->nin];
	struct epoll_event ee;
	int low = name[0] == '!';
	int v;

	if (low)
		name++;
	if ((in->line = gpiod_chip_find_line(g->chip, name)) == NULL) {
		snprintf(err, errlen, "gpio: no line named '%s'", name);
		return -1;
	}
	if (gpiod_line_request_both_edges_events_flags(in->line, GPIO_CONSUMER,
	    low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0) == -1) {
		snprintf(err, errlen, "gpio: line '%s': %s", name,
		    strerror(errno));
		return -1;
	}
	in->sensor = s;
	in->fd = gpiod_line_event_get_fd(in->line);
	v = gpiod_line_get_value(in->line);
	in->stable = v > 0;
	g->nin++;
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	if (in->fd < 0 || epoll_ctl(g->epfd, EPOLL_CTL_ADD, in->fd, &ee) == -1) {
		snprintf(err, errlen, "gpio: line '%s': no event descriptor",
		    name);
		return -1;
	}
	return 0;
}

static int
gpio_open(void **ctxp, unsigned kind, const char *args, char *err,
    size_t errlen)
{
	char buf[256], *save = NULL, *tok;
	char chip[64] = "gpiochip0", line[64] = "";
	const char *names[GPIO_IN_MAX] = { NULL };
	static const char *const keys[GPIO_IN_MAX] = { "door", "rex", "passage",
	    "tamper" };
	static const enum driver_sensor sens[GPIO_IN_MAX] = { DRIVER_DOOR_OPEN,
	    DRIVER_REX, DRIVER_PASSAGE, DRIVER_TAMPER };
	struct gpio *g;
	struct epoll_event ee;
	int low = 0;

	if (args == NULL || strlen(args) >= sizeof(buf)) {
		snprintf(err, errlen, "gpio: arguments too long");
		return -1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->epfd = g->tfd = -1;
	g->kind = kind;
	g->debounce_ms = 20;
	snprintf(buf, sizeof(buf), "%s", args);
	for (tok = strtok_r(buf, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		char *v = strchr(tok, '=');
		int ok = 0;
		if (v != NULL)
			*v++ = '\0';
		if (strcmp(tok, "chip") == 0 && v && strlen(v) < sizeof(chip)) {
			snprintf(chip, sizeof(chip), "%s", v);
			ok = 1;
		} else if (kind == DRIVER_OUTPUT) {
			if (strcmp(tok, "line") == 0 && v && strlen(v) < sizeof(line)) {
				snprintf(line, sizeof(line), "%s", v);
				ok = 1;
			} else if (strcmp(tok, "active-low") == 0 && !v)
				ok = low = 1;
			else if (strcmp(tok, "stop") == 0 && v &&
			    (strcmp(v, "locked") == 0 || strcmp(v, "unlocked") ==
			    0)) {
				g->stop_unlocked = v[0] == 'u';
				ok = 1;
			}
		} else {
			for (int i = 0; i < GPIO_IN_MAX; i++)
				if (strcmp(tok, keys[i]) == 0 && v && *v) {
					names[i] = v;
					ok = 1;
				}
			if (strcmp(tok, "debounce") == 0 && v) {
				char *e;
				unsigned long d = strtoul(v, &e, 10);
				ok = *e == '\0' && e != v && d <= 1000;
				g->debounce_ms = (uint32_t)d;
			}
		}
		if (!ok) {
			snprintf(err, errlen, "gpio: bad option '%s%s%s' (%s)", tok,
			    v ? "=" : "", v ? v : "", kind == DRIVER_OUTPUT ?
			    "chip=, line=, active-low, stop=locked|unlocked" :
			    "chip=, door=, rex=, passage=, tamper=, debounce=MS");
			gpio_close(g);
			return -1;
		}
	}
	if ((g->chip = gpiod_chip_open_by_name(chip)) == NULL) {
		snprintf(err, errlen, "gpio: %s: %s", chip, strerror(errno));
		gpio_close(g);
		return -1;
	}
	if (kind == DRIVER_OUTPUT) {
		if (line[0] == '\0' ||
		    (g->out = gpiod_chip_find_line(g->chip, line)) == NULL) {
			snprintf(err, errlen, "gpio: %s", line[0] ?
			    "no such output line" : "a lock needs line=NAME");
			gpio_close(g);
			return -1;
		}
		/* requested locked: nothing opens before the core says so */
		if (gpiod_line_request_output_flags(g->out, GPIO_CONSUMER,
		    low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0, 0) == -1) {
			snprintf(err, errlen, "gpio: line '%s': %s", line,
			    strerror(errno));
			g->out = NULL;
			gpio_close(g);
			return -1;
		}
		*ctxp = g;
		return 0;
	}
	if ((g->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "gpio: %s", strerror(errno));
		gpio_close(g);
		return -1;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->tfd, &ee);
	for (int i = 0; i < GPIO_IN_MAX; i++)
		if (names[i] != NULL && gpio_add_input(g, names[i], sens[i], err,
		    errlen) == -1) {
			gpio_close(g);
			return -1;
		}
	if (g->nin == 0) {
		snprintf(err, errlen, "gpio: no input named (door=, rex=, "
		    "passage=, tamper=)");
		gpio_close(g);
		return -1;
	}
	*ctxp = g;
	return 0;
}

static int
gpio_fd(void *ctx)
{
	struct gpio *g = ctx;

	return g->epfd;
}

static void
gpio_arm(struct gpio *g, int64_t now)
{
	struct itimerspec its;
	int64_t when = INT64_MAX;

	for (size_t i = 0; i < g->nin; i++)
		if (g->in[i].pending && g->in[i].due_ms < when)
			when = g->in[i].due_ms;
	memset(&its, 0, sizeof(its));
	if (when != INT64_MAX) {
		int64_t d = when - now < 1 ? 1 : when - now;
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(g->tfd, 0, &its, NULL);
}

static int
gpio_on_ready(void *ctx, struct driver_event *evs, size_t max)
{
	struct gpio *g = ctx;
	int64_t now = gpio_now_ms();
	uint64_t exp;
	size_t n = 0;

	if (read(g->tfd, &exp, sizeof(exp)) < 0) {
		/* not expired: the edges below are why we were called */
	}
	for (size_t i = 0; i < g->nin; i++) {
		struct gpio_in *in = &g->in[i];
		struct pollfd p = { in->fd, POLLIN, 0 };
		/* drain the edges: each only (re)starts the debounce */
		while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
			struct gpiod_line_event le;
			if (gpiod_line_event_read(in->line, &le) == -1)
				break;
			in->pending = 1;
			in->due_ms = now + g->debounce_ms;
		}
	}
	for (size_t i = 0; i < g->nin && n < max; i++) {
		struct gpio_in *in = &g->in[i];
		int v;
		if (!in->pending || now < in->due_ms)
			continue;
		in->pending = 0;
		if ((v = gpiod_line_get_value(in->line)) < 0 ||
		    v == in->stable)
			continue;	/* a glitch, or back where it was */
		in->stable = v;
		if (in->sensor != DRIVER_DOOR_OPEN && !v)
			continue;	/* buttons and beams: the press only */
		memset(&evs[n], 0, sizeof(evs[n]));
		evs[n].type = DRIVER_EV_SENSOR;
		evs[n].sensor = (uint8_t)(in->sensor == DRIVER_DOOR_OPEN && !v ?
		    DRIVER_DOOR_CLOSED : in->sensor);
		{
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			evs[n].time_us = (int64_t)ts.tv_sec * 1000000 +
			    ts.tv_nsec / 1000;
		}
		n++;
	}
	gpio_arm(g, now);
	return (int)n;
}

static int
gpio_actuate(void *ctx, const struct driver_cmd *cmd)
{
	struct gpio *g = ctx;
	int v;

	if (g->out == NULL ||
	    (cmd->type != DRIVER_CMD_LOCK && cmd->type != DRIVER_CMD_UNLOCK))
		return -1;
	v = cmd->type == DRIVER_CMD_UNLOCK;
	if (gpiod_line_set_value(g->out, v) == -1)
		return -1;
	g->unlocked = v;
	return 0;
}

static size_t
gpio_describe(void *ctx, char *buf, size_t len)
{
	struct gpio *g = ctx;
	int n = g->out != NULL ? snprintf(buf, len, "gpio lock %s (stop: %s)",
	    g->unlocked ? "unlocked" : "locked", g->stop_unlocked ? "unlocked" :
	    "locked") : snprintf(buf, len, "gpio %zu inputs, debounce %u ms",
	    g->nin, g->debounce_ms);

	return n < 0 ? 0 : (size_t)n;
}

const struct driver driver_gpio = {
	.name = "gpio",
	.kind = DRIVER_SENSOR | DRIVER_OUTPUT,
	.open = gpio_open,
	.fd = gpio_fd,
	.tick_ms = 0,
	.on_ready = gpio_on_ready,
	.actuate = gpio_actuate,
	.describe = gpio_describe,
	.inject = NULL,
	.close = gpio_close,
};
