/*
 * test_nfc_secure.c — secure badges end to end below the core: the nfc
 * driver's reader process, real libnfc, the PN532 emulator and the
 * emulated DESFire card (desfire_card.c). A genuine card is a secure tap
 * with its credential id and issue counter; a clone with the same UID but
 * another site's keys is class 2 (failed); a tampered MAC or garbled file
 * is class 2; a blank DESFire and a MIFARE Classic are UID reads; a card
 * removed mid-authentication gives no tap and no crash, and is read when
 * it comes back; a key file open to others is refused in words. Prints the
 * time from card-on-reader to tap, UID read versus secure read.
 */
#include <sys/stat.h>

#include <limits.h>
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

#include "drivers/desfire.h"
#include "drivers/driver.h"
#include "drivers/nfc.h"
#include "gateway/sandbox.h"
#include "tests/unit/desfire_card.h"
#include "tests/unit/pn532emu.h"

#define QMAX	256

struct rd {
	void			*ctx;
	struct driver_event	 q[QMAX];
	size_t			 nq, seen;
	int64_t			 got_us[QMAX];	/* when each arrived */
};

static char keydir[64], keyfile[128];
static const char mkhex[] = "00112233445566778899AABBCCDDEEFF";
static const uint8_t uid7[7] = { 0x04, 0x5E, 0xC0, 0x11, 0x22, 0x33, 0x44 };

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
rd_try_open(struct rd *r, const struct pn532emu *e, const char *opts,
    char *err, size_t errlen)
{
	char args[512];

	memset(r, 0, sizeof(*r));
	snprintf(args, sizeof(args), "%s poll=10 %s", pn532emu_connstring(e),
	    opts);
	return driver_nfc.open(&r->ctx, DRIVER_READER, args, err, errlen);
}

static void
rd_pump(struct rd *r, int ms)
{
	int64_t end = now_us() + (int64_t)ms * 1000;

	do {
		struct pollfd pf = { driver_nfc.fd(r->ctx), POLLIN, 0 };
		struct driver_event evs[32];
		int n;

		poll(&pf, 1, 20);
		n = driver_nfc.on_ready(r->ctx, evs, 32);
		assert_true(n >= 0 && n <= 32);
		for (int i = 0; i < n; i++) {
			assert_int_equal(driver_event_check(&evs[i]), 0);
			if (evs[i].type == DRIVER_EV_NOTICE)
				printf("    notice: %s\n", evs[i].text);
			if (r->nq < QMAX) {
				r->got_us[r->nq] = now_us();
				r->q[r->nq++] = evs[i];
			}
		}
	} while (now_us() < end);
}

static const struct driver_event *
rd_tap(struct rd *r, int ms, int64_t *at)
{
	int64_t end = now_us() + (int64_t)ms * 1000;

	for (;;) {
		for (size_t i = r->seen; i < r->nq; i++)
			if (r->q[i].type == DRIVER_EV_TAP) {
				r->seen = i + 1;
				if (at != NULL)
					*at = r->got_us[i];
				return &r->q[i];
			}
		if (now_us() >= end)
			return NULL;
		rd_pump(r, 20);
	}
}

static int
rd_notice(const struct rd *r, const char *needle)
{
	int n = 0;

	for (size_t i = 0; i < r->nq; i++)
		n += r->q[i].type == DRIVER_EV_NOTICE &&
		    strstr(r->q[i].text, needle) != NULL;
	return n;
}

static void
site_of(struct desfire_site *s, const char *hexkey)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 16; i++) {
		unsigned v;

		sscanf(hexkey + 2 * i, "%2x", &v);
		s->mk[i] = (uint8_t)v;
	}
	assert_int_equal(desfire_aid_parse("F51234", s->aid), 0);
	s->file = 1;
	s->read_key = 1;
	memcpy(s->sysid, "test-venue", 10);
	s->sysid_len = 10;
}

#define OPTS_FMT "desfire=%s aid=F51234 file=1 key=1 sysid=test-venue"

static int
setup(void **state)
{
	struct pn532emu *e = pn532emu_start();
	FILE *f;

	assert_non_null(e);
	*state = e;
	alarm(90);
	snprintf(keydir, sizeof(keydir), "/tmp/dfkey.XXXXXX");
	assert_non_null(mkdtemp(keydir));
	snprintf(keyfile, sizeof(keyfile), "%s/site.key", keydir);
	assert_non_null(f = fopen(keyfile, "w"));
	fprintf(f, "%s\n", mkhex);
	fclose(f);
	assert_int_equal(chmod(keyfile, 0600), 0);
	return 0;
}

static int
teardown(void **state)
{
	pn532emu_stop(*state);
	unlink(keyfile);
	rmdir(keydir);
	alarm(0);
	return 0;
}

/* Put card k on the reader; the tap (or NULL within ms), and the time from
 * card-on to the tap reaching the core. */
static const struct driver_event *
present(struct pn532emu *e, struct rd *r, struct desfire_card *k, int ms,
    double *took_ms)
{
	struct pn532emu_card pc;
	const struct driver_event *ev;
	int64_t t0, at = 0;

	desfire_card_pn532(k, &pc);
	t0 = now_us();
	pn532emu_set_card(e, &pc);
	ev = rd_tap(r, ms, &at);
	if (took_ms != NULL)
		*took_ms = ev != NULL ? (double)(at - t0) / 1000.0 : -1;
	return ev;
}

static void
take_off(struct pn532emu *e, struct rd *r)
{
	pn532emu_set_card(e, NULL);
	rd_pump(r, 150);	/* the driver notices the removal */
	r->seen = r->nq;
}

static void
test_secure_taps(void **state)
{
	struct pn532emu *e = *state;
	static struct desfire_card genuine, clone, blank;
	struct desfire_site site, other;
	struct desfire_cred cred = { .id = "S-1001", .issue = 3 };
	const struct driver_event *ev;
	struct rd r;
	char opts[256], err[256];
	double took, sum = 0, worst = 0;
	int runs = 0;

	site_of(&site, mkhex);
	site_of(&other, "FFEEDDCCBBAA99887766554433221100");
	desfire_card_blank(&genuine, uid7);
	assert_int_equal(desfire_card_personalise(&genuine, &site, &cred), 0);
	desfire_card_blank(&clone, uid7);
	assert_int_equal(desfire_card_personalise(&clone, &other, &cred), 0);
	desfire_card_blank(&blank, uid7);

	snprintf(opts, sizeof(opts), OPTS_FMT, keyfile);
	assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), 0);
	rd_pump(&r, 300);

	/* genuine: secure, the credential id (not the UID), the issue */
	for (int i = 0; i < 5; i++) {
		ev = present(e, &r, &genuine, 3000, &took);
		assert_non_null(ev);
		assert_int_equal(ev->cls, 1);
		assert_int_equal(ev->id_format, DRIVER_ID_TEXT);
		assert_int_equal(ev->id_len, 6);
		assert_memory_equal(ev->id, "S-1001", 6);
		assert_int_equal(ev->issue, 3);
		sum += took;
		worst = took > worst ? took : worst;
		runs++;
		take_off(e, &r);
	}
	printf("    secure read, card on -> tap at the core: mean %.1f ms, "
	    "worst %.1f ms (%d runs)\n", sum / runs, worst, runs);

	/* the clone: same UID, another site's keys */
	ev = present(e, &r, &clone, 3000, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 2);
	assert_int_equal(ev->id_format, DRIVER_ID_UID);
	assert_memory_equal(ev->id, uid7, 7);
	assert_true(rd_notice(&r, "failed authentication") >= 1);
	take_off(e, &r);

	/* tampered MAC, garbled credential: refused */
	genuine.tamper_mac = 1;
	ev = present(e, &r, &genuine, 3000, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 2);
	assert_true(rd_notice(&r, "MAC wrong") >= 1);
	take_off(e, &r);
	genuine.tamper_mac = 0;
	genuine.garble = 1;
	ev = present(e, &r, &genuine, 3000, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 2);
	take_off(e, &r);
	genuine.garble = 0;

	/* a blank DESFire: no venue application, a UID read */
	ev = present(e, &r, &blank, 3000, &took);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 0);
	assert_memory_equal(ev->id, uid7, 7);
	printf("    blank DESFire (UID read after a select): %.1f ms\n", took);
	take_off(e, &r);

	/* removed mid-authentication: no tap, no crash; then read */
	genuine.mute_on = 0xAF;
	ev = present(e, &r, &genuine, 1500, NULL);
	assert_null(ev);
	assert_true(rd_notice(&r, "no decision") >= 1);
	pn532emu_set_card(e, NULL);
	rd_pump(&r, 100);
	genuine.mute_on = 0;
	ev = present(e, &r, &genuine, 3000, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 1);
	take_off(e, &r);
	driver_nfc.close(r.ctx);

	/* the same reader without a DESFire site: the genuine card is a UID */
	assert_int_equal(rd_try_open(&r, e, "", err, sizeof(err)), 0);
	rd_pump(&r, 300);
	ev = present(e, &r, &genuine, 3000, &took);
	assert_non_null(ev);
	assert_int_equal(ev->cls, 0);
	printf("    UID-only read of the same card: %.1f ms\n", took);
	take_off(e, &r);
	driver_nfc.close(r.ctx);
}

static void
test_keyfile_refused(void **state)
{
	struct pn532emu *e = *state;
	struct rd r;
	char opts[256], err[256] = "";

	snprintf(opts, sizeof(opts), OPTS_FMT, keyfile);
	assert_int_equal(chmod(keyfile, 0640), 0);
	assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), -1);
	printf("    %s\n", err);
	assert_non_null(strstr(err, "open to group or others"));
	assert_null(strstr(err, mkhex));
	assert_int_equal(chmod(keyfile, 0600), 0);
	/* a symlink to a good key file: named, not followed */
	{
		char link[160];

		snprintf(link, sizeof(link), "%s/link.key", keydir);
		assert_int_equal(symlink(keyfile, link), 0);
		snprintf(opts, sizeof(opts), "desfire=%s aid=F51234", link);
		assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "symlink"));
		unlink(link);
	}
	/* options that do not make sense together */
	assert_int_equal(rd_try_open(&r, e, "aid=F51234", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without desfire"));
	snprintf(opts, sizeof(opts), "desfire=%s", keyfile);
	assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs aid="));
	snprintf(opts, sizeof(opts), "desfire=%s aid=000000", keyfile);
	assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), -1);
	snprintf(opts, sizeof(opts), "desfire=%s/none aid=F51234", keydir);
	assert_int_equal(rd_try_open(&r, e, opts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* The nfc driver re-executes this binary for each reader process (main
 * dispatches the role), which enters gatewayd's sandbox as gatewayd's
 * does: the secure read (getrandom, AES, the card's APDUs) runs under the
 * filter. */
static int
reader_sandbox(char *err, size_t errlen)
{
	struct sandbox_opts so = { SANDBOX_READER, NULL,
	    getenv("TEST_NFC_ROOT") };

	if (so.root == NULL) {
		snprintf(err, errlen, "TEST_NFC_ROOT is not set");
		return -1;
	}
	return sandbox_enter(&so, NULL, 0, err, errlen);
}

int
main(int argc, char **argv)
{
	char self[PATH_MAX], tmp[64], root[96];
	ssize_t sn;
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secure_taps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyfile_refused, setup,
		    teardown),
	};

	if (argc >= 3 && strcmp(argv[1], "--role") == 0 &&
	    strcmp(argv[2], NFC_ROLE) == 0)
		return nfc_role_main(argc - 2, argv + 2, reader_sandbox);
	if ((sn = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[sn] = '\0';
	nfc_set_exec(self);
	snprintf(tmp, sizeof(tmp), "/tmp/test_nfc_secure.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s/root", tmp);
	setenv("TEST_NFC_ROOT", root, 1);

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(root);
	rmdir(tmp);
	return rc;
}
