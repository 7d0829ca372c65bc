/*
 * test_gpio.c — the GPIO driver through the driver interface, with every
 * libgpiod call replaced at link time (test_gpio.ldflags): fake lines
 * whose edges are bytes on a pipe and whose level the test sets. Checks
 * the debounce (a bouncing contact is one event, a glitch none), the
 * door / REX / passage / tamper mapping, active-low inputs, and the lock
 * output's start and stop states. No real pins are involved.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <gpiod.h>

#include "drivers/driver.h"

struct fake_line {
	char	name[16];
	int	pipe[2];
	int	value;		/* physical level */
	int	active_low, requested, output, released;
	int	sets, last_set;
};

static struct fake_line lines[6] = {
	{ .name = "DOOR" }, { .name = "REX" }, { .name = "BEAM" },
	{ .name = "TAMPER" }, { .name = "RELAY" }, { .name = "SPARE" },
};
static int chip_open, chip_closed;
static struct gpiod_chip *fake_chip = (struct gpiod_chip *)&chip_open;

struct gpiod_chip *__wrap_gpiod_chip_open_by_name(const char *);
void __wrap_gpiod_chip_close(struct gpiod_chip *);
struct gpiod_line *__wrap_gpiod_chip_find_line(struct gpiod_chip *,
    const char *);
int __wrap_gpiod_line_request_both_edges_events_flags(struct gpiod_line *,
    const char *, int);
int __wrap_gpiod_line_request_output_flags(struct gpiod_line *, const char *,
    int, int);
int __wrap_gpiod_line_event_get_fd(struct gpiod_line *);
int __wrap_gpiod_line_event_read(struct gpiod_line *, struct gpiod_line_event *);
int __wrap_gpiod_line_get_value(struct gpiod_line *);
int __wrap_gpiod_line_set_value(struct gpiod_line *, int);
void __wrap_gpiod_line_release(struct gpiod_line *);

struct gpiod_chip *
__wrap_gpiod_chip_open_by_name(const char *name)
{
	if (strcmp(name, "gpiochip0") != 0) {
		errno = ENOENT;
		return NULL;
	}
	chip_open++;
	return fake_chip;
}

void
__wrap_gpiod_chip_close(struct gpiod_chip *c)
{
	assert_ptr_equal(c, fake_chip);
	chip_closed++;
}

struct gpiod_line *
__wrap_gpiod_chip_find_line(struct gpiod_chip *c, const char *name)
{
	(void)c;
	for (int i = 0; i < 6; i++)
		if (strcmp(lines[i].name, name) == 0)
			return (struct gpiod_line *)&lines[i];
	return NULL;
}

int
__wrap_gpiod_line_request_both_edges_events_flags(struct gpiod_line *l,
    const char *consumer, int flags)
{
	struct fake_line *f = (struct fake_line *)l;

	assert_string_equal(consumer, "gatewayd");
	f->requested = 1;
	f->active_low = (flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0;
	return pipe2(f->pipe, O_NONBLOCK);
}

int
__wrap_gpiod_line_request_output_flags(struct gpiod_line *l,
    const char *consumer, int flags, int value)
{
	struct fake_line *f = (struct fake_line *)l;

	(void)consumer;
	f->requested = f->output = 1;
	f->active_low = (flags & GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) != 0;
	f->last_set = value;
	f->value = value ^ f->active_low;
	return 0;
}

int
__wrap_gpiod_line_event_get_fd(struct gpiod_line *l)
{
	return ((struct fake_line *)l)->pipe[0];
}

int
__wrap_gpiod_line_event_read(struct gpiod_line *l, struct gpiod_line_event *e)
{
	char c;

	memset(e, 0, sizeof(*e));
	return read(((struct fake_line *)l)->pipe[0], &c, 1) == 1 ? 0 : -1;
}

int
__wrap_gpiod_line_get_value(struct gpiod_line *l)
{
	struct fake_line *f = (struct fake_line *)l;

	return f->value ^ f->active_low;
}

int
__wrap_gpiod_line_set_value(struct gpiod_line *l, int v)
{
	struct fake_line *f = (struct fake_line *)l;

	f->sets++;
	f->last_set = v;
	f->value = v ^ f->active_low;
	return 0;
}

void
__wrap_gpiod_line_release(struct gpiod_line *l)
{
	struct fake_line *f = (struct fake_line *)l;

	f->released++;
	if (f->pipe[0] > 0) {
		close(f->pipe[0]);
		close(f->pipe[1]);
		f->pipe[0] = f->pipe[1] = 0;
	}
}

/* The physical level changes: one edge event. */
static void
edge(int i, int level)
{
	lines[i].value = level;
	assert_int_equal(write(lines[i].pipe[1], "e", 1), 1);
}

static int
reset(void **state)
{
	(void)state;
	for (int i = 0; i < 6; i++) {
		char n[16];
		memcpy(n, lines[i].name, sizeof(n));
		memset(&lines[i], 0, sizeof(lines[i]));
		memcpy(lines[i].name, n, sizeof(n));
	}
	lines[3].value = 1;	/* tamper loop closed: idle (active low) */
	chip_open = chip_closed = 0;
	return 0;
}

/* Run the driver for ms as the loop would, collecting events. */
static size_t
run(void *g, int ms, struct driver_event *evs, size_t max)
{
	struct timespec t0, t;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { driver_gpio.fd(g), POLLIN, 0 };
		long el;
		poll(&p, 1, 2);
		if (p.revents & POLLIN) {
			int k = driver_gpio.on_ready(g, evs + n, max - n);
			assert_true(k >= 0);
			for (int i = 0; i < k; i++)
				assert_int_equal(driver_event_check(&evs[n + i]), 0);
			n += (size_t)k;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) /
		    1000000;
		if (el >= ms)
			return n;
	}
}

static void
test_inputs_debounce(void **state)
{
	struct driver_event ev[32];
	char err[256];
	void *g;
	size_t n;

	(void)state;
	assert_int_equal(driver_gpio.open(&g, DRIVER_SENSOR, "chip=gpiochip0 "
	    "door=DOOR rex=REX passage=BEAM tamper=!TAMPER debounce=20", err,
	    sizeof(err)), 0);
	assert_true(lines[3].active_low);
	assert_false(lines[0].active_low);
	/* nothing happens by itself */
	assert_int_equal(run(g, 60, ev, 32), 0);

	/* the door bounces open: one DOOR_OPEN, after the debounce */
	edge(0, 1);
	edge(0, 0);
	edge(0, 1);
	n = run(g, 10, ev, 32);
	assert_int_equal(n, 0);		/* still settling */
	n = run(g, 60, ev, 32);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].type, DRIVER_EV_SENSOR);
	assert_int_equal(ev[0].sensor, DRIVER_DOOR_OPEN);
	/* a glitch shorter than the debounce: nothing */
	edge(0, 0);
	edge(0, 1);
	assert_int_equal(run(g, 60, ev, 32), 0);
	/* closed */
	edge(0, 0);
	n = run(g, 60, ev, 32);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].sensor, DRIVER_DOOR_CLOSED);

	/* REX press and release: one REX; beam: one PASSAGE */
	edge(1, 1);
	n = run(g, 40, ev, 32);
	edge(1, 0);
	n += run(g, 40, ev + n, 32 - n);
	edge(2, 1);
	n += run(g, 40, ev + n, 32 - n);
	edge(2, 0);
	n += run(g, 40, ev + n, 32 - n);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].sensor, DRIVER_REX);
	assert_int_equal(ev[1].sensor, DRIVER_PASSAGE);

	/* tamper is active low: the loop opening (level 0) is the alarm */
	edge(3, 0);
	n = run(g, 60, ev, 32);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].sensor, DRIVER_TAMPER);
	edge(3, 1);
	assert_int_equal(run(g, 60, ev, 32), 0);

	driver_gpio.close(g);
	for (int i = 0; i < 4; i++)
		assert_int_equal(lines[i].released, 1);
	assert_int_equal(chip_closed, 1);
}

static void
test_lock_states(void **state)
{
	struct driver_cmd cmd = { .type = DRIVER_CMD_UNLOCK };
	char err[256], d[128];
	void *g;

	(void)state;
	/* fail-secure lock, active high: requested locked, left locked */
	assert_int_equal(driver_gpio.open(&g, DRIVER_OUTPUT, "line=RELAY",
	    err, sizeof(err)), 0);
	assert_int_equal(driver_gpio.fd(g), -1);
	assert_true(lines[4].output);
	assert_int_equal(lines[4].last_set, 0);
	assert_int_equal(lines[4].value, 0);
	assert_int_equal(driver_gpio.actuate(g, &cmd), 0);
	assert_int_equal(lines[4].value, 1);
	driver_gpio.describe(g, d, sizeof(d));
	assert_string_equal(d, "gpio lock unlocked (stop: locked)");
	driver_gpio.close(g);
	assert_int_equal(lines[4].last_set, 0);	/* locked on stop */
	assert_int_equal(lines[4].released, 1);

	/* fail-safe maglock, active low: unlocked = level 0... left unlocked */
	reset(NULL);
	assert_int_equal(driver_gpio.open(&g, DRIVER_OUTPUT, "chip=gpiochip0 "
	    "line=RELAY active-low stop=unlocked", err, sizeof(err)), 0);
	assert_int_equal(lines[4].value, 1);	/* locked: inactive = high */
	cmd.type = DRIVER_CMD_UNLOCK;
	driver_gpio.actuate(g, &cmd);
	assert_int_equal(lines[4].value, 0);
	cmd.type = DRIVER_CMD_LOCK;
	driver_gpio.actuate(g, &cmd);
	assert_int_equal(lines[4].value, 1);
	cmd.type = DRIVER_CMD_GRANT;
	assert_true(driver_gpio.actuate(g, &cmd) < 0);
	driver_gpio.close(g);
	assert_int_equal(lines[4].last_set, 1);	/* unlocked on stop */
	assert_int_equal(lines[4].value, 0);
}

static void
test_bad_args(void **state)
{
	char err[256];
	void *g;

	(void)state;
	assert_int_equal(driver_gpio.open(&g, DRIVER_SENSOR, "door=NOPE", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no line named 'NOPE'"));
	assert_int_equal(driver_gpio.open(&g, DRIVER_SENSOR, "", err,
	    sizeof(err)), -1);
	assert_int_equal(driver_gpio.open(&g, DRIVER_SENSOR, "chip=gpiochip9 "
	    "door=DOOR", err, sizeof(err)), -1);
	assert_int_equal(driver_gpio.open(&g, DRIVER_OUTPUT, "stop=maybe", err,
	    sizeof(err)), -1);
	assert_int_equal(driver_gpio.open(&g, DRIVER_OUTPUT, "chip=gpiochip0",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line=NAME"));
	assert_int_equal(chip_open, chip_closed);	/* nothing leaked */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_inputs_debounce, reset),
		cmocka_unit_test_setup(test_lock_states, reset),
		cmocka_unit_test_setup(test_bad_args, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
