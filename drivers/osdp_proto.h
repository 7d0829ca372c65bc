/*
 * osdp_proto.h — OSDP 2.2 (IEC 60839-11-5) on the wire: framing, CRC,
 * checksum (osdp_wire.c) and the Secure Channel crypto (osdp_sc.c). Pure
 * functions over caller buffers, no I/O: the control-panel driver
 * (osdp.c), the emulated peripheral in tests/ and the fuzz harness share
 * them. Facts and vectors: ../shared/notes/osdp.md.
 *
 * Trusts: nothing it parses. Every length is checked against the buffer.
 */
#ifndef DRIVERS_OSDP_PROTO_H
#define DRIVERS_OSDP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define OSDP_SOM		0x53
#define OSDP_MARK		0xFF
#define OSDP_ADDR_BROADCAST	0x7F
#define OSDP_REPLY_BIT		0x80
/* The spec's absolute maximum; we never build frames this big. */
#define OSDP_FRAME_MAX		1440
/* What we send and accept as plaintext data after decryption. */
#define OSDP_DATA_MAX		256

/* commands */
#define OSDP_POLL	0x60
#define OSDP_ID		0x61
#define OSDP_CAP	0x62
#define OSDP_LSTAT	0x64
#define OSDP_ISTAT	0x65
#define OSDP_OSTAT	0x66
#define OSDP_OUT	0x68
#define OSDP_LED	0x69
#define OSDP_BUZ	0x6A
#define OSDP_KEYSET	0x75
#define OSDP_CHLNG	0x76
#define OSDP_SCRYPT	0x77
/* replies */
#define OSDP_ACK	0x40
#define OSDP_NAK	0x41
#define OSDP_PDID	0x45
#define OSDP_PDCAP	0x46
#define OSDP_LSTATR	0x48
#define OSDP_ISTATR	0x49
#define OSDP_OSTATR	0x4A
#define OSDP_RAW	0x50
#define OSDP_KEYPAD	0x53
#define OSDP_CCRYPT	0x76
#define OSDP_RMAC_I	0x78
#define OSDP_BUSY	0x79

/* security block types */
#define OSDP_SCS_11	0x11
#define OSDP_SCS_12	0x12
#define OSDP_SCS_13	0x13
#define OSDP_SCS_14	0x14
#define OSDP_SCS_15	0x15
#define OSDP_SCS_16	0x16
#define OSDP_SCS_17	0x17
#define OSDP_SCS_18	0x18

/* NAK codes we act on */
#define OSDP_NAK_CHECK	1
#define OSDP_NAK_SQN	4
#define OSDP_NAK_SC_UNSUP 5
#define OSDP_NAK_SC_COND 6

/* One parsed frame; pointers into the caller's buffer. */
struct osdp_frame {
	const uint8_t	*start;		/* SOM */
	size_t		 len;		/* SOM .. last check byte */
	uint8_t		 addr;
	uint8_t		 sqn;
	uint8_t		 crc;		/* 1: CRC-16, 0: checksum */
	uint8_t		 scb_len;	/* 0: no security block */
	uint8_t		 scb_type;
	uint8_t		 scb_data;	/* valid when scb_len == 3 */
	uint8_t		 code;
	const uint8_t	*data;
	size_t		 data_len;
	const uint8_t	*mac;		/* 4 bytes, SCS_15..18 only */
};

enum osdp_scan {
	OSDP_SCAN_MORE = 0,	/* a frame may be starting: need bytes */
	OSDP_SCAN_FRAME,	/* *f is a frame; drop *used bytes after use */
	OSDP_SCAN_SKIP		/* drop *used bytes (garbage, bad check) */
};

/* Look for one frame at the start of buf (a leading mark byte and any
 * garbage before a SOM are skipped). A frame with a bad check is skipped
 * by one byte only, so a SOM inside it is still found. */
enum osdp_scan osdp_frame_scan(const uint8_t *buf, size_t len, size_t *used,
	    struct osdp_frame *f);

uint16_t osdp_crc16(const uint8_t *p, size_t n);
uint8_t	osdp_checksum(const uint8_t *p, size_t n);

/* ---- Secure Channel ---- */

struct osdp_sc {
	uint8_t		s_enc[16], s_mac1[16], s_mac2[16];
	uint8_t		c_mac[16];	/* last command MAC (reply IV) */
	uint8_t		r_mac[16];	/* last reply MAC (command IV) */
	int		active;
};

extern const uint8_t osdp_scbk_default[16];

/* Session keys from a base key and RND.A (only its first 6 bytes). */
int	osdp_sc_derive(struct osdp_sc *, const uint8_t key[16],
	    const uint8_t rnd_a[8]);
/* client cryptogram AES(S-ENC, a || b); server cryptogram: swap a, b */
int	osdp_sc_cryptogram(const struct osdp_sc *, const uint8_t first[8],
	    const uint8_t second[8], uint8_t out[16]);
/* RMAC-I = AES(S-MAC2, AES(S-MAC1, server cryptogram)) */
int	osdp_sc_rmac_i(const struct osdp_sc *, const uint8_t scrypt[16],
	    uint8_t out[16]);
/* The 16-byte MAC of msg with iv (CBC S-MAC1, last block S-MAC2). */
int	osdp_sc_mac(const struct osdp_sc *, const uint8_t iv[16],
	    const uint8_t *msg, size_t len, uint8_t out[16]);
/* AES-CBC S-ENC with iv = ~chain; pads 80 00.. Returns length or -1. */
int	osdp_sc_encrypt(const struct osdp_sc *, const uint8_t chain[16],
	    const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Decrypts and strips the padding; -1 on bad length or padding. */
int	osdp_sc_decrypt(const struct osdp_sc *, const uint8_t chain[16],
	    const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Constant-time compare. */
int	osdp_sc_equal(const uint8_t *a, const uint8_t *b, size_t n);
void	osdp_sc_wipe(struct osdp_sc *);

/* What to build. With sc active and scb_len 0, the frame is sealed:
 * SCS_15/16 (no data) or SCS_17/18 (data encrypted), MAC appended and
 * the chain advanced (cmd: a CP->PD command, else a reply). */
struct osdp_msg {
	uint8_t		 addr, sqn, code;
	const uint8_t	*data;
	size_t		 data_len;
	uint8_t		 scb_len;	/* 0, or an explicit 2/3 (handshake) */
	uint8_t		 scb_type, scb_data;
	uint8_t		 checksum;	/* 1: 8-bit checksum instead of CRC */
	uint8_t		 mark;		/* 1: lead with 0xFF */
};

/* Returns the frame length (mark included), or -1 if it does not fit. */
int	osdp_frame_build(uint8_t *out, size_t cap, const struct osdp_msg *,
	    struct osdp_sc *sc, int cmd);
/* Check the MAC of a sealed frame against the chain, decrypt its data into
 * plain and advance the chain. cmd: the frame is a command (we are the
 * PD). 0 ok; -1 not sealed / MAC wrong; -2 bad padding. The chain moves
 * only on success. */
int	osdp_sc_open(struct osdp_sc *, const struct osdp_frame *, int cmd,
	    uint8_t *plain, size_t cap, size_t *plain_len);

#endif
