/*
 * pn532emu_cli.c — the PN532 emulator as a process, for shell tests and
 * for checking the emulator against libnfc's own tools (nfc-list):
 *
 *	pn532emu [CARD]		prints the connstring, then obeys stdin:
 *	card UID [ATQA SAK [ATS]]	put a card on (hex; default 0004 08)
 *	remove				take it off
 *	fault NAME [CMD]		checksum junk code error silent drip
 *					uid-long truncated ats-zero none;
 *					CMD: a command code in hex (default all)
 *	unplug / replug			close the pty / make a new one
 *	count [CMD]			frames seen (for CMD)
 *	quit				(or end of input)
 *
 * Every command is answered with one line on stdout ("ok ..." or
 * "error ..."), flushed, so a script can wait for it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/pn532emu.h"

static int
cli_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* "UID [ATQA SAK [ATS]]" in words w[0..nw-1]. */
static int
cli_card(char **w, int nw, struct pn532emu_card *c)
{
	size_t n;
	uint8_t b[2];

	memset(c, 0, sizeof(*c));
	if (nw < 1 || cli_hex(w[0], c->uid, sizeof(c->uid), &c->uid_len) == -1)
		return -1;
	c->atqa[0] = 0x00;
	c->atqa[1] = c->uid_len == 4 ? 0x04 : c->uid_len == 7 ? 0x44 : 0x84;
	c->sak = 0x08;
	if (nw >= 2 && (cli_hex(w[1], c->atqa, 2, &n) == -1 || n != 2))
		return -1;
	if (nw >= 3 && (cli_hex(w[2], b, 1, &n) == -1 || n != 1))
		return -1;
	if (nw >= 3)
		c->sak = b[0];
	if (nw >= 4 && cli_hex(w[3], c->ats, sizeof(c->ats), &c->ats_len) == -1)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct pn532emu *e;
	struct pn532emu_card c;
	char line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((e = pn532emu_start()) == NULL) {
		perror("pn532emu: start");
		return 1;
	}
	if (argc > 1) {
		if (cli_card(argv + 1, argc - 1, &c) == -1) {
			fprintf(stderr, "pn532emu: bad card\n");
			pn532emu_stop(e);
			return 2;
		}
		pn532emu_set_card(e, &c);
	}
	printf("%s\n", pn532emu_connstring(e));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *w[8], *save = NULL;
		int nw = 0;

		for (char *t = strtok_r(line, " \t\r\n", &save); t && nw < 8;
		    t = strtok_r(NULL, " \t\r\n", &save))
			w[nw++] = t;
		if (nw == 0)
			continue;
		if (strcmp(w[0], "quit") == 0)
			break;
		if (strcmp(w[0], "card") == 0) {
			if (cli_card(w + 1, nw - 1, &c) == -1) {
				printf("error bad card\n");
				continue;
			}
			pn532emu_set_card(e, &c);
		} else if (strcmp(w[0], "remove") == 0)
			pn532emu_set_card(e, NULL);
		else if (strcmp(w[0], "fault") == 0 && nw >= 2) {
			int f = pn532emu_fault_parse(w[1]);
			int cmd = nw >= 3 ? (int)strtol(w[2], NULL, 16) :
			    PN532EMU_ALL;
			if (f < 0) {
				printf("error unknown fault %s\n", w[1]);
				continue;
			}
			pn532emu_fault(e, (enum pn532emu_fault)f, cmd);
		} else if (strcmp(w[0], "unplug") == 0)
			pn532emu_unplug(e);
		else if (strcmp(w[0], "replug") == 0) {
			if (pn532emu_replug(e) == -1) {
				printf("error replug failed\n");
				continue;
			}
		} else if (strcmp(w[0], "count") == 0) {
			printf("ok %lu\n", pn532emu_count(e, nw >= 2 ?
			    (int)strtol(w[1], NULL, 16) : -1));
			continue;
		} else {
			printf("error unknown command %s\n", w[0]);
			continue;
		}
		printf("ok\n");
	}
	pn532emu_stop(e);
	return 0;
}
