/*
 * test_nfc.c — the nfc reader driver against the PN532 emulator, through
 * the real libnfc (pn532_uart on a pty): tap, hold = one tap, removal, the
 * next card, card data that lies, a chip that lies or stalls, the pty gone
 * and back, a hung reader, two readers at once. Every test has a hard
 * timeout: libnfc can block forever, and then the test must fail, not hang.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <nfc/nfc.h>

#include "drivers/driver.h"
#include "drivers/nfc.h"
#include "gateway/sandbox.h"
#include "tests/unit/pn532emu.h"

/* the library allocates with the real allocator */
#undef malloc
#undef calloc
#undef realloc
#undef free

#define QMAX	512

struct rd {
	void			*ctx;
	struct driver_event	 q[QMAX];
	size_t			 nq, seen;	/* seen: consumed by rd_wait */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
rd_open(struct rd *r, const struct pn532emu *e, const char *opts)
{
	char args[256], err[256] = "";

	memset(r, 0, sizeof(*r));
	snprintf(args, sizeof(args), "%s %s", pn532emu_connstring(e), opts);
	if (driver_nfc.open(&r->ctx, DRIVER_READER, args, err,
	    sizeof(err)) != 0)
		fail_msg("open %s: %s", args, err);
}

static void
rd_close(struct rd *r)
{
	driver_nfc.close(r->ctx);
	r->ctx = NULL;
}

/* Run the driver as the loop would, for ms: its fd and a 100 ms tick. */
static void
rd_pump(struct rd *r, int ms)
{
	int64_t end = now_ms() + ms;

	do {
		struct pollfd pf = { driver_nfc.fd(r->ctx), POLLIN, 0 };
		struct driver_event evs[32];
		int64_t left = end - now_ms();
		int n;

		poll(&pf, 1, left < 0 ? 0 : left > 100 ? 100 : (int)left);
		n = driver_nfc.on_ready(r->ctx, evs, 32);
		assert_true(n >= 0 && n <= 32);
		for (int i = 0; i < n; i++) {
			assert_int_equal(driver_event_check(&evs[i]), 0);
			if (evs[i].type == DRIVER_EV_NOTICE)
				printf("    notice: %s\n", evs[i].text);
			if (r->nq < QMAX)
				r->q[r->nq++] = evs[i];
		}
	} while (now_ms() < end);
}

/* The next event of this type after the last one waited for, within ms;
 * NULL if none came. */
static const struct driver_event *
rd_wait(struct rd *r, int type, int ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		for (size_t i = r->seen; i < r->nq; i++)
			if (r->q[i].type == type) {
				r->seen = i + 1;
				return &r->q[i];
			}
		if (now_ms() >= end)
			return NULL;
		rd_pump(r, 20);
	}
}

/* Events of this type not yet waited for. */
static int
rd_count(const struct rd *r, int type)
{
	int n = 0;

	for (size_t i = r->seen; i < r->nq; i++)
		n += r->q[i].type == type;
	return n;
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

/* A line saying this, within ms (a lost device is said why by the next
 * reader process, which tries to open it). */
static int
rd_wait_notice(struct rd *r, const char *needle, int ms)
{
	int64_t end = now_ms() + ms;

	while (rd_notice(r, needle) == 0 && now_ms() < end)
		rd_pump(r, 20);
	return rd_notice(r, needle);
}

static void
rd_skip(struct rd *r)
{
	r->seen = r->nq;
}

static struct pn532emu_card
card_desfire(void)
{
	struct pn532emu_card c = {
		.uid = { 0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6 },
		.uid_len = 7, .atqa = { 0x03, 0x44 }, .sak = 0x20,
		.ats = { 0x75, 0x77, 0x81, 0x02, 0x80 }, .ats_len = 5,
	};
	return c;
}

static struct pn532emu_card
card_classic(void)
{
	struct pn532emu_card c = {
		.uid = { 0xDE, 0xAD, 0xBE, 0xEF }, .uid_len = 4,
		.atqa = { 0x00, 0x04 }, .sak = 0x08,
	};
	return c;
}

static int
setup(void **state)
{
	struct pn532emu *e = pn532emu_start();

	assert_non_null(e);
	*state = e;
	alarm(60);		/* hard timeout: a hang fails the binary */
	return 0;
}

static int
teardown(void **state)
{
	pn532emu_stop(*state);
	alarm(0);
	return 0;
}

static void
expect_uid(const struct driver_event *ev, const struct pn532emu_card *c)
{
	assert_non_null(ev);
	assert_int_equal(ev->id_format, DRIVER_ID_UID);
	assert_int_equal(ev->id_len, c->uid_len);
	assert_memory_equal(ev->id, c->uid, c->uid_len);
	assert_int_equal(ev->cls, 0);		/* UID only: legacy */
	assert_memory_equal(ev->atqa, c->atqa, 2);
	assert_int_equal(ev->sak, c->sak);
}

/* A card is one tap however long it is held; removal and a new card (or
 * the same one again) is a new tap; both presence checks (R(NAK) for
 * ISO 14443-4, reselection otherwise) are exercised. */
static void
test_tap_hold_remove(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card d = card_desfire(), m = card_classic();
	const struct driver_event *ev;
	struct rd r;
	int64_t t0;
	char id[64];

	rd_open(&r, e, "poll=10");
	rd_pump(&r, 300);
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
	assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);

	t0 = (int64_t)time(NULL);
	pn532emu_set_card(e, &d);
	ev = rd_wait(&r, DRIVER_EV_TAP, 2000);
	expect_uid(ev, &d);
	assert_int_equal(ev->ats_len, d.ats_len);
	assert_memory_equal(ev->ats, d.ats, d.ats_len);
	assert_true(ev->time_us / 1000000 >= t0 - 1 &&
	    ev->time_us / 1000000 <= t0 + 3);
	assert_int_equal(driver_event_id(ev, id, sizeof(id)), 0);
	assert_string_equal(id, "04A1B2C3D4E5F6");

	rd_pump(&r, 600);		/* held: still one tap */
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
	assert_true(pn532emu_count(e, 0x42) >= 5);	/* it was watched */

	pn532emu_set_card(e, NULL);
	rd_pump(&r, 200);
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
	pn532emu_set_card(e, &m);
	ev = rd_wait(&r, DRIVER_EV_TAP, 2000);
	expect_uid(ev, &m);
	assert_int_equal(ev->ats_len, 0);

	rd_pump(&r, 600);		/* held, watched by reselection */
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);

	/* the same card, taken off and put back: a second tap */
	pn532emu_set_card(e, NULL);
	rd_pump(&r, 200);
	pn532emu_set_card(e, &m);
	ev = rd_wait(&r, DRIVER_EV_TAP, 2000);
	expect_uid(ev, &m);
	rd_pump(&r, 300);
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
	assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);
	rd_close(&r);
}

/* The chip answers the card poll wrongly: no tap, no offline, a line in
 * words; once it behaves, the card on it is read. */
static void
test_chip_faults(void **state)
{
	static const enum pn532emu_fault faults[] = {
		PN532EMU_FAULT_CHECKSUM, PN532EMU_FAULT_JUNK,
		PN532EMU_FAULT_CODE, PN532EMU_FAULT_ERROR,
	};
	struct pn532emu *e = *state;
	struct pn532emu_card d = card_desfire();
	struct rd r;

	rd_open(&r, e, "poll=10");
	rd_pump(&r, 200);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		size_t before = r.nq;
		int notices = 0;

		printf("  fault %s\n", pn532emu_fault_name(faults[i]));
		pn532emu_fault(e, faults[i], 0x4A);
		pn532emu_set_card(e, &d);
		rd_pump(&r, 1200);
		assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
		assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);
		for (size_t k = before; k < r.nq; k++)
			notices += r.q[k].type == DRIVER_EV_NOTICE;
		/* said once in words, not once per poll */
		assert_true(notices >= 1 && notices <= 2);
		pn532emu_fault(e, PN532EMU_FAULT_NONE, PN532EMU_ALL);
		expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &d);
		pn532emu_set_card(e, NULL);
		rd_pump(&r, 150);
		rd_skip(&r);
	}
	rd_close(&r);
}

/* Target data that lies: an 11-byte UID, data cut short, an ATS whose
 * length byte is 0 (libnfc computes -1 and copies SIZE_MAX bytes: the
 * reader process dies, not the gateway). Never a tap. */
static void
test_card_data_faults(void **state)
{
	static const enum pn532emu_fault faults[] = {
		PN532EMU_FAULT_UID_LONG, PN532EMU_FAULT_TRUNCATED,
		PN532EMU_FAULT_ATS_ZERO,
	};
	struct pn532emu *e = *state;
	struct pn532emu_card d = card_desfire();
	struct rd r;

	rd_open(&r, e, "poll=10 backoff=200");
	rd_pump(&r, 200);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		printf("  fault %s\n", pn532emu_fault_name(faults[i]));
		pn532emu_fault(e, faults[i], 0x4A);
		pn532emu_set_card(e, &d);
		rd_pump(&r, 1200);
		assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
		pn532emu_fault(e, PN532EMU_FAULT_NONE, PN532EMU_ALL);
		expect_uid(rd_wait(&r, DRIVER_EV_TAP, 3000), &d);
		pn532emu_set_card(e, NULL);
		rd_pump(&r, 150);
		rd_skip(&r);
	}
	assert_true(rd_notice(&r, "card data rejected") >= 1);
	assert_true(rd_notice(&r, "reader process") >= 1);	/* ats-zero */
	rd_close(&r);
}

/* The pty goes away: offline (said why), reopened with backoff, online
 * again when it is back, and the card on it is read. */
static void
test_unplug_replug(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card m = card_classic();
	struct rd r;

	rd_open(&r, e, "poll=10 backoff=400");
	rd_pump(&r, 200);
	pn532emu_unplug(e);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 3000));
	assert_true(rd_wait_notice(&r, "No such file", 2000) >= 1);
	rd_pump(&r, 1500);		/* retries, said once */
	assert_int_equal(rd_notice(&r, "offline"), 1);
	assert_int_equal(rd_count(&r, DRIVER_EV_ONLINE), 0);
	assert_int_equal(pn532emu_replug(e), 0);
	pn532emu_set_card(e, &m);
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 3000));
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &m);
	rd_close(&r);
}

/* A chip that stops answering: offline after the bounded timeouts. */
static void
test_silent(void **state)
{
	struct pn532emu *e = *state;
	struct rd r;

	rd_open(&r, e, "poll=10 backoff=300");
	rd_pump(&r, 200);
	pn532emu_fault(e, PN532EMU_FAULT_SILENT, PN532EMU_ALL);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 5000));
	assert_true(rd_notice(&r, "no answer in time") >= 1 ||
	    rd_notice(&r, "no PN53x") >= 1);
	pn532emu_fault(e, PN532EMU_FAULT_NONE, PN532EMU_ALL);
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 4000));
	rd_close(&r);
}

/* A chip that drips one byte every 250 ms keeps libnfc inside one call
 * forever (every byte restarts its timeout): the watchdog kills the
 * reader process and starts another. */
static void
test_watchdog(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card m = card_classic();
	struct rd r;

	rd_open(&r, e, "poll=10 watchdog=2000 backoff=200");
	rd_pump(&r, 200);
	pn532emu_fault(e, PN532EMU_FAULT_DRIP, PN532EMU_ALL);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 6000));
	assert_true(rd_notice(&r, "silent for 2000 ms") >= 1);
	pn532emu_fault(e, PN532EMU_FAULT_NONE, PN532EMU_ALL);
	pn532emu_set_card(e, &m);
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 5000));
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &m);
	rd_close(&r);
}

/* Two readers: one unplugged, the other keeps reading. */
static void
test_two_readers(void **state)
{
	struct pn532emu *e1 = *state, *e2 = pn532emu_start();
	struct pn532emu_card d = card_desfire(), m = card_classic();
	struct rd r1, r2;

	assert_non_null(e2);
	rd_open(&r1, e1, "poll=10");
	rd_open(&r2, e2, "poll=10");
	pn532emu_unplug(e1);
	assert_non_null(rd_wait(&r1, DRIVER_EV_OFFLINE, 3000));
	pn532emu_set_card(e2, &m);
	expect_uid(rd_wait(&r2, DRIVER_EV_TAP, 2000), &m);
	pn532emu_set_card(e2, NULL);
	rd_pump(&r2, 150);
	pn532emu_set_card(e2, &d);
	expect_uid(rd_wait(&r2, DRIVER_EV_TAP, 2000), &d);
	assert_int_equal(rd_count(&r2, DRIVER_EV_OFFLINE), 0);
	rd_close(&r1);
	rd_close(&r2);
	pn532emu_stop(e2);
}

/* The emulator's exchange hook, as issue 8's DESFire model will use it:
 * APDUs through libnfc's InDataExchange (extended frames both ways), a mute
 * card, and a reset on every new activation. */
struct apdu_card {
	int	resets, calls, mute;
};

static int
apdu_echo(void *user, const uint8_t *c, size_t clen, uint8_t *r, size_t rmax)
{
	struct apdu_card *a = user;

	a->calls++;
	if (a->mute || clen + 2 > rmax)
		return -1;
	memcpy(r, c, clen);
	r[clen] = 0x90;
	r[clen + 1] = 0x00;
	return (int)clen + 2;
}

static void
apdu_reset(void *user)
{
	((struct apdu_card *)user)->resets++;
}

static void
test_emulator_apdu(void **state)
{
	static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
	struct pn532emu *e = *state;
	struct pn532emu_card d = card_desfire();
	struct apdu_card a = { 0, 0, 0 };
	uint8_t c[252], r[300];
	nfc_context *ctx;
	nfc_device *dev;
	nfc_target t;
	int n;

	d.exchange = apdu_echo;
	d.reset = apdu_reset;
	d.user = &a;
	pn532emu_set_card(e, &d);
	nfc_init(&ctx);
	assert_non_null(ctx);
	dev = nfc_open(ctx, pn532emu_connstring(e));
	assert_non_null(dev);
	assert_true(nfc_initiator_init(dev) >= 0);
	assert_int_equal(nfc_initiator_select_passive_target(dev, nm, NULL, 0,
	    &t), 1);
	assert_int_equal(t.nti.nai.szAtsLen, d.ats_len);
	assert_int_equal(a.resets, 1);
	for (size_t i = 0; i < sizeof(c); i++)
		c[i] = (uint8_t)i;
	n = nfc_initiator_transceive_bytes(dev, c, 5, r, sizeof(r), 500);
	assert_int_equal(n, 7);
	assert_memory_equal(r, c, 5);
	assert_int_equal(r[5], 0x90);
	n = nfc_initiator_transceive_bytes(dev, c, sizeof(c), r, sizeof(r),
	    500);
	assert_int_equal(n, (int)sizeof(c) + 2);	/* extended frames */
	assert_memory_equal(r, c, sizeof(c));
	a.mute = 1;
	assert_true(nfc_initiator_transceive_bytes(dev, c, 5, r, sizeof(r),
	    500) < 0);
	assert_int_equal(a.calls, 3);
	/* taken off and put back: a new activation resets the applet */
	pn532emu_set_card(e, NULL);
	pn532emu_set_card(e, &d);
	assert_int_equal(nfc_initiator_select_passive_target(dev, nm, NULL, 0,
	    &t), 1);
	assert_int_equal(a.resets, 2);
	nfc_close(dev);
	nfc_exit(ctx);
}

static void
test_bad_args(void **state)
{
	static const char *const bad[] = {
		"", "ttyUSB0", "pn532_uart:/dev/x poll=abc",
		"pn532_uart:/dev/x watchdog=100", "pn532_uart:/dev/x speed=9",
		"pn532_uart:/dev/x poll=99999999999",
	};
	char err[256];
	void *ctx = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(driver_nfc.open(&ctx, DRIVER_READER, bad[i],
		    err, sizeof(err)), -1);
		assert_true(strncmp(err, "nfc: ", 5) == 0);
	}
	assert_int_equal(driver_nfc.open(&ctx, DRIVER_OUTPUT,
	    "pn532_uart:/dev/x", err, sizeof(err)), -1);
	assert_ptr_equal(driver_find("nfc"), &driver_nfc);
}

/* ---- the reader process as a role of this binary ---- */

static char self_exe[PATH_MAX];

static ssize_t
slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd == -1)
		return -1;
	while ((size_t)got < len - 1 &&
	    (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* The reader processes running for this test: our children whose command
 * line is the role's (between fork and exec a child is still test_nfc). */
static int
reader_pids(pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < max) {
		char path[64], buf[1024];
		const char *p;
		pid_t pid = (pid_t)atoi(de->d_name);
		ssize_t len;
		int ppid = 0;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (slurp(path, buf, sizeof(buf)) <= 0 ||
		    (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		if ((len = slurp(path, buf, sizeof(buf))) <= 0)
			continue;
		if (memmem(buf, (size_t)len, "\0--role\0" NFC_ROLE "\0",
		    sizeof("\0--role\0" NFC_ROLE "\0") - 1) != NULL)
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* The one reader process, or -1. */
static pid_t
reader_pid(void)
{
	pid_t p[4];

	return reader_pids(p, 4) == 1 ? p[0] : -1;
}

/* A subverted reader process: in its role (main, below) with
 * TEST_NFC_EVIL=MS, a thread sends junk on the socket MS after start. */
static void *
evil_send(void *arg)
{
	long ms = (long)(intptr_t)arg;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	/* glibc interrupts every thread when the sandbox changes uid */
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	(void)send(3, "junk!", 5, MSG_NOSIGNAL);
	return NULL;
}

/* What gatewayd does in the role (its gw_reader_sandbox): the real
 * sandbox, into an empty root of this run's (TEST_NFC_ROOT, made by
 * main), then the probes GATEWAYD_SANDBOX_PROBE asks for. */
static int
reader_sandbox(char *err, size_t errlen)
{
	struct sandbox_opts so = { SANDBOX_READER, NULL,
	    getenv("TEST_NFC_ROOT") };

	if (so.root == NULL) {
		snprintf(err, errlen, "TEST_NFC_ROOT is not set");
		return -1;
	}
	if (sandbox_enter(&so, NULL, 0, err, errlen) == -1)
		return -1;
	sandbox_probe(SANDBOX_READER);
	return 0;
}

static int
reader_role(int argc, char **argv)
{
	const char *evil = getenv("TEST_NFC_EVIL");
	pthread_t th;

	if (evil != NULL && pthread_create(&th, NULL, evil_send,
	    (void *)(intptr_t)atol(evil)) == 0)
		pthread_detach(th);
	return nfc_role_main(argc, argv, reader_sandbox);
}

/* A reader process that sends a malformed message is not ours any more:
 * killed (not just the message dropped), the gate told offline, a new
 * process started, online again, reading. */
static void
test_malformed_ends_reader(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card m = card_classic();
	struct rd r;
	pid_t first, second;

	setenv("TEST_NFC_EVIL", "700", 1);
	rd_open(&r, e, "poll=10 backoff=200");
	unsetenv("TEST_NFC_EVIL");	/* its replacement is honest */
	rd_pump(&r, 300);
	first = reader_pid();
	assert_true(first > 0);
	assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 3000));
	assert_int_equal(rd_notice(&r, "malformed message"), 1);
	assert_true(kill(first, 0) == -1 && errno == ESRCH);	/* reaped */
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 3000));
	second = reader_pid();
	assert_true(second > 0 && second != first);
	pn532emu_set_card(e, &m);
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &m);
	rd_pump(&r, 900);	/* the honest one is left alone */
	assert_int_equal(rd_notice(&r, "malformed message"), 1);
	assert_int_equal(reader_pid(), second);
	assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);
	rd_close(&r);
	assert_int_equal(reader_pid(), -1);
}

/* The device fails under a held card: the process cannot reopen it (in
 * its sandbox it could not), so it exits; new processes are started with
 * backoff until the device answers; the card still held is not a new
 * tap; no line about a crash. */
static void
test_device_lost(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card m = card_classic();
	struct rd r;
	pid_t first, second;
	int64_t t0;

	pn532emu_set_card(e, &m);
	rd_open(&r, e, "poll=10 backoff=200");
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &m);
	rd_pump(&r, 200);
	first = reader_pid();
	assert_true(first > 0);
	pn532emu_fault(e, PN532EMU_FAULT_CHECKSUM, PN532EMU_ALL);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 3000));
	assert_true(rd_notice(&r, "reader lost") >= 1);
	rd_pump(&r, 500);	/* new processes cannot open it either */
	assert_true(kill(first, 0) == -1 && errno == ESRCH);
	assert_int_equal(rd_count(&r, DRIVER_EV_ONLINE), 0);
	pn532emu_fault(e, PN532EMU_FAULT_NONE, PN532EMU_ALL);
	t0 = now_ms();
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 4000));
	printf("    device back to online: %lld ms\n",
	    (long long)(now_ms() - t0));
	second = reader_pid();
	assert_true(second > 0 && second != first);
	rd_pump(&r, 500);	/* the same card, still there: same presence */
	assert_int_equal(rd_count(&r, DRIVER_EV_TAP), 0);
	pn532emu_set_card(e, NULL);
	rd_pump(&r, 200);
	pn532emu_set_card(e, &m);
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &m);
	assert_int_equal(rd_notice(&r, "reader process"), 0);
	assert_int_equal(rd_notice(&r, "silent for"), 0);
	rd_close(&r);
}

/* How long a reader is out of service: a crashed process (kill -9) to
 * the new one online; unplug to offline; replug to online. */
static void
test_restart_time(void **state)
{
	struct pn532emu *e = *state;
	struct rd r;
	pid_t pid;
	int64_t t0, crash, lost, back;

	rd_open(&r, e, "poll=10 backoff=400");
	rd_pump(&r, 400);
	pid = reader_pid();
	assert_true(pid > 0);
	t0 = now_ms();
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 2000));
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 3000));
	crash = now_ms() - t0;
	rd_pump(&r, 300);
	t0 = now_ms();
	pn532emu_unplug(e);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 3000));
	lost = now_ms() - t0;
	rd_pump(&r, 1000);
	assert_int_equal(pn532emu_replug(e), 0);
	t0 = now_ms();
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 3000));
	back = now_ms() - t0;
	printf("    kill -9 to online %lld ms (backoff 100 ms); unplug to "
	    "offline %lld ms; replug to online %lld ms (backoff=400)\n",
	    (long long)crash, (long long)lost, (long long)back);
	rd_close(&r);
}

static char tmpdir[64];

/* A status line's first number ("Seccomp:\t2"), or -1. */
static long
proc_status(pid_t pid, const char *key)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (slurp(path, buf, sizeof(buf)) <= 0 ||
	    (p = strstr(buf, key)) == NULL)
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

/* Is needle anywhere in the process's writable memory? 1 yes, 0 no, -1
 * cannot look (not root: the reader is undumpable; nothing readable).
 * Mappings over 256 MiB
 * (the sanitizer's shadow) are reserved, not data: skipped. */
static int
proc_mem_has(pid_t pid, const char *needle)
{
	char path[64], line[512];
	size_t nl = strlen(needle);
	FILE *maps;
	int mem, found = 0;
	size_t seen = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((maps = fopen(path, "re")) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	if ((mem = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fclose(maps);
		return -1;
	}
	while (!found && fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perm[8];
		static char buf[1 << 20];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || perm[1] != 'w' || hi - lo > (256UL << 20))
			continue;
		for (unsigned long a = lo; !found && a < hi; ) {
			size_t want = hi - a > sizeof(buf) ? sizeof(buf) :
			    hi - a;
			ssize_t n = pread(mem, buf, want, (off_t)a);

			if (n <= 0) {
				a += 4096;	/* a hole: next page */
				continue;
			}
			seen += (size_t)n;
			found = memmem(buf, (size_t)n, needle, nl) != NULL;
			/* overlap: a needle across the chunk boundary */
			a += (size_t)n > nl ? (size_t)n - nl : (size_t)n;
		}
	}
	close(mem);
	fclose(maps);
	return found ? 1 : seen > 0 ? 0 : -1;	/* -1: nothing was readable */
}

/* From inside the running reader process, after its sandbox: no files
 * (its device's path included: only a new process can reopen it), no
 * network (the filter kills the process at socket(2)); seccomp filtering,
 * no_new_privs, not root; a fresh image of the role; and it still reads
 * cards through libnfc under the filter. The probes' own words are on
 * its stderr. */
static void
test_sandboxed(void **state)
{
	struct pn532emu *e = *state;
	struct pn532emu_card d = card_desfire();
	char errpath[128], out[4096], want[256], probes[256], cmd[64];
	const char *role = sandbox_role_name(SANDBOX_READER);
	char *secret;
	struct rd r;
	int fd, saved;
	int64_t end;
	ssize_t n;
	pid_t pid, next;

	/* a secret of the parent's: a forked child would hold a copy */
	secret = malloc(64);
	assert_non_null(secret);
	snprintf(secret, 64, "parent-secret-%d-%lld", (int)getpid(),
	    (long long)now_ms());
	snprintf(errpath, sizeof(errpath), "%s/reader.stderr", tmpdir);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	saved = dup(2);
	assert_true(saved >= 0);
	/* the reader process inherits stderr and the environment at fork */
	snprintf(probes, sizeof(probes), "open:/etc/passwd,open:%s",
	    pn532emu_path(e));
	setenv("GATEWAYD_SANDBOX_PROBE", probes, 1);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	rd_open(&r, e, "poll=10 backoff=200");
	dup2(saved, 2);
	end = now_ms() + 5000;
	do {
		rd_pump(&r, 50);
		n = slurp(errpath, out, sizeof(out));
	} while (now_ms() < end && (n <= 0 || strstr(out, pn532emu_path(e)) ==
	    NULL));
	printf("    reader stderr:\n%s", out);
	snprintf(want, sizeof(want), "sandbox probe %s open:/etc/passwd: "
	    "refused", role);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "sandbox probe %s open:%s: refused",
	    role, pn532emu_path(e));
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, ": allowed"));
	pid = reader_pid();
	assert_true(pid > 0);
	snprintf(cmd, sizeof(cmd), "/proc/%d/cmdline", (int)pid);
	n = slurp(cmd, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(memmem(out, (size_t)n, "--role\0" NFC_ROLE "\0",
	    sizeof("--role\0" NFC_ROLE "\0") - 1));
	assert_int_equal(proc_status(pid, "Seccomp:"), 2);
	assert_int_equal(proc_status(pid, "NoNewPrivs:"), 1);
	if (getuid() == 0) {
		assert_true(proc_status(pid, "Uid:") > 0);
		assert_true(proc_status(pid, "Gid:") > 0);
		/* the scan works (it finds its own needle in us) and the
		 * reader, a fresh image, has none of our memory */
		assert_int_equal(proc_mem_has(getpid(), secret), 1);
		assert_int_equal(proc_mem_has(pid, secret), 0);
	}
	free(secret);
	/* under the filter, libnfc still reads a card */
	pn532emu_set_card(e, &d);
	expect_uid(rd_wait(&r, DRIVER_EV_TAP, 2000), &d);
	assert_int_equal(rd_count(&r, DRIVER_EV_OFFLINE), 0);
	assert_int_equal(reader_pid(), pid);

	/* the next process tries the network: the filter ends it, the
	 * driver says so and starts another, which is left alone */
	setenv("GATEWAYD_SANDBOX_PROBE", "socket-inet", 1);
	assert_int_equal(dup2(fd, 2), 2);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_non_null(rd_wait(&r, DRIVER_EV_OFFLINE, 2000));
	end = now_ms() + 3000;
	while (rd_notice(&r, "killed by its sandbox") == 0 && now_ms() < end)
		rd_pump(&r, 20);
	unsetenv("GATEWAYD_SANDBOX_PROBE");
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(rd_notice(&r, "killed by its sandbox"), 1);
	assert_non_null(rd_wait(&r, DRIVER_EV_ONLINE, 3000));
	next = reader_pid();
	assert_true(next > 0 && next != pid);
	n = slurp(errpath, out, sizeof(out));
	snprintf(want, sizeof(want), "sandbox probe %s socket-inet: allowed",
	    role);
	assert_null(strstr(out, want));
	rd_close(&r);
	unlink(errpath);
}

/* The role's own guards: no embedder's program, no socket at fd 3. */
static void
test_role_guards(void **state)
{
	void *ctx = NULL;
	char err[256] = "";
	pid_t pid;
	int st;

	(void)state;
	nfc_set_exec(NULL);
	assert_int_equal(driver_nfc.open(&ctx, DRIVER_READER,
	    "pn532_uart:/dev/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nfc_set_exec"));
	nfc_set_exec("relative/path");
	assert_int_equal(driver_nfc.open(&ctx, DRIVER_READER,
	    "pn532_uart:/dev/x", err, sizeof(err)), -1);
	nfc_set_exec(self_exe);
	/* started by hand: refused in words, status 1 */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char gen[] = "--gen=1", ppid[32], conn[] = "pn532_uart:/dev/x";
		char role[] = "--role", name[] = NFC_ROLE;
		char *av[] = { self_exe, role, name, gen, ppid, conn, NULL };
		int devnull = open("/dev/null", O_WRONLY);

		snprintf(ppid, sizeof(ppid), "--ppid=%d", (int)getppid());
		dup2(devnull, 2);
		close(3);
		execv(self_exe, av);
		_exit(99);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test_setup_teardown(test_emulator_apdu, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tap_hold_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chip_faults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_card_data_faults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unplug_replug, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_readers, setup,
		    teardown),
		cmocka_unit_test(test_role_guards),
		cmocka_unit_test_setup_teardown(test_sandboxed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_ends_reader,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_lost, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_time, setup,
		    teardown),
	};
	char root[96];
	ssize_t n;
	int rc;

	/* the driver re-executes this binary for each reader process */
	if (argc >= 3 && strcmp(argv[1], "--role") == 0 &&
	    strcmp(argv[2], NFC_ROLE) == 0)
		return reader_role(argc - 2, argv + 2);
	if ((n = readlink("/proc/self/exe", self_exe,
	    sizeof(self_exe) - 1)) <= 0) {
		perror("test_nfc: /proc/self/exe");
		return 1;
	}
	self_exe[n] = '\0';
	nfc_set_exec(self_exe);
	/* the reader processes' empty root (sandbox_enter makes it) */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_nfc.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("test_nfc: mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	setenv("TEST_NFC_ROOT", root, 1);

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(root + strlen(tmpdir), sizeof(root) - strlen(tmpdir),
	    "/reader.stderr");
	unlink(root);		/* left by a failed test_sandboxed */
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	rmdir(root);
	rmdir(tmpdir);
	return rc;
}
