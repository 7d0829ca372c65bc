/*
 * emu.c — an emulated OSDP peripheral bus for the tests: several PDs
 * (card readers with a keypad, I/O modules with inputs and relays) behind
 * one byte stream, behaving as notes/osdp.md §6 says a PD must (SQN rules,
 * cached replies for repeats, Secure Channel with SCBK or the install key,
 * KEYSET only inside SC), plus fault injection: bad CRC, wrong SQN,
 * silence, garbage, a replayed secure reply, dropping to clear text.
 *
 * Included (#include) by the unit test, the benchmark and the pty program
 * tests/osdp/osdp_pd.c, so everything here is static. It uses the
 * project's frame and crypto code (drivers/osdp_wire.c, osdp_sc.c): those
 * are checked against the published vectors on their own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/osdp_proto.h"

/* some users need only part of the emulator */
#define EMU_FN		static __attribute__((unused))
#define EMU_PDS		64
#define EMU_EVQ		16
#define EMU_REPLY_MAX	512

struct emu_ev {
	uint8_t		code, len;
	uint8_t		data[40];
};

struct emu_pd {
	uint8_t		addr;
	int		used, reader, n_in, n_out;
	/* keys */
	uint8_t		key[16];
	int		has_key, install_mode, no_sc;
	struct osdp_sc	sc;
	uint8_t		rnd_a[8], rnd_b[8], kk;
	/* sequence and the cached reply */
	int		have_last;
	uint8_t		last_sqn, last_code;
	uint8_t		last_reply[EMU_REPLY_MAX];
	size_t		last_len;
	/* state */
	uint8_t		inputs[8], outputs[8], tamper;
	struct emu_ev	q[EMU_EVQ];
	size_t		nq;
	/* what the CP did */
	unsigned	n_cmds, n_polls, n_outcmd, n_led, n_buz, n_keyset, n_nak,
			n_chlng, n_resent;
	uint8_t		last_led_color;
	/* faults (counts of replies to spoil, or modes) */
	int		silent, bad_crc, wrong_sqn, garbage, replay, cleartext,
			busy;
	uint8_t		old_sealed[4][EMU_REPLY_MAX];	/* by SQN */
	size_t		old_sealed_len[4];
	uint8_t		prev_sealed[EMU_REPLY_MAX];	/* replay source */
	size_t		prev_len;
	/* log hook: the pty program prints, tests count */
	void		(*log)(void *, const char *);
	void		*log_arg;
};

struct emu {
	struct emu_pd	pd[EMU_PDS];
	uint8_t		rx[4096];
	size_t		rxn;
	uint32_t	rng;
};

static void
emu_log(struct emu_pd *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emu_log(struct emu_pd *p, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (p->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->log(p->log_arg, buf);
}

static void
emu_rand(struct emu *e, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e->rng = e->rng * 1103515245u + 12345u;
		out[i] = (uint8_t)(e->rng >> 16);
	}
}

EMU_FN struct emu_pd *
emu_add(struct emu *e, uint8_t addr, int reader, const uint8_t *key)
{
	struct emu_pd *p = &e->pd[addr % EMU_PDS];

	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->addr = addr;
	p->reader = reader;
	p->n_in = reader ? 0 : 4;
	p->n_out = reader ? 0 : 2;
	if (key != NULL) {
		memcpy(p->key, key, 16);
		p->has_key = 1;
	}
	return p;
}

static void
emu_queue(struct emu_pd *p, uint8_t code, const uint8_t *d, size_t n)
{
	if (p->nq == EMU_EVQ || n > sizeof(p->q[0].data))
		return;
	p->q[p->nq].code = code;
	p->q[p->nq].len = (uint8_t)n;
	memcpy(p->q[p->nq].data, d, n);
	p->nq++;
}

/* A card: RAW, reader 0, format 1 (raw Wiegand), bits. */
EMU_FN void
emu_card(struct emu_pd *p, const uint8_t *bytes, size_t nbytes, unsigned bits)
{
	uint8_t d[40] = { 0, 1, (uint8_t)(bits & 0xff), (uint8_t)(bits >> 8) };

	if (nbytes > 32)
		return;
	memcpy(d + 4, bytes, nbytes);
	emu_queue(p, OSDP_RAW, d, 4 + nbytes);
}

EMU_FN void
emu_keys(struct emu_pd *p, const char *keys)
{
	uint8_t d[40] = { 0 };
	size_t n = strlen(keys);

	if (n > 30)
		return;
	d[1] = (uint8_t)n;
	for (size_t i = 0; i < n; i++)
		d[2 + i] = keys[i] == '#' ? 0x0D : keys[i] == '*' ? 0x7F :
		    (uint8_t)keys[i];
	emu_queue(p, OSDP_KEYPAD, d, 2 + n);
}

EMU_FN void
emu_input(struct emu_pd *p, unsigned idx, int on)
{
	if (idx >= 8)
		return;
	p->inputs[idx] = (uint8_t)(on != 0);
	emu_queue(p, OSDP_ISTATR, p->inputs, (size_t)p->n_in);
}

EMU_FN void
emu_set_tamper(struct emu_pd *p, int on)
{
	uint8_t d[2];

	p->tamper = (uint8_t)(on != 0);
	d[0] = p->tamper;
	d[1] = 0;
	emu_queue(p, OSDP_LSTATR, d, 2);
}

/* Build a reply into out; explicit scb for the handshake. */
static int
emu_build(struct emu_pd *p, uint8_t sqn, uint8_t code, const uint8_t *d,
    size_t n, uint8_t scb_len, uint8_t scb_type, uint8_t scb_data,
    uint8_t *out, size_t cap)
{
	struct osdp_msg m;

	memset(&m, 0, sizeof(m));
	m.addr = p->addr | OSDP_REPLY_BIT;
	m.sqn = sqn;
	m.code = code;
	m.data = d;
	m.data_len = n;
	m.scb_len = scb_len;
	m.scb_type = scb_type;
	m.scb_data = scb_data;
	m.mark = 1;
	return osdp_frame_build(out, cap, &m, p->sc.active ? &p->sc : NULL, 0);
}

static int
emu_nak(struct emu_pd *p, uint8_t sqn, uint8_t why, uint8_t *out, size_t cap)
{
	p->n_nak++;
	return emu_build(p, sqn, OSDP_NAK, &why, 1, 0, 0, 0, out, cap);
}

/* One command for this PD: the reply bytes (0: none). */
static int
emu_command(struct emu *e, struct emu_pd *p, const struct osdp_frame *f,
    uint8_t *out, size_t cap)
{
	uint8_t plain[OSDP_FRAME_MAX], r[64];
	const uint8_t *d = f->data;
	size_t n = f->data_len;
	uint8_t sqn = f->sqn;
	int len;

	p->n_cmds++;
	if (sqn == 0) {
		/* restart: drop the session and the cache */
		if (p->sc.active && f->code != OSDP_CHLNG)
			osdp_sc_wipe(&p->sc);
		p->have_last = 0;
	} else if (p->have_last && sqn == p->last_sqn &&
	    f->code == p->last_code) {
		p->n_resent++;
		memcpy(out, p->last_reply, p->last_len);
		return (int)p->last_len;
	} else if (!p->have_last || sqn != p->last_sqn % 3 + 1)
		return emu_nak(p, p->have_last ? p->last_sqn : 0, OSDP_NAK_SQN,
		    out, cap);

	if (p->sc.active && f->code != OSDP_CHLNG) {
		size_t pl;
		if (f->scb_len == 0 || osdp_sc_open(&p->sc, f, 1, plain,
		    sizeof(plain), &pl) != 0) {
			osdp_sc_wipe(&p->sc);
			return emu_nak(p, sqn, OSDP_NAK_SC_COND, out, cap);
		}
		d = plain;
		n = pl;
		if (p->cleartext) {
			/* fault: the device forgets its secure channel and
			 * goes on answering in clear */
			osdp_sc_wipe(&p->sc);
		}
	} else if (f->scb_len == 2) {
		return emu_nak(p, sqn, OSDP_NAK_SC_COND, out, cap);
	}

	switch (f->code) {
	case OSDP_POLL:
		p->n_polls++;
		if (p->nq > 0) {
			len = emu_build(p, sqn, p->q[0].code, p->q[0].data,
			    p->q[0].len, 0, 0, 0, out, cap);
			memmove(p->q, p->q + 1, --p->nq * sizeof(p->q[0]));
		} else
			len = emu_build(p, sqn, OSDP_ACK, NULL, 0, 0, 0, 0, out,
			    cap);
		break;
	case OSDP_ID: {
		uint8_t id[12] = { 0x0A, 0x0B, 0x0C, (uint8_t)(p->reader ? 1 :
		    2), 1, p->addr, 0x34, 0x12, 0x00, 2, 2, 7 };
		len = emu_build(p, sqn, OSDP_PDID, id, 12, 0, 0, 0, out, cap);
		break;
	}
	case OSDP_CAP: {
		size_t k = 0;
		uint8_t c[40];
#define CAP(a, b, x) do { c[k++] = (a); c[k++] = (b); c[k++] = (x); } while (0)
		if (p->n_in)
			CAP(1, 1, (uint8_t)p->n_in);
		if (p->n_out)
			CAP(2, 1, (uint8_t)p->n_out);
		if (p->reader) {
			CAP(3, 1, 0);
			CAP(4, 1, 1);
			CAP(5, 1, 1);
			CAP(13, 0, 1);
		}
		CAP(8, 1, 0);
		CAP(9, p->no_sc ? 0 : 1, 0);
		CAP(10, 0, 1);
		CAP(16, 2, 0);
#undef CAP
		len = emu_build(p, sqn, OSDP_PDCAP, c, k, 0, 0, 0, out, cap);
		break;
	}
	case OSDP_ISTAT:
		len = emu_build(p, sqn, OSDP_ISTATR, p->inputs, (size_t)p->n_in,
		    0, 0, 0, out, cap);
		break;
	case OSDP_OSTAT:
		len = emu_build(p, sqn, OSDP_OSTATR, p->outputs,
		    (size_t)p->n_out, 0, 0, 0, out, cap);
		break;
	case OSDP_LSTAT:
		r[0] = p->tamper;
		r[1] = 0;
		len = emu_build(p, sqn, OSDP_LSTATR, r, 2, 0, 0, 0, out, cap);
		break;
	case OSDP_OUT:
		if (n == 0 || n % 4 != 0)
			return emu_nak(p, sqn, 2, out, cap);
		for (size_t i = 0; i < n; i += 4) {
			if (d[i] >= p->n_out)
				return emu_nak(p, sqn, 9, out, cap);
			if (d[i + 1] == 1 || d[i + 1] == 3)
				p->outputs[d[i]] = 0;
			else if (d[i + 1] == 2 || d[i + 1] == 4 || d[i + 1] == 5)
				p->outputs[d[i]] = 1;
			p->n_outcmd++;
			emu_log(p, "OUT %u %u %s", p->addr, d[i],
			    p->outputs[d[i]] ? "on" : "off");
		}
		len = emu_build(p, sqn, OSDP_ACK, NULL, 0, 0, 0, 0, out, cap);
		break;
	case OSDP_LED:
		if (n < 14 || n % 14 != 0)
			return emu_nak(p, sqn, 2, out, cap);
		p->n_led++;
		p->last_led_color = d[5];
		emu_log(p, "LED %u color %u", p->addr, d[5]);
		len = emu_build(p, sqn, OSDP_ACK, NULL, 0, 0, 0, 0, out, cap);
		break;
	case OSDP_BUZ:
		if (n < 5)
			return emu_nak(p, sqn, 2, out, cap);
		p->n_buz++;
		emu_log(p, "BUZ %u count %u", p->addr, d[4]);
		len = emu_build(p, sqn, OSDP_ACK, NULL, 0, 0, 0, 0, out, cap);
		break;
	case OSDP_CHLNG: {
		const uint8_t *k;
		uint8_t cc[32];
		p->n_chlng++;
		osdp_sc_wipe(&p->sc);
		if (p->no_sc || p->cleartext || f->scb_len != 3 || n != 8)
			return emu_nak(p, sqn, OSDP_NAK_SC_UNSUP, out, cap);
		/* the install key only in install mode (or with no key);
		 * otherwise its own key, whatever was asked (libosdp) */
		if (p->install_mode || !p->has_key) {
			k = osdp_scbk_default;
			p->kk = 0;
		} else {
			k = p->key;
			p->kk = 1;
		}
		memcpy(p->rnd_a, d, 8);
		emu_rand(e, p->rnd_b, 8);
		osdp_sc_derive(&p->sc, k, p->rnd_a);
		memset(cc, 0, 8);		/* cUID */
		cc[0] = p->addr;
		memcpy(cc + 8, p->rnd_b, 8);
		osdp_sc_cryptogram(&p->sc, p->rnd_a, p->rnd_b, cc + 16);
		len = emu_build(p, sqn, OSDP_CCRYPT, cc, 32, 3, OSDP_SCS_12,
		    p->kk, out, cap);
		break;
	}
	case OSDP_SCRYPT: {
		uint8_t want[16], rmac[16];
		if (f->scb_len != 3 || n != 16)
			return emu_nak(p, sqn, OSDP_NAK_SC_COND, out, cap);
		osdp_sc_cryptogram(&p->sc, p->rnd_b, p->rnd_a, want);
		if (!osdp_sc_equal(want, d, 16)) {
			osdp_sc_wipe(&p->sc);
			return emu_nak(p, sqn, OSDP_NAK_SC_UNSUP, out, cap);
		}
		osdp_sc_rmac_i(&p->sc, d, rmac);
		len = emu_build(p, sqn, OSDP_RMAC_I, rmac, 16, 3, OSDP_SCS_14,
		    0x01, out, cap);
		memcpy(p->sc.r_mac, rmac, 16);
		p->sc.active = 1;
		emu_log(p, "SC %u up with %s", p->addr, p->kk ? "SCBK" :
		    "SCBK-D");
		break;
	}
	case OSDP_KEYSET:
		if (!p->sc.active || n != 18 || d[0] != 1 || d[1] != 16)
			return emu_nak(p, sqn, OSDP_NAK_SC_COND, out, cap);
		len = emu_build(p, sqn, OSDP_ACK, NULL, 0, 0, 0, 0, out, cap);
		memcpy(p->key, d + 2, 16);
		p->has_key = 1;
		p->install_mode = 0;
		p->n_keyset++;
		{
			char hex[33];
			for (int i = 0; i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[2 + i]);
			emu_log(p, "KEYSET %u %s", p->addr, hex);
		}
		osdp_sc_wipe(&p->sc);	/* the next session uses the new key */
		break;
	default:
		return emu_nak(p, sqn, 3, out, cap);
	}
	if (len < 0)
		return 0;
	p->have_last = 1;
	p->last_sqn = sqn;
	p->last_code = f->code;
	memcpy(p->last_reply, out, (size_t)len);
	p->last_len = (size_t)len;
	if (p->sc.active && f->code != OSDP_SCRYPT) {
		/* kept for the replay fault: an old sealed reply, same SQN */
		p->prev_len = p->old_sealed_len[sqn & 3];
		memcpy(p->prev_sealed, p->old_sealed[sqn & 3], p->prev_len);
		memcpy(p->old_sealed[sqn & 3], out, (size_t)len);
		p->old_sealed_len[sqn & 3] = (size_t)len;
	}
	return len;
}

/* Spoil a reply as the faults say. */
static int
emu_spoil(struct emu *e, struct emu_pd *p, uint8_t *out, int len, size_t cap,
    uint8_t sqn)
{
	if (p->busy > 0) {
		/* plain, SQN 0, no data; the command was done and its reply
		 * cached, so the CP's repeat gets it */
		struct osdp_msg m;
		memset(&m, 0, sizeof(m));
		m.addr = p->addr | OSDP_REPLY_BIT;
		m.code = OSDP_BUSY;
		p->busy--;
		return osdp_frame_build(out, cap, &m, NULL, 0);
	}
	if (p->replay > 0 && p->prev_len > 0 && p->sc.active) {
		/* the attacker's copy of an older reply with the same SQN:
		 * valid CRC, stale MAC */
		p->replay--;
		memcpy(out, p->prev_sealed, p->prev_len);
		return (int)p->prev_len;
	}
	if (p->bad_crc > 0) {
		p->bad_crc--;
		out[len - 1] ^= 0x5A;
	}
	if (p->wrong_sqn > 0) {
		struct osdp_frame f;
		size_t used, off = out[0] == OSDP_MARK;
		p->wrong_sqn--;
		out[off + 4] = (uint8_t)((out[off + 4] & ~3) | ((sqn + 1) & 3));
		if (osdp_frame_scan(out + off, (size_t)len - off, &used, &f) !=
		    OSDP_SCAN_FRAME) {
			uint16_t c = osdp_crc16(out + off, (size_t)len - off - 2);
			out[len - 2] = (uint8_t)c;
			out[len - 1] = (uint8_t)(c >> 8);
		}
	}
	if (p->garbage > 0 && (size_t)len + 24 <= cap) {
		uint8_t junk[24];
		p->garbage--;
		emu_rand(e, junk, sizeof(junk));
		junk[3] = OSDP_SOM;	/* a false start too */
		memmove(out + sizeof(junk), out, (size_t)len);
		memcpy(out, junk, sizeof(junk));
		len += (int)sizeof(junk);
	}
	return len;
}

/* Feed bytes from the CP; replies are appended to out. Returns bytes
 * written to out. */
EMU_FN size_t
emu_feed(struct emu *e, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	if (n > sizeof(e->rx) - e->rxn)
		e->rxn = 0;
	memcpy(e->rx + e->rxn, in, n);
	e->rxn += n;
	for (;;) {
		struct osdp_frame f;
		size_t used;
		enum osdp_scan s = osdp_frame_scan(e->rx, e->rxn, &used, &f);
		struct emu_pd *p;
		int len;

		if (s == OSDP_SCAN_MORE)
			break;
		if (s == OSDP_SCAN_FRAME && !(f.addr & OSDP_REPLY_BIT) &&
		    (p = &e->pd[f.addr % EMU_PDS])->used && p->addr == f.addr &&
		    !p->silent && cap - o >= EMU_REPLY_MAX + 32) {
			uint8_t sqn = f.sqn;
			len = emu_command(e, p, &f, out + o, EMU_REPLY_MAX);
			if (len > 0)
				len = emu_spoil(e, p, out + o, len, cap - o, sqn);
			if (len > 0)
				o += (size_t)len;
		}
		memmove(e->rx, e->rx + used, e->rxn - used);
		e->rxn -= used;
	}
	return o;
}
