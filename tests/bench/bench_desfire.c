/*
 * bench_desfire.c — secure badges through the real libnfc and the PN532
 * emulator with the emulated DESFire EV1 card:
 *
 *  1. card-on-reader to tap-in-the-core through the nfc driver's reader
 *     process, secure read (select, AES three-pass, MACed ReadData) versus
 *     a UID read of the same card by a reader without a DESFire site;
 *  2. the secure read alone in one process: through libnfc and the pty
 *     (what the reader process does) versus straight into the card model
 *     (crypto and card logic only): the difference is libnfc's (and the
 *     emulated serial line's) share;
 *  3. the crypto alone: AN10922 key derivation, one authentication's AES
 *     work (both sides).
 * The decision and journal write that follow are bench_policy's and
 * daemon.sh's. Prints figures; never fails on speed.
 */
#include <sys/stat.h>

#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nfc/nfc.h>

#include "drivers/desfire.h"
#include "drivers/driver.h"
#include "drivers/nfc.h"
#include "tests/unit/pn532emu.c"
#include "tests/unit/desfire_card.c"

#define RUNS	60

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp64);
	printf("  %-58s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (n=%d)\n",
	    what, v[n / 2] / 1000.0, v[(n * 99) / 100] / 1000.0,
	    v[n - 1] / 1000.0, n);
}

/* Card on, wait for the tap event; its latency in µs, -1 if none. */
static int64_t
tap_once(struct pn532emu *e, void *ctx, const struct pn532emu_card *pc,
    int want_cls)
{
	int64_t t0 = now_us(), got = -1;

	pn532emu_set_card(e, pc);
	while (got < 0 && now_us() - t0 < 3000000) {
		struct pollfd pf = { driver_nfc.fd(ctx), POLLIN, 0 };
		struct driver_event evs[16];
		int n;

		poll(&pf, 1, 20);
		n = driver_nfc.on_ready(ctx, evs, 16);
		for (int i = 0; i < n; i++)
			if (evs[i].type == DRIVER_EV_TAP && evs[i].cls == want_cls)
				got = now_us() - t0;
	}
	pn532emu_set_card(e, NULL);
	/* let the reader process see the card go */
	for (int64_t t1 = now_us(); now_us() - t1 < 60000;) {
		struct pollfd pf = { driver_nfc.fd(ctx), POLLIN, 0 };
		struct driver_event evs[16];

		poll(&pf, 1, 10);
		(void)driver_nfc.on_ready(ctx, evs, 16);
	}
	return got;
}

struct nio {
	nfc_device	*dev;
};

static int
nio_xfer(void *ctx, const uint8_t *a, size_t n, uint8_t *r, size_t rmax)
{
	struct nio *x = ctx;

	return nfc_initiator_transceive_bytes(x->dev, a, n, r, rmax, 300);
}

static int
direct_xfer(void *ctx, const uint8_t *a, size_t n, uint8_t *r, size_t rmax)
{
	uint8_t big[PN532EMU_RAPDU_MAX];
	int k = desfire_card_exchange(ctx, a, n, big, sizeof(big));

	if (k < 0 || (size_t)k > rmax)
		return -1;
	memcpy(r, big, (size_t)k);
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
	static const uint8_t uid[7] = { 0x04, 0xBE, 0x7C, 0x00, 0x11, 0x22, 0x33 };
	static struct desfire_card card;
	static int64_t sec[RUNS], uidr[RUNS], viaio[RUNS], direct[RUNS];
	struct desfire_site site;
	struct desfire_cred cred = { .id = "B-0001", .issue = 1 }, out;
	struct pn532emu *e = pn532emu_start();
	struct pn532emu_card pc;
	char dir[] = "/tmp/dfbench.XXXXXX", key[64], args[512], err[256], why[128];
	void *ctx;
	FILE *f;
	int ns = 0, nu = 0;

	if (argc >= 3 && strcmp(argv[1], "--role") == 0 &&
	    strcmp(argv[2], NFC_ROLE) == 0)
		return nfc_role_main(argc - 2, argv + 2, reader_sandbox);
	if ((sn = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[sn] = '\0';
	nfc_set_exec(self);

	if (e == NULL || mkdtemp(dir) == NULL) {
		perror("bench_desfire");
		return 1;
	}
	setenv("LIBNFC_LOG_LEVEL", "0", 1);
	memset(&site, 0, sizeof(site));
	memset(site.mk, 0x6B, 16);
	desfire_aid_parse("F51234", site.aid);
	site.file = 1;
	site.read_key = 1;
	desfire_card_blank(&card, uid);
	desfire_card_personalise(&card, &site, &cred);
	desfire_card_pn532(&card, &pc);
	snprintf(key, sizeof(key), "%s/k", dir);
	f = fopen(key, "w");
	fprintf(f, "6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B\n");
	fclose(f);
	chmod(key, 0600);

	printf("bench_desfire: secure badges through libnfc and the PN532 "
	    "emulator (poll=10 ms)\n");
	snprintf(args, sizeof(args), "%s poll=10 desfire=%s aid=F51234",
	    pn532emu_connstring(e), key);
	if (driver_nfc.open(&ctx, DRIVER_READER, args, err, sizeof(err)) != 0) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	usleep(300000);
	for (int i = 0; i < RUNS; i++)
		if ((sec[ns] = tap_once(e, ctx, &pc, 1)) >= 0)
			ns++;
	driver_nfc.close(ctx);
	snprintf(args, sizeof(args), "%s poll=10", pn532emu_connstring(e));
	driver_nfc.open(&ctx, DRIVER_READER, args, err, sizeof(err));
	usleep(300000);
	for (int i = 0; i < RUNS; i++)
		if ((uidr[nu] = tap_once(e, ctx, &pc, 0)) >= 0)
			nu++;
	driver_nfc.close(ctx);
	if (ns > 0)
		report("card on -> secure tap in the core (auth + MACed read)",
		    sec, ns);
	if (nu > 0)
		report("card on -> UID tap in the core (same card, no site)",
		    uidr, nu);
	if (ns > 0 && nu > 0)
		printf("  => authentication adds ~%.2f ms at p50\n",
		    (sec[ns / 2] - uidr[nu / 2]) / 1000.0);

	/* 2: the secure read alone, libnfc vs no libnfc */
	{
		static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
		nfc_context *nctx;
		struct nio x;
		struct desfire_io io = { &x, nio_xfer }, dio = { &card, direct_xfer };
		nfc_target t;
		nfc_connstring conn;

		snprintf(conn, sizeof(conn), "%s", pn532emu_connstring(e));
		nfc_init(&nctx);
		x.dev = nfc_open(nctx, conn);
		nfc_initiator_init(x.dev);
		nfc_device_set_property_bool(x.dev, NP_INFINITE_SELECT, false);
		pn532emu_set_card(e, &pc);
		usleep(50000);
		if (nfc_initiator_select_passive_target(x.dev, nm, NULL, 0, &t) <= 0) {
			fprintf(stderr, "no card\n");
			return 1;
		}
		for (int i = 0; i < RUNS; i++) {
			int64_t t0 = now_us();

			if (desfire_read_cred(&io, &site, uid, 7, &out, why,
			    sizeof(why)) != DESFIRE_OK) {
				fprintf(stderr, "read: %s\n", why);
				return 1;
			}
			viaio[i] = now_us() - t0;
			desfire_card_reset(&card);
			t0 = now_us();
			if (desfire_read_cred(&dio, &site, uid, 7, &out, why,
			    sizeof(why)) != DESFIRE_OK)
				return 1;
			direct[i] = now_us() - t0;
		}
		nfc_close(x.dev);
		nfc_exit(nctx);
		pn532emu_set_card(e, NULL);
		report("secure read through libnfc + pty (4 APDUs)", viaio, RUNS);
		report("secure read straight into the card model", direct, RUNS);
		printf("  => libnfc + emulated serial line: ~%.2f ms of it at p50\n",
		    (viaio[RUNS / 2] - direct[RUNS / 2]) / 1000.0);
	}

	/* 3: crypto */
	{
		uint8_t k[16];
		int64_t t0 = now_us();
		int n = 20000;

		for (int i = 0; i < n; i++)
			desfire_card_key(&site, uid, 7, 1, k);
		printf("  AN10922 card key derivation: %.2f us each\n",
		    (double)(now_us() - t0) / n);
	}
	pn532emu_stop(e);
	unlink(key);
	rmdir(dir);
	return 0;
}
