/*
 * pn532emu.h — a PN532 on the master side of a pseudo-terminal, for tests.
 *
 * Debian's unmodified libnfc talks to it through its own pn532_uart driver
 * (see /work/shared/notes/pn532-emulation.md): connect with
 * nfc_open(ctx, pn532emu_connstring(e)). One emulator per client: a pty has
 * no lock, two clients would interleave.
 *
 * The card is a model the test scripts: UID, ATQA, SAK, ATS and an exchange
 * callback that answers whatever the host sends through InDataExchange
 * (ISO 7816 APDUs for an ISO 14443-4 card, raw frames otherwise). Faults
 * make the chip lie, stall or vanish.
 *
 * Owns: its pty, its thread, a symlink that names the pty across unplugs.
 */
#ifndef TESTS_PN532EMU_H
#define TESTS_PN532EMU_H

#include <stddef.h>
#include <stdint.h>

#define PN532EMU_UID_MAX	10
#define PN532EMU_ATS_MAX	64
#define PN532EMU_RAPDU_MAX	262

struct pn532emu_card {
	uint8_t		uid[PN532EMU_UID_MAX];
	size_t		uid_len;		/* 4, 7 or 10 */
	uint8_t		atqa[2];		/* chip order: 00 04, 03 44 */
	uint8_t		sak;
	uint8_t		ats[PN532EMU_ATS_MAX];	/* without TL (the emulator adds it) */
	size_t		ats_len;
	/* The host sent c (InDataExchange). Write the answer into r (at most
	 * rmax bytes) and return its length, or -1 for a mute card. Called on
	 * the emulator's thread with its lock held: do not call back into it. */
	int		(*exchange)(void *user, const uint8_t *c, size_t clen,
			    uint8_t *r, size_t rmax);
	/* A new activation (card put on the reader, reselected): an applet
	 * forgets its SELECT state here. */
	void		(*reset)(void *user);
	void		*user;
};

enum pn532emu_fault {
	PN532EMU_FAULT_NONE = 0,
	PN532EMU_FAULT_CHECKSUM,	/* answers carry a wrong DCS */
	PN532EMU_FAULT_JUNK,		/* junk bytes before the ACK */
	PN532EMU_FAULT_CODE,		/* response code is not CC+1 */
	PN532EMU_FAULT_ERROR,		/* application error frame (7F) */
	PN532EMU_FAULT_SILENT,		/* neither ACK nor answer */
	PN532EMU_FAULT_DRIP,		/* one byte every 250 ms: a hung chip */
	/* card data, in InListPassiveTarget / InAutoPoll answers only: */
	PN532EMU_FAULT_UID_LONG,	/* NFCID length 11 with 11 bytes */
	PN532EMU_FAULT_TRUNCATED,	/* target data cut after the SAK */
	PN532EMU_FAULT_ATS_ZERO,	/* ATS with TL 00 (libnfc: length -1) */
	PN532EMU_FAULT__COUNT
};

#define PN532EMU_ALL	(-1)	/* fault scope: every command */

struct pn532emu;

/* Start an emulator with no card. The pty is named by a symlink in a fresh
 * directory under /tmp, so the connstring survives unplug/replug. NULL on
 * failure (errno set). */
struct pn532emu *pn532emu_start(void);
void	pn532emu_stop(struct pn532emu *);
/* "pn532_uart:/tmp/pn532emu.XXXXXX/tty" */
const char *pn532emu_connstring(const struct pn532emu *);
const char *pn532emu_path(const struct pn532emu *);

/* Put a card on the reader (copied), or take it off (NULL). */
void	pn532emu_set_card(struct pn532emu *, const struct pn532emu_card *);
/* Make answers to command code cmd (PN532EMU_ALL: every command) lie in
 * the given way; PN532EMU_FAULT_NONE clears. */
void	pn532emu_fault(struct pn532emu *, enum pn532emu_fault, int cmd);
/* Close the pty and remove its name, as if the reader were unplugged;
 * replug makes a new pty under the same name. 0 or -1. */
int	pn532emu_unplug(struct pn532emu *);
int	pn532emu_replug(struct pn532emu *);

/* Counters: good frames seen for command code cmd (-1: all), activations
 * (a card selected), frames dropped as malformed. */
unsigned long pn532emu_count(struct pn532emu *, int cmd);
unsigned long pn532emu_activations(struct pn532emu *);
unsigned long pn532emu_bad_frames(struct pn532emu *);
/* When the card was last put on the reader (CLOCK_REALTIME, µs). */
int64_t	pn532emu_card_time_us(struct pn532emu *);

/* The fault's name for CLIs ("checksum", "junk", ...), and back (-1). */
const char *pn532emu_fault_name(enum pn532emu_fault);
int	pn532emu_fault_parse(const char *);

#endif
