/*
 * fuzz_desfire.c — the reader's parsing of DESFire card answers
 * (drivers/desfire.c) and the emulated card's parsing of APDUs
 * (tests/unit/desfire_card.c). The input is a script: each answer is a
 * length byte then that many bytes (0xFF: the card goes mute); the
 * reader's tap, the badge office's issue and a raw command run against
 * those answers; then the whole input, cut the same way, is sent as APDUs
 * to a personalised emulated card. Nothing may crash or overrun.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "drivers/desfire.h"
#include "tests/unit/desfire_card.c"

struct script {
	const uint8_t	*p;
	size_t		 n;
};

static int
script_xfer(void *ctx, const uint8_t *apdu, size_t an, uint8_t *r,
    size_t rmax)
{
	struct script *s = ctx;
	size_t k;

	(void)apdu;
	(void)an;
	if (s->n == 0 || s->p[0] == 0xFF) {
		if (s->n > 0)
			s->p++, s->n--;
		return -1;
	}
	k = s->p[0];
	s->p++, s->n--;
	if (k > s->n)
		k = s->n;
	if (k > rmax)
		k = rmax;	/* libnfc truncates to the buffer too */
	memcpy(r, s->p, k);
	s->p += k, s->n -= k;
	return (int)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t uid[7] = { 4, 1, 2, 3, 4, 5, 6 };
	static struct desfire_card card;
	struct desfire_site site;
	struct desfire_cred c = { .id = "F-1", .issue = 1 }, out;
	struct script s = { data, size };
	struct desfire_io io = { &s, script_xfer };
	struct desfire_sess sess;
	uint8_t r[256], cmd[2] = { 0x6F, 0 };
	char why[128];

	memset(&site, 0, sizeof(site));
	memset(site.mk, 0x42, 16);
	site.aid[0] = 1;
	site.file = 1;
	site.read_key = 1;
	(void)desfire_read_cred(&io, &site, uid, 7, &out, why, sizeof(why));
	(void)desfire_issue(&io, &site, uid, 7, &c, why, sizeof(why));
	memset(&sess, 0, sizeof(sess));
	(void)desfire_authenticate(&io, 0, site.mk, &sess);
	(void)desfire_cmd(&io, &sess, 0, cmd, 1, r, sizeof(r));
	desfire_sess_end(&sess);
	if (size >= 32)
		(void)desfire_cred_decode(data, &out);

	/* the card side */
	desfire_card_blank(&card, uid);
	(void)desfire_card_personalise(&card, &site, &c);
	s.p = data;
	s.n = size;
	while (s.n > 0) {
		uint8_t rr[PN532EMU_RAPDU_MAX];
		size_t k = s.p[0];

		s.p++, s.n--;
		if (k > s.n)
			k = s.n;
		(void)desfire_card_exchange(&card, s.p, k, rr, sizeof(rr));
		s.p += k, s.n -= k;
	}
	desfire_card_reset(&card);
	return 0;
}
