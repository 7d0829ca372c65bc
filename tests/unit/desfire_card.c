/*
 * desfire_card.c — the emulated DESFire EV1 card; see desfire_card.h.
 * The reader side under test (drivers/desfire.c) shares the crypto
 * primitives, which the known-answer tests pin to real-card bytes; the
 * card logic here (who checks what, in which order) is written from the
 * note's §9, not from the reader code.
 */
#include <sys/random.h>

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/platform_util.h>

#include "tests/unit/desfire_card.h"

enum { ST_OK = 0x00, ST_NO_CHANGES = 0x0C, ST_OUT_OF_EEPROM = 0x0E,
	ST_ILLEGAL = 0x1C, ST_INTEGRITY = 0x1E, ST_NO_KEY = 0x40,
	ST_LENGTH = 0x7E, ST_PERMISSION = 0x9D, ST_PARAM = 0x9E,
	ST_NO_APP = 0xA0, ST_AUTH = 0xAE, ST_AF = 0xAF, ST_BOUNDARY = 0xBE,
	ST_COUNT = 0xCE, ST_DUPLICATE = 0xDE, ST_NO_FILE = 0xF0 };

static void
dfc_deauth(struct desfire_card *k)
{
	if (k->auth_key >= 0)
		desfire_sess_end(&k->s);
	k->auth_key = -1;
	k->pending = 0;
}

void
desfire_card_reset(void *card)
{
	struct desfire_card *k = card;

	dfc_deauth(k);
	k->sel = &k->picc;
}

void
desfire_card_blank(struct desfire_card *k, const uint8_t uid[7])
{
	memset(k, 0, sizeof(*k));
	memcpy(k->uid, uid, 7);
	k->picc.exists = 1;
	k->picc.ks1 = 0x0F;
	k->picc.nkeys = 1;
	k->auth_key = -1;
	k->sel = &k->picc;
}

int
desfire_card_personalise(struct desfire_card *k, const struct desfire_site *site,
    const struct desfire_cred *cred)
{
	struct dfc_app *a = &k->apps[0];

	memset(a, 0, sizeof(*a));
	a->exists = 1;
	memcpy(a->aid, site->aid, 3);
	a->ks1 = 0x0B;
	a->nkeys = 2;
	for (uint8_t i = 0; i < 2; i++) {
		if (desfire_card_key(site, k->uid, 7, i, a->keys[i]) != 0)
			return -1;
		a->ver[i] = 1;
	}
	a->files[0].exists = 1;
	a->files[0].no = site->file;
	a->files[0].comm = 0x01;
	a->files[0].ar = 0x1000;	/* read key 1; write, rw, change key 0 */
	a->files[0].size = DESFIRE_CRED_FILE_SIZE;
	return desfire_cred_encode(cred, a->files[0].data);
}

void
desfire_card_pn532(struct desfire_card *k, struct pn532emu_card *out)
{
	static const uint8_t ats[] = { 0x75, 0x77, 0x81, 0x02, 0x80 };

	memset(out, 0, sizeof(*out));
	memcpy(out->uid, k->uid, 7);
	out->uid_len = 7;
	out->atqa[0] = 0x03;
	out->atqa[1] = 0x44;
	out->sak = 0x20;
	memcpy(out->ats, ats, sizeof(ats));
	out->ats_len = sizeof(ats);
	out->exchange = desfire_card_exchange;
	out->reset = desfire_card_reset;
	out->user = k;
}

static struct dfc_app *
dfc_app_find(struct desfire_card *k, const uint8_t aid[3])
{
	static const uint8_t zero[3];

	if (memcmp(aid, zero, 3) == 0)
		return &k->picc;
	for (int i = 0; i < DFC_APPS; i++)
		if (k->apps[i].exists && memcmp(k->apps[i].aid, aid, 3) == 0)
			return &k->apps[i];
	return NULL;
}

static struct dfc_file *
dfc_file_find(struct dfc_app *a, uint8_t no)
{
	for (int i = 0; i < DFC_FILES; i++)
		if (a->files[i].exists && a->files[i].no == no)
			return &a->files[i];
	return NULL;
}

static void
dfc_rol8(const uint8_t in[16], uint8_t out[16])
{
	memmove(out, in + 1, 15);
	out[15] = in[0];
}

static int
dfc_cbc(const uint8_t key[16], int mode, uint8_t iv[16], const uint8_t *in,
    uint8_t *out, size_t n)
{
	mbedtls_aes_context c;
	int r;

	mbedtls_aes_init(&c);
	r = (mode == MBEDTLS_AES_ENCRYPT ? mbedtls_aes_setkey_enc(&c, key, 128) :
	    mbedtls_aes_setkey_dec(&c, key, 128)) != 0 ||
	    mbedtls_aes_crypt_cbc(&c, mode, n, iv, in, out) != 0 ? -1 : 0;
	mbedtls_aes_free(&c);
	return r;
}

static uint8_t
dfc_auth1(struct desfire_card *k, const uint8_t *p, size_t n, uint8_t *out,
    size_t *on)
{
	uint8_t iv[16] = { 0 };

	if (n != 1)
		return ST_LENGTH;
	if (p[0] >= k->sel->nkeys)
		return ST_NO_KEY;
	/* a fresh RndB each time: a recorded pass 2 cannot be replayed */
	if (getrandom(k->rndb, 16, 0) != 16)
		return ST_AUTH;
	if (dfc_cbc(k->sel->keys[p[0]], MBEDTLS_AES_ENCRYPT, iv, k->rndb, out,
	    16) != 0)
		return ST_AUTH;
	memcpy(k->p_iv, out, 16);
	k->p_key = p[0];
	k->pending = 1;
	*on = 16;
	return ST_AF;
}

static uint8_t
dfc_auth2(struct desfire_card *k, const uint8_t *p, size_t n, uint8_t *out,
    size_t *on)
{
	const uint8_t *key = k->sel->keys[k->p_key];
	uint8_t pl[32], want[16], iv[16], sk[16];
	uint8_t st = ST_AUTH;

	k->pending = 0;		/* one try per RndB */
	if (n != 32)
		return ST_LENGTH;
	if (dfc_cbc(key, MBEDTLS_AES_DECRYPT, k->p_iv, p, pl, 32) != 0)
		goto out;
	dfc_rol8(k->rndb, want);
	if (mbedtls_ct_memcmp(pl + 16, want, 16) != 0) {
		k->auths_failed++;
		goto out;
	}
	memcpy(iv, p + 16, 16);
	dfc_rol8(pl, want);
	if (dfc_cbc(key, MBEDTLS_AES_ENCRYPT, iv, want, out, 16) != 0)
		goto out;
	memcpy(sk, pl, 4);
	memcpy(sk + 4, k->rndb, 4);
	memcpy(sk + 8, pl + 12, 4);
	memcpy(sk + 12, k->rndb + 12, 4);
	if (desfire_sess_begin(&k->s, sk) != 0)
		goto out;
	k->auth_key = k->p_key;
	k->auths_ok++;
	*on = 16;
	st = ST_OK;
out:
	mbedtls_platform_zeroize(pl, sizeof(pl));
	mbedtls_platform_zeroize(sk, sizeof(sk));
	return st;
}

static uint32_t
dfc_get24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t
dfc_get32(const uint8_t *p)
{
	return dfc_get24(p) | (uint32_t)p[3] << 24;
}

/* Which comm mode applies for this access: 1 the file's own, 0 plain
 * (free access), or an error status as -status. */
static int
dfc_rights(struct desfire_card *k, const struct dfc_file *f, int write)
{
	unsigned r = f->ar >> 12, w = (f->ar >> 8) & 0xF, rw = (f->ar >> 4) & 0xF;
	unsigned mine = write ? w : r;

	if (k->auth_key >= 0 && ((unsigned)k->auth_key == mine ||
	    (unsigned)k->auth_key == rw))
		return 1;
	if (mine == 0xE || rw == 0xE)
		return 0;
	if (mine == 0xF && rw == 0xF)
		return -ST_PERMISSION;
	return -ST_AUTH;
}

/* Move the IV over a plain command while authenticated (§5.2). */
static void
dfc_cmd_mac(struct desfire_card *k, const uint8_t *native, size_t n)
{
	uint8_t tag[16];

	if (k->auth_key >= 0)
		desfire_sess_mac(&k->s, native, n, tag);
}

static uint8_t
dfc_changekey(struct desfire_card *k, const uint8_t *p, size_t n)
{
	struct dfc_app *a = k->sel;
	uint8_t d[32], c[19], nk[16], keyno;
	unsigned right = a->ks1 >> 4;
	int caseA;
	uint8_t st = ST_INTEGRITY;

	if (k->auth_key < 0)
		return ST_AUTH;
	if (n != 33)
		return ST_LENGTH;
	keyno = p[0] & 0x0F;
	if (keyno >= a->nkeys)
		return ST_NO_KEY;
	if (keyno == 0 ? !(k->auth_key == 0 && (a->ks1 & 0x01)) :
	    right == 0xF ? 1 : right == 0xE ? k->auth_key != keyno :
	    k->auth_key != (int)right)
		return ST_PERMISSION;
	memcpy(d, p + 1, 32);
	if (desfire_sess_decrypt(&k->s, d, 32) != 0)
		goto out;
	caseA = keyno == k->auth_key;
	c[0] = 0xC4;
	c[1] = p[0];
	memcpy(c + 2, d, 17);
	if (desfire_crc32(c, 19) != dfc_get32(d + 17))
		goto out;
	for (int i = 0; i < 16; i++)
		nk[i] = (uint8_t)(d[i] ^ (caseA ? 0 : a->keys[keyno][i]));
	if (!caseA && desfire_crc32(nk, 16) != dfc_get32(d + 21))
		goto out;
	for (int i = caseA ? 21 : 25; i < 32; i++)
		if (d[i] != 0)
			goto out;
	memcpy(a->keys[keyno], nk, 16);
	a->ver[keyno] = d[16];
	if (caseA)
		dfc_deauth(k);	/* bare 91 00: the session is over */
	st = ST_OK;
out:
	mbedtls_platform_zeroize(d, sizeof(d));
	mbedtls_platform_zeroize(nk, sizeof(nk));
	return st;
}

static uint8_t
dfc_dispatch(struct desfire_card *k, uint8_t ins, const uint8_t *p, size_t n,
    uint8_t *out, size_t *on)
{
	uint8_t native[1 + 255];
	struct dfc_app *a = k->sel;
	struct dfc_file *f;
	uint32_t off, len;
	int mode;

	native[0] = ins;
	memcpy(native + 1, p, n);
	if (ins == ST_AF)
		return k->pending ? dfc_auth2(k, p, n, out, on) : ST_ILLEGAL;
	k->pending = 0;
	switch (ins) {
	case 0xAA:
		dfc_deauth(k);
		return dfc_auth1(k, p, n, out, on);
	case 0x5A:
		dfc_deauth(k);
		if (n != 3)
			return ST_LENGTH;
		if ((a = dfc_app_find(k, p)) == NULL)
			return ST_NO_APP;
		k->sel = a;
		return ST_OK;
	case 0xC4:
		return dfc_changekey(k, p, n);
	case 0x3D:
		break;		/* MACed or plain: decided below */
	default:
		dfc_cmd_mac(k, native, n + 1);
		break;
	}
	switch (ins) {
	case 0x6A:
		if (n != 0)
			return ST_LENGTH;
		if (a != &k->picc)
			return ST_PERMISSION;
		if (!(a->ks1 & 0x02) && k->auth_key != 0)
			return ST_AUTH;
		for (int i = 0; i < DFC_APPS; i++)
			if (k->apps[i].exists) {
				memcpy(out + *on, k->apps[i].aid, 3);
				*on += 3;
			}
		return ST_OK;
	case 0x6F:
		if (n != 0)
			return ST_LENGTH;
		if (a == &k->picc)
			return ST_PERMISSION;
		if (!(a->ks1 & 0x02) && k->auth_key != 0)
			return ST_AUTH;
		for (int i = 0; i < DFC_FILES; i++)
			if (a->files[i].exists)
				out[(*on)++] = a->files[i].no;
		return ST_OK;
	case 0x64:
		if (n != 1)
			return ST_LENGTH;
		if (p[0] >= a->nkeys)
			return ST_NO_KEY;
		out[(*on)++] = a->ver[p[0]];
		return ST_OK;
	case 0x45:
		if (n != 0)
			return ST_LENGTH;
		out[(*on)++] = a->ks1;
		out[(*on)++] = (uint8_t)(a->nkeys | 0x80);
		return ST_OK;
	case 0xCA: {
		struct dfc_app *slot = NULL;

		if (n != 5)
			return ST_LENGTH;
		if (a != &k->picc)
			return ST_PERMISSION;
		if (!(a->ks1 & 0x04) && k->auth_key != 0)
			return ST_AUTH;
		if ((p[0] | p[1] | p[2]) == 0 || (p[4] & 0x0F) < 1 ||
		    (p[4] & 0x0F) > 14 || (p[4] & 0xC0) != 0x80)
			return ST_PARAM;	/* AES applications only */
		if (dfc_app_find(k, p) != NULL)
			return ST_DUPLICATE;
		for (int i = 0; i < DFC_APPS && slot == NULL; i++)
			if (!k->apps[i].exists)
				slot = &k->apps[i];
		if (slot == NULL)
			return ST_COUNT;
		memset(slot, 0, sizeof(*slot));
		slot->exists = 1;
		memcpy(slot->aid, p, 3);
		slot->ks1 = p[3];
		slot->nkeys = p[4] & 0x0F;
		return ST_OK;
	}
	case 0xCD: {
		struct dfc_file *slot = NULL;

		if (n != 7)
			return ST_LENGTH;
		if (a == &k->picc)
			return ST_PERMISSION;
		if (!(a->ks1 & 0x04) && k->auth_key != 0)
			return ST_AUTH;
		/* enciphered files are not modelled: refused as a parameter */
		if (p[0] > 31 || (p[1] != 0 && p[1] != 1))
			return ST_PARAM;
		if (dfc_file_find(a, p[0]) != NULL)
			return ST_DUPLICATE;
		if (dfc_get24(p + 4) > DFC_FILE_MAX)
			return ST_OUT_OF_EEPROM;
		for (int i = 0; i < DFC_FILES && slot == NULL; i++)
			if (!a->files[i].exists)
				slot = &a->files[i];
		if (slot == NULL)
			return ST_OUT_OF_EEPROM;
		memset(slot, 0, sizeof(*slot));
		slot->exists = 1;
		slot->no = p[0];
		slot->comm = p[1];
		slot->ar = (uint16_t)(p[2] | p[3] << 8);
		slot->size = dfc_get24(p + 4);
		return ST_OK;
	}
	case 0xBD:
		if (n != 7)
			return ST_LENGTH;
		if ((f = dfc_file_find(a, p[0])) == NULL)
			return ST_NO_FILE;
		off = dfc_get24(p + 1);
		len = dfc_get24(p + 4);
		if (len == 0 && off <= f->size)
			len = (uint32_t)f->size - off;
		if (off + len > f->size || len > 48)
			return ST_BOUNDARY;
		if ((mode = dfc_rights(k, f, 0)) < 0)
			return (uint8_t)-mode;
		memcpy(out, f->data + off, len);
		*on = len;
		return ST_OK;
	case 0x3D: {
		size_t dn;

		if (n < 7)
			return ST_LENGTH;
		if ((f = dfc_file_find(a, p[0])) == NULL)
			return ST_NO_FILE;
		off = dfc_get24(p + 1);
		len = dfc_get24(p + 4);
		if (off + len > f->size)
			return ST_BOUNDARY;
		if ((mode = dfc_rights(k, f, 1)) < 0)
			return (uint8_t)-mode;
		if (mode == 1 && f->comm == 1 && k->auth_key >= 0) {
			uint8_t tag[16];

			if (n < 15 || desfire_sess_mac(&k->s, native, n + 1 - 8,
			    tag) != 0 || mbedtls_ct_memcmp(tag, p + n - 8, 8))
				return ST_INTEGRITY;
			dn = n - 7 - 8;
		} else {
			dfc_cmd_mac(k, native, n + 1);
			dn = n - 7;
		}
		if (dn != len)
			return ST_LENGTH;
		memcpy(f->data + off, p + 7, len);
		return ST_OK;
	}
	default:
		return ST_ILLEGAL;
	}
}

int
desfire_card_exchange(void *card, const uint8_t *c, size_t clen, uint8_t *r,
    size_t rmax)
{
	struct desfire_card *k = card;
	uint8_t out[64 + 8], st, ins;
	size_t on = 0, n;

	if (rmax < 2 + sizeof(out))
		return -1;
	if (clen < 5 || c[0] != 0x90 || c[2] != 0 || c[3] != 0) {
		r[0] = 0x6E, r[1] = 0x00;
		return 2;
	}
	n = clen == 5 ? 0 : c[4];
	if ((clen == 5 && c[4] != 0) || (clen > 5 && (clen != 6 + n ||
	    n == 0 || c[clen - 1] != 0))) {
		r[0] = 0x67, r[1] = 0x00;
		return 2;
	}
	ins = c[1];
	if (k->mute_on != 0 && ins == k->mute_on)
		return -1;		/* taken off the reader mid-command */
	st = dfc_dispatch(k, ins, c + 5, n, out, &on);
	if (st != ST_OK && st != ST_AF) {
		dfc_deauth(k);		/* §9.2: status only, session over */
		on = 0;
	} else if (st == ST_OK && k->auth_key >= 0 && ins != 0xAA &&
	    ins != 0xAF && ins != 0x5A) {
		uint8_t tag[16];

		out[on] = ST_OK;
		desfire_sess_mac(&k->s, out, on + 1, tag);
		if (k->tamper_mac && ins == 0xBD)
			tag[0] ^= 0x01;
		memcpy(out + on, tag, 8);
		on += 8;
	}
	if (k->garble && ins == 0xBD && st == ST_OK) {
		if (getrandom(out, on, 0) != (ssize_t)on)
			memset(out, 0x5A, on);
	}
	memcpy(r, out, on);
	r[on] = 0x91;
	r[on + 1] = st;
	return (int)on + 2;
}
