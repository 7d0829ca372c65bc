/*
 * osdp_wire.c — OSDP frames: find one in a byte stream (resynchronising on
 * the next SOM after garbage or a bad check), CRC-16/AUG-CCITT and the
 * 8-bit checksum, and building frames, sealed for the Secure Channel when
 * asked.
 *
 * Trusts: nothing it scans; LEN, the security block and the MAC are all
 * checked against the bytes actually present.
 */
#include <string.h>

#include "drivers/osdp_proto.h"

/* poly 0x1021, init 0x1D0F, MSB first, no reflection (notes §2.1) */
uint16_t
osdp_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0x1D0F;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) :
			    (uint16_t)(crc << 1);
	}
	return crc;
}

uint8_t
osdp_checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0x100 - s);
}

/* Parse a complete candidate at buf[0] == SOM of exactly flen bytes. */
static int
wire_parse(const uint8_t *b, size_t flen, struct osdp_frame *f)
{
	size_t ck, hdr = 5, end;

	memset(f, 0, sizeof(*f));
	f->start = b;
	f->len = flen;
	f->addr = b[1];
	f->sqn = b[4] & 3;
	f->crc = (b[4] & 4) != 0;
	ck = f->crc ? 2 : 1;
	if (b[4] & 0xF0)
		return -1;
	if (f->crc) {
		uint16_t c = osdp_crc16(b, flen - 2);
		if (b[flen - 2] != (c & 0xff) || b[flen - 1] != (c >> 8))
			return -1;
	} else if (osdp_checksum(b, flen - 1) != b[flen - 1])
		return -1;
	end = flen - ck;		/* one past the last MAC/data byte */
	if (b[4] & 8) {
		if (hdr + 2 > end)
			return -1;
		f->scb_len = b[hdr];
		if (f->scb_len < 2 || f->scb_len > 3 || hdr + f->scb_len >= end)
			return -1;
		f->scb_type = b[hdr + 1];
		if (f->scb_len == 3)
			f->scb_data = b[hdr + 2];
		hdr += f->scb_len;
		if (f->scb_type >= OSDP_SCS_15 && f->scb_type <= OSDP_SCS_18) {
			if (end < hdr + 1 + 4)
				return -1;
			end -= 4;
			f->mac = b + end;
		}
	}
	if (hdr >= end)
		return -1;		/* no code byte */
	f->code = b[hdr];
	f->data = b + hdr + 1;
	f->data_len = end - hdr - 1;
	return 0;
}

enum osdp_scan
osdp_frame_scan(const uint8_t *buf, size_t len, size_t *used,
    struct osdp_frame *f)
{
	size_t flen;

	*used = 0;
	if (len == 0)
		return OSDP_SCAN_MORE;
	if (buf[0] != OSDP_SOM) {
		const uint8_t *som = memchr(buf, OSDP_SOM, len);
		*used = som ? (size_t)(som - buf) : len;
		return OSDP_SCAN_SKIP;
	}
	if (len < 5)
		return OSDP_SCAN_MORE;
	flen = (size_t)buf[2] | (size_t)buf[3] << 8;
	/* SOM ADDR LEN LEN CTRL CODE CHECK is the least there is */
	if (flen < 7 || flen > OSDP_FRAME_MAX || (buf[4] & 0xF0)) {
		*used = 1;
		return OSDP_SCAN_SKIP;
	}
	if (len < flen)
		return OSDP_SCAN_MORE;
	if (wire_parse(buf, flen, f) == -1) {
		*used = 1;	/* rescan: a real SOM may be inside */
		return OSDP_SCAN_SKIP;
	}
	*used = flen;
	return OSDP_SCAN_FRAME;
}

int
osdp_frame_build(uint8_t *out, size_t cap, const struct osdp_msg *m,
    struct osdp_sc *sc, int cmd)
{
	uint8_t enc[OSDP_DATA_MAX + 16];
	const uint8_t *data = m->data;
	size_t dlen = m->data_len, o = 0, som, flen, ck;
	uint8_t scb_len = m->scb_len, scb_type = m->scb_type;
	int seal = sc != NULL && sc->active && m->scb_len == 0;

	if (dlen > OSDP_DATA_MAX)
		return -1;
	if (seal) {
		scb_len = 2;
		if (dlen > 0) {
			int n = osdp_sc_encrypt(sc, cmd ? sc->r_mac : sc->c_mac,
			    data, dlen, enc, sizeof(enc));
			if (n < 0)
				return -1;
			data = enc;
			dlen = (size_t)n;
			scb_type = cmd ? OSDP_SCS_17 : OSDP_SCS_18;
		} else
			scb_type = cmd ? OSDP_SCS_15 : OSDP_SCS_16;
	}
	ck = m->checksum && !seal ? 1 : 2;
	flen = 5 + scb_len + 1 + dlen + (seal ? 4 : 0) + ck;
	if (flen + (m->mark ? 1 : 0) > cap || flen > OSDP_FRAME_MAX)
		return -1;
	if (m->mark)
		out[o++] = OSDP_MARK;
	som = o;
	out[o++] = OSDP_SOM;
	out[o++] = m->addr;
	out[o++] = (uint8_t)(flen & 0xff);
	out[o++] = (uint8_t)(flen >> 8);
	out[o++] = (uint8_t)((m->sqn & 3) | (ck == 2 ? 4 : 0) |
	    (scb_len ? 8 : 0));
	if (scb_len) {
		out[o++] = scb_len;
		out[o++] = scb_type;
		if (scb_len == 3)
			out[o++] = m->scb_data;
	}
	out[o++] = m->code;
	if (dlen > 0)
		memcpy(out + o, data, dlen);
	o += dlen;
	if (seal) {
		uint8_t mac[16];
		if (osdp_sc_mac(sc, cmd ? sc->r_mac : sc->c_mac, out + som,
		    o - som, mac) == -1)
			return -1;
		memcpy(out + o, mac, 4);
		o += 4;
		memcpy(cmd ? sc->c_mac : sc->r_mac, mac, 16);
	}
	if (ck == 2) {
		uint16_t c = osdp_crc16(out + som, o - som);
		out[o++] = (uint8_t)(c & 0xff);
		out[o++] = (uint8_t)(c >> 8);
	} else {
		out[o] = osdp_checksum(out + som, o - som);
		o++;
	}
	return (int)o;
}
