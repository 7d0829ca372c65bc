/*
 * osdp_sc.c — OSDP Secure Channel crypto on mbedTLS AES-128: session keys
 * from the base key (SCBK or the default install key SCBK-D), the client
 * and server cryptograms, RMAC-I, the chained message MAC and the data
 * encryption, as the SIA OSDP 2.2 Annex E vectors have them (checked by
 * tests/unit/test_osdp.c).
 *
 * Owns: key material in struct osdp_sc (wiped by osdp_sc_wipe). Trusts:
 * nothing it decrypts (padding checked).
 */
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/platform_util.h>

#include "drivers/osdp_proto.h"

const uint8_t osdp_scbk_default[16] = {
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F
};

static int
sc_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	mbedtls_aes_context aes;
	int rc;

	mbedtls_aes_init(&aes);
	rc = mbedtls_aes_setkey_enc(&aes, key, 128) == 0 &&
	    mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, in, out) == 0 ?
	    0 : -1;
	mbedtls_aes_free(&aes);
	return rc;
}

int
osdp_sc_derive(struct osdp_sc *sc, const uint8_t key[16],
    const uint8_t rnd_a[8])
{
	uint8_t in[16];
	static const uint8_t tag[3][2] = { { 0x01, 0x82 }, { 0x01, 0x01 },
	    { 0x01, 0x02 } };
	uint8_t *out[3] = { sc->s_enc, sc->s_mac1, sc->s_mac2 };

	memset(sc, 0, sizeof(*sc));
	for (int i = 0; i < 3; i++) {
		memset(in, 0, sizeof(in));
		in[0] = tag[i][0];
		in[1] = tag[i][1];
		memcpy(in + 2, rnd_a, 6);
		if (sc_ecb(key, in, out[i]) == -1)
			return -1;
	}
	return 0;
}

int
osdp_sc_cryptogram(const struct osdp_sc *sc, const uint8_t first[8],
    const uint8_t second[8], uint8_t out[16])
{
	uint8_t in[16];

	memcpy(in, first, 8);
	memcpy(in + 8, second, 8);
	return sc_ecb(sc->s_enc, in, out);
}

int
osdp_sc_rmac_i(const struct osdp_sc *sc, const uint8_t scrypt[16],
    uint8_t out[16])
{
	uint8_t t[16];

	if (sc_ecb(sc->s_mac1, scrypt, t) == -1)
		return -1;
	return sc_ecb(sc->s_mac2, t, out);
}

int
osdp_sc_mac(const struct osdp_sc *sc, const uint8_t iv[16],
    const uint8_t *msg, size_t len, uint8_t out[16])
{
	uint8_t x[16], blk[16];
	size_t off = 0;

	if (len == 0)
		return -1;
	memcpy(x, iv, 16);
	for (;;) {
		size_t n = len - off > 16 ? 16 : len - off;
		int last = off + n == len;

		memset(blk, 0, sizeof(blk));
		memcpy(blk, msg + off, n);
		/* no extra padding block when already a multiple of 16
		 * (libosdp, OSDP.Net, osdp-python agree; notes §11) */
		if (n < 16)
			blk[n] = 0x80;
		for (int i = 0; i < 16; i++)
			blk[i] ^= x[i];
		if (sc_ecb(last ? sc->s_mac2 : sc->s_mac1, blk, x) == -1)
			return -1;
		off += n;
		if (last)
			break;
	}
	memcpy(out, x, 16);
	return 0;
}

int
osdp_sc_encrypt(const struct osdp_sc *sc, const uint8_t chain[16],
    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	mbedtls_aes_context aes;
	uint8_t iv[16];
	size_t plen = (len / 16 + 1) * 16;	/* always at least one 0x80 */
	int rc;

	if (plen > cap)
		return -1;
	memcpy(out, in, len);
	out[len] = 0x80;
	memset(out + len + 1, 0, plen - len - 1);
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)~chain[i];
	mbedtls_aes_init(&aes);
	rc = mbedtls_aes_setkey_enc(&aes, sc->s_enc, 128) == 0 &&
	    mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, plen, iv, out,
	    out) == 0 ? (int)plen : -1;
	mbedtls_aes_free(&aes);
	return rc;
}

int
osdp_sc_decrypt(const struct osdp_sc *sc, const uint8_t chain[16],
    const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	mbedtls_aes_context aes;
	uint8_t iv[16];
	size_t n;
	int rc;

	if (len == 0 || len % 16 != 0 || len > cap)
		return -1;
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)~chain[i];
	mbedtls_aes_init(&aes);
	rc = mbedtls_aes_setkey_dec(&aes, sc->s_enc, 128) == 0 &&
	    mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, len, iv, in,
	    out) == 0 ? 0 : -1;
	mbedtls_aes_free(&aes);
	if (rc == -1)
		return -1;
	for (n = len; n > 0 && out[n - 1] == 0x00; n--)
		;
	if (n == 0 || out[n - 1] != 0x80 || len - n >= 16)
		return -1;
	return (int)(n - 1);
}

int
osdp_sc_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

void
osdp_sc_wipe(struct osdp_sc *sc)
{
	mbedtls_platform_zeroize(sc, sizeof(*sc));
}

int
osdp_sc_open(struct osdp_sc *sc, const struct osdp_frame *f, int cmd,
    uint8_t *plain, size_t cap, size_t *plain_len)
{
	uint8_t mac[16];
	const uint8_t *chain = cmd ? sc->r_mac : sc->c_mac;
	int enc;

	*plain_len = 0;
	if (!sc->active || f->mac == NULL || f->scb_len != 2)
		return -1;
	/* accept either direction's type (libosdp status-reply quirk, notes
	 * §7): what matters is the MAC */
	enc = f->scb_type == OSDP_SCS_17 || f->scb_type == OSDP_SCS_18;
	if (osdp_sc_mac(sc, chain, f->start, (size_t)(f->mac - f->start),
	    mac) == -1 || !osdp_sc_equal(mac, f->mac, 4))
		return -1;
	if (enc) {
		int n = osdp_sc_decrypt(sc, chain, f->data, f->data_len, plain,
		    cap);
		if (n < 0)
			return -2;
		*plain_len = (size_t)n;
	} else {
		if (f->data_len > cap)
			return -2;
		if (f->data_len > 0)
			memcpy(plain, f->data, f->data_len);
		*plain_len = f->data_len;
	}
	memcpy(cmd ? sc->c_mac : sc->r_mac, mac, 16);
	return 0;
}
