/*
 * msg.c — typed, length-checked messages over SOCK_SEQPACKET socketpairs
 * between gatewayd's processes (see msg.h). A datagram is checked whole
 * against the receiver's table before anyone looks inside it; anything
 * wrong stops the channel, because a peer that sends one malformed
 * message cannot be trusted with the next.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/msg.h"

#define MSG_QUEUE_MAX	(64u << 20)	/* a peer this far behind is stuck */

struct msg_out {
	struct msg_out	*next;
	int		 fd;
	size_t		 len;
	unsigned char	 data[];	/* header + payload */
};

struct msg_chan {
	int			 fd;
	struct event		*rev, *wev;
	const struct msg_spec	*specs;
	size_t			 nspecs;
	msg_fn			 fn;
	msg_err_fn		 err_fn;
	void			*arg;
	struct msg_out		*head, *tail;
	size_t			 queued;
	int			 dead;
	int			 in_cb, free_later;
	unsigned char		*rbuf;
};

const struct msg_spec *
msg_spec_find(const struct msg_spec *specs, size_t n, uint32_t type)
{
	for (size_t i = 0; i < n; i++)
		if (specs[i].type == type)
			return &specs[i];
	return NULL;
}

int
msg_str_ok(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

int
msg_check(const struct msg_spec *specs, size_t n, const void *dgram,
    size_t len, int nfds, char *why, size_t whylen)
{
	struct msg_hdr h;
	const struct msg_spec *s;

	if (len < sizeof(h)) {
		snprintf(why, whylen, "a %zu-byte message is shorter than a "
		    "header", len);
		return -1;
	}
	memcpy(&h, dgram, sizeof(h));
	if ((s = msg_spec_find(specs, n, h.type)) == NULL) {
		snprintf(why, whylen, "message type %u is not accepted here",
		    h.type);
		return -1;
	}
	if ((size_t)h.len != len - sizeof(h)) {
		snprintf(why, whylen, "message type %u says %u bytes, carries "
		    "%zu", h.type, h.len, len - sizeof(h));
		return -1;
	}
	if (h.len < s->min || h.len > s->max) {
		snprintf(why, whylen, "message type %u: %u bytes, expected %u%s",
		    h.type, h.len, s->min, s->min == s->max ? "" : " or more");
		return -1;
	}
	if (nfds != s->fd) {
		snprintf(why, whylen, "message type %u: %d descriptor(s), "
		    "expected %d", h.type, nfds, s->fd);
		return -1;
	}
	return 0;
}

static void
msg_die(struct msg_chan *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->rev != NULL)
		event_del(c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	if (c->err_fn != NULL)
		c->err_fn(c->arg, why);
}

/* One datagram: its length, and its descriptor in *fdp (-1 none); extra
 * descriptors are closed and counted. 0 = would block, -1 = error. */
static ssize_t
msg_recv1(int fd, unsigned char *buf, size_t cap, int *fdp, int *nfds,
    int *trunc)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct iovec iov = { buf, cap };
	struct msghdr mh;
	struct cmsghdr *ch;
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	*fdp = -1;
	*nfds = 0;
	*trunc = 0;
	do
		r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
	for (ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(ch) + i * sizeof(int), sizeof(int));
			if (*fdp == -1)
				*fdp = got;
			else
				close(got);
			(*nfds)++;
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)r >= cap)
		*trunc = 1;
	return r;
}

static void
msg_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msg_chan *c = arg;
	size_t cap = sizeof(struct msg_hdr) + MSG_PAYLOAD_MAX + 1;

	(void)what;
	c->in_cb++;
	/* a bounded number per turn, so one busy peer cannot starve others */
	for (int turns = 0; turns < 64 && !c->dead; turns++) {
		int pfd, nfds, trunc;
		char why[160];
		ssize_t r = msg_recv1(fd, c->rbuf, cap, &pfd, &nfds, &trunc);
		struct msg_hdr h;

		if (r == -2)
			break;
		if (r == -1) {
			snprintf(why, sizeof(why), "receive: %s", strerror(errno));
			msg_die(c, why);
			break;
		}
		if (r == 0) {
			msg_die(c, "the peer closed the channel");
			break;
		}
		if (trunc) {
			if (pfd != -1)
				close(pfd);
			msg_die(c, "an oversized message (truncated)");
			break;
		}
		if (msg_check(c->specs, c->nspecs, c->rbuf, (size_t)r, nfds, why,
		    sizeof(why)) == -1) {
			if (pfd != -1)
				close(pfd);
			msg_die(c, why);
			break;
		}
		memcpy(&h, c->rbuf, sizeof(h));
		c->fn(c->arg, h.type, c->rbuf + sizeof(h), h.len, pfd);
		if (c->free_later)
			break;
	}
	c->in_cb--;
	if (c->free_later && c->in_cb == 0)
		msg_chan_free(c);
}

/* Send what the socket takes now. 0 = all sent or would block, -1 = dead. */
static int
msg_push(struct msg_chan *c)
{
	while (c->head != NULL) {
		struct msg_out *o = c->head;
		struct iovec iov = { o->data, o->len };
		union {
			struct cmsghdr	h;
			char		b[CMSG_SPACE(sizeof(int))];
		} cm;
		struct msghdr mh;
		ssize_t r;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (o->fd != -1) {
			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.b;
			mh.msg_controllen = sizeof(cm.b);
			struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
			ch->cmsg_level = SOL_SOCKET;
			ch->cmsg_type = SCM_RIGHTS;
			ch->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(ch), &o->fd, sizeof(int));
		}
		do
			r = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (r == -1 && errno == EINTR);
		if (r == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->head = o->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->queued -= o->len;
		if (o->fd != -1)
			close(o->fd);
		free(o);
	}
	return 0;
}

static void
msg_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct msg_chan *c = arg;
	char why[160];

	(void)fd;
	(void)what;
	if (msg_push(c) == -1) {
		snprintf(why, sizeof(why), "send: %s", strerror(errno));
		msg_die(c, why);
		return;
	}
	if (c->head != NULL)
		event_add(c->wev, NULL);
}

struct msg_chan *
msg_chan_new(struct event_base *base, int fd, const struct msg_spec *specs,
    size_t nspecs, msg_fn fn, msg_err_fn err_fn, void *arg)
{
	struct msg_chan *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->specs = specs;
	c->nspecs = nspecs;
	c->fn = fn;
	c->err_fn = err_fn;
	c->arg = arg;
	c->rbuf = malloc(sizeof(struct msg_hdr) + MSG_PAYLOAD_MAX + 1);
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, msg_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, msg_write_cb, c);
	if (c->rbuf == NULL || c->rev == NULL || c->wev == NULL ||
	    event_add(c->rev, NULL) == -1) {
		c->fd = -1;	/* the caller still owns fd */
		msg_chan_free(c);
		return NULL;
	}
	return c;
}

int
msg_send(struct msg_chan *c, uint32_t type, const void *payload, size_t len,
    int fd)
{
	struct msg_out *o;
	struct msg_hdr h = { type, (uint32_t)len };

	if (c == NULL || c->dead || len > MSG_PAYLOAD_MAX ||
	    c->queued + len > MSG_QUEUE_MAX)
		return -1;
	if ((o = malloc(sizeof(*o) + sizeof(h) + len)) == NULL)
		return -1;
	o->next = NULL;
	o->len = sizeof(h) + len;
	o->fd = -1;
	if (fd != -1 && (o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1) {
		free(o);
		return -1;
	}
	memcpy(o->data, &h, sizeof(h));
	if (len > 0)
		memcpy(o->data + sizeof(h), payload, len);
	if (c->tail != NULL)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	c->queued += o->len;
	/* try now: the common case never waits for the loop */
	if (c->head == o) {
		if (msg_push(c) == -1) {
			char why[160];
			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			msg_die(c, why);
			return -1;
		}
		if (c->head != NULL)
			event_add(c->wev, NULL);
	}
	return 0;
}

int
msg_flush(struct msg_chan *c, int timeout_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (c != NULL && !c->dead && c->head != NULL) {
		struct pollfd p = { c->fd, POLLOUT, 0 };
		long el;
		if (msg_push(c) == -1)
			return -1;
		if (c->head == NULL)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) /
		    1000000;
		if (el >= timeout_ms)
			return -1;
		(void)poll(&p, 1, (int)(timeout_ms - el));
	}
	return c != NULL && c->head == NULL ? 0 : -1;
}

size_t
msg_queued(const struct msg_chan *c)
{
	return c ? c->queued : 0;
}

int
msg_chan_fd(const struct msg_chan *c)
{
	return c ? c->fd : -1;
}

void
msg_chan_free(struct msg_chan *c)
{
	if (c == NULL)
		return;
	if (c->in_cb) {
		c->free_later = 1;
		c->dead = 1;
		if (c->rev != NULL)
			event_del(c->rev);
		if (c->wev != NULL)
			event_del(c->wev);
		return;
	}
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	while (c->head != NULL) {
		struct msg_out *o = c->head;
		c->head = o->next;
		if (o->fd != -1)
			close(o->fd);
		free(o);
	}
	if (c->fd != -1)
		close(c->fd);
	free(c->rbuf);
	free(c);
}

int
msg_recv_wait(int fd, const struct msg_spec *specs, size_t nspecs, void *buf,
    size_t cap, size_t *len, int *fdp, int timeout_ms, char *err,
    size_t errlen)
{
	size_t need = sizeof(struct msg_hdr) + MSG_PAYLOAD_MAX + 1;
	unsigned char *d = malloc(need);
	struct msg_hdr h;
	int pfd = -1, nfds, trunc;
	ssize_t r;

	*fdp = -1;
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int k = poll(&p, 1, timeout_ms);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "no message within %d ms",
			    timeout_ms);
			if (k == -1)
				snprintf(err, errlen, "poll: %s", strerror(errno));
			free(d);
			return -1;
		}
		r = msg_recv1(fd, d, need, &pfd, &nfds, &trunc);
		if (r == -2)
			continue;
		break;
	}
	if (r <= 0 || trunc || msg_check(specs, nspecs, d, (size_t)r, nfds,
	    err, errlen) == -1) {
		if (r == 0)
			snprintf(err, errlen, "the peer closed the channel");
		else if (r < 0)
			snprintf(err, errlen, "receive: %s", strerror(errno));
		else if (trunc)
			snprintf(err, errlen, "an oversized message (truncated)");
		if (pfd != -1)
			close(pfd);
		free(d);
		return -1;
	}
	memcpy(&h, d, sizeof(h));
	if (h.len > cap) {
		snprintf(err, errlen, "message type %u: %u bytes, room for %zu",
		    h.type, h.len, cap);
		if (pfd != -1)
			close(pfd);
		free(d);
		return -1;
	}
	memcpy(buf, d + sizeof(h), h.len);
	*len = h.len;
	*fdp = pfd;
	free(d);
	return (int)h.type;
}

int
msg_send_wait(int fd, uint32_t type, const void *payload, size_t len,
    int passfd)
{
	struct msg_chan c;
	struct msg_out *o;
	struct msg_hdr h = { type, (uint32_t)len };
	int rc = 0;

	if (len > MSG_PAYLOAD_MAX)
		return -1;
	if ((o = malloc(sizeof(*o) + sizeof(h) + len)) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	o->next = NULL;
	o->len = sizeof(h) + len;
	o->fd = passfd == -1 ? -1 : fcntl(passfd, F_DUPFD_CLOEXEC, 3);
	memcpy(o->data, &h, sizeof(h));
	if (len > 0)
		memcpy(o->data + sizeof(h), payload, len);
	c.head = c.tail = o;
	c.queued = o->len;
	while (c.head != NULL && rc == 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		if (msg_push(&c) == -1)
			rc = -1;
		else if (c.head != NULL)
			(void)poll(&p, 1, 1000);
	}
	if (c.head != NULL) {
		if (c.head->fd != -1)
			close(c.head->fd);
		free(c.head);
	}
	return rc;
}
