/*
 * desfire.c — MIFARE DESFire EV1 AES: crypto and the reader's side of a
 * secure tap. See desfire.h; every rule here is from
 * /work/shared/notes/desfire.md (section numbers in comments).
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/constant_time.h>
#include <mbedtls/platform_util.h>

#include "drivers/desfire.h"

#define DF_SW1		0x91
#define DF_OK		0x00
#define DF_AF		0xAF
#define DF_AE		0xAE
#define DF_NO_APP	0xA0

/* ---- primitives ---- */

uint32_t
desfire_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return c;	/* no final XOR: DESFire's (JAMCRC), note §5.2 */
}

static void
df_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* GF(2^128) doubling with Rb = 0x87 */
static void
df_dbl(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = in[0] >> 7;

	for (int i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1);
	if (carry)
		out[15] ^= 0x87;
}

static int
df_subkeys(mbedtls_aes_context *enc, uint8_t k1[16], uint8_t k2[16])
{
	uint8_t l[16] = { 0 };

	if (mbedtls_aes_crypt_ecb(enc, MBEDTLS_AES_ENCRYPT, l, l) != 0)
		return -1;
	df_dbl(l, k1);
	df_dbl(k1, k2);
	mbedtls_platform_zeroize(l, sizeof(l));
	return 0;
}

/* CMAC (SP 800-38B) whose CBC chain starts at iv instead of zero. */
static int
df_cmac(mbedtls_aes_context *enc, const uint8_t k1[16], const uint8_t k2[16],
    const uint8_t iv[16], const uint8_t *m, size_t n, uint8_t tag[16])
{
	uint8_t x[16], last[16];
	size_t nb = n == 0 ? 1 : (n + 15) / 16, rest;

	memcpy(x, iv, 16);
	for (size_t b = 0; b + 1 < nb; b++) {
		for (int i = 0; i < 16; i++)
			x[i] ^= m[b * 16 + i];
		if (mbedtls_aes_crypt_ecb(enc, MBEDTLS_AES_ENCRYPT, x, x) != 0)
			return -1;
	}
	rest = n - (nb - 1) * 16;
	memset(last, 0, sizeof(last));
	if (rest > 0)
		memcpy(last, m + (nb - 1) * 16, rest);
	if (rest == 16) {
		for (int i = 0; i < 16; i++)
			last[i] ^= k1[i];
	} else {
		last[rest] = 0x80;
		for (int i = 0; i < 16; i++)
			last[i] ^= k2[i];
	}
	for (int i = 0; i < 16; i++)
		x[i] ^= last[i];
	if (mbedtls_aes_crypt_ecb(enc, MBEDTLS_AES_ENCRYPT, x, tag) != 0)
		return -1;
	return 0;
}

int
desfire_cmac_subkeys(const uint8_t key[16], uint8_t k1[16], uint8_t k2[16])
{
	mbedtls_aes_context enc;
	int r;

	mbedtls_aes_init(&enc);
	r = mbedtls_aes_setkey_enc(&enc, key, 128) == 0 ?
	    df_subkeys(&enc, k1, k2) : -1;
	mbedtls_aes_free(&enc);
	return r;
}

int
desfire_aes_cmac(const uint8_t key[16], const uint8_t *m, size_t n,
    uint8_t out[16])
{
	static const uint8_t zero[16];
	mbedtls_aes_context enc;
	uint8_t k1[16], k2[16];
	int r = -1;

	mbedtls_aes_init(&enc);
	if (mbedtls_aes_setkey_enc(&enc, key, 128) == 0 &&
	    df_subkeys(&enc, k1, k2) == 0)
		r = df_cmac(&enc, k1, k2, zero, m, n, out);
	mbedtls_aes_free(&enc);
	mbedtls_platform_zeroize(k1, sizeof(k1));
	mbedtls_platform_zeroize(k2, sizeof(k2));
	return r;
}

/* AN10922 §2.2: always two blocks, so inputs of 15 bytes or less do NOT
 * give plain CMAC (note §7, pitfall 14). */
int
desfire_diversify(const uint8_t mk[16], const uint8_t *m, size_t n,
    uint8_t out[16])
{
	mbedtls_aes_context enc;
	uint8_t k1[16], k2[16], d[32], iv[16] = { 0 };
	int r = -1;

	if (n < 1 || n > 31)
		return -1;
	memset(d, 0, sizeof(d));
	d[0] = 0x01;
	memcpy(d + 1, m, n);
	mbedtls_aes_init(&enc);
	if (mbedtls_aes_setkey_enc(&enc, mk, 128) != 0 ||
	    df_subkeys(&enc, k1, k2) != 0)
		goto out;
	if (n + 1 == 32) {
		for (int i = 0; i < 16; i++)
			d[16 + i] ^= k1[i];
	} else {
		d[n + 1] = 0x80;
		for (int i = 0; i < 16; i++)
			d[16 + i] ^= k2[i];
	}
	if (mbedtls_aes_crypt_cbc(&enc, MBEDTLS_AES_ENCRYPT, 32, iv, d, d) != 0)
		goto out;
	memcpy(out, d + 16, 16);
	r = 0;
out:
	mbedtls_aes_free(&enc);
	mbedtls_platform_zeroize(k1, sizeof(k1));
	mbedtls_platform_zeroize(k2, sizeof(k2));
	mbedtls_platform_zeroize(d, sizeof(d));
	return r;
}

/* ---- sessions (note §5) ---- */

int
desfire_sess_begin(struct desfire_sess *s, const uint8_t sk[16])
{
	memset(s, 0, sizeof(*s));
	mbedtls_aes_init(&s->enc);
	mbedtls_aes_init(&s->dec);
	memcpy(s->sk, sk, 16);
	if (mbedtls_aes_setkey_enc(&s->enc, sk, 128) != 0 ||
	    mbedtls_aes_setkey_dec(&s->dec, sk, 128) != 0 ||
	    df_subkeys(&s->enc, s->k1, s->k2) != 0) {
		desfire_sess_end(s);
		return -1;
	}
	s->on = 1;
	return 0;
}

void
desfire_sess_end(struct desfire_sess *s)
{
	mbedtls_aes_free(&s->enc);
	mbedtls_aes_free(&s->dec);
	mbedtls_platform_zeroize(s, sizeof(*s));
	/* zeroed contexts are what mbedtls_aes_init makes: free stays safe */
}

int
desfire_sess_mac(struct desfire_sess *s, const uint8_t *m, size_t n,
    uint8_t tag[16])
{
	if (!s->on || df_cmac(&s->enc, s->k1, s->k2, s->iv, m, n, tag) != 0)
		return -1;
	memcpy(s->iv, tag, 16);
	return 0;
}

int
desfire_sess_check(struct desfire_sess *s, const uint8_t *data, size_t n,
    const uint8_t mac8[8])
{
	uint8_t buf[DESFIRE_RAPDU_MAX * 4 + 1], tag[16];

	if (n > sizeof(buf) - 1)
		return -1;
	if (n > 0)
		memcpy(buf, data, n);
	buf[n] = DF_OK;		/* the status byte is MACed last (pitfall 3) */
	if (df_cmac(&s->enc, s->k1, s->k2, s->iv, buf, n + 1, tag) != 0 ||
	    mbedtls_ct_memcmp(tag, mac8, 8) != 0)
		return -1;
	memcpy(s->iv, tag, 16);
	return 0;
}

int
desfire_sess_encrypt(struct desfire_sess *s, uint8_t *buf, size_t n)
{
	if (!s->on || n % 16 != 0)
		return -1;
	return mbedtls_aes_crypt_cbc(&s->enc, MBEDTLS_AES_ENCRYPT, n, s->iv,
	    buf, buf) == 0 ? 0 : -1;
}

int
desfire_sess_decrypt(struct desfire_sess *s, uint8_t *buf, size_t n)
{
	if (!s->on || n % 16 != 0)
		return -1;
	return mbedtls_aes_crypt_cbc(&s->dec,
	    MBEDTLS_AES_DECRYPT, n, s->iv, buf, buf) == 0 ? 0 : -1;
}

/* Note §6. */
int
desfire_changekey_crypt(struct desfire_sess *s, uint8_t keyno_byte,
    const uint8_t newkey[16], uint8_t version, const uint8_t *cur,
    uint8_t out[32])
{
	uint8_t c[19];
	int r;

	memset(out, 0, 32);
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(newkey[i] ^ (cur != NULL ? cur[i] : 0));
	out[16] = version;
	c[0] = 0xC4;
	c[1] = keyno_byte;
	memcpy(c + 2, out, 17);
	df_put32(out + 17, desfire_crc32(c, sizeof(c)));
	if (cur != NULL)
		df_put32(out + 21, desfire_crc32(newkey, 16));
	r = desfire_sess_encrypt(s, out, 32);
	mbedtls_platform_zeroize(c, sizeof(c));
	return r;
}

/* ---- authentication (note §4) ---- */

static void
df_rol8(const uint8_t in[16], uint8_t out[16])
{
	memmove(out, in + 1, 15);
	out[15] = in[0];
}

int
desfire_auth_step1(struct desfire_auth *a, const uint8_t key[16],
    const uint8_t ekb[16], const uint8_t rnda[16], uint8_t tok[32])
{
	mbedtls_aes_context c;
	uint8_t iv[16] = { 0 };
	int r = -1;

	memset(a, 0, sizeof(*a));
	memcpy(a->key, key, 16);
	memcpy(a->rnda, rnda, 16);
	mbedtls_aes_init(&c);
	/* one CBC chain from IV zero across all three ciphertexts (pitfall 1) */
	if (mbedtls_aes_setkey_dec(&c, key, 128) != 0 ||
	    mbedtls_aes_crypt_cbc(&c, MBEDTLS_AES_DECRYPT, 16, iv, ekb,
	    a->rndb) != 0)
		goto out;
	memcpy(tok, rnda, 16);
	df_rol8(a->rndb, tok + 16);
	if (mbedtls_aes_setkey_enc(&c, key, 128) != 0 ||
	    mbedtls_aes_crypt_cbc(&c, MBEDTLS_AES_ENCRYPT, 32, iv, tok,
	    tok) != 0)
		goto out;
	memcpy(a->iv, iv, 16);		/* = tok[16..31] */
	r = 0;
out:
	mbedtls_aes_free(&c);
	if (r != 0)
		mbedtls_platform_zeroize(a, sizeof(*a));
	return r;
}

int
desfire_auth_step2(struct desfire_auth *a, const uint8_t eka[16],
    struct desfire_sess *s)
{
	mbedtls_aes_context c;
	uint8_t p[16], want[16], sk[16];
	int r = -1;

	mbedtls_aes_init(&c);
	if (mbedtls_aes_setkey_dec(&c, a->key, 128) != 0 ||
	    mbedtls_aes_crypt_cbc(&c, MBEDTLS_AES_DECRYPT, 16, a->iv, eka,
	    p) != 0)
		goto out;
	df_rol8(a->rnda, want);
	if (mbedtls_ct_memcmp(p, want, 16) != 0)
		goto out;
	memcpy(sk, a->rnda, 4);
	memcpy(sk + 4, a->rndb, 4);
	memcpy(sk + 8, a->rnda + 12, 4);
	memcpy(sk + 12, a->rndb + 12, 4);
	r = desfire_sess_begin(s, sk);
out:
	mbedtls_aes_free(&c);
	mbedtls_platform_zeroize(a, sizeof(*a));
	mbedtls_platform_zeroize(p, sizeof(p));
	mbedtls_platform_zeroize(want, sizeof(want));
	mbedtls_platform_zeroize(sk, sizeof(sk));
	return r;
}

/* ---- the credential file ---- */

int
desfire_cred_encode(const struct desfire_cred *c, uint8_t out[32])
{
	size_t n = strnlen(c->id, sizeof(c->id));

	if (n < 1 || n > DESFIRE_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (c->id[i] <= 0x20 || c->id[i] >= 0x7f || c->id[i] == ',')
			return -1;
	memset(out, 0, 32);
	out[0] = 0x01;
	df_put32(out + 1, c->issue);
	out[5] = (uint8_t)n;
	memcpy(out + 6, c->id, n);
	return 0;
}

int
desfire_cred_decode(const uint8_t in[32], struct desfire_cred *c)
{
	size_t n = in[5];

	memset(c, 0, sizeof(*c));
	if (in[0] != 0x01 || n < 1 || n > DESFIRE_ID_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (in[6 + i] <= 0x20 || in[6 + i] >= 0x7f || in[6 + i] == ',')
			return -1;
	for (size_t i = 6 + n; i < 32; i++)
		if (in[i] != 0)
			return -1;
	memcpy(c->id, in + 6, n);
	c->issue = (uint32_t)in[1] | (uint32_t)in[2] << 8 |
	    (uint32_t)in[3] << 16 | (uint32_t)in[4] << 24;
	return 0;
}

int
desfire_card_key(const struct desfire_site *site, const uint8_t *uid,
    size_t uid_len, uint8_t keyno, uint8_t out[16])
{
	uint8_t m[31];
	size_t n = 0;
	int r;

	if (uid_len < 4 || uid_len > 10 || site->sysid_len > DESFIRE_SYSID_MAX ||
	    uid_len + 4 + site->sysid_len > sizeof(m))
		return -1;
	memcpy(m, uid, uid_len);
	n = uid_len;
	memcpy(m + n, site->aid, 3);
	n += 3;
	m[n++] = keyno;
	memcpy(m + n, site->sysid, site->sysid_len);
	n += site->sysid_len;
	r = desfire_diversify(site->mk, m, n, out);
	mbedtls_platform_zeroize(m, sizeof(m));
	return r;
}

/* ---- transport (note §1) ---- */

int
desfire_wrap(const uint8_t *native, size_t n, uint8_t *apdu, size_t max)
{
	size_t k = 0;

	if (n < 1 || n > 1 + 255 || max < n + 5)
		return -1;
	apdu[k++] = 0x90;
	apdu[k++] = native[0];
	apdu[k++] = 0x00;
	apdu[k++] = 0x00;
	if (n > 1) {
		apdu[k++] = (uint8_t)(n - 1);
		memcpy(apdu + k, native + 1, n - 1);
		k += n - 1;
	}
	apdu[k++] = 0x00;
	return (int)k;
}

/* Send one native frame; the answer's data into r (without SW), *sw2 the
 * status. Length, DESFIRE_ERR_GONE, or DESFIRE_ERR_BAD for a non-DESFire
 * answer (SW1 not 91). */
static int
df_xfer(const struct desfire_io *io, const uint8_t *native, size_t n,
    uint8_t *r, size_t rmax, uint8_t *sw2)
{
	uint8_t apdu[DESFIRE_APDU_MAX + 8], resp[DESFIRE_RAPDU_MAX + 2];
	int an, rn;

	if ((an = desfire_wrap(native, n, apdu, sizeof(apdu))) < 0)
		return DESFIRE_ERR_BAD;
	rn = io->xfer(io->ctx, apdu, (size_t)an, resp, sizeof(resp));
	mbedtls_platform_zeroize(apdu, sizeof(apdu));
	if (rn < 0)
		return DESFIRE_ERR_GONE;
	if (rn < 2 || (size_t)rn > sizeof(resp) || resp[rn - 2] != DF_SW1 ||
	    (size_t)rn - 2 > rmax)
		return DESFIRE_ERR_BAD;
	*sw2 = resp[rn - 1];
	memcpy(r, resp, (size_t)rn - 2);
	return rn - 2;
}

int
desfire_cmd(const struct desfire_io *io, struct desfire_sess *s,
    unsigned flags, const uint8_t *native, size_t n, uint8_t *r, size_t rmax)
{
	uint8_t acc[DESFIRE_RAPDU_MAX * 4], tag[16], sw2 = 0;
	uint8_t cmdmac[DESFIRE_APDU_MAX];
	static const uint8_t af = DF_AF;
	size_t got = 0;
	int insess = s != NULL && s->on, k;

	if (native[0] == 0x5A && insess) {
		/* SelectApplication ends authentication; no CMAC either way */
		desfire_sess_end(s);
		insess = 0;
	}
	if (insess && !(flags & DESFIRE_F_ENC) &&
	    desfire_sess_mac(s, native, n, tag) != 0)
		goto bad;
	if (flags & DESFIRE_F_MAC) {
		/* the first 8 bytes of the command's CMAC go along (§5.2) */
		if (!insess || n + 8 > sizeof(cmdmac))
			goto bad;
		memcpy(cmdmac, native, n);
		memcpy(cmdmac + n, tag, 8);
		native = cmdmac;
		n += 8;
	}
	for (int frame = 0;; frame++) {
		k = df_xfer(io, frame == 0 ? native : &af, frame == 0 ? n : 1,
		    acc + got, sizeof(acc) - got, &sw2);
		if (k < 0) {
			if (insess)
				desfire_sess_end(s);
			return k;
		}
		got += (size_t)k;
		if (sw2 != DF_AF)
			break;
		if (frame >= 3)		/* ours never need more than 4 frames */
			goto bad;
	}
	if (sw2 != DF_OK) {
		if (insess)
			desfire_sess_end(s);
		return DESFIRE_ERR_STATUS(sw2);
	}
	if (insess && (flags & DESFIRE_F_ENDS) && got == 0) {
		desfire_sess_end(s);	/* ChangeKey of the key in use, §6 A */
		return 0;
	}
	if (insess) {
		if (got < 8 || desfire_sess_check(s, acc, got - 8,
		    acc + got - 8) != 0)
			goto bad;
		got -= 8;
	}
	if (got > rmax)
		goto bad;
	memcpy(r, acc, got);
	mbedtls_platform_zeroize(acc, sizeof(acc));
	return (int)got;
bad:
	if (insess)
		desfire_sess_end(s);
	mbedtls_platform_zeroize(acc, sizeof(acc));
	return DESFIRE_ERR_BAD;
}

/* 0 authenticated, 1 the card refused or failed its proof, -1 gone. */
int
desfire_authenticate(const struct desfire_io *io, uint8_t keyno,
    const uint8_t key[16], struct desfire_sess *s)
{
	struct desfire_auth a;
	uint8_t cmd[1 + 32], r[DESFIRE_RAPDU_MAX], rnda[16], sw2 = 0;
	int k, ret = 1;

	if (s->on)
		desfire_sess_end(s);
	cmd[0] = 0xAA;
	cmd[1] = keyno;
	k = df_xfer(io, cmd, 2, r, sizeof(r), &sw2);
	if (k == DESFIRE_ERR_GONE)
		return -1;
	if (k != 16 || sw2 != DF_AF)
		return 1;	/* 91 AE: not an AES key; 91 40: no such key */
	if (getrandom(rnda, sizeof(rnda), 0) != (ssize_t)sizeof(rnda))
		return -1;
	if (desfire_auth_step1(&a, key, r, rnda, cmd + 1) != 0)
		goto out;
	cmd[0] = DF_AF;
	k = df_xfer(io, cmd, sizeof(cmd), r, sizeof(r), &sw2);
	if (k == DESFIRE_ERR_GONE) {
		ret = -1;
		goto out;
	}
	if (k != 16 || sw2 != DF_OK)
		goto out;	/* 91 AE: the card's key is not ours */
	ret = desfire_auth_step2(&a, r, s) == 0 ? 0 : 1;
out:
	mbedtls_platform_zeroize(&a, sizeof(a));
	mbedtls_platform_zeroize(cmd, sizeof(cmd));
	mbedtls_platform_zeroize(rnda, sizeof(rnda));
	mbedtls_platform_zeroize(r, sizeof(r));
	return ret;
}

enum desfire_result
desfire_read_cred(const struct desfire_io *io, const struct desfire_site *site,
    const uint8_t *uid, size_t uid_len, struct desfire_cred *out,
    char *why, size_t whylen)
{
	struct desfire_sess s;
	uint8_t cmd[8], r[DESFIRE_RAPDU_MAX], key[16];
	enum desfire_result res = DESFIRE_AUTH_FAILED;
	int k;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	snprintf(why, whylen, "%s", "");
	cmd[0] = 0x5A;
	memcpy(cmd + 1, site->aid, 3);
	k = desfire_cmd(io, NULL, 0, cmd, 4, r, sizeof(r));
	if (k == DESFIRE_ERR_GONE) {
		snprintf(why, whylen, "card gone during select");
		return DESFIRE_GONE;
	}
	if (k != 0) {
		/* 91 A0, an ISO status, anything else: no venue application */
		snprintf(why, whylen, "no venue application on the card");
		return DESFIRE_NOT_OURS;
	}
	if (desfire_card_key(site, uid, uid_len, site->read_key, key) != 0) {
		snprintf(why, whylen, "cannot derive the card key");
		return DESFIRE_AUTH_FAILED;
	}
	k = desfire_authenticate(io, site->read_key, key, &s);
	mbedtls_platform_zeroize(key, sizeof(key));
	if (k < 0) {
		snprintf(why, whylen, "card gone during authentication");
		res = DESFIRE_GONE;
		goto out;
	}
	if (k > 0) {
		snprintf(why, whylen, "card failed authentication: it does not "
		    "hold the venue's key for its UID");
		goto out;
	}
	cmd[0] = 0xBD;
	cmd[1] = site->file;
	memset(cmd + 2, 0, 6);
	cmd[5] = DESFIRE_CRED_FILE_SIZE;
	k = desfire_cmd(io, &s, 0, cmd, 8, r, sizeof(r));
	if (k == DESFIRE_ERR_GONE) {
		snprintf(why, whylen, "card gone while reading the credential");
		res = DESFIRE_GONE;
	} else if (k == DESFIRE_ERR_BAD)
		snprintf(why, whylen, "credential file MAC wrong or answer "
		    "malformed: tampered");
	else if (k < 0)
		snprintf(why, whylen, "credential file refused (status 91 %02X)",
		    (unsigned)(-k) & 0xFF);
	else if (k != DESFIRE_CRED_FILE_SIZE || desfire_cred_decode(r, out) != 0)
		snprintf(why, whylen, "credential file malformed");
	else
		res = DESFIRE_OK;
out:
	desfire_sess_end(&s);
	mbedtls_platform_zeroize(r, sizeof(r));
	return res;
}

int
desfire_issue(const struct desfire_io *io, const struct desfire_site *site,
    const uint8_t *uid, size_t uid_len, const struct desfire_cred *cred,
    char *why, size_t whylen)
{
	static const uint8_t zero[16];
	struct desfire_sess s;
	struct desfire_cred back;
	uint8_t cmd[1 + 7 + DESFIRE_CRED_FILE_SIZE], r[DESFIRE_RAPDU_MAX];
	uint8_t k0[16], k1[16];
	const char *step;
	int k = 0, ret = -1;

	memset(&s, 0, sizeof(s));
	if (uid_len != 7) {
		/* a 4-byte UID is a random ID (08 xx xx xx): a new one at every
		 * activation, so the keys derived from it would never match */
		snprintf(why, whylen, "the card shows a %zu-byte UID (random ID "
		    "or not a DESFire EV1): keys are diversified from the fixed "
		    "7-byte UID", uid_len);
		return -1;
	}
	if (desfire_cred_encode(cred, cmd + 8) != 0) {
		snprintf(why, whylen, "credential id must be 1-%d printable "
		    "characters without spaces or commas", DESFIRE_ID_MAX);
		return -1;
	}
	if (desfire_card_key(site, uid, uid_len, 0, k0) != 0 ||
	    desfire_card_key(site, uid, uid_len, 1, k1) != 0) {
		snprintf(why, whylen, "cannot derive the card keys");
		goto out;
	}
	step = "select the card level";
	cmd[0] = 0x5A;
	memset(cmd + 1, 0, 3);
	if ((k = desfire_cmd(io, NULL, 0, cmd, 4, r, sizeof(r))) != 0)
		goto fail;
	step = "create the venue application";
	cmd[0] = 0xCA;
	memcpy(cmd + 1, site->aid, 3);
	cmd[4] = 0x0B;		/* keys changeable by key 0, free listing */
	cmd[5] = 0x80 | 2;	/* AES, two keys */
	if ((k = desfire_cmd(io, NULL, 0, cmd, 6, r, sizeof(r))) != 0)
		goto fail;
	step = "select the venue application";
	cmd[0] = 0x5A;
	if ((k = desfire_cmd(io, NULL, 0, cmd, 4, r, sizeof(r))) != 0)
		goto fail;
	step = "authenticate with the new application's blank key 0";
	if ((k = desfire_authenticate(io, 0, zero, &s)) != 0) {
		k = k < 0 ? DESFIRE_ERR_GONE : DESFIRE_ERR_STATUS(0xAE);
		goto fail;
	}
	step = "create the credential file";
	cmd[0] = 0xCD;
	cmd[1] = site->file;
	cmd[2] = 0x01;		/* MACed */
	cmd[3] = 0x00;		/* RW key 0, change key 0 */
	cmd[4] = 0x10;		/* read key 1, write key 0 */
	cmd[5] = DESFIRE_CRED_FILE_SIZE;
	cmd[6] = cmd[7] = 0;
	if ((k = desfire_cmd(io, &s, 0, cmd, 8, r, sizeof(r))) != 0)
		goto fail;
	step = "write the credential file";
	if (desfire_cred_encode(cred, cmd + 8) != 0)
		goto fail;
	cmd[0] = 0x3D;
	cmd[1] = site->file;
	memset(cmd + 2, 0, 6);
	cmd[5] = DESFIRE_CRED_FILE_SIZE;
	if ((k = desfire_cmd(io, &s, DESFIRE_F_MAC, cmd, sizeof(cmd), r,
	    sizeof(r))) != 0)
		goto fail;
	step = "set key 1";
	cmd[0] = 0xC4;
	cmd[1] = 0x01;
	if (desfire_changekey_crypt(&s, 0x01, k1, 1, zero, cmd + 2) != 0 ||
	    (k = desfire_cmd(io, &s, DESFIRE_F_ENC, cmd, 34, r, sizeof(r))) != 0)
		goto fail;
	step = "set key 0";
	cmd[1] = 0x00;
	if (desfire_changekey_crypt(&s, 0x00, k0, 1, NULL, cmd + 2) != 0 ||
	    (k = desfire_cmd(io, &s, DESFIRE_F_ENC | DESFIRE_F_ENDS, cmd, 34, r,
	    sizeof(r))) != 0)
		goto fail;
	if (desfire_read_cred(io, site, uid, uid_len, &back, why, whylen) !=
	    DESFIRE_OK)
		goto out;
	if (strcmp(back.id, cred->id) != 0 || back.issue != cred->issue) {
		snprintf(why, whylen, "read back a different credential");
		goto out;
	}
	snprintf(why, whylen, "issued");
	ret = 0;
	goto out;
fail:
	if (k == DESFIRE_ERR_GONE)
		snprintf(why, whylen, "card gone at: %s", step);
	else if (k == DESFIRE_ERR_STATUS(0xDE))
		snprintf(why, whylen, "%s: the card already has it (not blank)",
		    step);
	else if (k <= DESFIRE_ERR_STATUS(0))
		snprintf(why, whylen, "%s: card said 91 %02X", step,
		    (unsigned)(-k) & 0xFF);
	else
		snprintf(why, whylen, "%s: malformed answer or wrong MAC", step);
out:
	desfire_sess_end(&s);
	mbedtls_platform_zeroize(k0, sizeof(k0));
	mbedtls_platform_zeroize(k1, sizeof(k1));
	mbedtls_platform_zeroize(cmd, sizeof(cmd));
	return ret;
}

/* ---- the site master key file ---- */

static int
df_keyfile_stat(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "desfire key file %s is not a regular file",
		    path);
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "desfire key file %s must be owned by root "
		    "or by the gateway's user (uid %u), not uid %u", path,
		    (unsigned)geteuid(), (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & 077) {
		snprintf(err, errlen, "desfire key file %s is open to group or "
		    "others (mode %04o): chmod 600 it, and consider the key "
		    "exposed", path, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

int
desfire_keyfile_check(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "desfire key file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "desfire key file %s is a symlink: name "
		    "the file itself", path);
		return -1;
	}
	return df_keyfile_stat(path, &st, err, errlen);
}

static int
df_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
desfire_keyfile_load(const char *path, uint8_t mk[16], char *err,
    size_t errlen)
{
	struct stat st;
	char buf[80];
	ssize_t n;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "desfire key file %s: %s", path,
		    errno == ELOOP ? "is a symlink" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || df_keyfile_stat(path, &st, err,
	    errlen) == -1)
		goto out;
	n = read(fd, buf, sizeof(buf));
	while (n > 32 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n != 32) {
		snprintf(err, errlen, "desfire key file %s must hold exactly 32 "
		    "hex digits (an AES-128 key)", path);
		goto out;
	}
	for (int i = 0; i < 16; i++) {
		int hi = df_hexval(buf[2 * i]), lo = df_hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "desfire key file %s must hold "
			    "exactly 32 hex digits (an AES-128 key)", path);
			mbedtls_platform_zeroize(mk, 16);
			goto out;
		}
		mk[i] = (uint8_t)(hi << 4 | lo);
	}
	ret = 0;
out:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	close(fd);
	return ret;
}

int
desfire_aid_parse(const char *hex, uint8_t aid[3])
{
	int v[6];

	if (strlen(hex) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		if ((v[i] = df_hexval(hex[i])) < 0)
			return -1;
	/* the value's least significant byte goes first on the wire */
	aid[0] = (uint8_t)(v[4] << 4 | v[5]);
	aid[1] = (uint8_t)(v[2] << 4 | v[3]);
	aid[2] = (uint8_t)(v[0] << 4 | v[1]);
	return (aid[0] | aid[1] | aid[2]) != 0 ? 0 : -1;
}
