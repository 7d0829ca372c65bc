/*
 * test_ctl.c — the control protocol: the request parser on good, odd and
 * hostile lines; format/parse round trips; the role table; and a real
 * server on an event_base answering well-formed, malformed and oversized
 * requests, each client on its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/ctl.h"

static int
parse(const char *line, struct ctl_request *r, char *err)
{
	return ctl_parse(line, strlen(line), r, err, 256);
}

static void
test_parse_good(void **st)
{
	struct ctl_request r;
	char err[256];

	(void)st;
	assert_int_equal(parse("open north-1 --reason \"delivery at \\\"dock\\\" 3\"",
	    &r, err), 0);
	assert_int_equal(r.argc, 4);
	assert_string_equal(r.argv[0], "open");
	assert_string_equal(r.argv[1], "north-1");
	assert_string_equal(r.argv[3], "delivery at \"dock\" 3");
	assert_null(r.argv[4]);
	assert_int_equal(parse("  status\t--json  ", &r, err), 0);
	assert_int_equal(r.argc, 2);
	assert_string_equal(r.argv[1], "--json");
	assert_int_equal(parse("sim tap g \"\"", &r, err), 0);
	assert_int_equal(r.argc, 4);
	assert_string_equal(r.argv[3], "");
	assert_int_equal(parse("x \"caf\xc3\xa9\"", &r, err), 0);	/* UTF-8 ok */
}

static void
test_parse_bad(void **st)
{
	struct ctl_request r;
	char err[256];
	char big[CTL_LINE_MAX + 10];

	(void)st;
	assert_int_equal(parse("", &r, err), -1);
	assert_string_equal(err, "empty request");
	assert_int_equal(parse("   ", &r, err), -1);
	assert_int_equal(parse("a \"b", &r, err), -1);
	assert_string_equal(err, "unterminated quote at offset 2");
	assert_int_equal(parse("a \"b\\n\"", &r, err), -1);
	assert_string_equal(err, "bad escape at offset 4");
	assert_int_equal(parse("a \"b\"c", &r, err), -1);
	assert_int_equal(parse("a b\"c", &r, err), -1);
	assert_int_equal(parse("status\r", &r, err), -1);
	assert_string_equal(err, "control byte 0x0d at offset 6");
	assert_int_equal(ctl_parse("a\0b", 3, &r, err, sizeof(err)), -1);
	assert_int_equal(parse("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &r, err), 0);
	assert_int_equal(parse("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", &r, err), -1);
	assert_string_equal(err, "more than 16 words");
	memset(big, 'a', sizeof(big));
	big[CTL_LINE_MAX] = '\0';
	assert_int_equal(parse(big, &r, err), -1);
	big[CTL_LINE_MAX - 1] = '\0';	/* 4095 bytes + "\n" fits */
	assert_int_equal(parse(big, &r, err), 0);
}

static void
test_format_roundtrip(void **st)
{
	char *argv[] = { "audit", "export", "--zone", "icu ward", "q\"uo\\te",
	    "", NULL };
	char line[CTL_LINE_MAX + 2];
	struct ctl_request r;
	char err[256];
	int n;

	(void)st;
	n = ctl_format(6, argv, line, sizeof(line));
	assert_true(n > 0);
	assert_string_equal(line,
	    "audit export --zone \"icu ward\" \"q\\\"uo\\\\te\" \"\"\n");
	assert_int_equal(ctl_parse(line, (size_t)n - 1, &r, err, sizeof(err)), 0);
	assert_int_equal(r.argc, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(r.argv[i], argv[i]);
	char *bad[] = { "a\nb" };
	assert_int_equal(ctl_format(1, bad, line, sizeof(line)), -1);
	assert_int_equal(ctl_format(1, argv, line, 4), -1);
}

static void
test_roles(void **st)
{
	const char *name;
	char buf[64];

	(void)st;
	assert_int_equal(ctl_command_roles("reload", &name), CTL_ROLE_ADMIN);
	assert_string_equal(name, "admin");
	assert_int_equal(ctl_command_roles("muster", &name), CTL_ROLE_AUDITOR);
	assert_int_equal(ctl_command_roles("open", &name), CTL_ROLE_STAFF);
	assert_int_equal(ctl_command_roles("ping", &name), CTL_ROLE_ANY);
	assert_int_equal(ctl_command_roles("rm", &name), -1);
	assert_string_equal(ctl_roles_text(0, buf, sizeof(buf)), "none");
	assert_string_equal(ctl_roles_text(CTL_ROLE_STAFF | CTL_ROLE_AUDITOR,
	    buf, sizeof(buf)), "staff auditor");
}

/* ---- a real server ---- */

static int nrequests;

static int
on_request(void *ctx, struct ctl_client *c, const struct ctl_request *r)
{
	(void)ctx;
	nrequests++;
	if (strcmp(r->argv[0], "status") == 0) {
		ctl_data(c, "line\none");	/* newline must not escape */
		ctl_ok(c, "%d args", r->argc);
	} else
		ctl_err(c, "EINVAL", "nope");
	return CTL_DONE;
}

static void
run_ms(struct event_base *base, unsigned ms)
{
	struct timeval tv = { 0, ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
client(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static size_t
slurp(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void
test_server(void **st)
{
	struct event_base *base = event_base_new();
	const char *groups[3] = { "", "", "" };
	struct ctl_handler h = { .ctx = NULL, .request = on_request };
	char path[64], err[256], buf[8192];
	struct ctl_server *srv;
	int a, b;

	(void)st;
	snprintf(path, sizeof(path), "/tmp/test_ctl.%d.sock", (int)getpid());
	srv = ctl_listen(base, path, groups, &h, err, sizeof(err));
	assert_non_null(srv);
	a = client(path);
	b = client(path);
	run_ms(base, 20);

	/* a good request, two in one write, then a malformed one */
	assert_int_equal(write(a, "status x\nstatus\nbad\"\n", 21), 21);
	run_ms(base, 30);
	slurp(a, buf, sizeof(buf));
	assert_string_equal(buf, "data line one\nok 2 args\ndata line one\n"
	    "ok 1 args\nerr EINVAL malformed request: quote or backslash "
	    "inside a word at offset 3\n");
	assert_int_equal(nrequests, 2);

	/* an unknown command; a ping */
	assert_int_equal(write(a, "frobnicate\nping\n", 16), 16);
	run_ms(base, 30);
	slurp(a, buf, sizeof(buf));
	assert_string_equal(buf, "err EINVAL unknown command 'frobnicate'\n"
	    "ok pong roles=staff admin auditor console\n");

	/* b floods 10 KB with no newline: b is told and dropped ... */
	char junk[10000];
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(write(b, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	run_ms(base, 50);
	slurp(b, buf, sizeof(buf));
	assert_string_equal(buf, "err E2BIG request longer than 4095 bytes; "
	    "closing\n");
	run_ms(base, 20);
	/* closed: EOF, or a reset because our junk was left unread */
	ssize_t rr = recv(b, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(rr == 0 || (rr == -1 && errno == ECONNRESET));

	/* ... and a still works */
	assert_int_equal(write(a, "status\n", 7), 7);
	run_ms(base, 30);
	slurp(a, buf, sizeof(buf));
	assert_string_equal(buf, "data line one\nok 1 args\n");
	close(a);
	close(b);
	run_ms(base, 20);
	ctl_close(srv);
	assert_int_equal(access(path, F_OK), -1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
