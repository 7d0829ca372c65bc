/*
 * test_desfire.c — known-answer tests for the DESFire crypto: DESFire's
 * CRC32, RFC 4493 AES-CMAC, AN10922 diversification (the worked example and
 * the extra vectors), the two real-card AES authentication transcripts, the
 * real eight-command secure-messaging sequence, and the three real ChangeKey
 * cryptograms with a response CMAC (/work/shared/notes/desfire.md §4-§8).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/desfire.h"
#include "tests/unit/desfire_card.h"

/* hex (spaces allowed) into out; returns the byte count */
static size_t
hx(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		unsigned v;

		if (*s == ' ' || *s == '|') {
			s++;
			continue;
		}
		assert_true(n < max);
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

#define HX(s, buf)	hx((s), (buf), sizeof(buf))

static void
expect_hex(const uint8_t *got, size_t n, const char *want)
{
	uint8_t w[256];
	size_t wn = HX(want, w);

	assert_int_equal(n, wn);
	assert_memory_equal(got, w, n);
}

static void
test_crc32(void **state)
{
	uint8_t b[64];
	size_t n;
	uint32_t c;

	(void)state;
	assert_int_equal(desfire_crc32((const uint8_t *)"123456789", 9),
	    0x340BC6D9u);
	/* pitfall 5: the ChangeKey CRC of C4 01 01..01 00 */
	b[0] = 0xC4;
	b[1] = 0x01;
	memset(b + 2, 0x01, 16);
	b[18] = 0x00;
	assert_int_equal(desfire_crc32(b, 19), 0xBA6E21DCu);
	/* a response CRC covers the status byte: pm3's UID vector */
	n = HX("04440F32763180 00", b);
	assert_int_equal(desfire_crc32(b, n), 0xD41ACE99u);
	/* CRC(x || CRC(x)) == 0 */
	c = desfire_crc32(b, n);
	b[n] = (uint8_t)c, b[n + 1] = (uint8_t)(c >> 8);
	b[n + 2] = (uint8_t)(c >> 16), b[n + 3] = (uint8_t)(c >> 24);
	assert_int_equal(desfire_crc32(b, n + 4), 0);
}

static void
test_rfc4493(void **state)
{
	uint8_t k[16], m[64], t[16], k1[16], k2[16];

	(void)state;
	HX("2b7e151628aed2a6abf7158809cf4f3c", k);
	HX("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
	   "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
	    m);
	assert_int_equal(desfire_cmac_subkeys(k, k1, k2), 0);
	expect_hex(k1, 16, "fbeed618357133667c85e08f7236a8de");
	expect_hex(k2, 16, "f7ddac306ae266ccf90bc11ee46d513b");
	assert_int_equal(desfire_aes_cmac(k, m, 0, t), 0);
	expect_hex(t, 16, "bb1d6929e95937287fa37d129b756746");
	assert_int_equal(desfire_aes_cmac(k, m, 16, t), 0);
	expect_hex(t, 16, "070a16b46b4d4144f79bdd9dd04a287c");
	assert_int_equal(desfire_aes_cmac(k, m, 40, t), 0);
	expect_hex(t, 16, "dfa66747de9ae63030ca32611497c827");
	assert_int_equal(desfire_aes_cmac(k, m, 64, t), 0);
	expect_hex(t, 16, "51f0bebf7e3b9d92fc49741779363cfe");
}

static void
test_an10922(void **state)
{
	uint8_t mk[16], m[32], out[16], k1[16], k2[16];
	size_t n;
	static const char *const fix[] = {
		"281049D52ECBC8F60961993D34DE3D54",	/* n = 1 */
		"E8B7F67C78C34AF1446E331EF7E6D3FF",	/* 7 */
		"5A3C7F6F0687F24F82DEE7EDA0970D08",	/* 15 */
		"FEED9FBD36CDB16819A72D30BCF9240B",	/* 16 */
		"21C28CD89BB3147F66C7DBD4851CAB20",	/* 31: the K1 path */
	};
	static const size_t fixn[] = { 1, 7, 15, 16, 31 };

	(void)state;
	HX("00112233445566778899AABBCCDDEEFF", mk);
	assert_int_equal(desfire_cmac_subkeys(mk, k1, k2), 0);
	expect_hex(k1, 16, "FBC9F75C9413C041DFEE452D3F0706D1");
	expect_hex(k2, 16, "F793EEB928278083BFDC8A5A7E0E0D25");
	n = HX("04782E21801D80 3042F5 4E585020416275", m);
	assert_int_equal(desfire_diversify(mk, m, n, out), 0);
	expect_hex(out, 16, "A8DD63A3B89D54B37CA802473FDA9175");

	HX("f3f9377698707b688eaf84abe39e3791", mk);
	n = HX("04deadbeeffeed", m);
	assert_int_equal(desfire_diversify(mk, m, n, out), 0);
	expect_hex(out, 16, "0bb408baff98b6ee9f2e1585777f6a51");
	HX("00112233445566778899AABBCCDDEEFF", mk);
	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(desfire_diversify(mk, m, fixn[i], out), 0);
		expect_hex(out, 16, fix[i]);
	}
	assert_int_equal(desfire_diversify(mk, m, 0, out), -1);
	assert_int_equal(desfire_diversify(mk, m, 32, out), -1);
}

/* Replay a real-card authentication with its RndA: the token we send and
 * the session key must be the card's. */
static void
auth_transcript(const char *key, const char *ekb, const char *rnda,
    const char *tok, const char *eka, const char *sk)
{
	struct desfire_auth a;
	struct desfire_sess s;
	uint8_t k[16], eb[16], ra[16], t[32], ea[16];

	HX(key, k);
	HX(ekb, eb);
	HX(rnda, ra);
	HX(eka, ea);
	assert_int_equal(desfire_auth_step1(&a, k, eb, ra, t), 0);
	expect_hex(t, 32, tok);
	assert_int_equal(desfire_auth_step2(&a, ea, &s), 0);
	assert_true(s.on);
	expect_hex(s.sk, 16, sk);
	desfire_sess_end(&s);
	/* a card that does not know RndA (a replayed answer) is refused */
	assert_int_equal(desfire_auth_step1(&a, k, eb, ra, t), 0);
	ea[3] ^= 1;
	assert_int_equal(desfire_auth_step2(&a, ea, &s), -1);
	assert_false(s.on);
}

static void
test_auth_transcripts(void **state)
{
	struct desfire_sess s;
	uint8_t sk[16];

	(void)state;
	auth_transcript("00000000000000000000000000000000",
	    "B969FDFE56FD91FC9DE6F6F213B8FD1E",
	    "F44B26F5686F3A391CD38EBD10772281",
	    "36AAD7DF6E436BA08D18613830A70D5AD43E3D3F4A8D47541EEE623A934E4774",
	    "800DB680BC146BD121D6578F2D2E2059",
	    "F44B26F5C05DDD7110772281C4D066E8");
	auth_transcript("10182028303840485058606870788088",
	    "B351CB2465D4F33AC627FD6E87A168F2",
	    "40E7D27174CBA675E8EFBAB99C530E3D",
	    "044B6CAC343A0865895149649CA8DDE1F5AC4EC67BD208900AF02F049E05F0B0",
	    "A2EE144B1012FBEB7B2F11132D95A454",
	    "40E7D271626FFBD49C530E3D304F5B17");
	HX("F44B26F5C05DDD7110772281C4D066E8", sk);
	assert_int_equal(desfire_sess_begin(&s, sk), 0);
	expect_hex(s.k1, 16, "B7B132B32B4EED67893AB6DAB585DF12");
	expect_hex(s.k2, 16, "6F626566569DDACF12756DB56B0BBEA3");
	desfire_sess_end(&s);
}

/* One plain command and its CMAC'd response in the real sequence §5.3. */
static void
sm_step(struct desfire_sess *s, const char *cmd, const char *resp_data,
    const char *mac8)
{
	uint8_t c[128], d[128], m[8], tag[16];
	size_t cn = HX(cmd, c), dn = resp_data ? HX(resp_data, d) : 0;

	HX(mac8, m);
	assert_int_equal(desfire_sess_mac(s, c, cn, tag), 0);
	assert_int_equal(desfire_sess_check(s, d, dn, m), 0);
}

static void
test_secure_messaging(void **state)
{
	struct desfire_sess s, t;
	uint8_t sk[16], c[128], d[128], m[8], tag[16];
	char wr1[400], wr2[200], rd1[200], rd2[200];
	size_t n;

	(void)state;
	HX("40E7D271626FFBD49C530E3D304F5B17", sk);
	assert_int_equal(desfire_sess_begin(&s, sk), 0);
	expect_hex(s.k1, 16, "FF1488263AA121734F6EA72FA7B19291");
	expect_hex(s.k2, 16, "FE29104C754242E69EDD4E5F4F6325A5");
	/* 1 with the intermediate values */
	n = HX("CD 05 00 11 00 50 00 00", c);
	assert_int_equal(desfire_sess_mac(&s, c, n, tag), 0);
	expect_hex(s.iv, 16, "F23B0368578C65AD705C52AFE76261B6");
	HX("A7 53 16 AD 15 96 B9 53", m);
	/* a wrong MAC is refused and leaves the IV alone */
	m[7] ^= 0x40;
	assert_int_equal(desfire_sess_check(&s, d, 0, m), -1);
	m[7] ^= 0x40;
	assert_int_equal(desfire_sess_check(&s, d, 0, m), 0);
	expect_hex(s.iv, 16, "A75316AD1596B95374EEF55FB7FA00EC");
	/* 2 */
	n = HX("6F", c);
	assert_int_equal(desfire_sess_mac(&s, c, n, tag), 0);
	expect_hex(s.iv, 16, "F69B3BADA99A58AA2BD736662E32D4B0");
	HX("2D 5F F6 7F FE C9 D2 D3", m);
	assert_int_equal(desfire_sess_check(&s, (const uint8_t *)"\x05", 1, m),
	    0);
	sm_step(&s, "F5 05", "00 00 11 00 50 00 00", "2A AC 75 17 02 4E 09 DC");
	/* 4, 5: WriteData 0x34 + 0x1C bytes; 6, 7: read them back */
	n = (size_t)snprintf(wr1, sizeof(wr1), "3D 05 000000 340000");
	for (int i = 0; i < 0x34; i++)
		n += (size_t)snprintf(wr1 + n, sizeof(wr1) - n, "%02X", i);
	n = (size_t)snprintf(wr2, sizeof(wr2), "3D 05 340000 1C0000");
	for (int i = 0x34; i < 0x50; i++)
		n += (size_t)snprintf(wr2 + n, sizeof(wr2) - n, "%02X", i);
	rd1[0] = rd2[0] = '\0';
	for (int i = 0; i < 0x30; i++)
		snprintf(rd1 + 2 * i, sizeof(rd1) - 2 * (size_t)i, "%02X", i);
	for (int i = 0x30; i < 0x50; i++)
		snprintf(rd2 + 2 * (i - 0x30), sizeof(rd2) - 2 * (size_t)(i - 0x30),
		    "%02X", i);
	sm_step(&s, wr1, NULL, "76 5C 9D AA 50 EC B6 2F");
	sm_step(&s, wr2, NULL, "3E 0A ED 98 6B 8B 0F 37");
	sm_step(&s, "BD 05 000000 300000", rd1, "4C 65 F1 F8 42 26 2B AC");
	/* skipping the command CMAC desynchronises (pitfall 4) */
	t = s;
	n = HX(rd2, d);
	HX("F0 22 05 CF 91 3C 03 C9", m);
	assert_int_equal(desfire_sess_check(&t, d, n, m), -1);
	sm_step(&s, "BD 05 300000 200000", rd2, "F0 22 05 CF 91 3C 03 C9");
	sm_step(&s, "DF 05", NULL, "1B EF 0D 32 B6 D1 D7 F9");
	desfire_sess_end(&s);
}

static void
changekey(const char *sk, uint8_t keyno, const char *newkey, const char *cur,
    const char *enc, const char *resp)
{
	struct desfire_sess s;
	uint8_t k[16], nk[16], ck[16], out[32], m[8];

	HX(sk, k);
	HX(newkey, nk);
	if (cur != NULL)
		HX(cur, ck);
	assert_int_equal(desfire_sess_begin(&s, k), 0);
	assert_int_equal(desfire_changekey_crypt(&s, keyno, nk, 0x10,
	    cur != NULL ? ck : NULL, out), 0);
	expect_hex(out, 32, enc);
	expect_hex(s.iv, 16, enc + 32);	/* IV = last ciphertext block */
	if (resp != NULL) {
		HX(resp, m);
		assert_int_equal(desfire_sess_check(&s, NULL, 0, m), 0);
		expect_hex(s.iv, 16, "2128D3CD9C9ACFFFF6EB9546ADF35E17");
	}
	/* the card side: decrypt and find the CRCs */
	desfire_sess_end(&s);
}

static void
test_changekey(void **state)
{
	(void)state;
	changekey("F44B26F5C05DDD7110772281C4D066E8", 0x00,
	    "00102030405060708090A0B0B0A09080", NULL,
	    "E9F85E219496C2B58C1090DC3935FAE9E840CF61B383D9531946256B1F110C10",
	    NULL);
	changekey("C2A1E47B27104712FE6D00A71177A19B", 0x00,
	    "10182028303840485058606870788088", NULL,
	    "2945E3760E60F4A4046BB8A505B31CF559A3A2E05213BC82942CA6AB5DBCECF5",
	    NULL);
	changekey("C2A1E47BD8100044FE6D00A74D7AB17C", 0x01,
	    "00102030405060708090A0B0B0A09080",
	    "00000000000000000000000000000000",
	    "E7ECCB6BD1CA64BC161A12B1C024F71430337408C8A87EACAB7A1FF18951FCA3",
	    "21 28 D3 CD 9C 9A CF FF");
}

/* Constructed C1 (GetCardUID): decrypting with the IV after the command
 * CMAC gives UID || CRC32(UID || 00) || zeros. */
static void
test_constructed_getcarduid(void **state)
{
	struct desfire_sess s;
	uint8_t sk[16], b[16], tag[16];

	(void)state;
	HX("F44B26F5C05DDD7110772281C4D066E8", sk);
	assert_int_equal(desfire_sess_begin(&s, sk), 0);
	assert_int_equal(desfire_sess_mac(&s, (const uint8_t *)"\x51", 1, tag),
	    0);
	expect_hex(s.iv, 16, "364F68F745D5616173FFC4A987F76305");
	HX("60408ED41669DB23332E2A9FA924C1EF", b);
	assert_int_equal(desfire_sess_decrypt(&s, b, 16), 0);
	expect_hex(b, 16, "04782E21801D80 81CC33C2 0000000000");
	desfire_sess_end(&s);
}

static void
test_cred_file(void **state)
{
	struct desfire_cred c = { .id = "S-1001", .issue = 3 }, d;
	uint8_t f[32];

	(void)state;
	assert_int_equal(desfire_cred_encode(&c, f), 0);
	expect_hex(f, 32, "01 03000000 06 532D31303031 "
	    "0000000000000000000000000000000000000000");
	assert_int_equal(desfire_cred_decode(f, &d), 0);
	assert_string_equal(d.id, "S-1001");
	assert_int_equal(d.issue, 3);
	f[31] = 1;		/* trailing garbage */
	assert_int_equal(desfire_cred_decode(f, &d), -1);
	f[31] = 0;
	f[5] = 25;		/* too long */
	assert_int_equal(desfire_cred_decode(f, &d), -1);
	f[5] = 6;
	f[7] = ',';		/* would break the CSV-shaped journal */
	assert_int_equal(desfire_cred_decode(f, &d), -1);
	strcpy(c.id, "a b");
	assert_int_equal(desfire_cred_encode(&c, f), -1);
}

/* ---- the reader flow against the card model, without libnfc ---- */

struct direct {
	struct desfire_card *card;
	unsigned long xfers;
	uint8_t last_tok[40];		/* the last pass-2 APDU, for replay */
	size_t last_tok_len;
};

static int
direct_xfer(void *ctx, const uint8_t *apdu, size_t n, uint8_t *r, size_t rmax)
{
	struct direct *d = ctx;
	uint8_t big[PN532EMU_RAPDU_MAX];
	int k;

	d->xfers++;
	if (n >= 2 && apdu[1] == 0xAF && n <= sizeof(d->last_tok)) {
		memcpy(d->last_tok, apdu, n);
		d->last_tok_len = n;
	}
	k = desfire_card_exchange(d->card, apdu, n, big, sizeof(big));
	if (k < 0 || (size_t)k > rmax)
		return -1;
	memcpy(r, big, (size_t)k);
	return k;
}

static const uint8_t uid7[7] = { 0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };

static void
site_make(struct desfire_site *s, uint8_t mkbyte)
{
	memset(s, 0, sizeof(*s));
	memset(s->mk, mkbyte, 16);
	s->aid[0] = 0x34, s->aid[1] = 0x12, s->aid[2] = 0xF5;
	s->file = 1;
	s->read_key = 1;
	memcpy(s->sysid, "venue", 5);
	s->sysid_len = 5;
}

static void
test_card_flow(void **state)
{
	static struct desfire_card card;
	struct direct d = { .card = &card };
	struct desfire_io io = { &d, direct_xfer };
	struct desfire_site site, other;
	struct desfire_cred c = { .id = "S-1001", .issue = 2 }, got;
	enum desfire_result r;
	char why[160];

	(void)state;
	site_make(&site, 0xA5);
	site_make(&other, 0x5A);
	/* a genuine card */
	desfire_card_blank(&card, uid7);
	assert_int_equal(desfire_card_personalise(&card, &site, &c), 0);
	desfire_card_reset(&card);
	r = desfire_read_cred(&io, &site, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_OK);
	assert_string_equal(got.id, "S-1001");
	assert_int_equal(got.issue, 2);
	assert_int_equal(card.auths_ok, 1);
	/* the same card read under another site's key: refused by the card */
	desfire_card_reset(&card);
	r = desfire_read_cred(&io, &other, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_AUTH_FAILED);
	assert_non_null(strstr(why, "authentication"));
	assert_int_equal(card.auths_failed, 1);
	/* a recorded pass 2 replayed against a fresh challenge: 91 AE */
	{
		uint8_t aa[] = { 0x90, 0xAA, 0, 0, 1, 1, 0 }, resp[80];
		uint8_t tok[40];
		size_t tn;

		desfire_card_reset(&card);
		assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got,
		    why, sizeof(why)), DESFIRE_OK);
		memcpy(tok, d.last_tok, d.last_tok_len);
		tn = d.last_tok_len;
		assert_int_equal(desfire_card_exchange(&card, aa, sizeof(aa),
		    resp, sizeof(resp)), 18);
		assert_int_equal(desfire_card_exchange(&card, tok, tn, resp,
		    sizeof(resp)), 2);
		assert_int_equal(resp[1], 0xAE);
		/* and cannot be retried against the same challenge */
		assert_int_equal(desfire_card_exchange(&card, tok, tn, resp,
		    sizeof(resp)), 2);
		assert_int_equal(resp[1], 0x1C);
	}
	/* tampered MAC, garbled file: refused */
	card.tamper_mac = 1;
	desfire_card_reset(&card);
	r = desfire_read_cred(&io, &site, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_AUTH_FAILED);
	assert_non_null(strstr(why, "MAC"));
	card.tamper_mac = 0;
	card.garble = 1;
	desfire_card_reset(&card);
	r = desfire_read_cred(&io, &site, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_AUTH_FAILED);
	card.garble = 0;
	/* removed mid-authentication: no verdict */
	card.mute_on = 0xAF;
	desfire_card_reset(&card);
	r = desfire_read_cred(&io, &site, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_GONE);
	card.mute_on = 0;
	/* a blank DESFire: not ours, a UID read */
	desfire_card_blank(&card, uid7);
	r = desfire_read_cred(&io, &site, uid7, 7, &got, why, sizeof(why));
	assert_int_equal(r, DESFIRE_NOT_OURS);
}

/* Cards that are not DESFires or say odd things to the select. */
static int
iso_xfer(void *ctx, const uint8_t *apdu, size_t n, uint8_t *r, size_t rmax)
{
	const uint8_t *ans = ctx;

	(void)apdu;
	(void)n;
	if (rmax < 2)
		return -1;
	memcpy(r, ans, 2);
	return 2;
}

static void
test_not_desfire(void **state)
{
	static const uint8_t sw_ins[2] = { 0x6E, 0x00 }, sw_len[2] = { 0x67, 0x00 };
	static const uint8_t af[2] = { 0x91, 0xAF }, ae[2] = { 0x91, 0xAE };
	struct desfire_io io = { (void *)(uintptr_t)sw_ins, iso_xfer };
	struct desfire_site site;
	struct desfire_cred got;
	char why[160];

	(void)state;
	site_make(&site, 1);
	/* a bank card or a passport: an ISO status, not ours, a UID read */
	assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_NOT_OURS);
	io.ctx = (void *)(uintptr_t)sw_len;
	assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_NOT_OURS);
	/* a card that chains forever at the select: not ours, bounded */
	io.ctx = (void *)(uintptr_t)af;
	assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_NOT_OURS);
	/* refuses everything: not ours (select already fails) */
	io.ctx = (void *)(uintptr_t)ae;
	assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_NOT_OURS);
}

static void
test_card_issue(void **state)
{
	static struct desfire_card card;
	struct direct d = { .card = &card };
	struct desfire_io io = { &d, direct_xfer };
	struct desfire_site site, other;
	struct desfire_cred c = { .id = "S-2002", .issue = 7 }, got;
	char why[160];

	(void)state;
	site_make(&site, 0xC3);
	site_make(&other, 0x3C);
	desfire_card_blank(&card, uid7);
	assert_int_equal(desfire_issue(&io, &site, uid7, 7, &c, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "issued");
	assert_int_equal(card.apps[0].ver[0], 1);
	assert_int_equal(card.apps[0].ver[1], 1);
	desfire_card_reset(&card);
	assert_int_equal(desfire_read_cred(&io, &site, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_OK);
	assert_string_equal(got.id, "S-2002");
	assert_int_equal(got.issue, 7);
	/* a second issue on the same card is refused, nothing changes */
	desfire_card_reset(&card);
	assert_int_equal(desfire_issue(&io, &site, uid7, 7, &c, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not blank"));
	desfire_card_reset(&card);
	assert_int_equal(desfire_read_cred(&io, &other, uid7, 7, &got, why,
	    sizeof(why)), DESFIRE_AUTH_FAILED);
	/* a random-ID card (4-byte UID) cannot be issued */
	desfire_card_blank(&card, uid7);
	assert_int_equal(desfire_issue(&io, &site, uid7, 4, &c, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "random ID"));
	assert_false(card.apps[0].exists);
	/* a card removed during the issue says where */
	desfire_card_blank(&card, uid7);
	card.mute_on = 0xC4;
	assert_int_equal(desfire_issue(&io, &site, uid7, 7, &c, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "card gone at: set key 1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_rfc4493),
		cmocka_unit_test(test_an10922),
		cmocka_unit_test(test_auth_transcripts),
		cmocka_unit_test(test_secure_messaging),
		cmocka_unit_test(test_changekey),
		cmocka_unit_test(test_constructed_getcarduid),
		cmocka_unit_test(test_cred_file),
		cmocka_unit_test(test_card_flow),
		cmocka_unit_test(test_card_issue),
		cmocka_unit_test(test_not_desfire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
