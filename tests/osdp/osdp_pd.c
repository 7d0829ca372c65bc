/*
 * osdp_pd.c — the emulated OSDP peripherals (emu.c) on a pty, for the
 * integration test and the benchmark: gatewayd opens the pty's slave
 * through a symlink, and this program answers as the devices do.
 *
 *   osdp_pd LINK [ADDR:reader|io:HEXKEY|none ...]
 *
 * Commands on stdin, one per line (ADDR is the device address):
 *   card ADDR HEX BITS   keys ADDR 1234#   input ADDR IDX 0|1
 *   silent ADDR 0|1      clear ADDR        replay ADDR    badcrc ADDR N
 * What the CP does is printed on stdout (OUT, LED, BUZ, SC, KEYSET), one
 * line each, flushed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tests/osdp/emu.c"

static void
pd_log(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static size_t
pd_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (n < cap && s[0] && s[1] && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void
pd_command(struct emu *e, char *line)
{
	char cmd[32], a1[128] = "", a2[64] = "", a3[64] = "";
	unsigned addr;
	struct emu_pd *p;
	uint8_t b[40];

	if (sscanf(line, "%31s %u %127s %63s %63s", cmd, &addr, a1, a2, a3) < 2)
		return;
	p = &e->pd[addr % EMU_PDS];
	if (!p->used)
		return;
	if (strcmp(cmd, "card") == 0)
		emu_card(p, b, pd_hex(a1, b, 32), (unsigned)atoi(a2));
	else if (strcmp(cmd, "keys") == 0)
		emu_keys(p, a1);
	else if (strcmp(cmd, "input") == 0)
		emu_input(p, (unsigned)atoi(a1), atoi(a2));
	else if (strcmp(cmd, "silent") == 0)
		p->silent = atoi(a1);
	else if (strcmp(cmd, "clear") == 0)
		p->cleartext = 1;
	else if (strcmp(cmd, "secure") == 0)
		p->cleartext = 0;
	else if (strcmp(cmd, "replay") == 0)
		p->replay = 1;
	else if (strcmp(cmd, "badcrc") == 0)
		p->bad_crc = atoi(a1);
	else if (strcmp(cmd, "install") == 0)
		p->install_mode = 1;
}

int
main(int argc, char **argv)
{
	static struct emu e;
	struct termios tio;
	char line[256];
	size_t ln = 0;
	int m, stdin_open = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: osdp_pd LINK [ADDR:reader|io:KEY|none]...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	e.rng = (uint32_t)getpid();
	for (int i = 2; i < argc; i++) {
		unsigned addr;
		char kind[16], key[40];
		uint8_t k[16];
		struct emu_pd *p;
		if (sscanf(argv[i], "%u:%15[a-z]:%39s", &addr, kind, key) != 3 ||
		    addr > 126)
			return 2;
		p = emu_add(&e, (uint8_t)addr, strcmp(kind, "reader") == 0,
		    strcmp(key, "none") == 0 || pd_hex(key, k, 16) != 16 ? NULL :
		    k);
		p->log = pd_log;
	}
	if ((m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK)) == -1 ||
	    grantpt(m) == -1 || unlockpt(m) == -1)
		return 1;
	tcgetattr(m, &tio);
	cfmakeraw(&tio);
	tcsetattr(m, TCSANOW, &tio);
	unlink(argv[1]);
	if (symlink(ptsname(m), argv[1]) == -1)
		return 1;
	/* keep the slave open ourselves: no hangup between CP opens */
	int keep = open(ptsname(m), O_RDWR | O_NOCTTY);
	(void)keep;
	printf("ready %s\n", ptsname(m));
	fflush(stdout);
	for (;;) {
		struct pollfd pf[2] = { { m, POLLIN, 0 }, { 0, POLLIN, 0 } };
		uint8_t in[2048], out[16384];
		ssize_t n;

		if (poll(pf, stdin_open ? 2 : 1, -1) == -1 && errno != EINTR)
			return 1;
		while ((n = read(m, in, sizeof(in))) > 0) {
			size_t o = emu_feed(&e, in, (size_t)n, out, sizeof(out));
			if (o > 0 && write(m, out, o) != (ssize_t)o)
				return 1;
		}
		if (stdin_open && (pf[1].revents & (POLLIN | POLLHUP))) {
			char c;
			n = read(0, &c, 1);
			if (n <= 0) {
				stdin_open = 0;
				continue;
			}
			if (c == '\n' || ln == sizeof(line) - 1) {
				line[ln] = '\0';
				ln = 0;
				if (strcmp(line, "quit") == 0)
					return 0;
				pd_command(&e, line);
			} else
				line[ln++] = c;
		}
	}
}
