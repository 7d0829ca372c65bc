/*
 * test_msg.c — the channels between gatewayd's processes, on a real
 * SEQPACKET socketpair and a real event loop: messages arrive whole and in
 * order, a descriptor travels with its message, and every kind of broken
 * datagram stops the channel with a reason before any handler sees it.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "gateway/msg.h"

struct fixed { uint64_t a; char text[24]; };

static const struct msg_spec specs[] = {
	{ 1, sizeof(struct fixed), sizeof(struct fixed), 0 },
	{ 2, 0, 0, 0 },
	{ 3, 4, 1000, 0 },
	{ 4, sizeof(struct fixed), sizeof(struct fixed), 1 },
};

struct seen {
	int		 n;
	uint32_t	 types[64];
	uint64_t	 a[64];
	int		 fd;
	char		 why[200];
	int		 errs;
};

static void
on_msg(void *arg, uint32_t type, const void *p, size_t len, int fd)
{
	struct seen *s = arg;

	if (s->n < 64) {
		s->types[s->n] = type;
		if (type == 1 || type == 4) {
			struct fixed f;
			assert_int_equal(len, sizeof(f));
			memcpy(&f, p, sizeof(f));
			s->a[s->n] = f.a;
		}
		s->n++;
	}
	if (fd != -1) {
		if (s->fd != -1)
			close(s->fd);
		s->fd = fd;
	}
}

static void
on_err(void *arg, const char *why)
{
	struct seen *s = arg;

	s->errs++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void
pump(struct event_base *base)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

static void
test_in_order_with_fd(void **state)
{
	struct event_base *base = event_base_new();
	struct seen got = { .fd = -1 }, other = { .fd = -1 };
	struct msg_chan *a, *b;
	struct fixed f;
	int sv[2], p[2];

	(void)state;
	pair(sv);
	a = msg_chan_new(base, sv[0], specs, 4, on_msg, on_err, &other);
	b = msg_chan_new(base, sv[1], specs, 4, on_msg, on_err, &got);
	assert_non_null(a);
	assert_non_null(b);
	for (uint64_t i = 0; i < 50; i++) {
		memset(&f, 0, sizeof(f));
		f.a = i;
		assert_int_equal(msg_send(a, 1, &f, sizeof(f), -1), 0);
	}
	assert_int_equal(msg_send(a, 2, NULL, 0, -1), 0);
	assert_int_equal(pipe(p), 0);
	f.a = 99;
	assert_int_equal(msg_send(a, 4, &f, sizeof(f), p[1]), 0);
	close(p[1]);	/* the sender keeps its own; the channel sent a copy */
	pump(base);
	assert_int_equal(got.errs, 0);
	assert_int_equal(got.n, 52);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(got.types[i], 1);
		assert_int_equal(got.a[i], (uint64_t)i);
	}
	assert_int_equal(got.types[50], 2);
	assert_int_equal(got.types[51], 4);
	assert_int_equal(got.a[51], 99);
	/* the descriptor works: what is written to it comes out of the pipe */
	assert_true(got.fd >= 0);
	assert_int_equal(write(got.fd, "x", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(got.fd);
	close(p[0]);
	msg_chan_free(a);
	msg_chan_free(b);
	event_base_free(base);
}

/* One raw datagram at a channel: the error it gives, "" for none. */
static void
raw(const void *d, size_t len, int passfd, const char *want)
{
	struct event_base *base = event_base_new();
	struct seen got = { .fd = -1 };
	struct msg_chan *b;
	int sv[2];
	struct iovec iov = { (void *)d, len };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cm;
	struct msghdr mh;

	pair(sv);
	b = msg_chan_new(base, sv[1], specs, 4, on_msg, on_err, &got);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &passfd, sizeof(int));
	}
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)len);
	/* and a good one after it, which must not be seen if the first broke
	 * the rules */
	struct { struct msg_hdr h; } ok = { { 2, 0 } };
	(void)send(sv[0], &ok, sizeof(ok), 0);
	pump(base);
	if (want[0] == '\0') {
		assert_int_equal(got.errs, 0);
		assert_true(got.n >= 1);
	} else {
		assert_int_equal(got.errs, 1);
		assert_int_equal(got.n, 0);
		if (strstr(got.why, want) == NULL)
			fail_msg("expected \"%s\" in \"%s\"", want, got.why);
	}
	if (got.fd != -1)
		close(got.fd);
	close(sv[0]);
	msg_chan_free(b);
	event_base_free(base);
}

static void
test_broken_datagrams(void **state)
{
	unsigned char buf[sizeof(struct msg_hdr) + 2000];
	struct msg_hdr h;
	int p[2];

	(void)state;
	raw("\1\2\3", 3, -1, "shorter than a header");
	h = (struct msg_hdr){ 77, 0 };
	raw(&h, sizeof(h), -1, "type 77 is not accepted");
	/* header says more than it carries */
	h = (struct msg_hdr){ 1, sizeof(struct fixed) };
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + 3, -1, "says 32 bytes, carries 3");
	/* exact size: one byte short and one too many, both refused */
	h = (struct msg_hdr){ 1, sizeof(struct fixed) - 1 };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + sizeof(struct fixed) - 1, -1, "expected 32");
	h = (struct msg_hdr){ 1, sizeof(struct fixed) + 1 };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + sizeof(struct fixed) + 1, -1, "expected 32");
	/* a variable type within its bounds is fine, beyond is not */
	h = (struct msg_hdr){ 3, 500 };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + 500, -1, "");
	h = (struct msg_hdr){ 3, 1001 };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + 1001, -1, "expected 4 or more");
	/* descriptors only where the type allows them, and always there */
	assert_int_equal(pipe(p), 0);
	h = (struct msg_hdr){ 1, sizeof(struct fixed) };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + sizeof(struct fixed), p[0], "1 descriptor(s), expected 0");
	h = (struct msg_hdr){ 4, sizeof(struct fixed) };
	memcpy(buf, &h, sizeof(h));
	raw(buf, sizeof(h) + sizeof(struct fixed), -1, "0 descriptor(s), expected 1");
	close(p[0]);
	close(p[1]);
}

static void
test_oversized_and_gone(void **state)
{
	struct event_base *base = event_base_new();
	struct seen got = { .fd = -1 };
	struct msg_chan *b;
	unsigned char *big = calloc(1, MSG_PAYLOAD_MAX + 100);
	int sv[2];

	(void)state;
	assert_non_null(big);
	pair(sv);
	b = msg_chan_new(base, sv[1], specs, 4, on_msg, on_err, &got);
	assert_int_equal(send(sv[0], big, MSG_PAYLOAD_MAX + 100, 0),
	    MSG_PAYLOAD_MAX + 100);
	pump(base);
	assert_int_equal(got.errs, 1);
	assert_non_null(strstr(got.why, "oversized"));
	msg_chan_free(b);
	close(sv[0]);
	/* the peer going away is said once, in words */
	memset(&got, 0, sizeof(got));
	got.fd = -1;
	pair(sv);
	b = msg_chan_new(base, sv[1], specs, 4, on_msg, on_err, &got);
	close(sv[0]);
	pump(base);
	assert_int_equal(got.errs, 1);
	assert_string_equal(got.why, "the peer closed the channel");
	/* and a dead channel refuses to send */
	assert_int_equal(msg_send(b, 2, NULL, 0, -1), -1);
	msg_chan_free(b);
	free(big);
	event_base_free(base);
}

static void
test_blocking_pair(void **state)
{
	struct fixed f = { 7, "seven" }, g;
	size_t len;
	int sv[2], fd;
	char err[160];

	(void)state;
	pair(sv);
	assert_int_equal(msg_send_wait(sv[0], 1, &f, sizeof(f), -1), 0);
	assert_int_equal(msg_recv_wait(sv[1], specs, 4, &g, sizeof(g), &len,
	    &fd, 1000, err, sizeof(err)), 1);
	assert_int_equal(len, sizeof(g));
	assert_int_equal(fd, -1);
	assert_int_equal(g.a, 7);
	assert_true(msg_str_ok(g.text, sizeof(g.text)));
	memset(g.text, 'x', sizeof(g.text));
	assert_false(msg_str_ok(g.text, sizeof(g.text)));
	/* nothing within the time: said so */
	assert_int_equal(msg_recv_wait(sv[1], specs, 4, &g, sizeof(g), &len,
	    &fd, 50, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no message within 50 ms"));
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_with_fd),
		cmocka_unit_test(test_broken_datagrams),
		cmocka_unit_test(test_oversized_and_gone),
		cmocka_unit_test(test_blocking_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
