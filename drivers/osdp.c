/*
 * osdp.c — OSDP control panel: one RS-485 bus per `osdp-bus` in
 * gateway.conf, several addressed peripheral devices (PDs: readers, I/O
 * modules) polled in turn, one transaction on the wire at a time.
 *
 * Each driver instance (a gate's reader, sensors or lock) names BUS:ADDR.
 * The bus is the engine; every instance's descriptor is a small epoll set
 * holding the serial port, the bus timer and the instance's own eventfd,
 * so whichever instance the loop wakes runs the engine (non-blocking,
 * idempotent) and then hands back only its own events.
 *
 * Per device: ID -> CAP -> Secure Channel (CHLNG/SCRYPT) -> ISTAT ->
 * polling. SQN 0 starts a session, then 1,2,3,1...; a timeout resends the
 * identical bytes with the same SQN (never a re-MAC'd copy); NAK 4/6 or a
 * reply out of step restarts at SQN 0. A device that stays silent for 8 s
 * is offline. Security is never negotiated down: with `secure` on, a
 * device that answers only in clear, drops to clear text, uses the
 * default install key or another key is refused and alarmed, and is only
 * keyed by an explicit, journaled `gatectl osdp key-install`.
 *
 * Owns: the serial descriptors, per-device session keys (wiped on close),
 * the key files it rewrites. Trusts: nothing on the wire (frames checked
 * by osdp_frame_scan, secure frames by their MAC, every field's length).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/osdp.h"
#include "drivers/osdp_proto.h"

#define OSDP_BUSES_MAX		8
#define OSDP_PDS_MAX		64	/* per bus */
#define OSDP_INSTS_MAX		8	/* per device */
#define OSDP_QUEUE_MAX		64	/* events per instance */
#define OSDP_CMDQ_MAX		8
#define OSDP_REPLY_MS		200
#define OSDP_OFFLINE_MS		8000
#define OSDP_OFFLINE_POLL_MS	1000	/* a dead device costs less bus time */
#define OSDP_REFUSED_RETRY_MS	5000
#define OSDP_INSTALL_MS		30000
#define OSDP_PIN_WAIT_MS	10000
#define OSDP_INPUTS_MAX		32
#define OSDP_OUTPUTS_MAX	16
#define OSDP_RX_MAX		(2 * OSDP_FRAME_MAX)
#define OSDP_TX_MAX		(OSDP_DATA_MAX + 64)

enum pd_state {
	PD_RESET,	/* next: ID with SQN 0 */
	PD_CAP,
	PD_CHLNG,
	PD_SCRYPT,
	PD_KEYSET,
	PD_ISTAT,
	PD_ONLINE,
	PD_REFUSED	/* security: not used until retry_at */
};

enum inst_role { ROLE_READER, ROLE_SENSORS, ROLE_LOCK };

struct osdp_bus;
struct osdp_pd;

struct osdp_inst {
	struct osdp_pd	*pd;
	enum inst_role	 role;
	int		 epfd, efd;
	struct driver_event q[OSDP_QUEUE_MAX];
	size_t		 qhead, qn;
	/* reader */
	uint8_t		 reader_no;
	int		 want_pin, cls;
	/* sensors: input numbers, -1 unused; inverted: active low */
	int		 in[DRIVER_TAMPER + 2];
	int		 inv[DRIVER_TAMPER + 2];
	/* lock */
	int		 out_no, out_invert;
};
#define IN_PASSAGE_OUT	(DRIVER_TAMPER + 1)

struct pd_cmd {
	uint8_t		code, len;
	uint8_t		data[32];
};

struct osdp_pd {
	struct osdp_bus	*bus;
	uint8_t		 addr;
	enum pd_state	 st;
	uint8_t		 sqn;		/* of the command in flight / last */
	uint8_t		 tx[OSDP_TX_MAX];
	size_t		 txlen;
	uint8_t		 tx_code;
	int		 resend;	/* next turn: the same bytes again */
	int64_t		 last_ok_ms, next_due_ms, retry_at_ms;
	int		 offline;	/* reported offline */
	int		 ever_online;
	unsigned	 timeouts, naks, resends, bad_frames;
	/* identity */
	uint8_t		 vendor[3], model, version, fw[3];
	uint32_t	 serial;
	int		 cap_sc, cap_crc, n_in, n_out, n_readers;
	/* secure channel */
	struct osdp_sc	 sc;
	uint8_t		 key[16];
	int		 has_key;
	uint8_t		 rnd_a[8], kk;
	int		 installing;	/* this session uses SCBK-D to KEYSET */
	int64_t		 install_until_ms;
	uint32_t	 install_tag;
	uint8_t		 new_key[16];
	char		 refused[32];	/* the alarm raised, "" if none */
	/* inputs / outputs */
	uint8_t		 in_state[OSDP_INPUTS_MAX];
	int		 in_known;
	int8_t		 out_want[OSDP_OUTPUTS_MAX];	/* -1: nothing to say */
	uint16_t	 out_dirty;
	struct pd_cmd	 cmdq[OSDP_CMDQ_MAX];
	size_t		 ncmd;
	/* card waiting for its PIN */
	uint8_t		 card[DRIVER_ID_MAX], card_len, card_reader;
	int64_t		 card_at_ms, card_us;
	char		 pin[DRIVER_PIN_MAX];
	uint8_t		 pin_len;
	struct osdp_inst *insts[OSDP_INSTS_MAX];
	size_t		 ninst;
};

struct osdp_bus {
	struct osdp_bus_conf conf;
	int		 fd, tfd;
	uint8_t		 rx[OSDP_RX_MAX];
	size_t		 rxn;
	uint8_t		 txbuf[OSDP_TX_MAX];	/* what is left to write */
	size_t		 txoff, txn;
	struct osdp_pd	*pds[OSDP_PDS_MAX];
	size_t		 npd, next;		/* round robin */
	struct osdp_pd	*cur;			/* awaiting its reply */
	int64_t		 deadline_ms;
	uint64_t	 ntx, nrx;
	int		 running;		/* re-entrancy guard */
	int64_t		 reopen_ms;		/* fd == -1: try again then */
};

static struct osdp_bus *buses[OSDP_BUSES_MAX];

static int64_t
osdp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
osdp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void osdp_bus_run(struct osdp_bus *);

/* ---- key file ---- */

static int
osdp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The key file: one "ADDR HEX32" per line, '#' comments. Refused unless a
 * regular file owned by us (or root) that nobody else can read or write:
 * a key others can read is a key others have.
 */
static int
osdp_keys_read(const char *path, uint8_t keys[][16], uint8_t *have,
    char *err, size_t errlen)
{
	struct stat st;
	char line[256];
	FILE *f;
	int fd, lineno = 0, rc = 0;

	memset(have, 0, 128);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;	/* no device keyed yet */
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0 || (st.st_uid != geteuid() &&
	    st.st_uid != 0)) {
		snprintf(err, errlen, "key file %s: permissions %04o owner %u: "
		    "refused (must be 0600 or stricter, owned by uid %u or root)",
		    path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		    (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *e;
		unsigned long a;
		uint8_t k[16];
		int i;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		a = strtoul(p, &e, 10);
		if (e == p || a > 0x7E || (*e != ' ' && *e != '\t')) {
			snprintf(err, errlen, "key file %s:%d: expected "
			    "\"ADDR HEX32\"", path, lineno);
			rc = -1;
			break;
		}
		while (*e == ' ' || *e == '\t')
			e++;
		for (i = 0; i < 16; i++) {
			int h = osdp_hexval(e[2 * i]), l = h < 0 ? -1 :
			    osdp_hexval(e[2 * i + 1]);
			if (h < 0 || l < 0)
				break;
			k[i] = (uint8_t)(h << 4 | l);
		}
		if (i != 16 || (e[32] != '\n' && e[32] != '\0' &&
		    e[32] != ' ' && e[32] != '\r')) {
			snprintf(err, errlen, "key file %s:%d: the key must be "
			    "32 hex digits", path, lineno);
			explicit_bzero(k, sizeof(k));
			rc = -1;
			break;
		}
		memcpy(keys[a], k, 16);
		have[a] = 1;
		explicit_bzero(k, sizeof(k));
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return rc;
}

/* Replace (or add) one device's key: write a new file beside the old one,
 * fsync, rename over it, fsync the directory. */
static int
osdp_keys_write(const char *path, uint8_t addr, const uint8_t key[16],
    char *err, size_t errlen)
{
	static uint8_t keys[128][16];
	uint8_t have[128];
	char tmp[600], dir[512], line[64];
	const char *slash;
	int fd, dfd, ok = 1;

	if (osdp_keys_read(path, keys, have, err, errlen) == -1)
		return -1;
	memcpy(keys[addr], key, 16);
	have[addr] = 1;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		explicit_bzero(keys, sizeof(keys));
		return -1;
	}
	ok = dprintf(fd, "# OSDP secure channel base keys (SCBK): ADDR HEX32\n"
	    "# written by gatewayd; keep 0600\n") > 0;
	for (int a = 0; a < 128 && ok; a++) {
		int n;
		if (!have[a])
			continue;
		n = snprintf(line, sizeof(line), "%d ", a);
		for (int i = 0; i < 16; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x",
			    keys[a][i]);
		line[n++] = '\n';
		ok = write(fd, line, (size_t)n) == n;
	}
	explicit_bzero(keys, sizeof(keys));
	explicit_bzero(line, sizeof(line));
	if (!ok || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- events to instances ---- */

static void
osdp_push(struct osdp_inst *in, const struct driver_event *ev)
{
	uint64_t one = 1;

	if (in->qn == OSDP_QUEUE_MAX) {
		/* the core is not reading: drop the oldest, never block */
		in->qhead = (in->qhead + 1) % OSDP_QUEUE_MAX;
		in->qn--;
	}
	in->q[(in->qhead + in->qn) % OSDP_QUEUE_MAX] = *ev;
	in->qn++;
	if (write(in->efd, &one, sizeof(one)) != sizeof(one)) {
		/* counter saturated: it is readable anyway */
	}
}

/* The instance that speaks for the device (alarms, notices): the first
 * one the loop watches. */
static struct osdp_inst *
osdp_speaker(struct osdp_pd *pd)
{
	for (size_t i = 0; i < pd->ninst; i++)
		if (pd->insts[i]->role != ROLE_LOCK)
			return pd->insts[i];
	return pd->ninst ? pd->insts[0] : NULL;
}

static void
osdp_text(struct driver_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
osdp_text(struct driver_event *ev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
	for (char *p = ev->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

static void
osdp_notice(struct osdp_pd *pd, uint32_t tag, int failed, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
osdp_notice(struct osdp_pd *pd, uint32_t tag, int failed, const char *fmt,
    ...)
{
	struct osdp_inst *in = osdp_speaker(pd);
	struct driver_event ev;
	char buf[DRIVER_TEXT_MAX];
	va_list ap;

	if (in == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memset(&ev, 0, sizeof(ev));
	ev.type = DRIVER_EV_NOTICE;
	ev.tag = tag;
	ev.value = failed != 0;
	ev.time_us = osdp_now_us();
	osdp_text(&ev, "osdp %s:%u: %s", pd->bus->conf.name, pd->addr, buf);
	osdp_push(in, &ev);
}

static void
osdp_alarm(struct osdp_pd *pd, const char *name, int raised,
    const char *detail)
{
	struct osdp_inst *in = osdp_speaker(pd);
	struct driver_event ev;

	if (in == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = DRIVER_EV_ALARM;
	ev.id_format = DRIVER_ID_TEXT;
	ev.id_len = (uint8_t)strnlen(name, 31);
	memcpy(ev.id, name, ev.id_len);
	ev.value = raised != 0;
	ev.time_us = osdp_now_us();
	osdp_text(&ev, "osdp %s:%u: %s", pd->bus->conf.name, pd->addr, detail);
	osdp_push(in, &ev);
}

/* Offline / online to every watched instance of the device. */
static void
osdp_presence(struct osdp_pd *pd, int online)
{
	struct driver_event ev;

	if (online == !pd->offline)
		return;
	pd->offline = !online;
	memset(&ev, 0, sizeof(ev));
	ev.type = online ? DRIVER_EV_ONLINE : DRIVER_EV_OFFLINE;
	ev.time_us = osdp_now_us();
	for (size_t i = 0; i < pd->ninst; i++)
		if (pd->insts[i]->role != ROLE_LOCK)
			osdp_push(pd->insts[i], &ev);
}

/* ---- device state ---- */

static void
osdp_pd_restart(struct osdp_pd *pd, int64_t due)
{
	osdp_sc_wipe(&pd->sc);
	pd->st = PD_RESET;
	pd->sqn = 0;
	pd->resend = 0;
	pd->in_known = 0;
	pd->next_due_ms = due;
}

/* Refuse the device for security reasons: never downgraded, never keyed
 * behind the operator's back. It is retried later from scratch. */
static void
osdp_refuse(struct osdp_pd *pd, const char *alarm, const char *why)
{
	int64_t now = osdp_now_ms();

	if (strcmp(pd->refused, alarm) != 0) {
		if (pd->refused[0])
			osdp_alarm(pd, pd->refused, 0, "superseded");
		snprintf(pd->refused, sizeof(pd->refused), "%s", alarm);
		osdp_alarm(pd, alarm, 1, why);
	}
	osdp_presence(pd, 0);
	osdp_pd_restart(pd, now + OSDP_REFUSED_RETRY_MS);
	pd->st = PD_REFUSED;
	pd->retry_at_ms = now + OSDP_REFUSED_RETRY_MS;
}

static void
osdp_install_done(struct osdp_pd *pd, int failed, const char *why)
{
	if (!pd->installing && pd->install_until_ms == 0)
		return;
	osdp_notice(pd, pd->install_tag, failed, "key installation %s%s%s",
	    failed ? "failed: " : "done: secure channel up with the new key",
	    failed ? why : "", "");
	pd->installing = 0;
	pd->install_until_ms = 0;
	pd->install_tag = 0;
	explicit_bzero(pd->new_key, sizeof(pd->new_key));
}

static void
osdp_went_online(struct osdp_pd *pd)
{
	pd->st = PD_ONLINE;
	if (pd->refused[0]) {
		osdp_alarm(pd, pd->refused, 0, "device accepted, secure");
		pd->refused[0] = '\0';
	}
	if (!pd->ever_online || pd->offline)
		osdp_notice(pd, 0, 0, "online%s", pd->sc.active ?
		    " with secure channel" : " (secure channel off)");
	pd->ever_online = 1;
	osdp_presence(pd, 1);
	/* a device that restarted forgot what its outputs were told */
	for (int o = 0; o < OSDP_OUTPUTS_MAX; o++)
		if (pd->out_want[o] >= 0)
			pd->out_dirty |= (uint16_t)(1u << o);
	if (pd->install_until_ms != 0 && !pd->installing &&
	    pd->sc.active)
		osdp_install_done(pd, 0, "");
}

/* ---- building commands ---- */

static int
osdp_pd_build(struct osdp_pd *pd, uint8_t code, const uint8_t *data,
    size_t len, uint8_t scb_len, uint8_t scb_type, uint8_t scb_data)
{
	struct osdp_msg m;
	int n;

	memset(&m, 0, sizeof(m));
	m.addr = pd->addr;
	m.sqn = pd->sqn;
	m.code = code;
	m.data = data;
	m.data_len = len;
	m.scb_len = scb_len;
	m.scb_type = scb_type;
	m.scb_data = scb_data;
	m.mark = 1;
	n = osdp_frame_build(pd->tx, sizeof(pd->tx), &m,
	    pd->sc.active ? &pd->sc : NULL, 1);
	if (n < 0)
		return -1;
	pd->txlen = (size_t)n;
	pd->tx_code = code;
	return 0;
}

/* The next command for this device, by state. */
static int
osdp_pd_next(struct osdp_pd *pd)
{
	uint8_t d[OSDP_DATA_MAX];
	size_t n = 0;

	switch (pd->st) {
	case PD_RESET:
		pd->sqn = 0;
		osdp_sc_wipe(&pd->sc);
		d[0] = 0;
		return osdp_pd_build(pd, OSDP_ID, d, 1, 0, 0, 0);
	case PD_CAP:
		d[0] = 0;
		return osdp_pd_build(pd, OSDP_CAP, d, 1, 0, 0, 0);
	case PD_CHLNG:
		if (getrandom(pd->rnd_a, sizeof(pd->rnd_a), 0) !=
		    sizeof(pd->rnd_a))
			return -1;
		pd->kk = pd->installing ? 0 : 1;
		return osdp_pd_build(pd, OSDP_CHLNG, pd->rnd_a, 8, 3,
		    OSDP_SCS_11, pd->kk);
	case PD_SCRYPT:
		/* built when CCRYPT was checked (needs RND.B) */
		return 0;
	case PD_KEYSET:
		d[0] = 1;		/* SCBK */
		d[1] = 16;
		memcpy(d + 2, pd->new_key, 16);
		n = (size_t)osdp_pd_build(pd, OSDP_KEYSET, d, 18, 0, 0, 0);
		explicit_bzero(d, sizeof(d));
		return (int)n;
	case PD_ISTAT:
		return osdp_pd_build(pd, OSDP_ISTAT, NULL, 0, 0, 0, 0);
	case PD_ONLINE:
		if (pd->out_dirty) {
			for (int o = 0; o < OSDP_OUTPUTS_MAX; o++) {
				if (!(pd->out_dirty & (1u << o)))
					continue;
				/* permanent on/off, abort any timed op */
				d[n++] = (uint8_t)o;
				d[n++] = pd->out_want[o] ? 2 : 1;
				d[n++] = 0;
				d[n++] = 0;
			}
			return osdp_pd_build(pd, OSDP_OUT, d, n, 0, 0, 0);
		}
		if (pd->ncmd > 0)
			return osdp_pd_build(pd, pd->cmdq[0].code,
			    pd->cmdq[0].data, pd->cmdq[0].len, 0, 0, 0);
		return osdp_pd_build(pd, OSDP_POLL, NULL, 0, 0, 0, 0);
	case PD_REFUSED:
		return -1;
	}
	return -1;
}

/* ---- replies ---- */

static void
osdp_emit_tap(struct osdp_pd *pd, uint8_t reader, const uint8_t *id,
    size_t idlen, const char *pin, size_t pinlen, int64_t us)
{
	struct driver_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = DRIVER_EV_TAP;
	ev.id_format = DRIVER_ID_UID;
	ev.id_len = (uint8_t)(idlen > DRIVER_ID_MAX ? DRIVER_ID_MAX : idlen);
	memcpy(ev.id, id, ev.id_len);
	if (pinlen > 0) {
		ev.pin_len = (uint8_t)(pinlen > DRIVER_PIN_MAX ? DRIVER_PIN_MAX :
		    pinlen);
		memcpy(ev.pin, pin, ev.pin_len);
	}
	ev.time_us = us;
	for (size_t i = 0; i < pd->ninst; i++) {
		struct osdp_inst *in = pd->insts[i];
		if (in->role != ROLE_READER || in->reader_no != reader)
			continue;
		ev.reader = 0;	/* which gate side: the conf says (reader /
				 * exit-reader), the core sets direction */
		ev.cls = (uint8_t)in->cls;
		osdp_push(in, &ev);
	}
}

static int
osdp_wants_pin(const struct osdp_pd *pd, uint8_t reader)
{
	for (size_t i = 0; i < pd->ninst; i++)
		if (pd->insts[i]->role == ROLE_READER &&
		    pd->insts[i]->reader_no == reader && pd->insts[i]->want_pin)
			return 1;
	return 0;
}

static void
osdp_on_raw(struct osdp_pd *pd, const uint8_t *d, size_t n)
{
	size_t bits, bytes;

	/* reader, format, bit count (LE), data */
	if (n < 4)
		return;
	bits = (size_t)d[2] | (size_t)d[3] << 8;
	bytes = (bits + 7) / 8;
	if (bits == 0 || bytes > n - 4 || bytes > DRIVER_ID_MAX)
		return;
	if (osdp_wants_pin(pd, d[0])) {
		memcpy(pd->card, d + 4, bytes);
		pd->card_len = (uint8_t)bytes;
		pd->card_reader = d[0];
		pd->card_at_ms = osdp_now_ms();
		pd->card_us = osdp_now_us();
		pd->pin_len = 0;
		return;
	}
	osdp_emit_tap(pd, d[0], d + 4, bytes, NULL, 0, osdp_now_us());
}

static void
osdp_on_keypad(struct osdp_pd *pd, const uint8_t *d, size_t n)
{
	size_t cnt;

	if (n < 2)
		return;
	cnt = d[1];
	if (cnt > n - 2)
		return;
	for (size_t i = 0; i < cnt; i++) {
		uint8_t k = d[2 + i];
		if (pd->card_len == 0)
			continue;	/* a PIN belongs to a card */
		if (k == 0x0D || k == '#') {
			osdp_emit_tap(pd, pd->card_reader, pd->card,
			    pd->card_len, pd->pin, pd->pin_len, pd->card_us);
			pd->card_len = 0;
			pd->pin_len = 0;
			explicit_bzero(pd->pin, sizeof(pd->pin));
		} else if (k == 0x7F || k == '*') {
			pd->pin_len = 0;
		} else if (k >= '0' && k <= '9' && pd->pin_len < DRIVER_PIN_MAX)
			pd->pin[pd->pin_len++] = (char)k;
	}
}

static void
osdp_sensor(struct osdp_inst *in, enum driver_sensor s, int dir_out)
{
	struct driver_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = DRIVER_EV_SENSOR;
	ev.sensor = (uint8_t)s;
	ev.reader = (uint8_t)dir_out;
	ev.time_us = osdp_now_us();
	osdp_push(in, &ev);
}

/* A new input vector: edges become door / REX / passage / tamper. */
static void
osdp_on_inputs(struct osdp_pd *pd, const uint8_t *d, size_t n, int baseline)
{
	if (n > OSDP_INPUTS_MAX)
		n = OSDP_INPUTS_MAX;
	for (size_t i = 0; i < pd->ninst; i++) {
		struct osdp_inst *in = pd->insts[i];
		if (in->role != ROLE_SENSORS)
			continue;
		for (int s = DRIVER_DOOR_OPEN; s <= IN_PASSAGE_OUT; s++) {
			int k = in->in[s], now, was;
			if (k < 0 || (size_t)k >= n)
				continue;
			now = (d[k] != 0) ^ in->inv[s];
			was = (pd->in_state[k] != 0) ^ in->inv[s];
			if (baseline) {
				/* only a door found open says anything */
				if (s == DRIVER_DOOR_OPEN && now)
					osdp_sensor(in, DRIVER_DOOR_OPEN, 0);
				continue;
			}
			if (now == was)
				continue;
			if (s == DRIVER_DOOR_OPEN)
				osdp_sensor(in, now ? DRIVER_DOOR_OPEN :
				    DRIVER_DOOR_CLOSED, 0);
			else if (now && s == IN_PASSAGE_OUT)
				osdp_sensor(in, DRIVER_PASSAGE, 1);
			else if (now)
				osdp_sensor(in, (enum driver_sensor)s, 0);
		}
	}
	memcpy(pd->in_state, d, n);
	pd->in_known = 1;
}

static void
osdp_on_lstat(struct osdp_pd *pd, const uint8_t *d, size_t n)
{
	if (n < 1 || d[0] == 0)
		return;
	for (size_t i = 0; i < pd->ninst; i++)
		if (pd->insts[i]->role == ROLE_SENSORS)
			osdp_sensor(pd->insts[i], DRIVER_TAMPER, 0);
}

static void
osdp_on_pdid(struct osdp_pd *pd, const uint8_t *d, size_t n)
{
	if (n < 12)
		return;
	memcpy(pd->vendor, d, 3);
	pd->model = d[3];
	pd->version = d[4];
	pd->serial = (uint32_t)d[5] | (uint32_t)d[6] << 8 |
	    (uint32_t)d[7] << 16 | (uint32_t)d[8] << 24;
	memcpy(pd->fw, d + 9, 3);
}

static void
osdp_on_pdcap(struct osdp_pd *pd, const uint8_t *d, size_t n)
{
	pd->cap_sc = pd->cap_crc = 0;
	pd->n_in = pd->n_out = pd->n_readers = 0;
	for (size_t i = 0; i + 3 <= n; i += 3) {
		switch (d[i]) {
		case 1: pd->n_in = d[i + 2]; break;
		case 2: pd->n_out = d[i + 2]; break;
		case 8: pd->cap_crc = d[i + 1] & 1; break;
		case 9: pd->cap_sc = d[i + 1] & 1; break;
		case 13: pd->n_readers = d[i + 2]; break;
		}
	}
	osdp_notice(pd, 0, 0, "PD %02X%02X%02X model %u v%u sn %08X "
	    "fw %u.%u.%u: %d in, %d out, %d rdr, %s, %s",
	    pd->vendor[0], pd->vendor[1], pd->vendor[2], pd->model,
	    pd->version, pd->serial, pd->fw[0], pd->fw[1], pd->fw[2], pd->n_in,
	    pd->n_out, pd->n_readers, pd->cap_crc ? "CRC" : "checksum",
	    pd->cap_sc ? "SC" : "no SC");
}

/* After CAP: go secure, or refuse, or (secure off) go online. */
static void
osdp_after_cap(struct osdp_pd *pd)
{
	int64_t now = osdp_now_ms();

	if (pd->install_until_ms != 0 && now > pd->install_until_ms)
		osdp_install_done(pd, 1, "timed out (device not in install "
		    "mode?)");
	if (!pd->bus->conf.secure && pd->install_until_ms == 0) {
		pd->st = pd->n_in > 0 ? PD_ISTAT : PD_ONLINE;
		if (pd->st == PD_ONLINE)
			osdp_went_online(pd);
		return;
	}
	if (!pd->cap_sc) {
		osdp_install_done(pd, 1, "device has no secure channel");
		osdp_refuse(pd, "device-insecure", "no secure channel "
		    "capability: refused (answers only in clear)");
		return;
	}
	if (!pd->has_key && !pd->installing) {
		osdp_refuse(pd, "device-no-key", "no key for this device in "
		    "the key file: refused (gatectl osdp key-install)");
		return;
	}
	pd->st = PD_CHLNG;
}

static void
osdp_on_ccrypt(struct osdp_pd *pd, const uint8_t *d, size_t n,
    const struct osdp_frame *f)
{
	uint8_t cc[16], scrypt[16];
	const uint8_t *key = pd->installing ? osdp_scbk_default : pd->key;
	struct osdp_sc probe;

	if (f->scb_len != 3 || f->scb_type != OSDP_SCS_12 || n != 32) {
		osdp_refuse(pd, "device-insecure", "malformed CCRYPT");
		return;
	}
	if (f->scb_data != pd->kk) {
		if (pd->installing) {
			osdp_install_done(pd, 1, "device is not in install "
			    "mode (it uses its own key)");
			osdp_pd_restart(pd, osdp_now_ms());
			return;
		}
		osdp_refuse(pd, "device-default-key", "device answers with "
		    "the default install key (SCBK-D): refused, not rekeyed");
		return;
	}
	if (osdp_sc_derive(&pd->sc, key, pd->rnd_a) == -1 ||
	    osdp_sc_cryptogram(&pd->sc, pd->rnd_a, d + 8, cc) == -1 ||
	    !osdp_sc_equal(cc, d + 16, 16)) {
		int dflt = 0;
		/* which key does it have? only looked at, never used */
		if (!pd->installing && osdp_sc_derive(&probe,
		    osdp_scbk_default, pd->rnd_a) == 0 &&
		    osdp_sc_cryptogram(&probe, pd->rnd_a, d + 8, cc) == 0)
			dflt = osdp_sc_equal(cc, d + 16, 16);
		osdp_sc_wipe(&probe);
		osdp_install_done(pd, 1, "device cryptogram wrong");
		if (dflt)
			osdp_refuse(pd, "device-default-key", "device uses the "
			    "default install key (SCBK-D): refused, not rekeyed");
		else
			osdp_refuse(pd, "device-key-mismatch", "device "
			    "cryptogram does not match its key: refused");
		return;
	}
	if (osdp_sc_cryptogram(&pd->sc, d + 8, pd->rnd_a, scrypt) == -1)
		return;
	pd->st = PD_SCRYPT;
	pd->sqn = pd->sqn % 3 + 1;
	if (osdp_pd_build(pd, OSDP_SCRYPT, scrypt, 16, 3, OSDP_SCS_13,
	    pd->kk) == -1)
		osdp_pd_restart(pd, osdp_now_ms());
	/* stash the expected RMAC-I in r_mac until it arrives */
	osdp_sc_rmac_i(&pd->sc, scrypt, pd->sc.r_mac);
	explicit_bzero(cc, sizeof(cc));
}

static void
osdp_on_rmac_i(struct osdp_pd *pd, const uint8_t *d, size_t n,
    const struct osdp_frame *f)
{
	if (f->scb_len != 3 || f->scb_type != OSDP_SCS_14 || n != 16 ||
	    f->scb_data != 0x01 || !osdp_sc_equal(d, pd->sc.r_mac, 16)) {
		osdp_install_done(pd, 1, "device refused our cryptogram");
		osdp_refuse(pd, "device-key-mismatch", "device refused the "
		    "server cryptogram (RMAC-I): refused");
		return;
	}
	pd->sc.active = 1;	/* r_mac = RMAC-I: the first chain value */
	if (pd->installing) {
		char err[1024];
		/* the new key is on disk before the device has it */
		if (osdp_keys_write(pd->bus->conf.keys, pd->addr, pd->new_key,
		    err, sizeof(err)) == -1) {
			osdp_install_done(pd, 1, err);
			osdp_pd_restart(pd, osdp_now_ms());
			return;
		}
		pd->st = PD_KEYSET;
		return;
	}
	pd->st = pd->n_in > 0 ? PD_ISTAT : PD_ONLINE;
	if (pd->st == PD_ONLINE)
		osdp_went_online(pd);
}

/* One reply for the device in flight. */
static void
osdp_on_reply(struct osdp_bus *bus, struct osdp_pd *pd,
    const struct osdp_frame *f)
{
	uint8_t plain[OSDP_FRAME_MAX];
	const uint8_t *d = f->data;
	size_t n = f->data_len;
	int64_t now = osdp_now_ms();

	if (f->code == OSDP_BUSY) {
		/* same command, same SQN, a little later */
		bus->cur = NULL;
		pd->resend = 1;
		pd->next_due_ms = now + 20;
		pd->last_ok_ms = now;
		return;
	}
	if (pd->sc.active) {
		if (f->scb_len == 0) {
			if (f->code == OSDP_NAK) {
				/* the device dropped the session: a new one,
				 * which must be secure again */
				bus->cur = NULL;
				pd->last_ok_ms = now;
				osdp_pd_restart(pd, now);
				return;
			}
			bus->cur = NULL;
			osdp_refuse(pd, "device-insecure", "reply in clear "
			    "text inside the secure channel: refused");
			return;
		}
		{
			size_t pl;
			int rc = osdp_sc_open(&pd->sc, f, 0, plain,
			    sizeof(plain), &pl);
			if (rc != 0) {
				bus->cur = NULL;
				osdp_alarm(pd, "device-bad-mac", 1, rc == -1 ?
				    "secure reply with a wrong MAC (replay or "
				    "tampering): session restarted" :
				    "secure reply with bad padding");
				osdp_pd_restart(pd, now);
				return;
			}
			d = plain;
			n = pl;
		}
	} else if (f->scb_len == 2) {
		bus->cur = NULL;
		osdp_pd_restart(pd, now);	/* it thinks SC is up: restart */
		return;
	}
	bus->cur = NULL;
	pd->resend = 0;
	pd->last_ok_ms = now;
	pd->next_due_ms = now + (int64_t)(bus->conf.poll_ms ?
	    bus->conf.poll_ms : 50);

	if (f->code == OSDP_NAK) {
		uint8_t why = n > 0 ? d[0] : 0;
		pd->naks++;
		if (pd->st == PD_CHLNG || pd->st == PD_SCRYPT) {
			osdp_install_done(pd, 1, "device refused the secure "
			    "channel");
			osdp_refuse(pd, "device-insecure", "device refuses the "
			    "secure channel (NAK): refused, no clear-text "
			    "fallback");
			return;
		}
		if (why == OSDP_NAK_SQN || why == OSDP_NAK_SC_COND ||
		    why == OSDP_NAK_SC_UNSUP || pd->st != PD_ONLINE) {
			osdp_pd_restart(pd, now);
			return;
		}
		/* the device cannot do that command: forget it */
		if (pd->tx_code == OSDP_OUT)
			pd->out_dirty = 0;
		else if (pd->tx_code != OSDP_POLL && pd->ncmd > 0)
			memmove(pd->cmdq, pd->cmdq + 1, --pd->ncmd *
			    sizeof(pd->cmdq[0]));
		pd->sqn = pd->sqn % 3 + 1;
		return;
	}

	switch (pd->st) {
	case PD_RESET:
		if (f->code != OSDP_PDID) {
			osdp_pd_restart(pd, now);
			return;
		}
		osdp_on_pdid(pd, d, n);
		pd->st = PD_CAP;
		break;
	case PD_CAP:
		if (f->code != OSDP_PDCAP) {
			osdp_pd_restart(pd, now);
			return;
		}
		osdp_on_pdcap(pd, d, n);
		pd->sqn = pd->sqn % 3 + 1;
		osdp_after_cap(pd);
		return;
	case PD_CHLNG:
		if (f->code != OSDP_CCRYPT) {
			osdp_refuse(pd, "device-insecure", "no CCRYPT to our "
			    "challenge: refused");
			return;
		}
		osdp_on_ccrypt(pd, d, n, f);
		pd->next_due_ms = now;
		return;		/* SQN advanced with SCRYPT */
	case PD_SCRYPT:
		if (f->code != OSDP_RMAC_I) {
			osdp_refuse(pd, "device-insecure", "no RMAC_I: refused");
			return;
		}
		osdp_on_rmac_i(pd, d, n, f);
		if (pd->st != PD_REFUSED && pd->st != PD_RESET)
			pd->sqn = pd->sqn % 3 + 1;
		pd->next_due_ms = now;
		return;
	case PD_KEYSET:
		/* ACK sealed (libosdp) or in clear (some HID readers) */
		if (f->code != OSDP_ACK) {
			osdp_install_done(pd, 1, "device did not accept KEYSET");
			osdp_pd_restart(pd, now);
			return;
		}
		memcpy(pd->key, pd->new_key, 16);
		pd->has_key = 1;
		pd->installing = 0;
		/* new session with the new key; install_until stays set so
		 * osdp_went_online reports the outcome */
		osdp_pd_restart(pd, now);
		return;
	case PD_ISTAT:
		if (f->code == OSDP_ISTATR) {
			osdp_on_inputs(pd, d, n, 1);
			osdp_went_online(pd);
		}
		break;
	case PD_ONLINE:
		if (pd->tx_code == OSDP_OUT)
			pd->out_dirty = 0;
		else if (pd->tx_code != OSDP_POLL && pd->ncmd > 0)
			memmove(pd->cmdq, pd->cmdq + 1, --pd->ncmd *
			    sizeof(pd->cmdq[0]));
		switch (f->code) {
		case OSDP_RAW: osdp_on_raw(pd, d, n); break;
		case OSDP_KEYPAD: osdp_on_keypad(pd, d, n); break;
		case OSDP_ISTATR: osdp_on_inputs(pd, d, n, 0); break;
		case OSDP_LSTATR: osdp_on_lstat(pd, d, n); break;
		default: break;
		}
		if (pd->out_dirty || pd->ncmd > 0)
			pd->next_due_ms = now;
		break;
	case PD_REFUSED:
		return;
	}
	pd->sqn = pd->sqn % 3 + 1;
}

/* ---- the engine ---- */

static int osdp_bus_open_dev(struct osdp_bus *, char *, size_t);

/* Every instance's epoll set watches the serial port, or none does. */
static void
osdp_bus_watch(struct osdp_bus *bus, int op)
{
	struct epoll_event ee;

	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	for (size_t i = 0; i < bus->npd; i++)
		for (size_t j = 0; j < bus->pds[i]->ninst; j++)
			epoll_ctl(bus->pds[i]->insts[j]->epfd, op, bus->fd, &ee);
}

/* The port went away (USB adapter unplugged, pty closed): a hung-up
 * descriptor is always readable, so stop watching it and reopen it
 * every second; the devices go offline meanwhile by the usual clock. */
static void
osdp_bus_hangup(struct osdp_bus *bus)
{
	osdp_bus_watch(bus, EPOLL_CTL_DEL);
	close(bus->fd);
	bus->fd = -1;
	bus->reopen_ms = osdp_now_ms() + 1000;
}

static void
osdp_bus_read(struct osdp_bus *bus)
{
	for (;;) {
		ssize_t r;
		if (bus->rxn == sizeof(bus->rx))
			bus->rxn = 0;	/* nothing valid is that long */
		if (bus->fd == -1)
			break;
		r = read(bus->fd, bus->rx + bus->rxn, sizeof(bus->rx) -
		    bus->rxn);
		if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
			osdp_bus_hangup(bus);
			break;
		}
		if (r <= 0)
			break;
		bus->rxn += (size_t)r;
	}
	while (bus->rxn > 0) {
		struct osdp_frame f;
		size_t used;
		enum osdp_scan s = osdp_frame_scan(bus->rx, bus->rxn, &used,
		    &f);

		if (s == OSDP_SCAN_MORE)
			break;
		if (s == OSDP_SCAN_FRAME) {
			struct osdp_pd *pd = bus->cur;
			bus->nrx++;
			/* only the reply we wait for: right address, right
			 * SQN (a late reply to an earlier try is dropped) */
			if (pd != NULL && (f.addr == (pd->addr |
			    OSDP_REPLY_BIT) || f.addr == 0xFF) &&
			    (f.sqn == pd->sqn || f.code == OSDP_BUSY))
				osdp_on_reply(bus, pd, &f);
			else if (pd != NULL && (f.addr & OSDP_REPLY_BIT))
				pd->bad_frames++;
		} else if (bus->cur != NULL)
			bus->cur->bad_frames++;
		memmove(bus->rx, bus->rx + used, bus->rxn - used);
		bus->rxn -= used;
	}
}

static void
osdp_bus_write(struct osdp_bus *bus)
{
	while (bus->fd != -1 && bus->txoff < bus->txn) {
		ssize_t w = write(bus->fd, bus->txbuf + bus->txoff,
		    bus->txn - bus->txoff);
		if (w <= 0)
			break;
		bus->txoff += (size_t)w;
	}
}

static void
osdp_send(struct osdp_bus *bus, struct osdp_pd *pd, int64_t now)
{
	uint32_t baud = bus->conf.baud ? bus->conf.baud : 9600;

	/* stale bytes are someone's late reply: not ours */
	bus->rxn = 0;
	memcpy(bus->txbuf, pd->tx, pd->txlen);
	bus->txn = pd->txlen;
	bus->txoff = 0;
	osdp_bus_write(bus);
	bus->ntx++;
	bus->cur = pd;
	/* the reply clock starts when the last byte has left (10 bits) */
	bus->deadline_ms = now + OSDP_REPLY_MS +
	    (int64_t)(pd->txlen * 10000 / baud);
}

static void
osdp_pd_timeout(struct osdp_bus *bus, struct osdp_pd *pd, int64_t now)
{
	bus->cur = NULL;
	pd->timeouts++;
	if (pd->st == PD_ONLINE || pd->st == PD_ISTAT || pd->st == PD_KEYSET ||
	    pd->st == PD_SCRYPT || pd->st == PD_CAP || pd->st == PD_CHLNG)
		pd->resend = 1;		/* identical bytes, same SQN */
	pd->next_due_ms = now;
	if (now - pd->last_ok_ms >= OSDP_OFFLINE_MS) {
		if (!pd->offline) {
			osdp_notice(pd, 0, 0, "offline: no valid reply for %d s",
			    OSDP_OFFLINE_MS / 1000);
			osdp_presence(pd, 0);
		}
		/* when it answers again, it is a new session */
		osdp_pd_restart(pd, now + OSDP_OFFLINE_POLL_MS);
	}
}

static void
osdp_pin_timeouts(struct osdp_bus *bus, int64_t now)
{
	for (size_t i = 0; i < bus->npd; i++) {
		struct osdp_pd *pd = bus->pds[i];
		if (pd->card_len > 0 && now - pd->card_at_ms > OSDP_PIN_WAIT_MS) {
			/* decided without a PIN: the policy says if it needed
			 * one, and the denial is journaled */
			osdp_emit_tap(pd, pd->card_reader, pd->card,
			    pd->card_len, NULL, 0, pd->card_us);
			pd->card_len = 0;
			pd->pin_len = 0;
		}
		if (pd->install_until_ms != 0 && now > pd->install_until_ms &&
		    pd->st != PD_KEYSET)
			osdp_install_done(pd, 1, "timed out (device not in "
			    "install mode?)");
	}
}

static void
osdp_bus_arm(struct osdp_bus *bus, int64_t now)
{
	int64_t when = INT64_MAX;
	struct itimerspec its;

	if (bus->fd == -1)
		when = bus->reopen_ms;
	if (bus->cur != NULL && bus->deadline_ms < when)
		when = bus->deadline_ms;
	if (bus->cur == NULL)
		for (size_t i = 0; i < bus->npd; i++) {
			struct osdp_pd *pd = bus->pds[i];
			int64_t due = pd->st == PD_REFUSED ? pd->retry_at_ms :
			    pd->next_due_ms;
			if (due < when)
				when = due;
			if (pd->card_len > 0 && pd->card_at_ms +
			    OSDP_PIN_WAIT_MS + 1 < when)
				when = pd->card_at_ms + OSDP_PIN_WAIT_MS + 1;
		}
	memset(&its, 0, sizeof(its));
	if (when != INT64_MAX) {
		int64_t d = when - now;
		if (d < 1)
			d = 1;
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(bus->tfd, 0, &its, NULL);
}

static void
osdp_bus_run(struct osdp_bus *bus)
{
	uint64_t exp;
	int64_t now;

	if (bus->running)
		return;
	bus->running = 1;
	if (read(bus->tfd, &exp, sizeof(exp)) < 0) {
		/* not expired: fine, time is read below */
	}
	now = osdp_now_ms();
	if (bus->fd == -1 && now >= bus->reopen_ms) {
		char err[1024];
		if (osdp_bus_open_dev(bus, err, sizeof(err)) == 0)
			osdp_bus_watch(bus, EPOLL_CTL_ADD);
		else
			bus->reopen_ms = now + 1000;
	}
	osdp_bus_write(bus);
	osdp_bus_read(bus);
	now = osdp_now_ms();
	if (bus->cur != NULL && now >= bus->deadline_ms)
		osdp_pd_timeout(bus, bus->cur, now);
	osdp_pin_timeouts(bus, now);
	if (bus->cur == NULL && bus->npd > 0) {
		for (size_t k = 0; k < bus->npd; k++) {
			struct osdp_pd *pd = bus->pds[(bus->next + k) %
			    bus->npd];
			if (pd->st == PD_REFUSED) {
				if (now < pd->retry_at_ms)
					continue;
				osdp_pd_restart(pd, now);
			}
			if (pd->next_due_ms > now)
				continue;
			if (pd->resend)
				pd->resends++;
			else if (osdp_pd_next(pd) == -1) {
				osdp_pd_restart(pd, now + OSDP_REFUSED_RETRY_MS);
				continue;
			}
			pd->resend = 0;
			bus->next = (bus->next + k + 1) % bus->npd;
			osdp_send(bus, pd, now);
			break;
		}
	}
	osdp_bus_arm(bus, now);
	bus->running = 0;
}

/* ---- bus setup ---- */

static speed_t
osdp_speed(uint32_t baud)
{
	switch (baud) {
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	default: return 0;
	}
}

static struct osdp_bus *
osdp_bus_find(const char *name)
{
	for (int i = 0; i < OSDP_BUSES_MAX; i++)
		if (buses[i] != NULL && strcmp(buses[i]->conf.name, name) == 0)
			return buses[i];
	return NULL;
}

static int
osdp_bus_open_dev(struct osdp_bus *bus, char *err, size_t errlen)
{
	const struct osdp_bus_conf *c = &bus->conf;
	speed_t sp = osdp_speed(c->baud ? c->baud : 9600);
	struct termios tio;

	if ((bus->fd = open(c->device, O_RDWR | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "osdp bus %s: %s: %s", c->name, c->device,
		    strerror(errno));
		return -1;
	}
	/* raw 8N1: the line discipline must not eat 0x11/0x13/0x0D */
	if (tcgetattr(bus->fd, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag |= CLOCAL | CREAD;
		tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS);
		cfsetispeed(&tio, sp);
		cfsetospeed(&tio, sp);
		/* VMIN 1: with O_NONBLOCK an empty port is EAGAIN, so a 0
		 * from read() means hung up (VMIN 0 returns 0 when empty) */
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(bus->fd, TCSANOW, &tio) == -1) {
			snprintf(err, errlen, "osdp bus %s: %s: %s", c->name,
			    c->device, strerror(errno));
			close(bus->fd);
			bus->fd = -1;
			return -1;
		}
	}
	return 0;
}

int
osdp_bus_add(const struct osdp_bus_conf *c, char *err, size_t errlen)
{
	struct osdp_bus *bus;
	speed_t sp = osdp_speed(c->baud ? c->baud : 9600);
	int slot = -1;

	if (osdp_bus_find(c->name) != NULL) {
		snprintf(err, errlen, "osdp bus %s: declared twice", c->name);
		return -1;
	}
	for (int i = 0; i < OSDP_BUSES_MAX; i++)
		if (buses[i] == NULL) {
			slot = i;
			break;
		}
	if (slot == -1 || sp == 0) {
		snprintf(err, errlen, "osdp bus %s: %s", c->name, sp == 0 ?
		    "unsupported baud rate" : "too many buses");
		return -1;
	}
	if ((bus = calloc(1, sizeof(*bus))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	bus->conf = *c;
	bus->fd = bus->tfd = -1;
	if (c->secure && c->keys[0]) {
		/* read once now so a loose key file stops the start */
		static uint8_t keys[128][16];
		uint8_t have[128];
		int rc = osdp_keys_read(c->keys, keys, have, err, errlen);
		explicit_bzero(keys, sizeof(keys));
		if (rc == -1) {
			free(bus);
			return -1;
		}
	}
	if (osdp_bus_open_dev(bus, err, errlen) == -1) {
		free(bus);
		return -1;
	}
	if ((bus->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		close(bus->fd);
		free(bus);
		return -1;
	}
	buses[slot] = bus;
	return 0;
}

static void
osdp_bus_free(struct osdp_bus *bus)
{
	for (size_t i = 0; i < bus->npd; i++) {
		osdp_sc_wipe(&bus->pds[i]->sc);
		explicit_bzero(bus->pds[i]->key, 16);
		explicit_bzero(bus->pds[i]->new_key, 16);
		free(bus->pds[i]);
	}
	if (bus->fd != -1)
		close(bus->fd);
	close(bus->tfd);
	free(bus);
}

void
osdp_bus_close_all(void)
{
	for (int i = 0; i < OSDP_BUSES_MAX; i++)
		if (buses[i] != NULL) {
			osdp_bus_free(buses[i]);
			buses[i] = NULL;
		}
}

static struct osdp_pd *
osdp_pd_get(struct osdp_bus *bus, unsigned addr, char *err, size_t errlen)
{
	struct osdp_pd *pd;
	static uint8_t keys[128][16];
	uint8_t have[128];

	for (size_t i = 0; i < bus->npd; i++)
		if (bus->pds[i]->addr == addr)
			return bus->pds[i];
	if (bus->npd == OSDP_PDS_MAX) {
		snprintf(err, errlen, "osdp bus %s: too many devices",
		    bus->conf.name);
		return NULL;
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pd->bus = bus;
	pd->addr = (uint8_t)addr;
	memset(pd->out_want, -1, sizeof(pd->out_want));
	if (bus->conf.secure && bus->conf.keys[0]) {
		if (osdp_keys_read(bus->conf.keys, keys, have, err, errlen) ==
		    -1) {
			explicit_bzero(keys, sizeof(keys));
			free(pd);
			return NULL;
		}
		if (have[addr]) {
			memcpy(pd->key, keys[addr], 16);
			pd->has_key = 1;
		}
		explicit_bzero(keys, sizeof(keys));
	}
	pd->last_ok_ms = osdp_now_ms();
	osdp_pd_restart(pd, pd->last_ok_ms);
	bus->pds[bus->npd++] = pd;
	osdp_bus_arm(bus, osdp_now_ms());
	return pd;
}

int
osdp_key_install(const char *name, unsigned addr, uint32_t tag, char *err,
    size_t errlen)
{
	struct osdp_bus *bus = osdp_bus_find(name);
	struct osdp_pd *pd = NULL;

	if (bus == NULL) {
		snprintf(err, errlen, "no osdp bus '%s'", name);
		return -1;
	}
	for (size_t i = 0; i < bus->npd; i++)
		if (bus->pds[i]->addr == addr)
			pd = bus->pds[i];
	if (pd == NULL) {
		snprintf(err, errlen, "no device %u on osdp bus %s", addr, name);
		return -1;
	}
	if (!bus->conf.secure || bus->conf.keys[0] == '\0') {
		snprintf(err, errlen, "osdp bus %s has no key file (secure off)",
		    name);
		return -1;
	}
	if (pd->install_until_ms != 0) {
		snprintf(err, errlen, "a key installation is already under way");
		return -1;
	}
	if (getrandom(pd->new_key, 16, 0) != 16) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	pd->install_until_ms = osdp_now_ms() + OSDP_INSTALL_MS;
	pd->install_tag = tag;
	pd->installing = 1;	/* the next handshake only, with SCBK-D */
	if (bus->cur == pd)
		bus->cur = NULL;
	osdp_pd_restart(pd, osdp_now_ms());
	osdp_bus_arm(bus, osdp_now_ms());
	return 0;
}

/* ---- the driver ---- */

static int
osdp_parse_in(const char *v, int *num, int *inv)
{
	char *e;
	long n;

	*inv = *v == '!';
	if (*inv)
		v++;
	n = strtol(v, &e, 10);
	if (e == v || *e != '\0' || n < 0 || n >= OSDP_INPUTS_MAX)
		return -1;
	*num = (int)n;
	return 0;
}

static int
osdp_open(void **ctxp, unsigned kind, const char *args, char *err,
    size_t errlen)
{
	char buf[256], *save = NULL, *tok, *colon, *e;
	struct osdp_inst *in;
	struct osdp_bus *bus;
	struct osdp_pd *pd;
	struct epoll_event ee;
	unsigned long addr;

	if (args == NULL || strlen(args) >= sizeof(buf)) {
		snprintf(err, errlen, "osdp: expected \"BUS:ADDR [options]\"");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", args);
	tok = strtok_r(buf, " \t", &save);
	if (tok == NULL || (colon = strchr(tok, ':')) == NULL) {
		snprintf(err, errlen, "osdp: expected \"BUS:ADDR [options]\", "
		    "got \"%s\"", args);
		return -1;
	}
	*colon = '\0';
	addr = strtoul(colon + 1, &e, 10);
	if (*e != '\0' || e == colon + 1 || addr > 0x7E) {
		snprintf(err, errlen, "osdp: device address must be 0..126");
		return -1;
	}
	if ((bus = osdp_bus_find(tok)) == NULL) {
		snprintf(err, errlen, "osdp: no osdp-bus '%s' in gateway.conf",
		    tok);
		return -1;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	in->role = kind & DRIVER_READER ? ROLE_READER : kind & DRIVER_SENSOR ?
	    ROLE_SENSORS : ROLE_LOCK;
	for (int s = 0; s < DRIVER_TAMPER + 2; s++)
		in->in[s] = -1;
	in->epfd = in->efd = -1;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		char *v = strchr(tok, '=');
		int ok = 0;
		if (v != NULL)
			*v++ = '\0';
		if (in->role == ROLE_READER) {
			if (strcmp(tok, "pin") == 0 && v == NULL)
				ok = in->want_pin = 1;
			else if (strcmp(tok, "class") == 0 && v != NULL &&
			    (strcmp(v, "secure") == 0 || strcmp(v, "legacy") ==
			    0)) {
				in->cls = strcmp(v, "secure") == 0;
				ok = 1;
			} else if (strcmp(tok, "reader") == 0 && v != NULL) {
				unsigned long r = strtoul(v, &e, 10);
				ok = *e == '\0' && e != v && r < 8;
				in->reader_no = (uint8_t)r;
			}
		} else if (in->role == ROLE_SENSORS && v != NULL) {
			static const char *const names[] = { "", "door", "", "passage",
			    "rex", "tamper", "passage-out" };
			for (int s = 1; s < DRIVER_TAMPER + 2; s++)
				if (names[s][0] && strcmp(tok, names[s]) == 0)
					ok = osdp_parse_in(v, &in->in[s],
					    &in->inv[s]) == 0;
		} else if (in->role == ROLE_LOCK) {
			if (strcmp(tok, "invert") == 0 && v == NULL)
				ok = in->out_invert = 1;
			else if (strcmp(tok, "out") == 0 && v != NULL) {
				unsigned long o = strtoul(v, &e, 10);
				ok = *e == '\0' && e != v && o < OSDP_OUTPUTS_MAX;
				in->out_no = (int)o;
			}
		}
		if (!ok) {
			snprintf(err, errlen, "osdp: bad option '%s%s%s' for a %s",
			    tok, v ? "=" : "", v ? v : "", in->role == ROLE_READER ?
			    "reader (reader=N, pin, class=secure|legacy)" :
			    in->role == ROLE_SENSORS ? "sensors instance (door=N "
			    "rex=N passage=N passage-out=N tamper=N, !N active "
			    "low)" : "lock (out=N, invert)");
			free(in);
			return -1;
		}
	}
	if ((pd = osdp_pd_get(bus, (unsigned)addr, err, errlen)) == NULL) {
		free(in);
		return -1;
	}
	if (pd->ninst == OSDP_INSTS_MAX) {
		snprintf(err, errlen, "osdp: too many uses of %s:%lu",
		    bus->conf.name, addr);
		free(in);
		return -1;
	}
	in->pd = pd;
	if ((in->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (in->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		snprintf(err, errlen, "osdp: %s", strerror(errno));
		goto fail;
	}
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->efd, &ee) == -1 ||
	    (bus->fd != -1 &&
	    epoll_ctl(in->epfd, EPOLL_CTL_ADD, bus->fd, &ee) == -1) ||
	    epoll_ctl(in->epfd, EPOLL_CTL_ADD, bus->tfd, &ee) == -1) {
		snprintf(err, errlen, "osdp: epoll: %s", strerror(errno));
		goto fail;
	}
	pd->insts[pd->ninst++] = in;
	*ctxp = in;
	return 0;
fail:
	if (in->efd != -1)
		close(in->efd);
	if (in->epfd != -1)
		close(in->epfd);
	free(in);
	return -1;
}

static int
osdp_fd(void *ctx)
{
	struct osdp_inst *in = ctx;

	return in->epfd;
}

static int
osdp_on_ready(void *ctx, struct driver_event *evs, size_t max)
{
	struct osdp_inst *in = ctx;
	uint64_t cnt;
	size_t n = 0;

	osdp_bus_run(in->pd->bus);
	if (read(in->efd, &cnt, sizeof(cnt)) < 0) {
		/* nothing signalled: fine */
	}
	while (n < max && in->qn > 0) {
		evs[n++] = in->q[in->qhead];
		in->qhead = (in->qhead + 1) % OSDP_QUEUE_MAX;
		in->qn--;
	}
	if (in->qn > 0) {
		uint64_t one = 1;	/* the rest next time round */
		if (write(in->efd, &one, sizeof(one)) < 0) {
			/* nothing to do */
		}
	}
	return (int)n;
}

static void
osdp_queue(struct osdp_pd *pd, uint8_t code, const uint8_t *d, size_t len)
{
	if (pd->ncmd == OSDP_CMDQ_MAX || len > sizeof(pd->cmdq[0].data))
		return;		/* feedback is best effort */
	pd->cmdq[pd->ncmd].code = code;
	pd->cmdq[pd->ncmd].len = (uint8_t)len;
	memcpy(pd->cmdq[pd->ncmd].data, d, len);
	pd->ncmd++;
}

static int
osdp_actuate(void *ctx, const struct driver_cmd *cmd)
{
	struct osdp_inst *in = ctx;
	struct osdp_pd *pd = in->pd;
	int64_t now = osdp_now_ms();

	switch (cmd->type) {
	case DRIVER_CMD_LOCK:
	case DRIVER_CMD_UNLOCK: {
		int on = (cmd->type == DRIVER_CMD_UNLOCK) ^ in->out_invert;
		if (in->role != ROLE_LOCK)
			return -1;
		pd->out_want[in->out_no] = (int8_t)on;
		pd->out_dirty |= (uint16_t)(1u << in->out_no);
		break;
	}
	case DRIVER_CMD_GRANT:
	case DRIVER_CMD_DENY: {
		int g = cmd->type == DRIVER_CMD_GRANT;
		/* temporary: steady green 3 s / red flashing 2 s, then back
		 * to whatever the reader showed */
		uint8_t led[14] = { in->reader_no, 0, 2, g ? 1 : 2, g ? 0 : 2,
		    g ? 2 : 1, 0, g ? 30 : 20, 0, 0, 0, 0, 0, 0 };
		uint8_t buz[5] = { in->reader_no, 2, g ? 1 : 2, 1, g ? 1 : 3 };
		if (in->role != ROLE_READER)
			return -1;
		if (pd->st != PD_ONLINE)
			return 0;
		osdp_queue(pd, OSDP_LED, led, sizeof(led));
		osdp_queue(pd, OSDP_BUZ, buz, sizeof(buz));
		break;
	}
	default:
		return -1;
	}
	/* a device that is offline or refused cannot act: say so */
	if (pd->offline || pd->st == PD_REFUSED)
		return -1;
	pd->next_due_ms = now;
	osdp_bus_run(pd->bus);
	return 0;
}

static size_t
osdp_describe(void *ctx, char *buf, size_t len)
{
	struct osdp_inst *in = ctx;
	struct osdp_pd *pd = in->pd;
	static const char *const st[] = { "starting", "starting", "handshake",
	    "handshake", "keying", "starting", "online", "REFUSED" };
	int n;

	n = snprintf(buf, len, "osdp %s:%u %s%s%s%s", pd->bus->conf.name,
	    pd->addr, pd->offline ? "OFFLINE" : st[pd->st],
	    pd->sc.active ? " secure" : "", pd->refused[0] ? " " : "",
	    pd->refused);
	if (in->role == ROLE_LOCK && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " out%d=%s", in->out_no,
		    pd->out_want[in->out_no] < 0 ? "?" :
		    pd->out_want[in->out_no] ? "on" : "off");
	return n < 0 ? 0 : (size_t)n;
}

static void
osdp_close(void *ctx)
{
	struct osdp_inst *in = ctx;
	struct osdp_pd *pd;

	if (in == NULL)
		return;
	pd = in->pd;
	for (size_t i = 0; i < pd->ninst; i++)
		if (pd->insts[i] == in) {
			pd->insts[i] = pd->insts[--pd->ninst];
			break;
		}
	close(in->efd);
	close(in->epfd);
	free(in);
}

const struct driver driver_osdp = {
	.name = "osdp",
	.kind = DRIVER_READER | DRIVER_SENSOR | DRIVER_OUTPUT,
	.open = osdp_open,
	.fd = osdp_fd,
	.tick_ms = 0,
	.on_ready = osdp_on_ready,
	.actuate = osdp_actuate,
	.describe = osdp_describe,
	.inject = NULL,
	.close = osdp_close,
};
