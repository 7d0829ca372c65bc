/*
 * test_netproc.c — the network process's channel (gateway/netproc.c): the
 * parent's feeder against a scripted fake net process on a real journal
 * and a real event loop (order, durable limit, window, persisted acks,
 * every rule a net process can break, death and resumption, retention
 * loss, clean stop), then the real netproc_main in a child process
 * against a real rsyslog (imrelp, mutual TLS, certificates made now by
 * certs/venue-pki.sh), killed -9 mid-stream and replaced.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "gateway/central.h"
#include "gateway/journal.h"
#include "gateway/msg.h"
#include "gateway/netproc.h"
#include "gateway/proto.h"
#include "gateway/sandbox.h"
#include "gateway/sync.h"

/* what a net process accepts from the parent */
static const struct msg_spec child_specs[] = {
	{ MSG_PN_HELLO, sizeof(struct msg_pn_hello),
	    sizeof(struct msg_pn_hello), 0 },
	{ MSG_PN_RECORD, sizeof(struct msg_jrecord),
	    sizeof(struct msg_jrecord), 0 },
	{ MSG_PN_DURABLE, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
	{ MSG_PN_STOP, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
};
#define NCHILD	(sizeof(child_specs) / sizeof(child_specs[0]))

struct fx {
	char			 dir[64];	/* the journal */
	struct event_base	*base;
	struct netfeed		*nf;
	uint64_t		 durable;
	int			 bad;
	char			 why[256];
	int			 child;		/* the fake net process's end */
};

static uint64_t
fx_durable(void *arg)
{
	return ((struct fx *)arg)->durable;
}

static void
fx_bad(void *arg, const char *why)
{
	struct fx *f = arg;

	f->bad++;
	snprintf(f->why, sizeof(f->why), "%s", why);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the parent's loop for about ms milliseconds. */
static void
fx_run(struct fx *f, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void
journal_fill(const char *dir, const struct journal_opts *o, uint64_t from,
    unsigned n)
{
	struct journal *j;
	char err[256];

	j = journal_open(dir, "test-gw", o, err, sizeof(err));
	assert_non_null(j);
	for (unsigned i = 0; i < n; i++) {
		struct journal_record r;
		memset(&r, 0, sizeof(r));
		snprintf(r.type, sizeof(r.type), "decision");
		snprintf(r.gate, sizeof(r.gate), "front");
		snprintf(r.cred, sizeof(r.cred), "A-%llu",
		    (unsigned long long)(from + i));
		snprintf(r.decision, sizeof(r.decision), "grant");
		snprintf(r.text, sizeof(r.text), "record %u of a test", i);
		assert_int_equal(journal_append(j, &r), 0);
		assert_int_equal(r.seq, from + i);
		if (i % 64 == 63)
			assert_int_equal(journal_sync(j), 0);
	}
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
}

static void
fx_setup(struct fx *f, unsigned records, const struct journal_opts *o)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_netproc.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (records > 0)
		journal_fill(f->dir, o, 1, records);
	f->durable = records;
	f->base = event_base_new();
	assert_non_null(f->base);
	f->nf = netfeed_new(f->base, f->dir, fx_durable, f, fx_bad, f, err,
	    sizeof(err));
	assert_non_null(f->nf);
	f->child = -1;
}

static void
fx_teardown(struct fx *f)
{
	char cmd[128];

	netfeed_free(f->nf);
	event_base_free(f->base);
	if (f->child != -1)
		close(f->child);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

/* A new fake net process: attach, read its HELLO. */
static void
fx_attach(struct fx *f, struct msg_pn_hello *h)
{
	int sv[2];
	size_t len;
	int fd, t;
	char err[160];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	if (f->child != -1)
		close(f->child);
	f->child = sv[1];
	assert_int_equal(netfeed_attach(f->nf, sv[0]), 0);
	t = msg_recv_wait(f->child, child_specs, NCHILD, h, sizeof(*h), &len,
	    &fd, 1000, err, sizeof(err));
	assert_int_equal(t, MSG_PN_HELLO);
}

static void
child_send(struct fx *f, uint32_t type, uint64_t seq)
{
	struct msg_seq m = { seq };

	assert_int_equal(msg_send_wait(f->child, type, &m, sizeof(m), -1), 0);
}

/* The next message for the fake child within ms: its type (record in *r
 * when a record), or -1 when none came. */
static int
child_recv(struct fx *f, int ms, struct journal_record *r)
{
	union {
		struct msg_jrecord	rec;
		struct msg_pn_hello	h;
		struct msg_seq		s;
	} u;
	size_t len;
	int fd, t;
	char err[160];

	t = msg_recv_wait(f->child, child_specs, NCHILD, &u, sizeof(u), &len,
	    &fd, ms, err, sizeof(err));
	if (t == MSG_PN_RECORD && r != NULL)
		*r = u.rec.rec;
	return t;
}

/* Expect records first..last, in order, and then silence. */
static void
expect_records(struct fx *f, uint64_t first, uint64_t last)
{
	struct journal_record r;

	for (uint64_t s = first; s <= last; s++) {
		fx_run(f, 0);
		assert_int_equal(child_recv(f, 1000, &r), MSG_PN_RECORD);
		assert_int_equal(r.seq, s);
		assert_string_equal(r.gateway, "test-gw");
	}
	/* the feeder sends from inside its handlers: one turn is enough */
	fx_run(f, 5);
	assert_int_equal(child_recv(f, 15, NULL), -1);
}

static uint64_t
state_acked(struct fx *f)
{
	uint64_t a;
	char err[256];

	assert_int_equal(sync_state_load(f->dir, &a, err, sizeof(err)), 0);
	return a;
}

/* ---- the protocol, with a scripted net process ---- */

static void
test_order_up_to_durable(void **state)
{
	struct fx f;
	struct msg_pn_hello h;
	struct sync_status st;

	(void)state;
	fx_setup(&f, 100, NULL);
	f.durable = 50;
	fx_attach(&f, &h);
	assert_int_equal(h.durable_seq, 50);
	assert_int_equal(h.acked_seq, 0);
	netfeed_status(f.nf, &st);
	assert_string_equal(st.phase, "idle");
	assert_int_equal(st.backlog, 50);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 50);		/* never past durable */
	f.durable = 100;
	netfeed_durable(f.nf);
	expect_records(&f, 51, 100);
	f.durable = 120;			/* durable beyond the end */
	netfeed_durable(f.nf);
	fx_run(&f, 20);
	assert_int_equal(child_recv(&f, 30, NULL), -1);
	assert_int_equal(f.bad, 0);
	netfeed_detach(f.nf);
	netfeed_status(f.nf, &st);
	assert_string_equal(st.phase, "down");
	assert_int_equal(st.connected, 0);
	fx_teardown(&f);
}

static void
test_acks_persisted(void **state)
{
	struct fx f;
	struct msg_pn_hello h;
	struct msg_sync_status ms;
	struct sync_status st;

	(void)state;
	fx_setup(&f, 100, NULL);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 100);
	fx_run(&f, 250);	/* past the persisting throttle */
	child_send(&f, MSG_NP_ACKED, 30);
	fx_run(&f, 20);
	assert_int_equal(state_acked(&f), 30);
	child_send(&f, MSG_NP_ACKED, 30);	/* the same again: harmless */
	child_send(&f, MSG_NP_ACKED, 60);
	child_send(&f, MSG_NP_ACKED, 61);
	fx_run(&f, 300);	/* the throttled write happens by itself */
	assert_int_equal(state_acked(&f), 61);
	child_send(&f, MSG_NP_ACKED, 99);

	memset(&ms, 0, sizeof(ms));
	ms.st.connected = 7;
	snprintf(ms.st.phase, sizeof(ms.st.phase), "stream");
	snprintf(ms.st.server, sizeof(ms.st.server), "central:2514");
	ms.st.acked = 12345;	/* the parent's own view wins */
	ms.st.lost = 999;
	ms.st.acked_total = 99;
	assert_int_equal(msg_send_wait(f.child, MSG_NP_STATUS, &ms, sizeof(ms),
	    -1), 0);
	fx_run(&f, 20);
	netfeed_status(f.nf, &st);
	assert_int_equal(st.connected, 1);
	assert_string_equal(st.phase, "stream");
	assert_string_equal(st.server, "central:2514");
	assert_int_equal(st.acked, 99);
	assert_int_equal(st.durable, 100);
	assert_int_equal(st.backlog, 1);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.acked_total, 99);
	netfeed_detach(f.nf);		/* persists at once */
	assert_int_equal(state_acked(&f), 99);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);
}

static void
test_window(void **state)
{
	struct fx f;
	struct msg_pn_hello h;

	(void)state;
	fx_setup(&f, 100, NULL);
	netfeed_window(f.nf, 16);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 16);
	child_send(&f, MSG_NP_ACKED, 5);
	expect_records(&f, 17, 21);
	child_send(&f, MSG_NP_ACKED, 21);
	expect_records(&f, 22, 37);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);
}

/* The default window bounds what a stalled net process has queued. */
static void
test_default_window(void **state)
{
	struct fx f;
	struct msg_pn_hello h;
	unsigned n = 0;

	(void)state;
	fx_setup(&f, NETFEED_WINDOW + 100, NULL);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	for (;;) {
		fx_run(&f, 0);
		if (child_recv(&f, 50, NULL) != MSG_PN_RECORD)
			break;
		n++;
	}
	assert_int_equal(n, NETFEED_WINDOW);
	fx_teardown(&f);
}

/* One way to break the rules, after a valid ack of 3. */
enum bad_kind {
	BAD_SHORT, BAD_LONG, BAD_HDRLEN, BAD_TYPE, BAD_DIRECTION, BAD_FD,
	BAD_ACK_BEYOND, BAD_ACK_BACK, BAD_STATUS_STR, BAD_WANT_TWICE,
	BAD_STOPPED, BAD_TRUNC_HDR, BAD_OVERSIZED,
};

static void
send_raw(int fd, const void *p, size_t n, int passfd)
{
	struct iovec iov = { (void *)p, n };
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;

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
	assert_int_equal(sendmsg(fd, &mh, 0), (ssize_t)n);
}

static void
break_rule(enum bad_kind k, const char *expect)
{
	struct fx f;
	struct msg_pn_hello h;
	struct msg_sync_status ms;
	unsigned char raw[128];
	struct msg_hdr hd;
	uint32_t four = 4;

	fx_setup(&f, 100, NULL);
	netfeed_window(f.nf, 10);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 10);
	child_send(&f, MSG_NP_ACKED, 3);
	expect_records(&f, 11, 13);	/* the window moved */
	switch (k) {
	case BAD_SHORT:
		assert_int_equal(msg_send_wait(f.child, MSG_NP_ACKED, &four, 4,
		    -1), 0);
		break;
	case BAD_LONG:
		memset(raw, 0, sizeof(raw));
		assert_int_equal(msg_send_wait(f.child, MSG_NP_ACKED, raw, 16,
		    -1), 0);
		break;
	case BAD_HDRLEN:	/* the header lies about the length */
		hd.type = MSG_NP_ACKED;
		hd.len = 8;
		memcpy(raw, &hd, sizeof(hd));
		memset(raw + sizeof(hd), 0, 12);
		send_raw(f.child, raw, sizeof(hd) + 12, -1);
		break;
	case BAD_TYPE:
		child_send(&f, 999, 9);
		break;
	case BAD_DIRECTION:	/* a parent->net type, sent by the net */
		child_send(&f, MSG_PN_DURABLE, 9);
		break;
	case BAD_FD:
		hd.type = MSG_NP_ACKED;
		hd.len = 8;
		memcpy(raw, &hd, sizeof(hd));
		memset(raw + sizeof(hd), 0, 8);
		raw[sizeof(hd)] = 5;
		send_raw(f.child, raw, sizeof(hd) + 8, 0);
		break;
	case BAD_ACK_BEYOND:
		child_send(&f, MSG_NP_ACKED, 14);	/* 1..13 were sent */
		break;
	case BAD_ACK_BACK:
		child_send(&f, MSG_NP_ACKED, 2);
		break;
	case BAD_STATUS_STR:
		memset(&ms, 'x', sizeof(ms));
		snprintf(ms.st.phase, sizeof(ms.st.phase), "stream");
		snprintf(ms.st.server, sizeof(ms.st.server), "s");
		assert_int_equal(msg_send_wait(f.child, MSG_NP_STATUS, &ms,
		    sizeof(ms), -1), 0);
		break;
	case BAD_WANT_TWICE:
		child_send(&f, MSG_NP_WANT, 1);
		break;
	case BAD_STOPPED:
		assert_int_equal(msg_send_wait(f.child, MSG_NP_STOPPED, NULL, 0,
		    -1), 0);
		break;
	case BAD_TRUNC_HDR:
		send_raw(f.child, "\xfb\x00\x00", 3, -1);
		break;
	case BAD_OVERSIZED: {
		size_t n = sizeof(struct msg_hdr) + MSG_PAYLOAD_MAX + 100;
		unsigned char *big = calloc(1, n);
		int sz = (int)n * 2;
		assert_non_null(big);
		(void)setsockopt(f.child, SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof(sz));
		hd.type = MSG_NP_STATUS;
		hd.len = (uint32_t)(n - sizeof(hd));
		memcpy(big, &hd, sizeof(hd));
		send_raw(f.child, big, n, -1);
		free(big);
		break;
	}
	}
	fx_run(&f, 30);
	assert_int_equal(f.bad, 1);
	if (strstr(f.why, expect) == NULL)
		fail_msg("bad() said '%s', expected '%s'", f.why, expect);
	/* the channel is closed: the fake net process sees the end */
	assert_int_equal(child_recv(&f, 200, NULL), -1);
	/* nothing from the bad message was taken: still 3 */
	assert_int_equal(state_acked(&f), 3);
	/* and a new net process resumes from there */
	fx_attach(&f, &h);
	assert_int_equal(h.acked_seq, 3);
	child_send(&f, MSG_NP_WANT, 4);
	expect_records(&f, 4, 13);
	assert_int_equal(f.bad, 1);
	fx_teardown(&f);
}

static void test_bad_short(void **s) { (void)s; break_rule(BAD_SHORT, "4 bytes, expected 8"); }
static void test_bad_long(void **s) { (void)s; break_rule(BAD_LONG, "16 bytes, expected 8"); }
static void test_bad_hdrlen(void **s) { (void)s; break_rule(BAD_HDRLEN, "says 8 bytes, carries 12"); }
static void test_bad_type(void **s) { (void)s; break_rule(BAD_TYPE, "type 999 is not accepted"); }
static void test_bad_direction(void **s) { (void)s; break_rule(BAD_DIRECTION, "type 202 is not accepted"); }
static void test_bad_fd(void **s) { (void)s; break_rule(BAD_FD, "descriptor"); }
static void test_bad_ack_beyond(void **s) { (void)s; break_rule(BAD_ACK_BEYOND, "beyond the last one sent (13)"); }
static void test_bad_ack_back(void **s) { (void)s; break_rule(BAD_ACK_BACK, "below the acknowledged 3"); }
static void test_bad_status_str(void **s) { (void)s; break_rule(BAD_STATUS_STR, "unterminated"); }
static void test_bad_want_twice(void **s) { (void)s; break_rule(BAD_WANT_TWICE, "asked twice"); }
static void test_bad_stopped(void **s) { (void)s; break_rule(BAD_STOPPED, "unasked"); }
static void test_bad_trunc_hdr(void **s) { (void)s; break_rule(BAD_TRUNC_HDR, "shorter than a header"); }
static void test_bad_oversized(void **s) { (void)s; break_rule(BAD_OVERSIZED, "oversized"); }

/* Asking to start after the acknowledged position would skip records. */
static void
test_bad_want_skip(void **state)
{
	struct fx f;
	struct msg_pn_hello h;

	(void)state;
	fx_setup(&f, 20, NULL);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 2);
	fx_run(&f, 30);
	assert_int_equal(f.bad, 1);
	assert_non_null(strstr(f.why, "would be skipped"));
	assert_int_equal(child_recv(&f, 100, NULL), -1);
	fx_teardown(&f);
}

/* The net process dies: its channel ends (not a broken rule), the parent
 * detaches, and the next one resumes right after the persisted position:
 * records in flight come again, none is skipped. */
static void
test_death_resume(void **state)
{
	struct fx f;
	struct msg_pn_hello h;

	(void)state;
	fx_setup(&f, 300, NULL);
	netfeed_window(f.nf, 50);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 50);
	child_send(&f, MSG_NP_ACKED, 20);
	fx_run(&f, 10);
	expect_records(&f, 51, 70);
	close(f.child);			/* kill -9 */
	f.child = -1;
	fx_run(&f, 20);
	assert_int_equal(f.bad, 0);	/* a death is no broken rule */
	netfeed_detach(f.nf);		/* SIGCHLD */
	assert_int_equal(state_acked(&f), 20);
	fx_attach(&f, &h);
	assert_int_equal(h.acked_seq, 20);
	assert_int_equal(h.durable_seq, 300);
	child_send(&f, MSG_NP_WANT, 21);
	expect_records(&f, 21, 70);	/* 21..70 again: at-least-once */
	child_send(&f, MSG_NP_ACKED, 70);
	expect_records(&f, 71, 120);

	/* a feeder made afresh (the parent restarted) starts there too */
	netfeed_free(f.nf);
	f.nf = netfeed_new(f.base, f.dir, fx_durable, &f, fx_bad, &f, f.why,
	    sizeof(f.why));
	assert_non_null(f.nf);
	fx_attach(&f, &h);
	assert_int_equal(h.acked_seq, 70);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);
}

/* A net process dead before its HELLO: attach fails, the caller keeps
 * (and closes) its end; the next one attaches normally. */
static void
test_attach_dead(void **state)
{
	struct fx f;
	struct msg_pn_hello h;
	int sv[2];

	(void)state;
	fx_setup(&f, 10, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	close(sv[1]);
	assert_int_equal(netfeed_attach(f.nf, sv[0]), -1);
	assert_int_not_equal(fcntl(sv[0], F_GETFD), -1);	/* still ours */
	close(sv[0]);
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	expect_records(&f, 1, 10);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);
}

/* Retention deleted records before they were sent: counted as lost,
 * said in the status, and the next record is sent. */
static void
test_retention_loss(void **state)
{
	struct fx f;
	struct msg_pn_hello h;
	struct journal_opts o = { .segment_bytes = 16 * 1024 };
	struct journal_record r;
	struct sync_status st;
	uint64_t first;

	(void)state;
	fx_setup(&f, 0, NULL);
	journal_fill(f.dir, &o, 1, 1500);
	o.retain_bytes = 48 * 1024;
	journal_fill(f.dir, &o, 1501, 50);	/* retention runs */
	f.durable = 1550;
	fx_attach(&f, &h);
	child_send(&f, MSG_NP_WANT, 1);
	fx_run(&f, 10);
	assert_int_equal(child_recv(&f, 1000, &r), MSG_PN_RECORD);
	first = r.seq;
	assert_true(first > 1);
	netfeed_status(f.nf, &st);
	assert_int_equal(st.lost, first - 1);
	assert_non_null(strstr(st.error, "deleted by journal retention"));
	expect_records(&f, first + 1, 1550);
	child_send(&f, MSG_NP_ACKED, first);	/* acks across the gap */
	child_send(&f, MSG_NP_ACKED, 1550);
	fx_run(&f, 10);
	netfeed_detach(f.nf);
	assert_int_equal(state_acked(&f), 1550);
	assert_int_equal(f.bad, 0);
	netfeed_status(f.nf, &st);
	assert_int_equal(st.lost, first - 1);
	assert_int_equal(st.backlog, 0);
	fx_teardown(&f);
}

/* ---- a clean stop, with a fake net process on a thread ---- */

struct stopper {
	int		 fd;
	int		 answer;	/* 0: never answers the stop */
	uint64_t	 durable_told, grace, last;
	int		 stopped;
};

static void *
stopper_main(void *arg)
{
	struct stopper *sp = arg;
	union {
		struct msg_jrecord	rec;
		struct msg_pn_hello	h;
		struct msg_seq		s;
	} u;
	struct msg_seq m;
	size_t len;
	int fd, t;
	char err[160];

	for (;;) {
		t = msg_recv_wait(sp->fd, child_specs, NCHILD, &u, sizeof(u),
		    &len, &fd, 5000, err, sizeof(err));
		if (t == -1)
			return NULL;
		if (t == MSG_PN_HELLO) {
			m.seq = u.h.acked_seq + 1;
			msg_send_wait(sp->fd, MSG_NP_WANT, &m, sizeof(m), -1);
		} else if (t == MSG_PN_RECORD && !sp->durable_told)
			sp->last = u.rec.rec.seq;
		else if (t == MSG_PN_RECORD) {
			/* "delivered": acknowledge it */
			sp->last = m.seq = u.rec.rec.seq;
			msg_send_wait(sp->fd, MSG_NP_ACKED, &m, sizeof(m), -1);
			if (m.seq == sp->durable_told) {
				msg_send_wait(sp->fd, MSG_NP_STOPPED, NULL, 0,
				    -1);
				sp->stopped = 1;
			}
		} else if (t == MSG_PN_DURABLE)
			sp->durable_told = u.s.seq;
		else if (t == MSG_PN_STOP) {
			sp->grace = u.s.seq;
			if (!sp->answer)
				continue;
			/* everything received so far: "delivered" */
			m.seq = sp->last;
			msg_send_wait(sp->fd, MSG_NP_ACKED, &m, sizeof(m), -1);
		}
	}
}

static void
test_stop(void **state)
{
	struct fx f;
	struct stopper sp;
	pthread_t th;
	int sv[2];
	int64_t t0;

	(void)state;
	fx_setup(&f, 200, NULL);
	netfeed_window(f.nf, 32);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	memset(&sp, 0, sizeof(sp));
	sp.fd = sv[1];
	sp.answer = 1;
	assert_int_equal(pthread_create(&th, NULL, stopper_main, &sp), 0);
	assert_int_equal(netfeed_attach(f.nf, sv[0]), 0);
	fx_run(&f, 50);		/* hello, want, the first window */
	t0 = now_ms();
	/* the fake acknowledges only after DURABLE: every record up to 200
	 * must flow through the stop's own loop, window by window */
	netfeed_stop(f.nf, 5000);
	assert_true(now_ms() - t0 < 3000);
	pthread_join(th, NULL);
	close(sv[1]);
	assert_int_equal(sp.stopped, 1);
	assert_int_equal(sp.durable_told, 200);
	assert_int_equal(sp.grace, 5000);
	assert_int_equal(state_acked(&f), 200);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);

	/* stopped before it even asked where to start: it still delivers */
	fx_setup(&f, 100, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	memset(&sp, 0, sizeof(sp));
	sp.fd = sv[1];
	sp.answer = 1;
	assert_int_equal(pthread_create(&th, NULL, stopper_main, &sp), 0);
	assert_int_equal(netfeed_attach(f.nf, sv[0]), 0);
	netfeed_stop(f.nf, 5000);
	pthread_join(th, NULL);
	close(sv[1]);
	assert_int_equal(sp.stopped, 1);
	assert_int_equal(state_acked(&f), 100);
	assert_int_equal(f.bad, 0);
	fx_teardown(&f);

	/* one that never answers: the stop gives up after grace + 1 s */
	fx_setup(&f, 20, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	memset(&sp, 0, sizeof(sp));
	sp.fd = sv[1];
	sp.answer = 0;
	assert_int_equal(pthread_create(&th, NULL, stopper_main, &sp), 0);
	assert_int_equal(netfeed_attach(f.nf, sv[0]), 0);
	fx_run(&f, 50);
	t0 = now_ms();
	netfeed_stop(f.nf, 200);
	assert_true(now_ms() - t0 >= 1100);
	assert_true(now_ms() - t0 < 2500);
	pthread_join(th, NULL);	/* it sees the channel close */
	close(sv[1]);
	assert_int_equal(sp.stopped, 0);
	fx_teardown(&f);
}

/* ---- the real net process against a real rsyslog ---- */

struct central {
	char		 dir[64];
	pid_t		 rsyslog;
	int		 port;
	char		 conf[128];
};

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int
port_listens(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
central_start(struct central *c)
{
	char v[256], cwd[512];

	snprintf(c->dir, sizeof(c->dir), "/tmp/test_netproc_c.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	assert_int_equal(sh("sh certs/venue-pki.sh %s/pki ca Test >/dev/null "
	    "2>&1 && sh certs/venue-pki.sh %s/pki server localhost >/dev/null "
	    "2>&1 && sh certs/venue-pki.sh %s/pki gateway test-gw >/dev/null "
	    "2>&1 && mkdir -p %s/central/work", c->dir, c->dir, c->dir,
	    c->dir), 0);
	c->port = free_port();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(v, sizeof(v), "%s/central", c->dir);
	setenv("CENTRAL_DIR", v, 1);
	setenv("RELP_ADDRESS", "127.0.0.1", 1);
	snprintf(v, sizeof(v), "%d", c->port);
	setenv("RELP_PORT", v, 1);
	snprintf(v, sizeof(v), "%s/pki/ca/venue-ca.pem", c->dir);
	setenv("CENTRAL_CA", v, 1);
	snprintf(v, sizeof(v), "%s/pki/server/localhost.pem", c->dir);
	setenv("CENTRAL_CERT", v, 1);
	snprintf(v, sizeof(v), "%s/pki/server/localhost.key", c->dir);
	setenv("CENTRAL_KEY", v, 1);
	setenv("PERMITTED_PEERS", "test-gw", 1);
	if ((c->rsyslog = fork()) == 0) {
		char conf[600], pid[128], log[128];
		snprintf(conf, sizeof(conf), "%s/certs/central-rsyslog.conf",
		    cwd);
		snprintf(pid, sizeof(pid), "%s/central/rsyslogd.pid", c->dir);
		snprintf(log, sizeof(log), "%s/rsyslogd.out", c->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("rsyslogd", "rsyslogd", "-n", "-f", conf, "-i", pid,
		    (char *)NULL);
		_exit(127);
	}
	assert_true(c->rsyslog > 0);
	for (int i = 0; !port_listens(c->port); i++) {
		if (i > 200 || waitpid(c->rsyslog, NULL, WNOHANG) != 0) {
			(void)sh("cat %s/rsyslogd.out", c->dir);
			fail_msg("rsyslogd did not listen on %d", c->port);
		}
		usleep(50000);
	}
	snprintf(c->conf, sizeof(c->conf), "%s/gateway.conf", c->dir);
	FILE *fp = fopen(c->conf, "w");
	assert_non_null(fp);
	fprintf(fp, "gateway \"test-gw\";\npolicy \"site.pol\";\n"
	    "journal \"journal\";\nsocket \"gw.sock\";\n"
	    "gate front { reader sim; lock sim; fail safe; }\n"
	    "sync {\n\tserver \"localhost\";\n\taddress \"127.0.0.1\";\n"
	    "\tport %d;\n\tca \"%s/pki/ca/venue-ca.pem\";\n"
	    "\tcert \"%s/pki/gateways/test-gw.pem\";\n"
	    "\tkey \"%s/pki/gateways/test-gw.key\";\n\twindow 64;\n"
	    "\tack-timeout 3s;\n\tretry-max 1s;\n}\n", c->port, c->dir,
	    c->dir, c->dir);
	fclose(fp);
}

static void
central_stop(struct central *c)
{
	kill(c->rsyslog, SIGKILL);
	waitpid(c->rsyslog, NULL, 0);
	assert_int_equal(sh("rm -rf %s", c->dir), 0);
}

/* The net role's sandbox, as gatewayd's main sets it up (as root: an
 * empty root and user nobody too; otherwise seccomp and the rest). */
static char sb_root[96];

static int
test_sandbox(char *err, size_t errlen)
{
	struct sandbox_opts o = { SANDBOX_NET, "nobody", sb_root };
	char note[160];

	return sandbox_enter(&o, note, sizeof(note), err, errlen);
}

/* The real net process in a child, attached to the feeder. */
static pid_t
net_spawn(struct fx *f, const char *conf)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		netproc_main(sv[1], conf, 1);
	}
	assert_true(pid > 0);
	close(sv[1]);
	assert_int_equal(netfeed_attach(f->nf, sv[0]), 0);
	return pid;
}

static int
wait_acked(struct fx *f, uint64_t want, int ms)
{
	struct sync_status st;
	int64_t end = now_ms() + ms;

	for (;;) {
		fx_run(f, 10);
		netfeed_status(f->nf, &st);
		if (st.acked >= want)
			return 1;
		if (now_ms() > end) {
			print_message("acked %llu, phase %s, error %s\n",
			    (unsigned long long)st.acked, st.phase, st.error);
			return 0;
		}
	}
}

/* A field of /proc/PID/status. */
static void
proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = '\0';
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(out, len, "%s", line + strlen(key) +
			    strspn(line + strlen(key), " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(fp);
}

static void
test_real_net_process(void **state)
{
	struct fx f;
	struct central c;
	struct central_report rep;
	struct sync_status st;
	char file[160], err[256], v[128];
	int64_t t0;
	pid_t pid;
	int ws;

	(void)state;
	central_start(&c);
	fx_setup(&f, 3000, NULL);
	f.durable = 2000;

	t0 = now_ms();
	pid = net_spawn(&f, c.conf);
	assert_true(wait_acked(&f, 2000, 20000));
	print_message("net process: start, handshake and 2000 records "
	    "acknowledged in %lld ms\n", (long long)(now_ms() - t0));
	fx_run(&f, 1300);		/* a status report */
	netfeed_status(f.nf, &st);
	assert_int_equal(st.connected, 1);
	assert_string_equal(st.phase, "stream");
	assert_int_equal(st.acked, 2000);	/* never past durable */
	assert_int_equal(st.backlog, 0);

	/* killed -9 in the middle of a stream, replaced */
	f.durable = 3000;
	netfeed_durable(f.nf);
	assert_true(wait_acked(&f, 2100, 20000));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fx_run(&f, 20);
	netfeed_detach(f.nf);
	assert_int_equal(f.bad, 0);
	/* its replacement runs in its sandbox, as in the daemon */
	snprintf(sb_root, sizeof(sb_root), "%s/empty", c.dir);
	netproc_sandbox = test_sandbox;
	pid = net_spawn(&f, c.conf);
	netproc_sandbox = NULL;
	assert_true(wait_acked(&f, 3000, 20000));
	proc_status(pid, "Seccomp:", v, sizeof(v));
	assert_string_equal(v, "2");		/* a filter in force */
	if (geteuid() == 0) {
		proc_status(pid, "Uid:", v, sizeof(v));
		assert_true(strncmp(v, "0\t", 2) != 0);	/* not root */
	}

	/* more records, then a clean stop delivers them all */
	journal_fill(f.dir, NULL, 3001, 500);
	f.durable = 3500;
	netfeed_durable(f.nf);
	netfeed_stop(f.nf, 5000);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_int_equal(state_acked(&f), 3500);
	assert_int_equal(f.bad, 0);

	/* the central copy: complete, intact, chained (duplicates allowed) */
	snprintf(file, sizeof(file), "%s/central/gateways/test-gw.log", c.dir);
	memset(&rep, 0, sizeof(rep));
	if (central_verify(file, "test-gw", 0, &rep, err, sizeof(err)) != 0)
		fail_msg("central copy: %s / %s", err, rep.first_problem);
	assert_int_equal(rep.first, 1);
	assert_int_equal(rep.last, 3500);
	assert_int_equal(rep.records, 3500);
	assert_int_equal(rep.gaps, 0);
	assert_int_equal(rep.bad, 0);
	print_message("central: %llu records, %llu duplicates after a kill -9\n",
	    (unsigned long long)rep.records,
	    (unsigned long long)rep.duplicates);
	fx_teardown(&f);
	central_stop(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_up_to_durable),
		cmocka_unit_test(test_acks_persisted),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_default_window),
		cmocka_unit_test(test_bad_short),
		cmocka_unit_test(test_bad_long),
		cmocka_unit_test(test_bad_hdrlen),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_bad_direction),
		cmocka_unit_test(test_bad_fd),
		cmocka_unit_test(test_bad_ack_beyond),
		cmocka_unit_test(test_bad_ack_back),
		cmocka_unit_test(test_bad_status_str),
		cmocka_unit_test(test_bad_want_twice),
		cmocka_unit_test(test_bad_stopped),
		cmocka_unit_test(test_bad_trunc_hdr),
		cmocka_unit_test(test_bad_oversized),
		cmocka_unit_test(test_bad_want_skip),
		cmocka_unit_test(test_death_resume),
		cmocka_unit_test(test_attach_dead),
		cmocka_unit_test(test_retention_loss),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_real_net_process),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
