/*
 * netproc.c — the network process (role "net") and the parent's feeder
 * for it; the protocol is in netproc.h.
 *
 * Parent side owns: the journal reader for the net process, sync.state,
 * the channel's parent end. Trusts: the journal up to durable(); nothing
 * from the net process (sizes by msg_spec, strings by msg_str_ok, acks
 * against what was sent).
 *
 * Net side owns: the TLS client key (gateway/sync.c, fed mode), the queue
 * of records received and not yet taken by the session, the channel's
 * child end. Trusts: the parent, but still checks that records arrive in
 * increasing order, within its queue, with terminated strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/conf.h"
#include "gateway/journal.h"
#include "gateway/msg.h"
#include "gateway/netproc.h"
#include "gateway/policyio.h"
#include "gateway/proto.h"
#include "gateway/sync.h"
#include "policy/policy.h"

#define PERSIST_MS	200	/* write sync.state at most this often */
#define STATUS_TICK_MS	250	/* the net process checks its status */
#define STATUS_EVERY_MS	1000	/* and sends it at least this often */
#define QUEUE_MAX	65536	/* records the net process buffers */
#define STOP_FLUSH_MS	1000

static int64_t
netproc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
netproc_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Every string of a record is terminated within its field. */
static int
netproc_record_ok(const struct journal_record *r)
{
#define F(x)	msg_str_ok(r->x, sizeof(r->x))
	return F(type) && F(gateway) && F(gate) && F(zone_from) &&
	    F(zone_to) && F(cred) && F(holder) && F(decision) && F(reason) &&
	    F(rule) && F(mode) && F(policy) && F(actor) && F(text);
#undef F
}

/* ==== the parent's side ==== */

const struct msg_spec netfeed_specs[] = {
	{ MSG_NP_WANT, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
	{ MSG_NP_ACKED, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
	{ MSG_NP_STATUS, sizeof(struct msg_sync_status),
	    sizeof(struct msg_sync_status), 0 },
	{ MSG_NP_STOPPED, 0, 0, 0 },
};
const size_t netfeed_nspecs = sizeof(netfeed_specs) / sizeof(netfeed_specs[0]);

struct netfeed {
	struct event_base *base;
	char		 dir[CONF_PATH_MAX];
	uint64_t	(*durable)(void *);
	void		*durable_arg;
	void		(*bad)(void *, const char *);
	void		*bad_arg;
	uint32_t	 window;

	struct msg_chan	*chan;		/* NULL: no net process attached */
	struct event_base *pbase;	/* netfeed_stop's private loop */
	int		 wanted;	/* WANT received on this channel */
	int		 stopping, stopped;
	struct journal_iter *it;
	uint64_t	 next;		/* next seq to read and send */
	uint64_t	 sent;		/* highest seq sent on this channel */
	uint64_t	 acked;		/* acknowledged (contiguous) */
	uint64_t	 lost;		/* deleted by retention before sent */

	uint64_t	 persisted;
	int64_t		 persisted_at;
	struct event	*ev_persist;

	struct sync_status st;		/* the net process's last report */
	int		 have_status;
	char		 err[200];	/* the feeder's own last error */
	int64_t		 err_us;
};

static void
netfeed_error(struct netfeed *nf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
netfeed_error(struct netfeed *nf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nf->err, sizeof(nf->err), fmt, ap);
	va_end(ap);
	nf->err_us = netproc_wall_us();
}

static void
netfeed_iter_reset(struct netfeed *nf)
{
	journal_iter_close(nf->it);
	nf->it = NULL;
}

/* Write sync.state if the position moved: now when forced or when the
 * last write is PERSIST_MS old, else when the timer fires. */
static void
netfeed_persist(struct netfeed *nf, int force)
{
	int64_t now = netproc_now_ms();
	char e[256];

	if (nf->acked == nf->persisted)
		return;
	if (!force && now - nf->persisted_at < PERSIST_MS) {
		struct timeval tv = { 0, (PERSIST_MS -
		    (now - nf->persisted_at)) * 1000 };
		if (!evtimer_pending(nf->ev_persist, NULL))
			evtimer_add(nf->ev_persist, &tv);
		return;
	}
	if (sync_state_save(nf->dir, nf->acked, e, sizeof(e)) == 0)
		nf->persisted = nf->acked;
	else
		netfeed_error(nf, "cannot save the position: %s", e);
	nf->persisted_at = now;
}

static void
netfeed_persist_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	netfeed_persist(arg, 1);
}

/* Send what is durable, in order, within the window. */
static void
netfeed_pump(struct netfeed *nf)
{
	struct msg_jrecord m;
	uint64_t limit;
	char e[256];
	int k;

	if (nf->chan == NULL || !nf->wanted || nf->stopped)
		return;
	limit = nf->durable(nf->durable_arg);
	while (nf->next <= limit && nf->sent < nf->acked + nf->window) {
		if (nf->it == NULL && (nf->it = journal_iter_open(nf->dir,
		    nf->next, e, sizeof(e))) == NULL) {
			netfeed_error(nf, "journal: %s", e);
			return;
		}
		memset(&m, 0, sizeof(m));
		k = journal_iter_next(nf->it, &m.rec, e, sizeof(e));
		if (k == 0) {
			/* a segment created after the reader opened */
			netfeed_iter_reset(nf);
			return;
		}
		if (k == -1) {
			netfeed_error(nf, "journal unreadable: %s", e);
			netfeed_iter_reset(nf);
			return;
		}
		if (m.rec.seq < nf->next) {
			netfeed_error(nf, "journal reader went backwards");
			netfeed_iter_reset(nf);
			return;
		}
		if (m.rec.seq > limit) {
			/* past durable (behind a gap): not yet */
			netfeed_iter_reset(nf);
			return;
		}
		if (!netproc_record_ok(&m.rec)) {
			netfeed_error(nf, "journal record %llu has an "
			    "unterminated field", (unsigned long long)m.rec.seq);
			netfeed_iter_reset(nf);
			return;
		}
		if (msg_send(nf->chan, MSG_PN_RECORD, &m, sizeof(m), -1) == -1) {
			/* dead or far behind: read it again next time */
			netfeed_iter_reset(nf);
			return;
		}
		if (m.rec.seq > nf->next) {
			nf->lost += m.rec.seq - nf->next;
			netfeed_error(nf, "records %llu..%llu were deleted by "
			    "journal retention before they were sent",
			    (unsigned long long)nf->next,
			    (unsigned long long)(m.rec.seq - 1));
		}
		nf->next = m.rec.seq + 1;
		nf->sent = m.rec.seq;
	}
}

/* Forget the channel (closed here; freed after its callback if in one). */
static void
netfeed_close(struct netfeed *nf)
{
	if (nf->chan != NULL) {
		msg_chan_free(nf->chan);
		nf->chan = NULL;
	}
	nf->wanted = 0;
	nf->have_status = 0;
	netfeed_iter_reset(nf);
	if (nf->pbase != NULL)
		event_base_loopbreak(nf->pbase);
}

/* The net process broke a rule: close, keep the position, report. */
static void
netfeed_violation(struct netfeed *nf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
netfeed_violation(struct netfeed *nf, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	netfeed_close(nf);
	netfeed_persist(nf, 1);
	if (nf->bad != NULL)
		nf->bad(nf->bad_arg, why);
}

static void
netfeed_on_err(void *arg, const char *why)
{
	struct netfeed *nf = arg;

	/* the peer closing or an I/O error is a death, not a broken rule */
	if (strcmp(why, "the peer closed the channel") == 0 ||
	    strncmp(why, "receive:", 8) == 0 || strncmp(why, "send:", 5) == 0) {
		netfeed_close(nf);
		netfeed_persist(nf, 1);
		return;
	}
	netfeed_violation(nf, "net process: %s", why);
}

/* One message that passed the size check. 0, or -1 after a violation. */
static int
netfeed_handle(struct netfeed *nf, uint32_t type, const void *p, size_t len)
{
	struct msg_seq m;
	struct msg_sync_status ms;
	uint64_t high;

	(void)len;
	switch (type) {
	case MSG_NP_WANT:
		memcpy(&m, p, sizeof(m));
		if (nf->wanted) {
			netfeed_violation(nf, "net process asked twice where "
			    "to start");
			return -1;
		}
		if (m.seq == 0 || m.seq > nf->acked + 1) {
			netfeed_violation(nf, "net process wants records from "
			    "seq %llu: after the acknowledged %llu, records "
			    "would be skipped", (unsigned long long)m.seq,
			    (unsigned long long)nf->acked);
			return -1;
		}
		nf->wanted = 1;
		nf->next = m.seq;
		netfeed_iter_reset(nf);
		netfeed_pump(nf);
		return 0;
	case MSG_NP_ACKED:
		memcpy(&m, p, sizeof(m));
		high = nf->sent > nf->acked ? nf->sent : nf->acked;
		if (m.seq < nf->acked) {
			netfeed_violation(nf, "net process acknowledged seq %llu, "
			    "below the acknowledged %llu",
			    (unsigned long long)m.seq,
			    (unsigned long long)nf->acked);
			return -1;
		}
		if (m.seq > high) {
			netfeed_violation(nf, "net process acknowledged seq %llu, "
			    "beyond the last one sent (%llu)",
			    (unsigned long long)m.seq, (unsigned long long)high);
			return -1;
		}
		if (m.seq > nf->acked) {
			nf->acked = m.seq;
			netfeed_persist(nf, 0);
			netfeed_pump(nf);
		}
		return 0;
	case MSG_NP_STATUS:
		memcpy(&ms, p, sizeof(ms));
		if (!msg_str_ok(ms.st.phase, sizeof(ms.st.phase)) ||
		    !msg_str_ok(ms.st.server, sizeof(ms.st.server)) ||
		    !msg_str_ok(ms.st.error, sizeof(ms.st.error))) {
			netfeed_violation(nf, "net process status with an "
			    "unterminated string");
			return -1;
		}
		ms.st.connected = ms.st.connected != 0;
		nf->st = ms.st;
		nf->have_status = 1;
		return 0;
	case MSG_NP_STOPPED:
		if (!nf->stopping) {
			netfeed_violation(nf, "net process says it stopped, "
			    "unasked");
			return -1;
		}
		nf->stopped = 1;
		if (nf->pbase != NULL)
			event_base_loopbreak(nf->pbase);
		return 0;
	}
	netfeed_violation(nf, "net process: message type %u", type);
	return -1;
}

static void
netfeed_on_msg(void *arg, uint32_t type, const void *payload, size_t len,
    int fd)
{
	if (fd != -1)		/* the specs accept none; never happens */
		close(fd);
	(void)netfeed_handle(arg, type, payload, len);
}

int
netfeed_input(struct netfeed *nf, const void *dgram, size_t len)
{
	struct msg_hdr h;
	char why[160];

	if (msg_check(netfeed_specs, netfeed_nspecs, dgram, len, 0, why,
	    sizeof(why)) == -1) {
		netfeed_violation(nf, "net process: %s", why);
		return -1;
	}
	memcpy(&h, dgram, sizeof(h));
	return netfeed_handle(nf, h.type, (const char *)dgram + sizeof(h),
	    h.len);
}

struct netfeed *
netfeed_new(struct event_base *base, const char *journal_dir,
    uint64_t (*durable)(void *), void *durable_arg,
    void (*bad)(void *, const char *), void *bad_arg, char *err,
    size_t errlen)
{
	struct netfeed *nf;

	if ((nf = calloc(1, sizeof(*nf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nf->base = base;
	snprintf(nf->dir, sizeof(nf->dir), "%s", journal_dir);
	nf->durable = durable;
	nf->durable_arg = durable_arg;
	nf->bad = bad;
	nf->bad_arg = bad_arg;
	nf->window = NETFEED_WINDOW;
	snprintf(nf->st.phase, sizeof(nf->st.phase), "down");
	if (sync_state_load(nf->dir, &nf->acked, err, errlen) == -1) {
		free(nf);
		return NULL;
	}
	nf->persisted = nf->sent = nf->acked;
	nf->next = nf->acked + 1;
	if ((nf->ev_persist = evtimer_new(base, netfeed_persist_cb, nf)) ==
	    NULL) {
		snprintf(err, errlen, "cannot create a timer");
		free(nf);
		return NULL;
	}
	return nf;
}

void
netfeed_window(struct netfeed *nf, uint32_t records)
{
	nf->window = records < 1 ? 1 : records > 65536 ? 65536 : records;
}

int
netfeed_attach(struct netfeed *nf, int fd)
{
	struct msg_pn_hello h;

	if (nf->chan != NULL)
		netfeed_detach(nf);
	/* HELLO first, on the fresh (empty) socket: never waits, and on
	 * failure the caller still owns fd */
	memset(&h, 0, sizeof(h));
	h.durable_seq = nf->durable(nf->durable_arg);
	h.acked_seq = nf->acked;
	if (msg_send_wait(fd, MSG_PN_HELLO, &h, sizeof(h), -1) == -1)
		return -1;
	nf->chan = msg_chan_new(nf->base, fd, netfeed_specs, netfeed_nspecs,
	    netfeed_on_msg, netfeed_on_err, nf);
	if (nf->chan == NULL)
		return -1;
	nf->wanted = nf->have_status = nf->stopping = nf->stopped = 0;
	nf->sent = nf->acked;
	nf->next = nf->acked + 1;
	netfeed_iter_reset(nf);
	return 0;
}

void
netfeed_detach(struct netfeed *nf)
{
	netfeed_close(nf);
	netfeed_persist(nf, 1);
}

void
netfeed_durable(struct netfeed *nf)
{
	netfeed_pump(nf);
}

void
netfeed_status(struct netfeed *nf, struct sync_status *out)
{
	if (nf->chan != NULL && nf->have_status)
		*out = nf->st;
	else {
		/* keep who and what went wrong last; the rest is void */
		memset(out, 0, sizeof(*out));
		memcpy(out->server, nf->st.server, sizeof(out->server));
		memcpy(out->error, nf->st.error, sizeof(out->error));
		out->error_us = nf->st.error_us;
		snprintf(out->phase, sizeof(out->phase), "%s",
		    nf->chan != NULL ? "idle" : "down");
	}
	if (nf->err[0] && nf->err_us >= out->error_us) {
		memcpy(out->error, nf->err, sizeof(out->error));
		out->error_us = nf->err_us;
	}
	out->acked = nf->acked;
	out->durable = nf->durable(nf->durable_arg);
	out->backlog = out->durable > out->acked ? out->durable - out->acked :
	    0;
	out->lost = nf->lost;
}

static void
netfeed_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

void
netfeed_stop(struct netfeed *nf, int grace_ms)
{
	struct msg_seq d, g;
	struct event *tmo = NULL;
	struct timeval tv;
	int fd2;

	if (nf->chan == NULL) {
		netfeed_detach(nf);
		return;
	}
	if (grace_ms < 0)
		grace_ms = 0;
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	d.seq = nf->durable(nf->durable_arg);
	g.seq = (uint64_t)grace_ms;
	nf->stopping = 1;
	netfeed_pump(nf);
	if (msg_send(nf->chan, MSG_PN_DURABLE, &d, sizeof(d), -1) == -1 ||
	    msg_send(nf->chan, MSG_PN_STOP, &g, sizeof(g), -1) == -1 ||
	    msg_flush(nf->chan, STOP_FLUSH_MS) == -1 ||
	    (fd2 = fcntl(msg_chan_fd(nf->chan), F_DUPFD_CLOEXEC, 3)) == -1) {
		netfeed_detach(nf);
		return;
	}
	/* the same socket on a private loop: the parent's loop may be the
	 * one calling us, and libevent loops do not nest */
	msg_chan_free(nf->chan);
	nf->chan = NULL;
	if ((nf->pbase = event_base_new()) == NULL ||
	    (tmo = evtimer_new(nf->pbase, netfeed_stop_timeout,
	    nf->pbase)) == NULL ||
	    (nf->chan = msg_chan_new(nf->pbase, fd2, netfeed_specs,
	    netfeed_nspecs, netfeed_on_msg, netfeed_on_err, nf)) == NULL) {
		close(fd2);
		goto out;
	}
	tv.tv_sec = (grace_ms + 1000) / 1000;
	tv.tv_usec = ((grace_ms + 1000) % 1000) * 1000;
	evtimer_add(tmo, &tv);
	while (nf->chan != NULL && !nf->stopped &&
	    event_base_dispatch(nf->pbase) == 0 && !event_base_got_break(
	    nf->pbase))
		;
out:
	netfeed_detach(nf);
	if (tmo != NULL)
		event_free(tmo);
	if (nf->pbase != NULL)
		event_base_free(nf->pbase);
	nf->pbase = NULL;
	nf->stopping = 0;
}

void
netfeed_free(struct netfeed *nf)
{
	if (nf == NULL)
		return;
	netfeed_detach(nf);
	if (nf->ev_persist != NULL)
		event_free(nf->ev_persist);
	free(nf);
}

/* ==== the net process ==== */

int (*netproc_sandbox)(char *err, size_t errlen);

static const struct msg_spec netproc_specs[] = {
	{ MSG_PN_HELLO, sizeof(struct msg_pn_hello),
	    sizeof(struct msg_pn_hello), 0 },
	{ MSG_PN_RECORD, sizeof(struct msg_jrecord),
	    sizeof(struct msg_jrecord), 0 },
	{ MSG_PN_DURABLE, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
	{ MSG_PN_STOP, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
};

struct netproc {
	int		 debug;
	struct event_base *base;
	struct msg_chan	*chan;
	struct sync	*sync;
	struct event	*ev_status;
	int		 began, finished;
	int		 code;		/* exit status */

	/* records received, not yet taken by the session */
	struct journal_record *q;
	size_t		 qcap, qhead, qlen;
	uint64_t	 last_seq;	/* last received */
	uint64_t	 durable;	/* as last told */

	struct sync_status sent;	/* last status sent */
	int64_t		 sent_at;
	char		 logged[200];	/* last error logged */
};

static void
netproc_log(struct netproc *np, int pri, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
netproc_log(struct netproc *np, int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (np->debug) {
		fprintf(stderr, "gatewayd[net]: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else
		vsyslog(pri, fmt, ap);
	va_end(ap);
}

/* Leave the loop with this exit status. */
static void
netproc_quit(struct netproc *np, int code)
{
	np->code = code;
	event_base_loopbreak(np->base);
}

static int
netproc_feed_next(void *arg, struct journal_record *r)
{
	struct netproc *np = arg;

	if (np->qlen == 0)
		return 0;
	*r = np->q[np->qhead];
	np->qhead = (np->qhead + 1) % np->qcap;
	np->qlen--;
	return 1;
}

static void
netproc_feed_acked(void *arg, uint64_t seq)
{
	struct netproc *np = arg;
	struct msg_seq m;

	memset(&m, 0, sizeof(m));
	m.seq = seq;
	if (msg_send(np->chan, MSG_NP_ACKED, &m, sizeof(m), -1) == -1)
		netproc_quit(np, 1);
}

static void
netproc_feed_error(void *arg, const char *text)
{
	struct netproc *np = arg;
	struct sync_status st;

	/* the same error at every retry of an outage: said once */
	if (strcmp(text, np->logged) == 0)
		return;
	snprintf(np->logged, sizeof(np->logged), "%s", text);
	sync_status(np->sync, &st);
	netproc_log(np, LOG_WARNING, "sync %s: %s", st.server, text);
}

static void
netproc_send_status(struct netproc *np)
{
	struct msg_sync_status m;

	memset(&m, 0, sizeof(m));
	sync_status(np->sync, &m.st);
	if (msg_send(np->chan, MSG_NP_STATUS, &m, sizeof(m), -1) == -1) {
		netproc_quit(np, 1);
		return;
	}
	np->sent = m.st;
	np->sent_at = netproc_now_ms();
}

static void
netproc_feed_finished(void *arg)
{
	struct netproc *np = arg;

	np->finished = 1;
	netproc_send_status(np);
	if (msg_send(np->chan, MSG_NP_STOPPED, NULL, 0, -1) == -1 ||
	    msg_flush(np->chan, STOP_FLUSH_MS) == -1) {
		netproc_quit(np, 1);
		return;
	}
	netproc_quit(np, 0);
}

/* Often enough that gatectl status and the parent's alarms follow a
 * change within a quarter second; at least once a second regardless. */
static void
netproc_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netproc *np = arg;
	struct sync_status st;

	(void)fd;
	(void)what;
	if (!np->began || np->finished)
		return;
	sync_status(np->sync, &st);
	if (st.connected != np->sent.connected ||
	    strcmp(st.phase, np->sent.phase) != 0 ||
	    st.error_us != np->sent.error_us ||
	    netproc_now_ms() - np->sent_at >= STATUS_EVERY_MS)
		netproc_send_status(np);
}

static int
netproc_enqueue(struct netproc *np, const struct journal_record *r)
{
	if (np->qlen == np->qcap) {
		size_t ncap = np->qcap ? np->qcap * 2 : 256;
		struct journal_record *nq;

		if (ncap > QUEUE_MAX)
			return -1;
		if ((nq = malloc(ncap * sizeof(*nq))) == NULL)
			return -1;
		for (size_t i = 0; i < np->qlen; i++)
			nq[i] = np->q[(np->qhead + i) % np->qcap];
		free(np->q);
		np->q = nq;
		np->qcap = ncap;
		np->qhead = 0;
	}
	np->q[(np->qhead + np->qlen) % np->qcap] = *r;
	np->qlen++;
	return 0;
}

static void
netproc_on_msg(void *arg, uint32_t type, const void *p, size_t len, int fd)
{
	struct netproc *np = arg;
	struct msg_pn_hello h;
	struct msg_jrecord m;
	struct msg_seq s;
	char err[256];

	(void)len;
	if (fd != -1)
		close(fd);
	if (np->finished)
		return;
	switch (type) {
	case MSG_PN_HELLO:
		memcpy(&h, p, sizeof(h));
		if (np->began)
			break;
		np->began = 1;
		np->last_seq = h.acked_seq;
		np->durable = h.durable_seq;
		memset(&s, 0, sizeof(s));
		s.seq = h.acked_seq + 1;
		if (sync_begin(np->sync, h.acked_seq, err, sizeof(err)) == -1) {
			netproc_log(np, LOG_ERR, "sync: %s", err);
			netproc_quit(np, 1);
			return;
		}
		if (msg_send(np->chan, MSG_NP_WANT, &s, sizeof(s), -1) == -1)
			netproc_quit(np, 1);
		return;
	case MSG_PN_RECORD:
		memcpy(&m, p, sizeof(m));
		if (!np->began || m.rec.seq <= np->last_seq ||
		    !netproc_record_ok(&m.rec))
			break;
		if (netproc_enqueue(np, &m.rec) == -1) {
			netproc_log(np, LOG_ERR, "parent channel: more than %d "
			    "records queued", QUEUE_MAX);
			netproc_quit(np, 1);
			return;
		}
		np->last_seq = m.rec.seq;
		sync_wake(np->sync);
		return;
	case MSG_PN_DURABLE:
		memcpy(&s, p, sizeof(s));
		np->durable = s.seq;
		return;
	case MSG_PN_STOP:
		memcpy(&s, p, sizeof(s));
		if (!np->began) {
			/* nothing was ever sent: nothing to deliver */
			np->finished = 1;
			if (msg_send(np->chan, MSG_NP_STOPPED, NULL, 0, -1) == 0)
				(void)msg_flush(np->chan, STOP_FLUSH_MS);
			netproc_quit(np, 0);
			return;
		}
		sync_finish(np->sync, np->durable,
		    s.seq > 600000 ? 600000 : (int)s.seq);
		return;
	}
	netproc_log(np, LOG_ERR, "parent channel: unexpected message %u "
	    "(seq order, or before hello)", type);
	netproc_quit(np, 1);
}

static void
netproc_on_err(void *arg, const char *why)
{
	struct netproc *np = arg;

	/* the parent is gone (or broke the rules): nothing to report to */
	if (!np->finished)
		netproc_log(np, LOG_ERR, "parent channel: %s", why);
	netproc_quit(np, np->finished ? 0 : 1);
}

/* Wipe and free everything, then leave: _exit, because LeakSanitizer
 * cannot run inside the sandbox (its atexit check needs ptrace). */
static void __attribute__((noreturn))
netproc_exit(struct netproc *np, struct gateway_conf *conf, int code)
{
	sync_free(np->sync);		/* wipes the key (mbedtls_pk_free) */
	if (np->ev_status != NULL)
		event_free(np->ev_status);
	msg_chan_free(np->chan);
	if (np->base != NULL)
		event_base_free(np->base);
	if (np->q != NULL) {
		explicit_bzero(np->q, np->qcap * sizeof(*np->q));
		free(np->q);
	}
	conf_free(conf);
	if (!np->debug)
		closelog();
	fflush(stderr);
	_exit(code);
}

int
netproc_main(int fd, const char *conf_path, int debug)
{
	static struct netproc np0;
	struct netproc *np = &np0;
	struct gateway_conf *conf = NULL;
	struct timeval tv = { 0, STATUS_TICK_MS * 1000 };
	struct sync_feed feed;
	char err[512];

	memset(np, 0, sizeof(*np));
	np->debug = debug;
	np->code = 1;
	/* the parent decides when we stop; a terminal's ^C reaches it too */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (!debug)	/* now: the sandbox has no /dev/log to connect to */
		openlog("gatewayd-net", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if ((conf = conf_load(conf_path, NULL, err, sizeof(err))) == NULL) {
		netproc_log(np, LOG_ERR, "%s", err);
		netproc_exit(np, conf, 1);
	}
	if (!conf->sync.set) {
		netproc_log(np, LOG_ERR, "%s: no sync block: nothing to do",
		    conf_path);
		netproc_exit(np, conf, 1);
	}
	if ((np->base = event_base_new()) == NULL) {
		netproc_log(np, LOG_ERR, "cannot create an event loop");
		netproc_exit(np, conf, 1);
	}
	memset(&feed, 0, sizeof(feed));
	feed.arg = np;
	feed.next = netproc_feed_next;
	feed.acked = netproc_feed_acked;
	feed.finished = netproc_feed_finished;
	feed.error = netproc_feed_error;
	/* the key, certificates and the server's addresses: the last files
	 * and name lookups this process makes */
	if ((np->sync = sync_new_fed(&conf->sync, conf->id, np->base, &feed,
	    err, sizeof(err))) == NULL) {
		netproc_log(np, LOG_ERR, "sync: %s", err);
		netproc_exit(np, conf, 1);
	}
	if (netproc_sandbox != NULL && netproc_sandbox(err,
	    sizeof(err)) == -1) {
		netproc_log(np, LOG_ERR, "sandbox: %s", err);
		netproc_exit(np, conf, 1);
	}
	if ((np->chan = msg_chan_new(np->base, fd, netproc_specs,
	    sizeof(netproc_specs) / sizeof(netproc_specs[0]), netproc_on_msg,
	    netproc_on_err, np)) == NULL ||
	    (np->ev_status = event_new(np->base, -1, EV_PERSIST,
	    netproc_status_cb, np)) == NULL ||
	    event_add(np->ev_status, &tv) == -1) {
		netproc_log(np, LOG_ERR, "cannot set up the parent channel");
		netproc_exit(np, conf, 1);
	}
	event_base_dispatch(np->base);
	netproc_exit(np, conf, np->code);
}
