/*
 * bench_osdp.c — the OSDP driver against emulated devices on a pty, in
 * one process (driver and emulator take turns on one thread, as the test
 * rig does). Prints:
 *  1. card read -> relay command out, through the Secure Channel: from the
 *     card being queued in the reader to the OUT arriving at the I/O
 *     module (includes waiting for the reader's next poll), and from the
 *     tap event to the OUT (the command path alone); p50 / p99;
 *  2. polling load: 32 secure devices on one bus, polls per device per
 *     second and the longest gap between two polls of one device.
 * A pty has no baud rate: wire time at 9600/115200 baud is computed from
 * the frame sizes and printed beside. Never fails on speed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/osdp.h"
#include "tests/osdp/emu.c"

static int master;
static struct emu emu;
static void *inst[40];
static size_t ninst;
static int taps;
static int64_t tap_at_us;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
pump(int timeout_ms)
{
	struct pollfd p[41];
	uint8_t in[4096], out[65536];
	ssize_t n;

	for (size_t i = 0; i < ninst; i++) {
		p[i].fd = driver_osdp.fd(inst[i]);
		p[i].events = POLLIN;
	}
	p[ninst].fd = master;
	p[ninst].events = POLLIN;
	poll(p, ninst + 1, timeout_ms);
	while ((n = read(master, in, sizeof(in))) > 0) {
		size_t o = emu_feed(&emu, in, (size_t)n, out, sizeof(out));
		if (o > 0 && write(master, out, o) != (ssize_t)o)
			exit(1);
	}
	for (size_t i = 0; i < ninst; i++) {
		struct driver_event ev[16];
		int k = driver_osdp.on_ready(inst[i], ev, 16);
		for (int j = 0; j < k; j++)
			if (ev[j].type == DRIVER_EV_TAP) {
				taps++;
				tap_at_us = now_us();
			}
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
setup(const char *dir, int npd)
{
	char keys[128], err[512];
	struct osdp_bus_conf c;
	struct termios tio;
	FILE *f;
	uint8_t key[16];

	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (master < 0 || grantpt(master) || unlockpt(master))
		exit(1);
	tcgetattr(master, &tio);
	cfmakeraw(&tio);
	tcsetattr(master, TCSANOW, &tio);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	f = fopen(keys, "w");
	memset(&emu, 0, sizeof(emu));
	emu.rng = 7;
	for (int a = 1; a <= npd; a++) {
		memset(key, a, 16);
		fprintf(f, "%d ", a);
		for (int i = 0; i < 16; i++)
			fprintf(f, "%02x", a);
		fprintf(f, "\n");
		emu_add(&emu, (uint8_t)a, a == 1, key);
	}
	fclose(f);
	chmod(keys, 0600);
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "b");
	snprintf(c.device, sizeof(c.device), "%s", ptsname(master));
	snprintf(c.keys, sizeof(c.keys), "%s", keys);
	c.baud = 115200;
	c.secure = 1;
	c.poll_ms = 50;
	if (osdp_bus_add(&c, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	ninst = 0;
	for (int a = 1; a <= npd; a++) {
		char args[64];
		snprintf(args, sizeof(args), "b:%d%s", a, a == 2 ? " out=0" : "");
		if (driver_osdp.open(&inst[ninst], a == 1 ? DRIVER_READER :
		    a == 2 ? DRIVER_OUTPUT : DRIVER_SENSOR, args, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
		ninst++;
	}
	for (int i = 0; i < 400; i++) {
		int up = 0;
		pump(5);
		for (int a = 1; a <= npd; a++)
			up += emu.pd[a].sc.active;
		if (up == npd)
			return;
	}
	fprintf(stderr, "devices did not come up\n");
	exit(1);
}

static void
teardown(void)
{
	for (size_t i = 0; i < ninst; i++)
		driver_osdp.close(inst[i]);
	osdp_bus_close_all();
	close(master);
}

int
main(void)
{
	char dir[] = "/tmp/bench_osdp.XXXXXX";
	enum { N = 200 };
	static int64_t total[N], cmd[N];
	const uint8_t card[4] = { 0x12, 0x34, 0x56, 0xC0 };

	if (mkdtemp(dir) == NULL)
		return 1;
	/* 1: card -> relay, 2 devices, secure */
	setup(dir, 2);
	for (int i = 0; i < N; i++) {
		struct driver_cmd c = { .type = (i & 1) ? DRIVER_CMD_LOCK :
		    DRIVER_CMD_UNLOCK };
		unsigned outs = emu.pd[2].n_outcmd;
		int64_t t0 = now_us();
		int t = taps;
		emu_card(&emu.pd[1], card, 4, 26);
		while (taps == t)
			pump(5);
		driver_osdp.actuate(inst[1], &c);
		while (emu.pd[2].n_outcmd == outs)
			pump(5);
		total[i] = now_us() - t0;
		cmd[i] = now_us() - tap_at_us;
		for (int k = 0; k < (i * 7) % 10; k++)	/* vary the phase */
			pump(1);
	}
	qsort(total, N, sizeof(total[0]), cmp64);
	qsort(cmd, N, sizeof(cmd[0]), cmp64);
	printf("osdp card->relay (secure, pty, poll 50 ms, %d runs): card queued "
	    "to OUT at the module p50 %.2f ms p99 %.2f ms; tap event to OUT "
	    "p50 %.3f ms p99 %.3f ms\n", N, total[N / 2] / 1e3,
	    total[N * 99 / 100] / 1e3, cmd[N / 2] / 1e3, cmd[N * 99 / 100] / 1e3);
	/* wire time on a real bus: POLL 15 B + RAW 31 B + OUT 31 B + ACK 15 B */
	printf("osdp wire time of those 4 secure frames: %.1f ms at 9600 baud, "
	    "%.1f ms at 115200 (plus PD reply delays)\n", 92 * 10000.0 / 9600,
	    92 * 10000.0 / 115200);
	teardown();

	/* 2: 32 devices on one bus */
	setup(dir, 32);
	{
		unsigned before[33];
		int64_t last[33], maxgap = 0, t0, t;
		unsigned seen[33];
		for (int a = 1; a <= 32; a++) {
			before[a] = emu.pd[a].n_polls;
			seen[a] = before[a];
			last[a] = now_us();
		}
		t0 = now_us();
		while ((t = now_us()) - t0 < 3000000) {
			pump(2);
			for (int a = 1; a <= 32; a++)
				if (emu.pd[a].n_polls != seen[a]) {
					seen[a] = emu.pd[a].n_polls;
					if (t - last[a] > maxgap)
						maxgap = t - last[a];
					last[a] = t;
				}
		}
		{
			double s = (now_us() - t0) / 1e6, sum = 0, mn = 1e9;
			for (int a = 1; a <= 32; a++) {
				double r = (emu.pd[a].n_polls - before[a]) / s;
				sum += r;
				if (r < mn)
					mn = r;
			}
			printf("osdp 32 secure devices on one bus (pty): %.0f polls/s "
			    "in all, %.1f per device (min %.1f), longest gap %.1f ms; "
			    "a secure POLL+ACK is 30 B = %.1f ms on the wire at "
			    "115200, so a real bus manages %.0f devices per 50 ms\n",
			    sum, sum / 32, mn, maxgap / 1e3, 30 * 10000.0 / 115200,
			    50.0 / (30 * 10000.0 / 115200 + 1));
		}
	}
	teardown();
	{
		char cmdline[128];
		snprintf(cmdline, sizeof(cmdline), "rm -rf %s", dir);
		if (system(cmdline) != 0)
			return 1;
	}
	return 0;
}
