/*
 * pn532emu.c — a PN532 on a pty, answering libnfc's pn532_uart driver
 * frame by frame (the protocol and libnfc's habits are in
 * /work/shared/notes/pn532-emulation.md).
 *
 * One thread runs a poll() loop on the pty master and a wake-up pipe; it
 * holds the lock while it handles a frame, and the test's calls (card,
 * faults, unplug) take the same lock and poke the pipe. Every good frame is
 * ACKed first, then answered, unless a fault says otherwise. A command that
 * waits for a card (InListPassiveTarget with infinite retries, InAutoPoll)
 * stays pending until a card comes, its time runs out, or any new frame
 * arrives: a late answer would be read as the answer to the next command.
 *
 * Owns: the pty (master and one slave fd, kept so the master never reports
 * EIO while no client is attached), a symlink to the slave, the thread.
 * Trusts: nothing the host writes; bad frames are dropped silently, as a
 * real chip does.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/pn532emu.h"

#define EMU_IN_MAX	4096
#define EMU_DRIP_MS	250

struct pn532emu {
	pthread_mutex_t		mu;
	pthread_t		th;
	int			master, slave;	/* -1 while unplugged */
	int			wake[2];
	int			stop;
	char			dir[64], link[96], conn[128];

	struct pn532emu_card	card;
	int			present, selected;
	int64_t			card_time_us;
	uint8_t			params;		/* SetParameters flags */
	uint8_t			mxrty;		/* MxRtyPassiveActivation */
	uint8_t			*regs;		/* 64 KiB register file */

	enum pn532emu_fault	fault;
	int			fault_cmd;

	int			pending;	/* a command waits for a card */
	uint8_t			pend_cmd;
	uint8_t			pend_data[64];
	size_t			pend_len;
	int64_t			pend_deadline;	/* ms, 0: forever */

	uint8_t			in[EMU_IN_MAX];
	size_t			inlen;

	unsigned long		count[256], total, activations, bad;
};

static const char *const emu_fault_names[PN532EMU_FAULT__COUNT] = {
	"none", "checksum", "junk", "code", "error", "silent", "drip",
	"uid-long", "truncated", "ats-zero"
};

static int64_t
emu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
emu_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
emu_poke(struct pn532emu *e)
{
	char c = 1;

	if (write(e->wake[1], &c, 1) == -1) {
		/* full pipe: the thread is already due to wake */
	}
}

/* Write everything, byte by byte with pauses when dripping; gives up when
 * the pty is gone or the emulator stops. Called with the lock held; the
 * lock is dropped during the pauses so the test can still steer. */
static void
emu_write(struct pn532emu *e, const uint8_t *p, size_t n)
{
	int drip = e->fault == PN532EMU_FAULT_DRIP;

	while (n > 0 && e->master != -1 && !e->stop) {
		ssize_t w = write(e->master, p, drip ? 1 : n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				pthread_mutex_unlock(&e->mu);
				usleep(1000);
				pthread_mutex_lock(&e->mu);
				continue;
			}
			return;
		}
		p += w;
		n -= (size_t)w;
		if (drip && n > 0) {
			pthread_mutex_unlock(&e->mu);
			usleep(EMU_DRIP_MS * 1000);
			pthread_mutex_lock(&e->mu);
			drip = e->fault == PN532EMU_FAULT_DRIP;
		}
	}
}

static int
emu_faulty(const struct pn532emu *e, uint8_t cmd)
{
	return e->fault != PN532EMU_FAULT_NONE &&
	    (e->fault_cmd == PN532EMU_ALL || e->fault_cmd == cmd);
}

static void
emu_ack(struct pn532emu *e, uint8_t cmd)
{
	static const uint8_t ack[] = { 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00 };
	static const uint8_t junk[] = { 0xA5, 0x5A, 0x13, 0x37, 0x00 };

	if (emu_faulty(e, cmd)) {
		if (e->fault == PN532EMU_FAULT_SILENT)
			return;
		if (e->fault == PN532EMU_FAULT_JUNK)
			emu_write(e, junk, sizeof(junk));
	}
	emu_write(e, ack, sizeof(ack));
}

/* Answer cmd with D5 cmd+1 data, as a normal or an extended frame. */
static void
emu_answer(struct pn532emu *e, uint8_t cmd, const uint8_t *data, size_t n)
{
	static const uint8_t err[] = { 0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F,
	    0x81, 0x00 };
	uint8_t f[16 + 2 + 300];
	size_t len = n + 2, o = 0;
	uint8_t sum, rc = (uint8_t)(cmd + 1);

	if (n > 300)
		return;
	if (emu_faulty(e, cmd)) {
		switch (e->fault) {
		case PN532EMU_FAULT_SILENT:
			return;
		case PN532EMU_FAULT_ERROR:
			emu_write(e, err, sizeof(err));
			return;
		case PN532EMU_FAULT_CODE:
			rc = (uint8_t)(cmd + 3);
			break;
		default:
			break;
		}
	}
	f[o++] = 0x00;
	f[o++] = 0x00;
	f[o++] = 0xFF;
	if (len <= 255) {
		f[o++] = (uint8_t)len;
		f[o++] = (uint8_t)(0x100 - len);
	} else {
		f[o++] = 0xFF;
		f[o++] = 0xFF;
		f[o++] = (uint8_t)(len >> 8);
		f[o++] = (uint8_t)len;
		f[o++] = (uint8_t)(0x100 - ((len >> 8) + (len & 0xff)));
	}
	f[o++] = 0xD5;
	f[o++] = rc;
	sum = (uint8_t)(0xD5 + rc);
	for (size_t i = 0; i < n; i++) {
		f[o++] = data[i];
		sum = (uint8_t)(sum + data[i]);
	}
	f[o++] = (uint8_t)(0x100 - sum);
	if (emu_faulty(e, cmd) && e->fault == PN532EMU_FAULT_CHECKSUM)
		f[o - 1] ^= 0x5A;
	f[o++] = 0x00;
	emu_write(e, f, o);
}

/* The cascade-coded form of the card's UID, as libnfc sends it to select
 * one card: 88+3+4 for 7 bytes, 88+3+88+3+4 for 10. */
static size_t
emu_cascade(const struct pn532emu_card *c, uint8_t *out)
{
	const uint8_t *u = c->uid;

	switch (c->uid_len) {
	case 7:
		out[0] = 0x88;
		memcpy(out + 1, u, 7);
		return 8;
	case 10:
		out[0] = 0x88;
		memcpy(out + 1, u, 3);
		out[4] = 0x88;
		memcpy(out + 5, u + 3, 7);
		return 12;
	default:
		memcpy(out, u, c->uid_len);
		return c->uid_len;
	}
}

/* TargetData for a type A card, Tg included; card-data faults apply. */
static size_t
emu_target(struct pn532emu *e, uint8_t cmd, uint8_t *t)
{
	const struct pn532emu_card *c = &e->card;
	enum pn532emu_fault f = emu_faulty(e, cmd) ? e->fault :
	    PN532EMU_FAULT_NONE;
	size_t o = 0;

	t[o++] = 0x01;
	t[o++] = c->atqa[0];
	t[o++] = c->atqa[1];
	t[o++] = c->sak;
	if (f == PN532EMU_FAULT_TRUNCATED)
		return o;
	if (f == PN532EMU_FAULT_UID_LONG) {
		t[o++] = 11;
		for (int i = 0; i < 11; i++)
			t[o++] = (uint8_t)(0x40 + i);
		return o;
	}
	t[o++] = (uint8_t)c->uid_len;
	memcpy(t + o, c->uid, c->uid_len);
	o += c->uid_len;
	if (f == PN532EMU_FAULT_ATS_ZERO) {
		t[o++] = 0x00;
		return o;
	}
	if ((e->params & 0x10) && (c->sak & 0x20) && c->ats_len > 0) {
		t[o++] = (uint8_t)(c->ats_len + 1);
		memcpy(t + o, c->ats, c->ats_len);
		o += c->ats_len;
	}
	return o;
}

static void
emu_activate(struct pn532emu *e)
{
	e->selected = 1;
	e->activations++;
	if (e->card.reset != NULL)
		e->card.reset(e->card.user);
}

/* InListPassiveTarget: 1 if answered, 0 if it must wait for a card. */
static int
emu_list(struct pn532emu *e, const uint8_t *d, size_t n)
{
	uint8_t r[2 + 80], want[12];
	size_t o;

	if (n < 2 || d[1] != 0x00) {		/* only 106 kbps type A */
		r[0] = 0;
		emu_answer(e, 0x4A, r, 1);
		return 1;
	}
	if (e->present && (n == 2 || (n - 2 == emu_cascade(&e->card, want) &&
	    memcmp(d + 2, want, n - 2) == 0))) {
		emu_activate(e);
		r[0] = 1;
		o = 1 + emu_target(e, 0x4A, r + 1);
		emu_answer(e, 0x4A, r, o);
		return 1;
	}
	if (e->mxrty == 0xFF)
		return 0;
	r[0] = 0;
	emu_answer(e, 0x4A, r, 1);
	return 1;
}

/* InAutoPoll: 1 if answered, 0 if it waits. */
static int
emu_autopoll(struct pn532emu *e, const uint8_t *d, size_t n, int expired)
{
	uint8_t r[3 + 80];
	size_t o;

	(void)d;	/* any requested type: the card answers as what it is */
	if (n < 3)
		return emu_answer(e, 0x60, (const uint8_t *)"\x00", 1), 1;
	if (e->present) {
		emu_activate(e);
		r[0] = 1;
		r[1] = (e->card.sak & 0x20) ? 0x20 : 0x10;
		o = emu_target(e, 0x60, r + 3);
		r[2] = (uint8_t)o;
		emu_answer(e, 0x60, r, 3 + o);
		return 1;
	}
	if (!expired)
		return 0;
	r[0] = 0;
	emu_answer(e, 0x60, r, 1);
	return 1;
}

static void
emu_pend(struct pn532emu *e, uint8_t cmd, const uint8_t *d, size_t n,
    int64_t deadline)
{
	e->pending = 1;
	e->pend_cmd = cmd;
	e->pend_len = n < sizeof(e->pend_data) ? n : sizeof(e->pend_data);
	memcpy(e->pend_data, d, e->pend_len);
	e->pend_deadline = deadline;
}

/* A pending command: answer it if a card came or its time ran out. */
static void
emu_pending(struct pn532emu *e)
{
	int expired;

	if (!e->pending)
		return;
	expired = e->pend_deadline != 0 && emu_now_ms() >= e->pend_deadline;
	if (e->pend_cmd == 0x4A ? emu_list(e, e->pend_data, e->pend_len) :
	    emu_autopoll(e, e->pend_data, e->pend_len, expired))
		e->pending = 0;
}

/* One good frame from the host: command code d[0], parameters after. */
static void
emu_command(struct pn532emu *e, const uint8_t *d, size_t n)
{
	uint8_t cmd = d[0], r[300];
	const uint8_t *p = d + 1;
	size_t np = n - 1, o = 0;
	int rl;

	e->pending = 0;		/* never answer a command the host gave up on */
	e->count[cmd]++;
	e->total++;
	emu_ack(e, cmd);
	switch (cmd) {
	case 0x00:	/* Diagnose */
		if (np >= 1 && p[0] == 0x00) {
			memcpy(r, p, np < sizeof(r) ? np : sizeof(r));
			o = np < sizeof(r) ? np : sizeof(r);
		} else if (np >= 1 && p[0] == 0x06)
			r[o++] = e->present && e->selected ? 0x00 : 0x01;
		else
			r[o++] = 0x00;
		break;
	case 0x02:	/* GetFirmwareVersion: PN532 v1.6, A/B/18092 */
		memcpy(r, "\x32\x01\x06\x07", 4);
		o = 4;
		break;
	case 0x04:	/* GetGeneralStatus */
		r[o++] = 0x00;
		r[o++] = 0x01;
		r[o++] = (uint8_t)(e->selected ? 1 : 0);
		r[o++] = 0x00;
		break;
	case 0x06:	/* ReadRegister: n addresses */
		for (size_t i = 0; i + 1 < np && o < sizeof(r); i += 2)
			r[o++] = e->regs[(p[i] << 8) | p[i + 1]];
		break;
	case 0x08:	/* WriteRegister: n (address, value) */
		for (size_t i = 0; i + 2 < np; i += 3)
			e->regs[(p[i] << 8) | p[i + 1]] = p[i + 2];
		break;
	case 0x0C:	/* ReadGPIO */
		memcpy(r, "\xFF\x03\x00", 3);
		o = 3;
		break;
	case 0x0E:	/* WriteGPIO */
	case 0x14:	/* SAMConfiguration */
		break;
	case 0x12:	/* SetParameters */
		if (np >= 1)
			e->params = p[0];
		break;
	case 0x16:	/* PowerDown */
		e->selected = 0;
		r[o++] = 0x00;
		break;
	case 0x32:	/* RFConfiguration */
		if (np >= 2 && p[0] == 0x01 && !(p[1] & 1))
			e->selected = 0;
		if (np >= 4 && p[0] == 0x05)
			e->mxrty = p[3];
		break;
	case 0x4A:	/* InListPassiveTarget */
		if (!emu_list(e, p, np))
			emu_pend(e, cmd, p, np, 0);
		return;
	case 0x60:	/* InAutoPoll: PollNr x types x Period x 150 ms */
		if (np >= 3 && !emu_autopoll(e, p, np, 0))
			emu_pend(e, cmd, p, np, p[0] == 0xFF ? 0 : emu_now_ms() +
			    (int64_t)p[0] * (int64_t)(np - 2) * p[1] * 150);
		else if (np < 3)
			emu_autopoll(e, p, np, 1);
		return;
	case 0x40:	/* InDataExchange: Tg, data */
		if (np < 1 || p[0] != 0x01) {
			r[o++] = 0x27;
			break;
		}
		if (!e->present || !e->selected || e->card.exchange == NULL) {
			r[o++] = 0x01;		/* timeout: nobody answered */
			break;
		}
		rl = e->card.exchange(e->card.user, p + 1, np - 1, r + 1,
		    PN532EMU_RAPDU_MAX);
		if (rl < 0 || rl > PN532EMU_RAPDU_MAX) {
			r[o++] = 0x01;
			break;
		}
		r[0] = 0x00;
		o = 1 + (size_t)rl;
		break;
	case 0x42:	/* InCommunicateThru: the R(NAK) presence check */
		if (e->present && e->selected && np >= 1 &&
		    (p[0] == 0xB2 || p[0] == 0xB3)) {
			r[o++] = 0x00;
			r[o++] = (uint8_t)(p[0] - 0x10);
		} else
			r[o++] = 0x01;
		break;
	case 0x52:	/* InRelease */
		e->selected = 0;
		r[o++] = 0x00;
		break;
	case 0x44:	/* InDeselect */
	case 0x4E:	/* InPSL */
	case 0x54:	/* InSelect */
		r[o++] = 0x00;
		break;
	case 0x56:	/* InJumpForDEP: nobody there */
		r[o++] = 0x01;
		break;
	default: {
		static const uint8_t err[] = { 0x00, 0x00, 0xFF, 0x01, 0xFF,
		    0x7F, 0x81, 0x00 };
		emu_write(e, err, sizeof(err));
		return;
	}
	}
	emu_answer(e, cmd, r, o);
}

/* Find and handle every complete frame in the input buffer. */
static void
emu_parse(struct pn532emu *e)
{
	size_t i = 0;

	for (;;) {
		size_t s, len, hdr, end;
		uint8_t sum;

		/* start code 00 FF; wake-up bytes and junk before it go */
		while (i + 1 < e->inlen && !(e->in[i] == 0x00 &&
		    e->in[i + 1] == 0xFF))
			i++;
		if (i + 4 > e->inlen)
			break;
		s = i + 2;
		if (e->in[s] == 0x00 && e->in[s + 1] == 0xFF) {	/* host ACK */
			e->pending = 0;
			i = s + 2;
			continue;
		}
		if (e->in[s] == 0xFF && e->in[s + 1] == 0x00) {	/* NACK */
			i = s + 2;
			continue;
		}
		if (e->in[s] == 0xFF && e->in[s + 1] == 0xFF) {	/* extended */
			if (s + 5 > e->inlen)
				break;
			len = ((size_t)e->in[s + 2] << 8) | e->in[s + 3];
			if ((uint8_t)(e->in[s + 2] + e->in[s + 3] +
			    e->in[s + 4]) != 0) {
				e->bad++;
				i = s;
				continue;
			}
			hdr = s + 5;
		} else {
			len = e->in[s];
			if ((uint8_t)(e->in[s] + e->in[s + 1]) != 0) {
				e->bad++;
				i = s;
				continue;
			}
			hdr = s + 2;
		}
		if (len < 2 || len > 300) {
			e->bad++;
			i = s;
			continue;
		}
		end = hdr + len + 2;		/* data, DCS, postamble */
		if (end > e->inlen) {
			if (end > sizeof(e->in)) {
				e->bad++;
				i = s;
				continue;
			}
			break;			/* wait for the rest */
		}
		sum = 0;
		for (size_t k = hdr; k < hdr + len + 1; k++)
			sum = (uint8_t)(sum + e->in[k]);
		if (sum != 0 || e->in[hdr] != 0xD4) {
			e->bad++;
			i = s;
			continue;
		}
		emu_command(e, e->in + hdr + 1, len - 1);
		i = end;
	}
	if (i > e->inlen)
		i = e->inlen;
	memmove(e->in, e->in + i, e->inlen - i);
	e->inlen -= i;
}

static void *
emu_main(void *arg)
{
	struct pn532emu *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		struct pollfd pf[2];
		int nfd = 1, timeout = -1;

		pf[0].fd = e->wake[0];
		pf[0].events = POLLIN;
		if (e->master != -1) {
			pf[1].fd = e->master;
			pf[1].events = POLLIN;
			nfd = 2;
		}
		if (e->pending && e->pend_deadline != 0) {
			int64_t left = e->pend_deadline - emu_now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		pthread_mutex_unlock(&e->mu);
		poll(pf, (nfds_t)nfd, timeout);
		pthread_mutex_lock(&e->mu);
		if (pf[0].revents & POLLIN) {
			char buf[64];
			while (read(e->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if (e->stop)
			break;
		if (nfd == 2 && pf[1].fd == e->master &&
		    (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r;

			if (e->inlen == sizeof(e->in))
				e->inlen = 0;	/* flood of junk: start over */
			r = read(e->master, e->in + e->inlen,
			    sizeof(e->in) - e->inlen);
			if (r > 0) {
				e->inlen += (size_t)r;
				emu_parse(e);
			} else if (r == -1 && errno == EIO)
				usleep(1000);	/* no client: see note 8 */
		}
		emu_pending(e);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* A new pty, raw, with our own slave fd, named by the symlink. */
static int
emu_open_pty(struct pn532emu *e)
{
	char name[64];
	struct termios t;
	int m, s, fl;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (grantpt(m) == -1 || unlockpt(m) == -1 ||
	    ptsname_r(m, name, sizeof(name)) != 0 ||
	    (s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		close(m);
		return -1;
	}
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	if ((fl = fcntl(m, F_GETFL)) != -1)
		fcntl(m, F_SETFL, fl | O_NONBLOCK);
	unlink(e->link);
	if (symlink(name, e->link) == -1) {
		close(s);
		close(m);
		return -1;
	}
	e->master = m;
	e->slave = s;
	e->inlen = 0;
	e->pending = 0;
	e->selected = 0;
	return 0;
}

struct pn532emu *
pn532emu_start(void)
{
	struct pn532emu *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->master = e->slave = e->wake[0] = e->wake[1] = -1;
	e->fault_cmd = PN532EMU_ALL;
	e->mxrty = 0xFF;
	snprintf(e->dir, sizeof(e->dir), "/tmp/pn532emu.XXXXXX");
	if ((e->regs = calloc(1, 65536)) == NULL || mkdtemp(e->dir) == NULL)
		goto fail;
	snprintf(e->link, sizeof(e->link), "%s/tty", e->dir);
	snprintf(e->conn, sizeof(e->conn), "pn532_uart:%s", e->link);
	if (pipe2(e->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    emu_open_pty(e) == -1)
		goto fail;
	pthread_mutex_init(&e->mu, NULL);
	if (pthread_create(&e->th, NULL, emu_main, e) != 0) {
		pthread_mutex_destroy(&e->mu);
		goto fail;
	}
	return e;
fail:
	if (e->master != -1)
		close(e->master);
	if (e->slave != -1)
		close(e->slave);
	if (e->wake[0] != -1) {
		close(e->wake[0]);
		close(e->wake[1]);
	}
	if (e->link[0])
		unlink(e->link);
	if (e->dir[0])
		rmdir(e->dir);
	free(e->regs);
	free(e);
	return NULL;
}

void
pn532emu_stop(struct pn532emu *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->stop = 1;
	pthread_mutex_unlock(&e->mu);
	emu_poke(e);
	pthread_join(e->th, NULL);
	if (e->master != -1) {
		close(e->master);
		close(e->slave);
	}
	close(e->wake[0]);
	close(e->wake[1]);
	unlink(e->link);
	rmdir(e->dir);
	pthread_mutex_destroy(&e->mu);
	free(e->regs);
	free(e);
}

const char *
pn532emu_connstring(const struct pn532emu *e)
{
	return e->conn;
}

const char *
pn532emu_path(const struct pn532emu *e)
{
	return e->link;
}

void
pn532emu_set_card(struct pn532emu *e, const struct pn532emu_card *c)
{
	pthread_mutex_lock(&e->mu);
	if (c != NULL) {
		e->card = *c;
		if (e->card.uid_len > PN532EMU_UID_MAX)
			e->card.uid_len = PN532EMU_UID_MAX;
		if (e->card.ats_len > PN532EMU_ATS_MAX)
			e->card.ats_len = PN532EMU_ATS_MAX;
		e->present = 1;
		e->card_time_us = emu_wall_us();
	} else
		e->present = 0;
	e->selected = 0;	/* a new card, or none, is a new activation */
	pthread_mutex_unlock(&e->mu);
	emu_poke(e);
}

void
pn532emu_fault(struct pn532emu *e, enum pn532emu_fault f, int cmd)
{
	pthread_mutex_lock(&e->mu);
	e->fault = f;
	e->fault_cmd = cmd;
	pthread_mutex_unlock(&e->mu);
	emu_poke(e);
}

int
pn532emu_unplug(struct pn532emu *e)
{
	pthread_mutex_lock(&e->mu);
	if (e->master != -1) {
		close(e->master);
		close(e->slave);
		e->master = e->slave = -1;
	}
	unlink(e->link);
	e->pending = 0;
	pthread_mutex_unlock(&e->mu);
	emu_poke(e);
	return 0;
}

int
pn532emu_replug(struct pn532emu *e)
{
	int r = 0;

	pthread_mutex_lock(&e->mu);
	if (e->master == -1)
		r = emu_open_pty(e);
	pthread_mutex_unlock(&e->mu);
	emu_poke(e);
	return r;
}

unsigned long
pn532emu_count(struct pn532emu *e, int cmd)
{
	unsigned long n;

	pthread_mutex_lock(&e->mu);
	n = cmd < 0 || cmd > 255 ? e->total : e->count[cmd];
	pthread_mutex_unlock(&e->mu);
	return n;
}

unsigned long
pn532emu_activations(struct pn532emu *e)
{
	unsigned long n;

	pthread_mutex_lock(&e->mu);
	n = e->activations;
	pthread_mutex_unlock(&e->mu);
	return n;
}

unsigned long
pn532emu_bad_frames(struct pn532emu *e)
{
	unsigned long n;

	pthread_mutex_lock(&e->mu);
	n = e->bad;
	pthread_mutex_unlock(&e->mu);
	return n;
}

int64_t
pn532emu_card_time_us(struct pn532emu *e)
{
	int64_t t;

	pthread_mutex_lock(&e->mu);
	t = e->card_time_us;
	pthread_mutex_unlock(&e->mu);
	return t;
}

const char *
pn532emu_fault_name(enum pn532emu_fault f)
{
	return (unsigned)f < PN532EMU_FAULT__COUNT ? emu_fault_names[f] : "?";
}

int
pn532emu_fault_parse(const char *s)
{
	for (int i = 0; i < PN532EMU_FAULT__COUNT; i++)
		if (strcmp(s, emu_fault_names[i]) == 0)
			return i;
	return -1;
}
