/*
 * desfire_card.h — an emulated MIFARE DESFire EV1 card (AES keys only) for
 * the PN532 emulator's exchange hook: select application, AES three-pass
 * authentication with a fresh RndB per attempt, EV1 secure messaging,
 * ReadData/WriteData (plain and MACed files), ChangeKey (both cases),
 * CreateApplication, CreateStdDataFile, GetVersion, GetApplicationIDs,
 * GetFileIDs, GetKeyVersion. Follows /work/shared/notes/desfire.md §9,
 * including its [CHOICE]s for error codes no public source pins down.
 *
 * Deviation, on purpose: the PICC master key is AES all-zero (a factory
 * card's is DES); the PICC's KS1 is the factory 0x0F, so applications can
 * be created without it.
 */
#ifndef TESTS_DESFIRE_CARD_H
#define TESTS_DESFIRE_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/desfire.h"
#include "tests/unit/pn532emu.h"

#define DFC_APPS	4
#define DFC_FILES	4
#define DFC_FILE_MAX	64

struct dfc_file {
	int		exists;
	uint8_t		no, comm;
	uint16_t	ar;
	size_t		size;
	uint8_t		data[DFC_FILE_MAX];
};

struct dfc_app {
	int		exists;
	uint8_t		aid[3];
	uint8_t		ks1, nkeys;
	uint8_t		keys[14][16], ver[14];
	struct dfc_file	files[DFC_FILES];
};

struct desfire_card {
	uint8_t		uid[7];
	struct dfc_app	picc;		/* aid 000000, key 0 */
	struct dfc_app	apps[DFC_APPS];
	/* per activation */
	struct dfc_app	*sel;
	int		auth_key;	/* -1: not authenticated */
	struct desfire_sess s;
	int		pending;	/* 1: waiting for pass 2 */
	uint8_t		p_key, rndb[16], p_iv[16];
	/* test knobs */
	uint8_t		mute_on;	/* INS (or the AF of pass 2: 0xAF) at
					 * which the card leaves the field */
	int		tamper_mac;	/* flip a bit of ReadData's CMAC */
	int		garble;		/* answer ReadData with junk */
	unsigned long	auths_ok, auths_failed;
};

/* A blank card with this UID (7 bytes): no applications. */
void	desfire_card_blank(struct desfire_card *, const uint8_t uid[7]);
/* Personalise in memory as `gatectl card issue` would over the air: the
 * venue application, diversified keys 0 and 1 from site, the MACed
 * credential file. 0 or -1. */
int	desfire_card_personalise(struct desfire_card *,
	    const struct desfire_site *, const struct desfire_cred *);
/* The emulator card: UID, ATQA 0344, SAK 20, EV1 ATS; hooks on c. */
void	desfire_card_pn532(struct desfire_card *c, struct pn532emu_card *out);
/* The exchange hook itself (APDU in, APDU out) and the reset hook. */
int	desfire_card_exchange(void *card, const uint8_t *c, size_t clen,
	    uint8_t *r, size_t rmax);
void	desfire_card_reset(void *card);

#endif
