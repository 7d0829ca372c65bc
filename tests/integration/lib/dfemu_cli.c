/*
 * dfemu_cli.c — the PN532 emulator with an emulated DESFire EV1 card, as a
 * process for shell tests of secure badges (issue 8):
 *
 *	dfemu			prints the connstring, then obeys stdin:
 *	blank UID		a blank DESFire (7-byte UID, hex) on the reader
 *	genuine UID KEYHEX AID SYSID ID ISSUE
 *				a card personalised for that site (as
 *				`gatectl card issue` would) on the reader
 *	uidcard UID		a UID-only copy (ATQA 0044, SAK 08)
 *	fault tamper|garble|mute|none
 *				ReadData MAC flipped, junk file, card leaves
 *				at authentication pass 2, or none
 *	remove / put		take the card off / put the same one back
 *				(what an issue wrote stays on it)
 *	quit
 * Every command is answered with one line ("ok" / "error ...").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/desfire.h"
#include "tests/unit/desfire_card.h"
#include "tests/unit/pn532emu.h"

static int
hex(const char *s, uint8_t *out, size_t want)
{
	if (strlen(s) != 2 * want)
		return -1;
	for (size_t i = 0; i < want; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int
main(void)
{
	static struct desfire_card card;
	struct pn532emu *e;
	struct pn532emu_card pc;
	char line[512];
	int have = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((e = pn532emu_start()) == NULL) {
		perror("dfemu: start");
		return 1;
	}
	printf("%s\n", pn532emu_connstring(e));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *w[10], *save = NULL;
		uint8_t uid[7];
		int nw = 0;

		for (char *t = strtok_r(line, " \t\r\n", &save); t && nw < 10;
		    t = strtok_r(NULL, " \t\r\n", &save))
			w[nw++] = t;
		if (nw == 0)
			continue;
		if (strcmp(w[0], "quit") == 0)
			break;
		if (strcmp(w[0], "blank") == 0 && nw == 2 &&
		    hex(w[1], uid, 7) == 0) {
			pn532emu_set_card(e, NULL);
			desfire_card_blank(&card, uid);
			have = 1;
		} else if (strcmp(w[0], "genuine") == 0 && nw == 7 &&
		    hex(w[1], uid, 7) == 0) {
			struct desfire_site s;
			struct desfire_cred c;

			memset(&s, 0, sizeof(s));
			memset(&c, 0, sizeof(c));
			if (hex(w[2], s.mk, 16) != 0 ||
			    desfire_aid_parse(w[3], s.aid) != 0 ||
			    strlen(w[4]) > DESFIRE_SYSID_MAX ||
			    strlen(w[5]) > DESFIRE_ID_MAX) {
				printf("error bad card\n");
				continue;
			}
			s.file = 1;
			s.read_key = 1;
			s.sysid_len = strlen(w[4]);
			memcpy(s.sysid, w[4], s.sysid_len);
			snprintf(c.id, sizeof(c.id), "%s", w[5]);
			c.issue = (uint32_t)strtoul(w[6], NULL, 10);
			pn532emu_set_card(e, NULL);
			desfire_card_blank(&card, uid);
			if (desfire_card_personalise(&card, &s, &c) != 0) {
				printf("error bad credential\n");
				continue;
			}
			have = 1;
		} else if (strcmp(w[0], "uidcard") == 0 && nw == 2 &&
		    hex(w[1], uid, 7) == 0) {
			memset(&pc, 0, sizeof(pc));
			memcpy(pc.uid, uid, 7);
			pc.uid_len = 7;
			pc.atqa[1] = 0x44;
			pc.sak = 0x08;
			pn532emu_set_card(e, &pc);
			have = 0;
			printf("ok\n");
			continue;
		} else if (strcmp(w[0], "fault") == 0 && nw == 2) {
			pn532emu_set_card(e, NULL);
			card.tamper_mac = strcmp(w[1], "tamper") == 0;
			card.garble = strcmp(w[1], "garble") == 0;
			card.mute_on = strcmp(w[1], "mute") == 0 ? 0xAF : 0;
			printf("ok\n");
			continue;
		} else if (strcmp(w[0], "remove") == 0) {
			pn532emu_set_card(e, NULL);
			printf("ok\n");
			continue;
		} else if (strcmp(w[0], "put") != 0 || !have) {
			printf("error unknown command or no card\n");
			continue;
		}
		desfire_card_pn532(&card, &pc);
		pn532emu_set_card(e, &pc);
		printf("ok\n");
	}
	pn532emu_stop(e);
	return 0;
}
