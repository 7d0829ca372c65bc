/*
 * test_relp.c — RELP frames (parse, build, status, open answers) as
 * librelp 1.11 sends them and as a hostile server might; the RFC 5424 line
 * the sync client sends, its size bound, and its round trip through the
 * central checker; sync.state; the key-file secrecy check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "gateway/central.h"
#include "gateway/journal.h"
#include "gateway/relp.h"
#include "gateway/sync.h"

static long
parse(const char *s, struct relp_frame *f, char *why)
{
	return relp_parse((const uint8_t *)s, strlen(s), 4096, f, why, 160);
}

static void
test_parse_librelp(void **st)
{
	static const char open_rsp[] = "1 rsp 93 200 OK\nrelp_version=0\n"
	    "relp_software=librelp,1.11.0,http://librelp.adiscon.com\n"
	    "commands=syslog\n";
	struct relp_frame f;
	char why[160];

	(void)st;
	assert_int_equal(parse(open_rsp, &f, why), (long)strlen(open_rsp));
	assert_int_equal(f.txnr, 1);
	assert_string_equal(f.cmd, "rsp");
	assert_int_equal(f.datalen, 93);
	assert_int_equal(relp_rsp_code(&f), 200);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), 0);
	assert_int_equal(parse("2 rsp 6 200 OK\n", &f, why), 15);
	assert_int_equal(relp_rsp_code(&f), 200);
	/* close is answered with an EMPTY rsp: no status */
	assert_int_equal(parse("5 rsp 0\n", &f, why), 8);
	assert_int_equal(f.datalen, 0);
	assert_int_equal(relp_rsp_code(&f), -1);
	assert_int_equal(parse("0 serverclose 0\n", &f, why), 16);
	assert_string_equal(f.cmd, "serverclose");
	assert_int_equal(parse("3 rsp 25 500 command disabled here\n", &f,
	    why), 35);
	assert_int_equal(relp_rsp_code(&f), 500);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "500 command disabled"));
}

static void
test_parse_partial_and_bad(void **st)
{
	static const char full[] = "12 rsp 6 200 OK\n";
	struct relp_frame f;
	char why[160], b[64];

	(void)st;
	/* every proper prefix needs more bytes */
	for (size_t n = 0; n < strlen(full); n++) {
		memcpy(b, full, n);
		assert_int_equal(relp_parse((uint8_t *)b, n, 4096, &f, why,
		    sizeof(why)), 0);
	}
	assert_int_equal(parse("2x rsp 6 200 OK\n", &f, why), -1);
	assert_int_equal(parse(" 2 rsp 6 200 OK\n", &f, why), -1);
	assert_int_equal(parse("1234567890 rsp 0\n", &f, why), -1);
	assert_int_equal(parse("2 rsp 999999999 x", &f, why), -1);
	assert_non_null(strstr(why, "exceeds"));
	assert_int_equal(parse("2 rsp 1234567890 ", &f, why), -1);
	assert_int_equal(parse("2 rsp 6 200 OKX", &f, why), -1);	/* no LF */
	assert_int_equal(parse("2 rsp 0 \n", &f, why), -1);
	assert_int_equal(parse("2 r5p 0\n", &f, why), -1);
	assert_int_equal(parse("2 rsp 6x200 OK\n", &f, why), -1);
	assert_int_equal(parse("2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0\n", &f,
	    why), -1);
	assert_int_equal(parse("2 rsp 3 20\n", &f, why), 0);	/* LF is data */
	assert_int_equal(parse("2 rsp 3 2a0\n", &f, why), 12);
	assert_int_equal(relp_rsp_code(&f), -1);
	/* open answers lacking what we need */
	assert_int_equal(parse("1 rsp 6 200 OK\n", &f, why), 15);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), -1);
	assert_int_equal(parse("1 rsp 37 200 OK\nrelp_version=1\ncommands=syslog\n",
	    &f, why), 47);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), -1);
	assert_int_equal(parse("1 rsp 38 200 OK\nrelp_version=0\ncommands=syslogX\n",
	    &f, why), 48);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), -1);
	assert_int_equal(parse("1 rsp 41 200 OK\nrelp_version=0\ncommands=a,syslog,b\n",
	    &f, why), 51);
	assert_int_equal(relp_open_ok(&f, why, sizeof(why)), 0);
}

static void
test_build(void **st)
{
	char b[128];
	struct relp_frame f;
	char why[160];

	(void)st;
	assert_int_equal(relp_build(b, sizeof(b), 1, "open", "ab", 2), 12);
	assert_memory_equal(b, "1 open 2 ab\n", 12);
	assert_int_equal(relp_build(b, sizeof(b), 7, "close", NULL, 0), 10);
	assert_memory_equal(b, "7 close 0\n", 10);
	assert_int_equal(relp_build(b, 8, 7, "syslog", "abc", 3), 0);
	assert_int_equal(relp_build(b, sizeof(b), 0, "syslog", "a", 1), 0);
	assert_int_equal(relp_build(b, sizeof(b), RELP_TXNR_MAX + 1, "syslog",
	    "a", 1), 0);
	assert_int_equal(relp_build(b, sizeof(b), 3, "syslog", "x\ny", 3), 15);
	assert_int_equal(relp_parse((uint8_t *)b, 15, 4096, &f, why,
	    sizeof(why)), 15);
	assert_int_equal(f.datalen, 3);
	assert_memory_equal(f.data, "x\ny", 3);
}

static void
fill(char *s, size_t size, char c)
{
	memset(s, c, size - 1);
	s[size - 1] = '\0';
}

static void
test_format_and_central(void **st)
{
	struct journal_record r, back;
	char line[SYNC_LINE_MAX * 2], why[256];
	size_t n;
	uint8_t h[32];

	(void)st;
	memset(&r, 0, sizeof(r));
	r.seq = 42;
	r.time_us = 1772445600123456LL;	/* 2026-03-02T10:00:00.123456Z */
	snprintf(r.type, sizeof(r.type), "decision");
	snprintf(r.gateway, sizeof(r.gateway), "gw-01");
	snprintf(r.gate, sizeof(r.gate), "front");
	snprintf(r.cred, sizeof(r.cred), "A-1");
	snprintf(r.holder, sizeof(r.holder), "Zo\xc3\xab \"Q\" \\ ]");
	snprintf(r.decision, sizeof(r.decision), "deny");
	snprintf(r.text, sizeof(r.text), "line\nbreak\x01 and \xff byte");
	for (int i = 0; i < 32; i++)
		r.prev[i] = (uint8_t)i;
	journal_rehash(&r, r.hash);
	n = sync_format(&r, line, sizeof(line));
	assert_true(n < sizeof(line));
	assert_null(memchr(line, '\n', n));	/* one line */
	assert_int_equal(strncmp(line, "<109>1 2026-03-02T10:00:00.123456Z gw-01 "
	    "gatewayd - decision [gatewayd@32473 gw=\"gw-01\" seq=\"42\" hash=\"",
	    strlen("<109>1 2026-03-02T10:00:00.123456Z gw-01 gatewayd - "
	    "decision [gatewayd@32473 gw=\"gw-01\" seq=\"42\" hash=\"")), 0);
	/* the central checker reads it back to the very same record */
	assert_int_equal(central_parse_line(line, n, &back, why, sizeof(why)), 1);
	assert_int_equal(back.seq, 42);
	assert_string_equal(back.holder, r.holder);
	assert_string_equal(back.text, r.text);
	journal_rehash(&back, h);
	assert_memory_equal(h, r.hash, 32);
	/* a truncated line is not accepted as the record */
	assert_int_not_equal(central_parse_line(line, n - 10, &back, why,
	    sizeof(why)), 1);

	/* the worst case: every string full of bytes that need escaping
	 * stays under SYNC_LINE_MAX (and rsyslog's default 8096) */
	fill(r.type, sizeof(r.type), '\x01');
	fill(r.gateway, sizeof(r.gateway), 'g');
	fill(r.gate, sizeof(r.gate), '\x01');
	fill(r.zone_from, sizeof(r.zone_from), '\x01');
	fill(r.zone_to, sizeof(r.zone_to), '\x01');
	fill(r.cred, sizeof(r.cred), '\x01');
	fill(r.holder, sizeof(r.holder), '\x01');
	fill(r.decision, sizeof(r.decision), '\x01');
	fill(r.reason, sizeof(r.reason), '\x01');
	fill(r.rule, sizeof(r.rule), '\x01');
	fill(r.mode, sizeof(r.mode), '\x01');
	fill(r.policy, sizeof(r.policy), '\x01');
	fill(r.actor, sizeof(r.actor), '\x01');
	fill(r.text, sizeof(r.text), '\x01');
	r.seq = UINT64_MAX;
	r.time_us = -1;
	r.flags = UINT32_MAX;
	n = sync_format(&r, line, sizeof(line));
	assert_true(n <= SYNC_LINE_MAX);
	assert_true(n < 8096);
}

static void
test_state_and_secret(void **st)
{
	char dir[] = "/tmp/test_relp.XXXXXX", path[128], err[256];
	uint64_t a = 99;
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sync_state_load(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(a, 0);	/* no file: from the start */
	assert_int_equal(sync_state_save(dir, 123456789012ULL, err,
	    sizeof(err)), 0);
	assert_int_equal(sync_state_load(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(a, 123456789012ULL);
	snprintf(path, sizeof(path), "%s/%s", dir, SYNC_STATE_FILE);
	f = fopen(path, "w");
	fputs("acked 12x\n", f);
	fclose(f);
	assert_int_equal(sync_state_load(dir, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "damaged"));

	snprintf(path, sizeof(path), "%s/k.key", dir);
	f = fopen(path, "w");
	fputs("x", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(sync_check_secret(path, err, sizeof(err)), 0);
	chmod(path, 0640);
	assert_int_equal(sync_check_secret(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0640"));
	chmod(path, 0604);
	assert_int_equal(sync_check_secret(path, err, sizeof(err)), -1);
	unlink(path);
	assert_int_equal(sync_check_secret(path, err, sizeof(err)), -1);
	assert_int_equal(sync_check_secret(dir, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/%s", dir, SYNC_STATE_FILE);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_librelp),
		cmocka_unit_test(test_parse_partial_and_bad),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_format_and_central),
		cmocka_unit_test(test_state_and_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
