/*
 * nfc.c — badge readers through libnfc (PN532 over UART/SPI/I2C, PN533,
 * ACR122), named in gateway.conf by libnfc connstring:
 *
 *	reader nfc "pn532_uart:/dev/ttyUSB0 poll=20 watchdog=5000";
 *
 * libnfc blocks (some calls until a card comes back) and parses what the
 * hardware says, so every reader runs in its own process: at open the
 * driver forks and re-executes the embedding binary (nfc_set_exec) as
 *
 *	gatewayd --role nfc-reader --gen=N --ppid=P [--held=UID] OPTIONS...
 *
 * with a SEQPACKET socket at fd 3 and nothing else of the parent's: a
 * fresh image, so no copy of the parent's keys, policy or journal buffers.
 * nfc_role_main is that process: it opens libnfc and the device, reads the
 * DESFire site key (only here: the parent never reads it), enters the
 * sandbox the embedder hands it (for gatewayd: chroot, unprivileged user,
 * seccomp without network; gateway/sandbox.h), and then polls for
 * ISO 14443-A cards with bounded timeouts only, sending small fixed-size
 * messages. It never reopens anything: once the device is gone (it does
 * not open, or errors in a row) the process exits with NFC_EXIT_DEVICE and
 * the driver starts a new one with backoff.
 *
 * The core side (the driver table below, on the event loop) never calls
 * libnfc: it checks each message's exact size, generation, lengths and
 * text, turns it into driver events, and supervises the process: a reader
 * that sends a malformed message is killed (it is not ours any more), one
 * that stops sending heartbeats for `watchdog` ms is killed, one that dies
 * (libnfc does crash on some malformed target data; the sandbox kills a
 * refused system call) or loses its device is restarted with backoff, and
 * in every case the gate's "reader offline" alarm is raised until a new
 * process says the reader answers again.
 *
 * A card held on the reader is one tap: the reader process remembers the
 * card it reported and only checks that it is still there (R(NAK) for
 * ISO 14443-4 cards, reselection by UID otherwise); removal is noticed, and
 * the next card is a new tap. A card still held when its process is
 * replaced is handed to the next one (--held): seen there at once, it is
 * the same presence, not a new tap. A UID-only read proves nothing, so its
 * class is legacy.
 *
 * Owns: the reader processes and the socketpair. Trusts: nothing from the
 * reader process, which trusts nothing from libnfc, which trusts nothing
 * from the reader hardware: target data is checked (UID length 4/7/10 and
 * consistent with the ATQA, no cascade tag, SAK says the UID is complete)
 * before anything is reported, and a problem is logged once in words.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <nfc/nfc.h>

#include <sys/mman.h>

#include "drivers/desfire.h"
#include "drivers/driver.h"
#include "drivers/nfc.h"

#define NFC_CONN_MAX		(NFC_BUFSIZE_CONNSTRING)
#define NFC_UID_MAX		10
#define NFC_TEXT_MAX		120
#define NFC_ALIVE_MS		250	/* heartbeat period of a reader process */
#define NFC_ERRS_MAX		3	/* failed calls in a row before reopening */
#define NFC_BACKOFF_MIN_MS	100
#define NFC_STABLE_MS		10000	/* a process that lived this long resets the backoff */
#define NFC_DF_TIMEOUT_MS	300	/* one APDU to a DESFire; a real EV1 answers
					 * in ~10 ms, AES auth included */
#define NFC_EXIT_DEVICE		69	/* reader process: the device is gone
					 * (EX_UNAVAILABLE); restart me */
#define NFC_EXIT_EXEC		127	/* the reader program would not start */
#define NFC_ARGS_MAX		(PATH_MAX + 512)
#define NFC_TOK_MAX		32	/* options on a reader line */

enum nfc_msg_type {
	NFC_MSG_ALIVE = 1,	/* heartbeat */
	NFC_MSG_ONLINE,		/* the reader answers (text: chip name) */
	NFC_MSG_OFFLINE,	/* it does not (text: why) */
	NFC_MSG_TAP,		/* a card arrived */
	NFC_MSG_GONE,		/* ... and left */
	NFC_MSG_PROBLEM		/* something to log once (text) */
};

/* Reader process -> core. Fixed size: anything else is not ours. */
struct nfc_msg {
	uint32_t	gen;		/* which reader process sent it */
	uint8_t		type;		/* enum nfc_msg_type */
	uint8_t		uid_len;
	uint8_t		atqa[2];
	uint8_t		sak;
	uint8_t		ats_len;
	uint8_t		uid[NFC_UID_MAX];
	uint8_t		ats[DRIVER_ATS_MAX];
	int64_t		time_us;	/* CLOCK_REALTIME when libnfc saw the card */
	char		text[NFC_TEXT_MAX];	/* NUL-terminated, printable */
	/* TAP: what the card proved (enum policy_class: 0 UID only, 1 DESFire
	 * authenticated, 2 failed), and for 1 its credential */
	uint8_t		cls;
	uint32_t	issue;
	char		cred[DESFIRE_ID_MAX + 1];
};

struct nfc_opts {
	char		conn[NFC_CONN_MAX];
	unsigned	poll_ms;	/* pause between polls */
	unsigned	watchdog_ms;	/* silence that gets a process killed */
	unsigned	backoff_ms;	/* longest wait between reopen attempts */
	/* secure badges (issue 8): the key file's path only; the key itself
	 * is read by the reader process */
	char		desfire[PATH_MAX];
	uint8_t		aid[3];		/* wire order */
	unsigned	file, key;
	char		sysid[DESFIRE_SYSID_MAX + 1];
};

struct nfc {
	struct nfc_opts	 o;
	/* the options as given, split in place: the reader process's argv */
	char		 args[NFC_ARGS_MAX];
	char		*tok[NFC_TOK_MAX];
	size_t		 ntok;
	int		 sv[2];		/* [0] core reads, [1] reader process writes */
	pid_t		 pid;		/* 0: none running */
	int		 proc_offline;	/* the running process said offline itself */
	uint8_t		 held[NFC_UID_MAX];	/* the card tapped and not gone */
	uint8_t		 held_len;
	uint32_t	 gen;
	int64_t		 spawned, heard, respawn_at;	/* monotonic ms */
	unsigned	 backoff;
	int		 offline;	/* what the core was last told */
	int		 restarted;	/* offline because we replaced the process */
	char		 chip[NFC_TEXT_MAX];
	char		 why[NFC_TEXT_MAX];	/* last offline reason */
	char		 said[DRIVER_TEXT_MAX];	/* last line logged, to say it once */
	uint64_t	 taps, restarts, rejected;
};

/* ---- shared ---- */

static int64_t
nfc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
nfc_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A string option of the DESFire set; 1 taken, 0 not ours, -1 bad. */
static int
nfc_opt_secure(struct nfc_opts *o, const char *p, size_t n, char *err,
    size_t errlen)
{
	char v[PATH_MAX];

	if (n > 8 && strncmp(p, "desfire=", 8) == 0) {
		if (n - 8 >= sizeof(o->desfire) || p[8] != '/') {
			snprintf(err, errlen, "nfc: desfire= needs an absolute "
			    "path to the site key file");
			return -1;
		}
		memcpy(o->desfire, p + 8, n - 8);
		o->desfire[n - 8] = '\0';
		return 1;
	}
	if (n > 4 && strncmp(p, "aid=", 4) == 0) {
		snprintf(v, sizeof(v), "%.*s", (int)(n - 4), p + 4);
		if (desfire_aid_parse(v, o->aid) == -1) {
			snprintf(err, errlen, "nfc: aid=%.20s is not a DESFire "
			    "application id (6 hex digits, not 000000)", v);
			return -1;
		}
		return 1;
	}
	if (n > 6 && strncmp(p, "sysid=", 6) == 0) {
		if (n - 6 > DESFIRE_SYSID_MAX) {
			snprintf(err, errlen, "nfc: sysid= is at most %d "
			    "characters", DESFIRE_SYSID_MAX);
			return -1;
		}
		memcpy(o->sysid, p + 6, n - 6);
		o->sysid[n - 6] = '\0';
		return 1;
	}
	return 0;
}

/* Parse "CONNSTRING [poll=MS] [watchdog=MS] [backoff=MS] [desfire=KEYFILE
 * aid=HEX [file=N] [key=N] [sysid=TEXT]]". */
static int
nfc_opts_parse(const char *args, struct nfc_opts *o, char *err, size_t errlen)
{
	const char *p = args, *e;
	size_t n;

	memset(o, 0, sizeof(*o));
	o->poll_ms = 20;
	o->watchdog_ms = 5000;
	o->backoff_ms = 5000;
	o->file = 1;
	o->key = 1;
	while (*p == ' ')
		p++;
	for (e = p; *e != '\0' && *e != ' '; e++)
		;
	n = (size_t)(e - p);
	if (n == 0 || (memchr(p, ':', n) == NULL && strncmp(p, "pn53x_usb",
	    n) != 0 && strncmp(p, "acr122_usb", n) != 0)) {
		snprintf(err, errlen, "nfc: expected a libnfc connstring such "
		    "as \"pn532_uart:/dev/ttyUSB0\", got \"%s\"", args);
		return -1;
	}
	if (n >= sizeof(o->conn)) {
		snprintf(err, errlen, "nfc: connstring longer than %zu bytes",
		    sizeof(o->conn) - 1);
		return -1;
	}
	memcpy(o->conn, p, n);
	o->conn[n] = '\0';
	for (p = e; *p != '\0'; p = e) {
		unsigned long v;
		unsigned *dst;
		char *end;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		switch (nfc_opt_secure(o, p, (size_t)(e - p), err, errlen)) {
		case 1:
			continue;
		case -1:
			return -1;
		}
		if (strncmp(p, "file=", 5) == 0)
			dst = &o->file, p += 5;
		else if (strncmp(p, "key=", 4) == 0)
			dst = &o->key, p += 4;
		else if (strncmp(p, "poll=", 5) == 0)
			dst = &o->poll_ms, p += 5;
		else if (strncmp(p, "watchdog=", 9) == 0)
			dst = &o->watchdog_ms, p += 9;
		else if (strncmp(p, "backoff=", 8) == 0)
			dst = &o->backoff_ms, p += 8;
		else {
			snprintf(err, errlen, "nfc: unknown option \"%.*s\" "
			    "(expected poll=, watchdog= or backoff=, in ms; "
			    "desfire=, aid=, file=, key=, sysid=)",
			    (int)(e - p), p);
			return -1;
		}
		errno = 0;
		v = strtoul(p, &end, 10);
		if (end != e || p == e || errno != 0 || v > 600000) {
			snprintf(err, errlen, "nfc: bad number \"%.*s\" "
			    "(milliseconds, at most 600000)", (int)(e - p), p);
			return -1;
		}
		*dst = (unsigned)v;
	}
	if (o->watchdog_ms < 2000) {
		/* a healthy libnfc open takes up to ~1.7 s on a silent line */
		snprintf(err, errlen, "nfc: watchdog=%u is too short "
		    "(at least 2000 ms)", o->watchdog_ms);
		return -1;
	}
	if (o->backoff_ms < NFC_BACKOFF_MIN_MS)
		o->backoff_ms = NFC_BACKOFF_MIN_MS;
	if ((o->aid[0] | o->aid[1] | o->aid[2]) != 0 && o->desfire[0] == '\0') {
		snprintf(err, errlen, "nfc: aid= without desfire=KEYFILE");
		return -1;
	}
	if (o->desfire[0] != '\0') {
		if ((o->aid[0] | o->aid[1] | o->aid[2]) == 0) {
			snprintf(err, errlen, "nfc: desfire= needs aid= (the "
			    "venue's application, 6 hex digits)");
			return -1;
		}
		if (o->file > 31 || o->key > 13) {
			snprintf(err, errlen, "nfc: file= is 0-31 and key= 0-13");
			return -1;
		}
		/* refused here, in words, before any process reads it */
		if (desfire_keyfile_check(o->desfire, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Target data as libnfc decoded it from the chip: is it a plausible
 * ISO 14443-A card? NULL if so, else why not, in words. */
static const char *
nfc_target_check(const nfc_target *t)
{
	const nfc_iso14443a_info *a = &t->nti.nai;
	unsigned code;
	static const size_t want[] = { 4, 7, 10 };

	if (t->nm.nmt != NMT_ISO14443A)
		return "not an ISO 14443-A target";
	if (a->szUidLen != 4 && a->szUidLen != 7 && a->szUidLen != 10)
		return "UID length is not 4, 7 or 10";
	/* ATQA in chip order: the UID size code is in bits 7-8 of byte 1 */
	code = a->abtAtqa[1] >> 6;
	if (code == 3 || want[code] != a->szUidLen)
		return "UID length does not match the ATQA";
	if (a->abtUid[0] == 0x88)
		return "UID starts with a cascade tag";
	if (a->btSak & 0x04)
		return "SAK says the UID is incomplete";
	if (a->szAtsLen > 254)
		return "ATS longer than 254 bytes";
	return NULL;
}

/* A message from a reader process is ours and well formed: exact size,
 * known type, bounded lengths, NUL-terminated printable text. */
static int
nfc_msg_decode(const void *buf, size_t len, struct nfc_msg *m)
{
	size_t tl;

	if (len != sizeof(*m))
		return -1;
	memcpy(m, buf, sizeof(*m));
	if (m->type < NFC_MSG_ALIVE || m->type > NFC_MSG_PROBLEM)
		return -1;
	tl = strnlen(m->text, sizeof(m->text));
	if (tl == sizeof(m->text))
		return -1;
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)m->text[i] < 0x20 ||
		    (unsigned char)m->text[i] >= 0x7f)
			return -1;
	if (m->type == NFC_MSG_TAP) {
		if (m->uid_len != 4 && m->uid_len != 7 && m->uid_len != 10)
			return -1;
		if (m->ats_len > DRIVER_ATS_MAX || m->cls > 2)
			return -1;
		if (m->cls == 1) {
			size_t cl = strnlen(m->cred, sizeof(m->cred));

			if (cl == 0 || cl == sizeof(m->cred))
				return -1;
			for (size_t i = 0; i < cl; i++)
				if (m->cred[i] <= 0x20 || m->cred[i] >= 0x7f ||
				    m->cred[i] == '"' || m->cred[i] == '\\' ||
				    m->cred[i] == ',')
					return -1;
		}
	}
	return 0;
}

/* ---- the reader process (role nfc-reader, a fresh image) ---- */

struct nfc_proc {
	int		 fd;
	uint32_t	 gen;
	const struct nfc_opts *o;
	int64_t		 last_sent;
	char		 problem[NFC_TEXT_MAX];	/* said once until it changes */
	int		 secure;	/* site below loaded */
	struct desfire_site *site;	/* locked page: master key, never logged */
	/* the card the previous process reported and the core still holds:
	 * found at the first poll, it is not a new tap */
	uint8_t		 hint[NFC_UID_MAX];
	size_t		 hint_len;
};

/* Leave, wiping the site master key first (a SIGKILL from the core frees
 * the page with the process; it is locked, so never in swap). */
static void __attribute__((noreturn))
nfc_proc_exit(struct nfc_proc *p, int code)
{
	if (p->site != NULL)
		explicit_bzero(p->site, sizeof(*p->site));
	_exit(code);
}

static void
nfc_proc_send(struct nfc_proc *p, struct nfc_msg *m)
{
	m->gen = p->gen;
	/* the core reads fast; a dead core means we should go too */
	if (send(p->fd, m, sizeof(*m), MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		nfc_proc_exit(p, 0);
	p->last_sent = nfc_mono_ms();
}

static void
nfc_proc_say(struct nfc_proc *p, enum nfc_msg_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
nfc_proc_say(struct nfc_proc *p, enum nfc_msg_type type, const char *fmt, ...)
{
	struct nfc_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	for (char *c = m.text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (type == NFC_MSG_PROBLEM) {
		if (strcmp(m.text, p->problem) == 0)
			return;
		memcpy(p->problem, m.text, sizeof(p->problem));
	}
	nfc_proc_send(p, &m);
}

static void
nfc_proc_alive(struct nfc_proc *p)
{
	struct nfc_msg m;

	if (nfc_mono_ms() - p->last_sent < NFC_ALIVE_MS)
		return;
	memset(&m, 0, sizeof(m));
	m.type = NFC_MSG_ALIVE;
	nfc_proc_send(p, &m);
}

/* Sleep ms, staying alive for the watchdog, and leave at once if the
 * core is gone: the socket hangs up (the parent-death signal does not
 * survive the sandbox's change of user). */
static void
nfc_proc_sleep(struct nfc_proc *p, unsigned ms)
{
	int64_t until = nfc_mono_ms() + ms;

	for (;;) {
		int64_t left = until - nfc_mono_ms();
		struct pollfd pf = { p->fd, 0, 0 };	/* hangup, error only */

		nfc_proc_alive(p);
		if (left <= 0)
			return;
		if (left > NFC_ALIVE_MS)
			left = NFC_ALIVE_MS;
		if (poll(&pf, 1, (int)left) > 0)
			nfc_proc_exit(p, 0);
	}
}

/* Why the device would not open, as well as we can tell. */
static void
nfc_proc_why(const char *conn, char *buf, size_t len)
{
	const char *path = strchr(conn, ':');
	char dev[NFC_CONN_MAX];
	size_t n;

	if (path != NULL && strncmp(conn, "pn532_uart:", 11) == 0) {
		path++;
		n = strcspn(path, ":");
		if (n >= sizeof(dev))
			n = sizeof(dev) - 1;
		memcpy(dev, path, n);
		dev[n] = '\0';
		if (access(dev, F_OK) == -1) {
			snprintf(buf, len, "%.60s: %.50s", dev, strerror(errno));
			return;
		}
	}
	snprintf(buf, len, "no PN53x answers");
}

static nfc_device *
nfc_proc_open(struct nfc_proc *p, nfc_context *ctx, char *why, size_t len)
{
	nfc_device *dev;
	int r;

	if ((dev = nfc_open(ctx, p->o->conn)) == NULL) {
		nfc_proc_why(p->o->conn, why, len);
		return NULL;
	}
	/* nfc_open checks little (Diagnose); this is the real test. Finite
	 * retries so that a select with no card answers at once. */
	if ((r = nfc_initiator_init(dev)) < 0 ||
	    (r = nfc_device_set_property_bool(dev, NP_INFINITE_SELECT,
	    false)) < 0) {
		snprintf(why, len, "initialisation failed: %.80s",
		    nfc_strerror(dev));
		nfc_close(dev);
		return NULL;
	}
	return dev;
}

/* A libnfc error in an installer's words. */
static const char *
nfc_proc_words(int err)
{
	switch (err) {
	case NFC_EIO:
		return "garbled answer or broken line";
	case NFC_ETIMEOUT:
		return "no answer in time";
	case NFC_ECHIP:
		return "the chip reported an error";
	case NFC_ERFTRANS:
		return "radio error (card moved away?)";
	default:
		return "reader error";
	}
}

/* The chip's name and version ("PN532 v1.6"), from libnfc's report. */
static void
nfc_proc_chip(nfc_device *dev, char *buf, size_t len)
{
	char *info = NULL, *p;

	snprintf(buf, len, "%s", "PN53x");
	if (nfc_device_get_information_about(dev, &info) < 0 || info == NULL)
		return;
	if ((p = strstr(info, "chip: ")) != NULL) {
		p += 6;
		snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	}
	nfc_free(info);
}

/* Is the card we reported still there? 1 yes, 0 gone, <0 libnfc error. */
static int
nfc_proc_present(nfc_device *dev, const nfc_target *held)
{
	static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
	const nfc_iso14443a_info *a = &held->nti.nai;
	nfc_target t;
	int r;

	if (a->btSak & 0x20) {
		/* ISO 14443-4: an R(NAK) keeps the card's state (issue 8's
		 * authenticated session survives the check) */
		r = nfc_initiator_target_is_present(dev, NULL);
		if (r == NFC_SUCCESS)
			return 1;
		return r == NFC_ETGRELEASED ? 0 : r;
	}
	memset(&t, 0, sizeof(t));
	r = nfc_initiator_select_passive_target(dev, nm, a->abtUid, a->szUidLen,
	    &t);
	if (r < 0)
		return r;
	return r > 0 && t.nti.nai.szUidLen == a->szUidLen &&
	    memcmp(t.nti.nai.abtUid, a->abtUid, a->szUidLen) == 0;
}

/* proof: NULL for a UID read, else cls/issue/cred filled in */
static void
nfc_proc_tap(struct nfc_proc *p, const nfc_target *t, int64_t at,
    const struct nfc_msg *proof)
{
	const nfc_iso14443a_info *a = &t->nti.nai;
	struct nfc_msg m;

	memset(&m, 0, sizeof(m));
	if (proof != NULL) {
		m.cls = proof->cls;
		m.issue = proof->issue;
		memcpy(m.cred, proof->cred, sizeof(m.cred));
	}
	m.type = NFC_MSG_TAP;
	m.uid_len = (uint8_t)a->szUidLen;
	memcpy(m.uid, a->abtUid, a->szUidLen);
	m.atqa[0] = a->abtAtqa[0];
	m.atqa[1] = a->abtAtqa[1];
	m.sak = a->btSak;
	/* a longer ATS is cut: only its first bytes identify the card */
	m.ats_len = (uint8_t)(a->szAtsLen > DRIVER_ATS_MAX ? DRIVER_ATS_MAX :
	    a->szAtsLen);
	memcpy(m.ats, a->abtAts, m.ats_len);
	m.time_us = at;
	nfc_proc_send(p, &m);
}

struct nfc_df_io {
	nfc_device	*dev;
};

static int
nfc_df_xfer(void *ctx, const uint8_t *apdu, size_t n, uint8_t *r, size_t rmax)
{
	struct nfc_df_io *x = ctx;

	/* bounded: a card that goes mute costs one timeout, not a hang */
	return nfc_initiator_transceive_bytes(x->dev, apdu, n, r, rmax,
	    NFC_DF_TIMEOUT_MS);
}

/* A card arrived: with a DESFire site configured and an ISO 14443-4 card,
 * make it prove itself before reporting it. 1 reported (hold it), 0 gone
 * before a verdict (poll again). */
static int
nfc_proc_card(struct nfc_proc *p, nfc_device *dev, const nfc_target *t,
    int64_t at)
{
	const nfc_iso14443a_info *a = &t->nti.nai;
	struct nfc_df_io x = { dev };
	struct desfire_io io = { &x, nfc_df_xfer };
	struct desfire_cred c;
	struct nfc_msg m;
	char why[NFC_TEXT_MAX];

	if (!p->secure || !(a->btSak & 0x20)) {
		nfc_proc_tap(p, t, at, NULL);
		return 1;
	}
	switch (desfire_read_cred(&io, p->site, a->abtUid, a->szUidLen, &c, why,
	    sizeof(why))) {
	case DESFIRE_OK:
		memset(&m, 0, sizeof(m));
		m.cls = 1;
		m.issue = c.issue;
		memcpy(m.cred, c.id, sizeof(m.cred));
		nfc_proc_tap(p, t, at, &m);
		return 1;
	case DESFIRE_AUTH_FAILED:
		nfc_proc_say(p, NFC_MSG_PROBLEM, "%s", why);
		memset(&m, 0, sizeof(m));
		m.cls = 2;
		nfc_proc_tap(p, t, at, &m);
		return 1;
	case DESFIRE_NOT_OURS:
		nfc_proc_tap(p, t, at, NULL);
		return 1;
	case DESFIRE_GONE:
	default:
		nfc_proc_say(p, NFC_MSG_PROBLEM, "%s: no decision", why);
		return 0;
	}
}

/* The card the core still holds from the previous process, at the first
 * poll of this one: the same presence. */
static int
nfc_proc_same(struct nfc_proc *p, const nfc_target *t)
{
	const nfc_iso14443a_info *a = &t->nti.nai;

	return p->hint_len != 0 && a->szUidLen == p->hint_len &&
	    memcmp(a->abtUid, p->hint, p->hint_len) == 0;
}

/* Set the chip up again on the open device, a few times (junk left on
 * the line can spoil one attempt). 0 if it answers. */
static int
nfc_proc_reinit(struct nfc_proc *p, nfc_device *dev)
{
	for (int i = 0; i < NFC_ERRS_MAX; i++) {
		if (nfc_initiator_init(dev) >= 0 &&
		    nfc_device_set_property_bool(dev, NP_INFINITE_SELECT,
		    false) >= 0)
			return 0;
		nfc_proc_sleep(p, p->o->poll_ms);
	}
	return -1;
}

/* Poll and watch until the device goes: then exit NFC_EXIT_DEVICE (the
 * sandbox forbids reopening it; a new process will). */
static void __attribute__((noreturn))
nfc_proc_main(struct nfc_proc *p, nfc_device *dev)
{
	static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
	nfc_target held;
	int holding = 0, errs = 0;

	memset(&held, 0, sizeof(held));
	for (;;) {
		nfc_target t;
		int r;

		nfc_proc_alive(p);
		if (holding) {
			r = nfc_proc_present(dev, &held);
			if (r == 0) {
				holding = 0;
				nfc_proc_say(p, NFC_MSG_GONE, "card removed");
				continue;	/* the next card may be there already */
			}
		} else {
			memset(&t, 0, sizeof(t));
			r = nfc_initiator_select_passive_target(dev, nm, NULL, 0,
			    &t);
			if (r > 0) {
				int64_t at = nfc_wall_us();
				const char *bad = nfc_target_check(&t);

				if (bad != NULL) {
					nfc_proc_say(p, NFC_MSG_PROBLEM,
					    "card data rejected: %s", bad);
				} else if (nfc_proc_same(p, &t)) {
					held = t;
					holding = 1;
				} else if (nfc_proc_card(p, dev, &t, at)) {
					held = t;
					holding = 1;
					p->problem[0] = '\0';
				}
			}
			if (r >= 0)
				p->hint_len = 0;	/* only at once */
		}
		if (r < 0) {
			nfc_proc_say(p, NFC_MSG_PROBLEM, "%s while %s "
			    "(libnfc: %s)", nfc_proc_words(r), holding ?
			    "watching the card" : "polling", nfc_strerror(dev));
			if (++errs >= NFC_ERRS_MAX) {
				/* a glitchy line or a confused chip: set it up
				 * again on the open device (the held card is
				 * kept). A device that does not answer that is
				 * gone, and only a new process can reopen it;
				 * a held card goes to it with --held: seen
				 * again at once, it is the same presence */
				if (nfc_proc_reinit(p, dev) == 0) {
					errs = 0;
					continue;
				}
				nfc_proc_say(p, NFC_MSG_PROBLEM, "reader lost "
				    "(%s, %d times in a row); reopening in a "
				    "new process", nfc_proc_words(r),
				    NFC_ERRS_MAX);
				nfc_proc_exit(p, NFC_EXIT_DEVICE);
			}
		} else
			errs = 0;
		nfc_proc_sleep(p, p->o->poll_ms);
	}
}

/* Read the site master key into a page of its own, locked (never swapped)
 * and the process made undumpable (no core file, no ptrace by the same
 * user). 0, or -1 having said why (the reader then stays offline). */
static int
nfc_proc_key(struct nfc_proc *p)
{
	static struct desfire_site site __attribute__((aligned(4096)));
	char err[NFC_TEXT_MAX];

	prctl(PR_SET_DUMPABLE, 0);
	(void)mlock(&site, sizeof(site));	/* best effort: RLIMIT_MEMLOCK */
	p->site = &site;
	memset(&site, 0, sizeof(site));
	memcpy(site.aid, p->o->aid, 3);
	site.file = (uint8_t)p->o->file;
	site.read_key = (uint8_t)p->o->key;
	site.sysid_len = strlen(p->o->sysid);
	memcpy(site.sysid, p->o->sysid, site.sysid_len);
	if (desfire_keyfile_load(p->o->desfire, site.mk, err, sizeof(err)) ==
	    -1) {
		explicit_bzero(&site, sizeof(site));
		nfc_proc_say(p, NFC_MSG_OFFLINE, "%s", err);
		return -1;
	}
	p->secure = 1;
	return 0;
}

/* A decimal argument of ours: 0 if it is not one. */
static unsigned long
nfc_role_num(const char *s)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || *s == '-' ? 0 : v;
}

/* "--held=HEX": the UID the core still holds. -1 if malformed. */
static int
nfc_role_held(struct nfc_proc *p, const char *hex)
{
	size_t n = strlen(hex);

	if (n != 8 && n != 14 && n != 20)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 ||
		    strchr("0123456789ABCDEF", hex[2 * i]) == NULL ||
		    strchr("0123456789ABCDEF", hex[2 * i + 1]) == NULL)
			return -1;
		p->hint[i] = (uint8_t)v;
	}
	p->hint_len = n / 2;
	return 0;
}

/*
 * The reader process, started by nfc_spawn as `PROGRAM --role nfc-reader
 * ...` (argv[0] here is "nfc-reader"). In order: die with the parent;
 * everything it needs opened (socket at fd 3, libnfc, the device, the key);
 * the embedder's sandbox (the process exits if it fails); then the loop.
 * Leaves with _exit only: nothing to flush, and LeakSanitizer cannot run
 * inside the sandbox.
 */
int
nfc_role_main(int argc, char **argv, int (*sandbox)(char *err, size_t errlen))
{
	static struct nfc_opts o;
	struct nfc_proc p;
	nfc_context *ctx = NULL;
	nfc_device *dev = NULL;
	char args[NFC_ARGS_MAX], err[256], chip[NFC_TEXT_MAX];
	unsigned long gen = 0, ppid = 0;
	size_t used = 0;
	int type = 0, keyok = 1;
	socklen_t tl = sizeof(type);

	/* first: a parent that dies from now on takes us along; one that
	 * died before this line is seen as a changed parent pid */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&p, 0, sizeof(p));
	args[0] = '\0';
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n = strlen(a);

		if (strncmp(a, "--gen=", 6) == 0)
			gen = nfc_role_num(a + 6);
		else if (strncmp(a, "--ppid=", 7) == 0)
			ppid = nfc_role_num(a + 7);
		else if (strncmp(a, "--held=", 7) == 0) {
			if (nfc_role_held(&p, a + 7) == -1)
				gen = 0;
		} else if (used + n + 2 > sizeof(args)) {
			gen = 0;
			break;
		} else {
			if (used > 0)
				args[used++] = ' ';
			memcpy(args + used, a, n + 1);
			used += n;
		}
	}
	if (gen == 0 || gen > UINT32_MAX || ppid == 0 ||
	    getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "nfc-reader: bad arguments or no socket at fd "
		    "3: this role is started by gatewayd's nfc driver only\n");
		_exit(1);
	}
	if ((pid_t)ppid != getppid())
		_exit(0);	/* the parent is gone already */
	/* nothing else of whoever started us */
	close_range(4, ~0U, 0);
	p.fd = 3;
	p.gen = (uint32_t)gen;
	p.o = &o;
	if (nfc_opts_parse(args, &o, err, sizeof(err)) == -1) {
		/* the parent parsed the same text: only a file changed since */
		nfc_proc_say(&p, NFC_MSG_OFFLINE, "%s", err);
		fprintf(stderr, "nfc-reader: %s\n", err);
		_exit(1);
	}
	if (o.desfire[0] != '\0' && nfc_proc_key(&p) == -1)
		keyok = 0;	/* offline, said why; no device needed */
	if (keyok) {
		nfc_init(&ctx);
		if (ctx == NULL) {
			nfc_proc_say(&p, NFC_MSG_OFFLINE, "libnfc cannot start");
			nfc_proc_exit(&p, 1);
		}
		if ((dev = nfc_proc_open(&p, ctx, chip, sizeof(chip))) == NULL) {
			nfc_proc_say(&p, NFC_MSG_OFFLINE, "%s", chip);
			nfc_proc_exit(&p, NFC_EXIT_DEVICE);
		}
		nfc_proc_chip(dev, chip, sizeof(chip));
	}
	/* fail closed: no sandbox given is a sandbox that failed */
	if (sandbox == NULL || sandbox(err, sizeof(err)) == -1) {
		if (sandbox == NULL)
			snprintf(err, sizeof(err), "no sandbox given");
		fprintf(stderr, "nfc-reader %s: cannot enter the sandbox: %s\n",
		    o.conn, err);
		nfc_proc_say(&p, NFC_MSG_OFFLINE, "cannot enter the sandbox: %s",
		    err);
		nfc_proc_exit(&p, 1);
	}
	if (!keyok)
		for (;;)	/* until the configuration is fixed and reloaded */
			nfc_proc_sleep(&p, 1000);
	nfc_proc_say(&p, NFC_MSG_ONLINE, "%s", chip);
	nfc_proc_main(&p, dev);
}

/* ---- the core side ---- */

/* A line for the operational log, as a NOTICE event, said once: the same
 * line again (a reader that keeps failing the same way) is not repeated. */
static void
nfc_say(struct nfc *n, struct driver_event *evs, size_t max, size_t *k,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
nfc_say(struct nfc *n, struct driver_event *evs, size_t max, size_t *k,
    const char *fmt, ...)
{
	char line[DRIVER_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (strcmp(line, n->said) == 0 || *k >= max)
		return;
	memcpy(n->said, line, sizeof(line));
	memset(&evs[*k], 0, sizeof(evs[*k]));
	evs[*k].type = DRIVER_EV_NOTICE;
	memcpy(evs[*k].text, line, sizeof(line));
	(*k)++;
}

/* The reader program (nfc_set_exec): empty until the embedder names it. */
static char nfc_exec_path[PATH_MAX];

void
nfc_set_exec(const char *path)
{
	nfc_exec_path[0] = '\0';
	if (path != NULL && path[0] == '/' && strlen(path) < sizeof(nfc_exec_path))
		memcpy(nfc_exec_path, path, strlen(path) + 1);
}

/* In the forked child of a process that may have threads: only
 * async-signal-safe calls until exec. The socket goes to fd 3 (without
 * close-on-exec), everything above it is closed, signals are as new. */
static void __attribute__((noreturn))
nfc_exec(int fd, char *const av[], char *const env[])
{
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* kept across exec */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd == 3) {
		if (fcntl(3, F_SETFD, 0) == -1)
			_exit(NFC_EXIT_EXEC);
	} else if (dup2(fd, 3) == -1)
		_exit(NFC_EXIT_EXEC);
	/* the event loop's descriptors, other readers' devices, the journal */
	close_range(4, ~0U, 0);
	execve(av[0], av, env);
	_exit(NFC_EXIT_EXEC);
}

static void nfc_drain(struct nfc *);

static int
nfc_spawn(struct nfc *n)
{
	static char role_opt[] = "--role", role[] = "nfc-reader";
	static char quiet[] = "LIBNFC_LOG_LEVEL=0";
	char genarg[24], ppidarg[32], heldarg[8 + 2 * NFC_UID_MAX + 1];
	char *av[NFC_TOK_MAX + 8], **env;
	size_t a = 0, ne = 0, k = 0;
	int loud = 0, saved;
	pid_t pid;

	if (nfc_exec_path[0] == '\0') {
		errno = ENOEXEC;
		return -1;
	}
	/* anything still queued is a dead process's (its last words were
	 * read when they came): none of it may count against the new one */
	nfc_drain(n);
	/* libnfc logs every failed probe to stderr, and reads its level
	 * before main: the driver says it once instead (a level set by hand
	 * still wins) */
	while (environ[ne] != NULL)
		ne++;
	if ((env = calloc(ne + 2, sizeof(*env))) == NULL)
		return -1;
	for (size_t i = 0; i < ne; i++) {
		loud |= strncmp(environ[i], quiet, 17) == 0;
		env[k++] = environ[i];
	}
	if (!loud)
		env[k++] = quiet;
	n->gen++;
	/* everything built before fork: the child only execs */
	snprintf(genarg, sizeof(genarg), "--gen=%u", n->gen);
	snprintf(ppidarg, sizeof(ppidarg), "--ppid=%ld", (long)getpid());
	av[a++] = nfc_exec_path;
	av[a++] = role_opt;
	av[a++] = role;
	av[a++] = genarg;
	av[a++] = ppidarg;
	if (n->held_len != 0) {
		memcpy(heldarg, "--held=", 7);
		for (size_t i = 0; i < n->held_len; i++)
			snprintf(heldarg + 7 + 2 * i, 3, "%02X", n->held[i]);
		av[a++] = heldarg;
	}
	for (size_t i = 0; i < n->ntok; i++)
		av[a++] = n->tok[i];
	av[a] = NULL;
	pid = fork();
	if (pid == 0)
		nfc_exec(n->sv[1], av, env);
	saved = errno;
	free(env);
	if (pid == -1) {
		errno = saved;
		return -1;
	}
	n->pid = pid;
	n->proc_offline = 0;
	n->spawned = n->heard = nfc_mono_ms();
	return 0;
}

/* Everything still queued on the socket: after a kill, the dead process's
 * words, none of which is believed. */
static void
nfc_drain(struct nfc *n)
{
	unsigned char buf[sizeof(struct nfc_msg) + 1];

	while (recv(n->sv[0], buf, sizeof(buf), MSG_DONTWAIT) >= 0 ||
	    errno == EINTR)
		;
}

/* End the running process for cause (hung, or not ours any more). */
static void
nfc_kill(struct nfc *n)
{
	kill(n->pid, SIGKILL);
	while (waitpid(n->pid, NULL, 0) == -1 && errno == EINTR)
		;
	nfc_drain(n);
}

/* The process is gone (dead, or killed by us): tell the core the reader
 * is out of service and plan the next one. */
static void
nfc_lost(struct nfc *n, struct driver_event *evs, size_t max, size_t *k)
{
	int64_t now = nfc_mono_ms();

	n->pid = 0;
	n->restarts++;
	n->restarted = 1;
	if (now - n->spawned >= NFC_STABLE_MS)
		n->backoff = NFC_BACKOFF_MIN_MS;
	n->respawn_at = now + n->backoff;
	n->backoff = n->backoff * 2 > n->o.backoff_ms ? n->o.backoff_ms :
	    n->backoff * 2;
	if (!n->offline && *k < max) {
		memset(&evs[*k], 0, sizeof(evs[*k]));
		evs[*k].type = DRIVER_EV_OFFLINE;
		(*k)++;
		n->offline = 1;
	}
}

static void
nfc_supervise(struct nfc *n, struct driver_event *evs, size_t max, size_t *k)
{
	int64_t now = nfc_mono_ms();
	int st;

	if (n->pid > 0 && waitpid(n->pid, &st, WNOHANG) == n->pid) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
			nfc_say(n, evs, max, k, "reader process killed by its "
			    "sandbox (a refused system call); restarting");
		else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			nfc_say(n, evs, max, k, "reader process killed "
			    "(signal 9, not by gatewayd); restarting");
		else if (WIFSIGNALED(st))
			nfc_say(n, evs, max, k, "reader process killed by "
			    "signal %d (%s), libnfc crashed; restarting",
			    WTERMSIG(st), strsignal(WTERMSIG(st)));
		else if (code == NFC_EXIT_EXEC)
			nfc_say(n, evs, max, k, "cannot run the reader program "
			    "%.60s; retrying", nfc_exec_path);
		else if (code != NFC_EXIT_DEVICE && !n->proc_offline)
			nfc_say(n, evs, max, k, "reader process exited with "
			    "status %d; restarting", code);
		/* else it said why (device gone, key, sandbox): once is
		 * enough, every restart would repeat it */
		if (!n->proc_offline)
			snprintf(n->why, sizeof(n->why), "%s",
			    code == NFC_EXIT_DEVICE ? "reader lost" :
			    "reader process died");
		nfc_lost(n, evs, max, k);
	} else if (n->pid > 0 && now - n->heard > (int64_t)n->o.watchdog_ms) {
		nfc_say(n, evs, max, k, "reader process silent for %u ms "
		    "(libnfc hung); killed, restarting", n->o.watchdog_ms);
		nfc_kill(n);
		snprintf(n->why, sizeof(n->why), "reader hung");
		nfc_lost(n, evs, max, k);
	}
	if (n->pid == 0 && now >= n->respawn_at && nfc_spawn(n) == -1) {
		nfc_say(n, evs, max, k, "cannot start a reader process: %s",
		    strerror(errno));
		n->respawn_at = now + n->o.backoff_ms;
	}
}

static void
nfc_reader_close(void *ctx);

static int
nfc_reader_open(void **ctxp, unsigned kind, const char *args, char *err,
    size_t errlen)
{
	struct nfc *n;

	if (kind != DRIVER_READER) {
		snprintf(err, errlen, "nfc: only reads badges");
		return -1;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "nfc: out of memory");
		return -1;
	}
	n->sv[0] = n->sv[1] = -1;
	if (args == NULL)
		args = "";
	if (nfc_opts_parse(args, &n->o, err, errlen) == -1) {
		free(n);
		return -1;
	}
	if (nfc_exec_path[0] == '\0') {
		snprintf(err, errlen, "nfc: no reader program to run (the "
		    "embedder must call nfc_set_exec with an absolute path)");
		free(n);
		return -1;
	}
	/* the reader process gets the options as its arguments, one word
	 * each, and parses them again itself */
	if (strlen(args) >= sizeof(n->args)) {
		snprintf(err, errlen, "nfc: options longer than %zu bytes",
		    sizeof(n->args) - 1);
		free(n);
		return -1;
	}
	memcpy(n->args, args, strlen(args) + 1);
	for (char *s = n->args, *save = NULL, *t;
	    (t = strtok_r(s, " ", &save)) != NULL; s = NULL) {
		if (n->ntok == NFC_TOK_MAX) {
			snprintf(err, errlen, "nfc: more than %d options",
			    NFC_TOK_MAX);
			free(n);
			return -1;
		}
		n->tok[n->ntok++] = t;
	}
	/* one message per datagram; the core keeps both ends so a dead
	 * process is never an endless EOF on the loop */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, n->sv) ==
	    -1 || fcntl(n->sv[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "nfc: socketpair: %s", strerror(errno));
		nfc_reader_close(n);
		return -1;
	}
	n->backoff = NFC_BACKOFF_MIN_MS;
	if (nfc_spawn(n) == -1) {
		snprintf(err, errlen, "nfc: cannot start the reader process: "
		    "%s", strerror(errno));
		nfc_reader_close(n);
		return -1;
	}
	*ctxp = n;
	return 0;
}

static int
nfc_fd(void *ctx)
{
	struct nfc *n = ctx;

	return n->sv[0];
}

static int
nfc_on_ready(void *ctx, struct driver_event *evs, size_t max)
{
	struct nfc *n = ctx;
	size_t k = 0;

	/* the messages first: a process's last words (why it goes offline)
	 * come before the news of its death. Room is kept for a message's
	 * event and line, and for the supervisor's. */
	while (k + 4 <= max) {
		unsigned char buf[sizeof(struct nfc_msg) + 1];
		struct nfc_msg m;
		struct driver_event *ev;
		ssize_t r = recv(n->sv[0], buf, sizeof(buf), MSG_DONTWAIT);
		int live;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;		/* EAGAIN: all read */
		}
		if (nfc_msg_decode(buf, (size_t)r, &m) == -1) {
			n->rejected++;
			if (n->pid <= 0)
				continue;	/* a dead process's: nobody to end */
			/* not a reader process of ours any more (subverted
			 * by what it parses, or broken): end it, and believe
			 * nothing else it queued */
			nfc_say(n, evs, max, &k, "malformed message from the "
			    "reader process (%zd bytes); killed it, restarting",
			    r);
			nfc_kill(n);
			snprintf(n->why, sizeof(n->why), "reader process sent "
			    "a malformed message");
			nfc_lost(n, evs, max, &k);
			continue;
		}
		if (m.gen != n->gen)
			continue;	/* from a process we already replaced */
		/* pid 0: the process of this generation is dead; its last
		 * words (why, what went wrong) are still news, its taps and
		 * "online" are not */
		live = n->pid != 0;
		if (live)
			n->heard = nfc_mono_ms();
		switch (m.type) {
		case NFC_MSG_ALIVE:
			break;
		case NFC_MSG_GONE:
			n->held_len = 0;
			break;
		case NFC_MSG_ONLINE:
			if (!live)
				break;
			n->proc_offline = 0;
			memcpy(n->chip, m.text, sizeof(n->chip));
			n->why[0] = '\0';
			if (n->offline) {
				n->offline = 0;
				/* after a restart, quiet: a reader that crashes
				 * on every card is said once, not once a cycle */
				if (!n->restarted)
					nfc_say(n, evs, max, &k, "online (%s)",
					    m.text);
				ev = &evs[k++];
				memset(ev, 0, sizeof(*ev));
				ev->type = DRIVER_EV_ONLINE;
			}
			break;
		case NFC_MSG_OFFLINE:
			n->restarted = 0;
			n->proc_offline = 1;
			memcpy(n->why, m.text, sizeof(n->why));
			nfc_say(n, evs, max, &k, "offline: %s", m.text);
			if (!n->offline) {
				n->offline = 1;
				ev = &evs[k++];
				memset(ev, 0, sizeof(*ev));
				ev->type = DRIVER_EV_OFFLINE;
			}
			break;
		case NFC_MSG_PROBLEM:
			nfc_say(n, evs, max, &k, "%s", m.text);
			break;
		case NFC_MSG_TAP:
			if (!live)
				break;
			n->taps++;
			n->restarted = 0;
			n->said[0] = '\0';	/* a problem after a good read is news */
			/* held until GONE: a process replaced meanwhile is
			 * told, so that the same card is not a second tap */
			memcpy(n->held, m.uid, m.uid_len);
			n->held_len = m.uid_len;
			ev = &evs[k++];
			memset(ev, 0, sizeof(*ev));
			ev->type = DRIVER_EV_TAP;
			if (m.cls == 1) {
				/* authenticated: the credential the card holds */
				ev->id_format = DRIVER_ID_TEXT;
				ev->id_len = (uint8_t)strlen(m.cred);
				memcpy(ev->id, m.cred, ev->id_len);
				ev->issue = m.issue;
			} else {
				ev->id_format = DRIVER_ID_UID;
				ev->id_len = m.uid_len;
				memcpy(ev->id, m.uid, m.uid_len);
			}
			ev->cls = m.cls;	/* 0 UID only, 1 proven, 2 failed */
			ev->atqa[0] = m.atqa[0];
			ev->atqa[1] = m.atqa[1];
			ev->sak = m.sak;
			ev->ats_len = m.ats_len;
			memcpy(ev->ats, m.ats, m.ats_len);
			ev->time_us = m.time_us;
			break;
		}
	}
	nfc_supervise(n, evs, max, &k);
	return (int)k;
}

/* A PN53x has no LED or buzzer libnfc can drive portably: GRANT and DENY
 * are not ours to show. */
static int
nfc_actuate(void *ctx, const struct driver_cmd *cmd)
{
	(void)ctx;
	(void)cmd;
	return -1;
}

static size_t
nfc_describe(void *ctx, char *buf, size_t len)
{
	struct nfc *n = ctx;
	int r;

	r = snprintf(buf, len, "nfc %s %s%s%s%s%s, %llu taps, %llu restarts",
	    n->o.conn, n->offline ? "offline" : "online",
	    n->offline ? ": " : " (", n->offline ? n->why : n->chip,
	    n->offline ? "" : ")", n->o.desfire[0] != '\0' ?
	    ", DESFire secure badges" : "", (unsigned long long)n->taps,
	    (unsigned long long)n->restarts);
	return r < 0 ? 0 : (size_t)r;
}

static void
nfc_reader_close(void *ctx)
{
	struct nfc *n = ctx;

	if (n == NULL)
		return;
	if (n->pid > 0) {
		kill(n->pid, SIGKILL);
		while (waitpid(n->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (n->sv[0] != -1)
		close(n->sv[0]);
	if (n->sv[1] != -1)
		close(n->sv[1]);
	free(n);
}

const struct driver driver_nfc = {
	.name = "nfc",
	.kind = DRIVER_READER,
	.open = nfc_reader_open,
	.fd = nfc_fd,
	.tick_ms = 100,		/* the watchdog's and the respawn's clock */
	.on_ready = nfc_on_ready,
	.actuate = nfc_actuate,
	.describe = nfc_describe,
	.inject = NULL,
	.close = nfc_reader_close,
};
