/*
 * bench_nfc.c — badge readers through the real libnfc and the PN532
 * emulator on ptys, driven as gatewayd drives them (driver fd + on_ready
 * on one loop thread, a reader process per reader):
 *
 *  1. card-on-reader to event-in-the-core latency, split into what libnfc
 *     needs to see the card (the card put on the emulator -> libnfc's
 *     select returns in the reader process: poll interval + PN532 round
 *     trips) and the gateway's own share (reader process -> socket ->
 *     loop -> on_ready -> checked driver event), p50 / p99 / max;
 *  2. how many readers one gateway polls: N readers idle for 2 s (CPU of
 *     the reader processes and of the loop + emulators), then taps spread
 *     over all of them, with their latency.
 *
 * The decision and the durable journal write that follow are measured by
 * bench_policy and tests/bench/daemon.sh. Prints figures; never fails on
 * speed. The emulator is compiled in (one source file per benchmark).
 */
#include <sys/resource.h>

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/nfc.h"
#include "tests/unit/pn532emu.c"

#define MAXR	128

struct rdr {
	struct pn532emu	*e;
	void		*ctx;
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, int64_t *v, size_t n)
{
	if (n == 0) {
		printf("  %-34s no samples\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp64);
	printf("  %-34s p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", what,
	    v[n / 2] / 1000.0, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] /
	    1000.0, v[n - 1] / 1000.0);
}

/* CPU seconds of our child processes (the readers), from /proc. */
static double
children_cpu(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	double s = 0;
	long hz = sysconf(_SC_CLK_TCK);
	pid_t me = getpid();

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[1024], *p;
		unsigned long ut, st;
		int ppid;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%lu %lu", &ppid, &ut, &st) == 3 && ppid == me)
			s += (double)(ut + st) / (double)hz;
		fclose(f);
	}
	closedir(d);
	return s;
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* One turn of the loop: wait up to ms for any reader, read them all.
 * Returns the reader index of a TAP (its event in *out), or -1. */
static int
loop_once(struct rdr *r, int n, int ms, struct driver_event *out,
    int64_t *t_core)
{
	struct pollfd pf[MAXR];
	int found = -1;

	for (int i = 0; i < n; i++) {
		pf[i].fd = driver_nfc.fd(r[i].ctx);
		pf[i].events = POLLIN;
		pf[i].revents = 0;
	}
	poll(pf, (nfds_t)n, ms);
	for (int i = 0; i < n; i++) {
		struct driver_event evs[32];
		int k;

		if (!(pf[i].revents & POLLIN))
			continue;
		k = driver_nfc.on_ready(r[i].ctx, evs, 32);
		for (int j = 0; j < k; j++) {
			if (driver_event_check(&evs[j]) == -1)
				continue;
			if (evs[j].type == DRIVER_EV_NOTICE)
				fprintf(stderr, "  reader %d: %s\n", i,
				    evs[j].text);
			if (evs[j].type == DRIVER_EV_TAP && found == -1) {
				*t_core = wall_us();
				*out = evs[j];
				found = i;
			}
		}
	}
	return found;
}

static int
open_readers(struct rdr *r, int n, const char *opts)
{
	for (int i = 0; i < n; i++) {
		char args[256], err[256];

		if ((r[i].e = pn532emu_start()) == NULL) {
			perror("pn532emu_start");
			return -1;
		}
		snprintf(args, sizeof(args), "%s %s",
		    pn532emu_connstring(r[i].e), opts);
		if (driver_nfc.open(&r[i].ctx, DRIVER_READER, args, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "open: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void
close_readers(struct rdr *r, int n)
{
	for (int i = 0; i < n; i++) {
		driver_nfc.close(r[i].ctx);
		pn532emu_stop(r[i].e);
	}
}

/* Run the loop for ms, dropping events. */
static void
idle(struct rdr *r, int n, int ms)
{
	int64_t end = wall_us() + (int64_t)ms * 1000;
	struct driver_event ev;
	int64_t t;

	while (wall_us() < end)
		loop_once(r, n, 20, &ev, &t);
}

/* ntaps taps spread over the readers; latencies into the arrays. */
static size_t
taps(struct rdr *r, int n, int ntaps, int64_t *seen, int64_t *share,
    int64_t *total)
{
	size_t k = 0;

	for (int i = 0; i < ntaps; i++) {
		struct pn532emu_card c = { .uid_len = 4, .atqa = { 0x00, 0x04 },
		    .sak = 0x08 };
		int who = i % n, got = -1;
		struct driver_event ev;
		int64_t t_core = 0, t_card, deadline;

		c.uid[0] = 0x10;
		c.uid[1] = (uint8_t)(i >> 8);
		c.uid[2] = (uint8_t)i;
		c.uid[3] = (uint8_t)who;
		/* a random phase against the reader's poll period */
		usleep((useconds_t)(rand() % 7000));
		pn532emu_set_card(r[who].e, &c);
		t_card = pn532emu_card_time_us(r[who].e);
		deadline = wall_us() + 3000000;
		while (got != who && wall_us() < deadline)
			got = loop_once(r, n, 50, &ev, &t_core);
		pn532emu_set_card(r[who].e, NULL);
		if (got != who || memcmp(ev.id, c.uid, 4) != 0) {
			fprintf(stderr, "  tap %d on reader %d lost\n", i, who);
			continue;
		}
		seen[k] = ev.time_us - t_card;
		share[k] = t_core - ev.time_us;
		total[k] = t_core - t_card;
		k++;
		if (n == 1)
			idle(r, n, 60);		/* let it see the card go */
	}
	return k;
}

/* The nfc driver re-executes this binary for each reader process (main
 * dispatches the role); no sandbox here, gatewayd's is tested by test_nfc
 * and the integration tests. */
static int
reader_sandbox(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

int
main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t sn;
	static struct rdr r[MAXR];
	static const int counts[] = { 1, 8, 32, 64 };
	int64_t *seen = calloc(1000, sizeof(int64_t));
	int64_t *share = calloc(1000, sizeof(int64_t));
	int64_t *total = calloc(1000, sizeof(int64_t));
	size_t k;

	if (argc >= 3 && strcmp(argv[1], "--role") == 0 &&
	    strcmp(argv[2], NFC_ROLE) == 0)
		return nfc_role_main(argc - 2, argv + 2, reader_sandbox);
	if ((sn = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[sn] = '\0';
	nfc_set_exec(self);

	if (seen == NULL || share == NULL || total == NULL)
		return 1;
	srand(42);
	printf("== nfc: card on the emulated PN532 -> libnfc (pn532_uart, "
	    "pty) -> reader process -> core\n");
	for (int pass = 0; pass < 2; pass++) {
		const char *opts = pass == 0 ? "poll=20" : "poll=2";

		if (open_readers(r, 1, opts) == -1)
			return 1;
		idle(r, 1, 300);
		k = taps(r, 1, 200, seen, share, total);
		printf(" one reader, %s, %zu taps:\n", opts, k);
		report("libnfc sees the card", seen, k);
		report("gateway share (process -> core)", share, k);
		report("card -> event in the core", total, k);
		close_readers(r, 1);
	}
	printf(" many readers, poll=20 each (one loop thread, a process "
	    "per reader):\n");
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		int n = counts[c];
		double cs0, ss0, cs1, ss1;

		if (open_readers(r, n, "poll=20") == -1)
			return 1;
		idle(r, n, 500);
		cs0 = children_cpu();
		ss0 = self_cpu();
		idle(r, n, 2000);
		cs1 = children_cpu();
		ss1 = self_cpu();
		k = taps(r, n, n < 50 ? 100 : 2 * n, seen, share, total);
		printf("  %3d readers idle: reader processes %5.1f%% CPU, "
		    "loop + emulators %5.1f%% CPU; %zu taps:\n", n,
		    (cs1 - cs0) / 2.0 * 100, (ss1 - ss0) / 2.0 * 100, k);
		report("  libnfc sees the card", seen, k);
		report("  gateway share (process -> core)", share, k);
		close_readers(r, n);
	}
	free(seen);
	free(share);
	free(total);
	return 0;
}
