/*
 * ctl_card.c — `gatectl card issue|inspect`: the badge office's side of
 * secure badges, with a reader on this machine through libnfc (PN532,
 * ACR122: any libnfc connstring).
 *
 *	gatectl card inspect --reader CONN [SITE]
 *	gatectl card issue --reader CONN SITE --id ID [--issue N]
 *	SITE: --key KEYFILE --aid HEX6 [--file N] [--key-no N] [--sysid TEXT]
 *
 * issue personalises a blank DESFire EV1 (drivers/desfire.c desfire_issue:
 * venue application, MACed credential file, per-card diversified keys)
 * and reads it back as a gate would. inspect prints what a card holds and
 * never a key: UID, applications, key versions, file ids, and with SITE
 * the credential after authentication. The key file follows the reader's
 * rules (docs/gateway-conf.md): refused if group or others can read it;
 * wiped from memory before exit. Exit: 0 done, 1 card problem, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nfc/nfc.h>

#include "drivers/desfire.h"

int	gatectl_card_main(int, char **);

#define CARD_WAIT_MS	10000
#define CARD_APDU_MS	500

struct card_args {
	const char	*reader, *keyfile, *aid, *sysid, *id;
	unsigned long	 file, keyno, issue;
	int		 have_issue;
};

static int
card_usage(void)
{
	fputs("usage: gatectl card inspect --reader CONN [SITE]\n"
	    "       gatectl card issue --reader CONN SITE --id ID [--issue N]\n"
	    "SITE: --key KEYFILE --aid HEX6 [--file N] [--key-no N] "
	    "[--sysid TEXT]\n"
	    "(the same values as the gate's reader line: desfire= aid= file= "
	    "key= sysid=)\n", stderr);
	return 2;
}

static int
card_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    *out <= max ? 0 : -1;
}

static int
card_parse(int argc, char **argv, struct card_args *a)
{
	memset(a, 0, sizeof(*a));
	a->file = 1;
	a->keyno = 1;
	a->sysid = "";
	for (int i = 2; i < argc; i += 2) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			return -1;
		if (strcmp(o, "--reader") == 0)
			a->reader = v;
		else if (strcmp(o, "--key") == 0)
			a->keyfile = v;
		else if (strcmp(o, "--aid") == 0)
			a->aid = v;
		else if (strcmp(o, "--sysid") == 0)
			a->sysid = v;
		else if (strcmp(o, "--id") == 0)
			a->id = v;
		else if (strcmp(o, "--file") == 0) {
			if (card_num(v, 31, &a->file) == -1)
				return -1;
		} else if (strcmp(o, "--key-no") == 0) {
			if (card_num(v, 13, &a->keyno) == -1)
				return -1;
		} else if (strcmp(o, "--issue") == 0) {
			if (card_num(v, UINT32_MAX, &a->issue) == -1)
				return -1;
			a->have_issue = 1;
		} else
			return -1;
	}
	return a->reader != NULL && (a->keyfile == NULL) == (a->aid == NULL) ?
	    0 : -1;
}

struct card_io {
	nfc_device	*dev;
};

static int
card_xfer(void *ctx, const uint8_t *apdu, size_t n, uint8_t *r, size_t rmax)
{
	struct card_io *x = ctx;

	return nfc_initiator_transceive_bytes(x->dev, apdu, n, r, rmax,
	    CARD_APDU_MS);
}

static void
card_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02X", p[i]);
}

/* The site from the arguments; the key is read here and wiped by the
 * caller. 0 or -1 (said). */
static int
card_site(const struct card_args *a, struct desfire_site *s)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	if (desfire_aid_parse(a->aid, s->aid) == -1) {
		fprintf(stderr, "gatectl: --aid %s is not a DESFire application "
		    "id (6 hex digits, not 000000)\n", a->aid);
		return -1;
	}
	if (strlen(a->sysid) > DESFIRE_SYSID_MAX) {
		fprintf(stderr, "gatectl: --sysid is at most %d characters\n",
		    DESFIRE_SYSID_MAX);
		return -1;
	}
	s->file = (uint8_t)a->file;
	s->read_key = (uint8_t)a->keyno;
	s->sysid_len = strlen(a->sysid);
	memcpy(s->sysid, a->sysid, s->sysid_len);
	if (desfire_keyfile_load(a->keyfile, s->mk, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatectl: %s\n", err);
		return -1;
	}
	return 0;
}

/* Wait for one ISO 14443-A card; 1 found, 0 none in time, -1 error. */
static int
card_wait(nfc_device *dev, nfc_target *t)
{
	static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
	struct timespec pause = { 0, 50 * 1000000L };

	for (int waited = 0; waited < CARD_WAIT_MS; waited += 50) {
		int r = nfc_initiator_select_passive_target(dev, nm, NULL, 0, t);

		if (r > 0)
			return 1;
		if (r < 0 && r != NFC_ETIMEOUT)
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int
card_inspect(const struct desfire_io *io, const nfc_target *t,
    const struct desfire_site *site)
{
	const nfc_iso14443a_info *a = &t->nti.nai;
	uint8_t cmd[4] = { 0x5A, 0, 0, 0 }, r[256];
	int n, ours = 0;

	printf("uid: ");
	card_hex(a->abtUid, a->szUidLen);
	printf("\natqa: %02X%02X  sak: %02X  ats: ", a->abtAtqa[0],
	    a->abtAtqa[1], a->btSak);
	card_hex(a->abtAts, a->szAtsLen);
	printf("\n");
	if (!(a->btSak & 0x20)) {
		printf("type: not ISO 14443-4: a UID-only card (legacy)\n");
		return 0;
	}
	if (desfire_cmd(io, NULL, 0, cmd, 4, r, sizeof(r)) != 0) {
		printf("type: ISO 14443-4, not a DESFire (no answer to a "
		    "native select)\n");
		return 0;
	}
	cmd[0] = 0x6A;
	n = desfire_cmd(io, NULL, 0, cmd, 1, r, sizeof(r));
	printf("applications:");
	if (n == DESFIRE_ERR_STATUS(0xAE))
		printf(" (listing needs the card master key)");
	else if (n < 0)
		printf(" (card error)");
	else if (n == 0)
		printf(" none (blank card)");
	for (int i = 0; i + 2 < n; i += 3) {
		printf(" %02X%02X%02X", r[i + 2], r[i + 1], r[i]);
		if (site != NULL && memcmp(r + i, site->aid, 3) == 0) {
			printf(" [venue]");
			ours = 1;
		}
	}
	printf("\n");
	if (site == NULL)
		return 0;
	cmd[0] = 0x5A;
	memcpy(cmd + 1, site->aid, 3);
	if (desfire_cmd(io, NULL, 0, cmd, 4, r, sizeof(r)) != 0) {
		printf("venue application %02X%02X%02X: absent\n", site->aid[2],
		    site->aid[1], site->aid[0]);
		return 0;
	}
	(void)ours;
	printf("venue application %02X%02X%02X: key versions", site->aid[2],
	    site->aid[1], site->aid[0]);
	for (uint8_t k = 0; k < 14; k++) {
		cmd[0] = 0x64;
		cmd[1] = k;
		if (desfire_cmd(io, NULL, 0, cmd, 2, r, sizeof(r)) != 1)
			break;
		printf(" %u:%u", k, r[0]);
	}
	cmd[0] = 0x6F;
	n = desfire_cmd(io, NULL, 0, cmd, 1, r, sizeof(r));
	printf("; files:");
	for (int i = 0; i < n; i++)
		printf(" %u", r[i]);
	printf("\n");
	return 1;
}

int
gatectl_card_main(int argc, char **argv)
{
	struct card_args a;
	struct desfire_site site;
	struct card_io x = { NULL };
	struct desfire_io io = { &x, card_xfer };
	nfc_context *ctx = NULL;
	nfc_target t;
	char why[200];
	int issue, rc = 1, r;

	if (argc < 2 || (strcmp(argv[1], "issue") != 0 &&
	    strcmp(argv[1], "inspect") != 0) || card_parse(argc, argv, &a) == -1)
		return card_usage();
	issue = strcmp(argv[1], "issue") == 0;
	if (issue && (a.keyfile == NULL || a.id == NULL))
		return card_usage();
	memset(&site, 0, sizeof(site));
	if (a.keyfile != NULL && card_site(&a, &site) == -1) {
		explicit_bzero(&site, sizeof(site));
		return 2;
	}
	if (getenv("LIBNFC_LOG_LEVEL") == NULL)
		setenv("LIBNFC_LOG_LEVEL", "0", 0);
	nfc_init(&ctx);
	if (ctx == NULL || (x.dev = nfc_open(ctx, a.reader)) == NULL ||
	    nfc_initiator_init(x.dev) < 0 || nfc_device_set_property_bool(x.dev,
	    NP_INFINITE_SELECT, false) < 0) {
		fprintf(stderr, "gatectl: reader %s does not answer\n", a.reader);
		goto out;
	}
	fprintf(stderr, "gatectl: put the card on the reader (%d s)\n",
	    CARD_WAIT_MS / 1000);
	if ((r = card_wait(x.dev, &t)) <= 0) {
		fprintf(stderr, "gatectl: %s\n", r == 0 ? "no card" :
		    "reader error while waiting for a card");
		goto out;
	}
	if (issue) {
		struct desfire_cred c;

		memset(&c, 0, sizeof(c));
		snprintf(c.id, sizeof(c.id), "%s", a.id);
		c.issue = (uint32_t)a.issue;
		if (strlen(a.id) > DESFIRE_ID_MAX) {
			fprintf(stderr, "gatectl: --id is at most %d characters\n",
			    DESFIRE_ID_MAX);
			rc = 2;
			goto out;
		}
		if (!(t.nti.nai.btSak & 0x20)) {
			fprintf(stderr, "gatectl: not an ISO 14443-4 card: cannot "
			    "hold a secure credential\n");
			goto out;
		}
		if (desfire_issue(&io, &site, t.nti.nai.abtUid,
		    t.nti.nai.szUidLen, &c, why, sizeof(why)) == -1) {
			fprintf(stderr, "gatectl: card not issued: %s\n", why);
			goto out;
		}
		printf("issued %s issue %u on card ", c.id, (unsigned)c.issue);
		card_hex(t.nti.nai.abtUid, t.nti.nai.szUidLen);
		printf(" (read back: authenticated, MAC verified)\n");
		rc = 0;
		goto out;
	}
	r = card_inspect(&io, &t, a.keyfile != NULL ? &site : NULL);
	rc = 0;
	if (r == 1) {
		struct desfire_cred c;

		switch (desfire_read_cred(&io, &site, t.nti.nai.abtUid,
		    t.nti.nai.szUidLen, &c, why, sizeof(why))) {
		case DESFIRE_OK:
			printf("credential: %s issue %u (authenticated, MAC "
			    "verified: class secure)\n", c.id, (unsigned)c.issue);
			break;
		case DESFIRE_NOT_OURS:
			printf("credential: none (%s)\n", why);
			break;
		default:
			printf("credential: REFUSED: %s\n", why);
			rc = 1;
			break;
		}
	}
out:
	explicit_bzero(&site, sizeof(site));
	if (x.dev != NULL)
		nfc_close(x.dev);
	if (ctx != NULL)
		nfc_exit(ctx);
	return rc;
}
