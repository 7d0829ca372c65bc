/*
 * commit.c — group commit on the libevent loop: the loop appends records
 * (cheap, no syscalls but a futex wake), one writer thread writes and
 * fsyncs whatever has gathered, and a pipe brings the outcome back to the
 * loop, where callbacks run in submission order.
 *
 * Owns: the writer thread, the pipe, the queue of waiting callbacks.
 * Trusts: the journal to be safe for one appender and one syncer at once.
 *
 * Threads: the queue (q*) is touched by the loop thread only. c->mu guards
 * want, stop, durable, fail_upto, fail_err, notified, shared with the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/commit.h"
#include "gateway/journal.h"

#define RETRY_MS	200	/* a failed journal is retried this often */

struct commit_entry {
	uint64_t		 seq;
	commit_cb		 cb;
	void			*arg;
	struct journal_record	 rec;
};

struct commit {
	struct event_base	*base;
	struct journal		*j;
	struct event		*ev;
	int			 pipefd[2];
	pthread_t		 thread;
	int			 started;

	pthread_mutex_t		 mu;
	pthread_cond_t		 wake;		/* writer: work or stop */
	pthread_cond_t		 done;		/* drain: an attempt finished */
	int			 want, stop, notified;
	uint64_t		 durable;	/* durable up to this seq */
	uint64_t		 fail_upto;	/* failed attempts covered this */
	int			 fail_err;	/* and failed with this */
	uint64_t		 attempts;

	struct commit_entry	*q;		/* ring, loop thread only */
	size_t			 qhead, qlen, qcap;

	/* commit_observe: records whose callback said "failed" but that a
	 * retry may still make durable (the journal keeps them buffered) */
	commit_durable_fn	 obs;
	void			*obs_arg;
	struct journal_record	*late;		/* FIFO, loop thread only */
	size_t			 late_head, late_len, late_cap;
};

static void
commit_notify(struct commit *c)
{
	char b = 1;

	/* A full pipe already holds a wake-up; nothing is lost. */
	if (!c->notified) {
		c->notified = 1;
		(void)!write(c->pipefd[1], &b, 1);
	}
}

static void
ts_after_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
commit_writer(void *arg)
{
	struct commit *c = arg;
	struct timespec ts;
	uint64_t target, d;
	int rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && !c->stop) {
			if (journal_failed(c->j) == 0) {
				pthread_cond_wait(&c->wake, &c->mu);
				continue;
			}
			/* Nothing can be appended until a sync succeeds:
			 * retry on our own so the gate can recover. */
			ts_after_ms(&ts, RETRY_MS);
			if (pthread_cond_timedwait(&c->wake, &c->mu, &ts) ==
			    ETIMEDOUT)
				c->want = 1;
		}
		if (!c->want && c->stop)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);

		target = journal_last_seq(c->j);
		rc = journal_sync(c->j);
		d = journal_durable_seq(c->j);

		pthread_mutex_lock(&c->mu);
		c->durable = d;
		if (rc < 0 && target > c->fail_upto) {
			c->fail_upto = target;
			c->fail_err = rc;
		}
		c->attempts++;
		pthread_cond_broadcast(&c->done);
		commit_notify(c);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Keep a failed record for the observer until a retry makes it durable.
 * Out of memory: the observer misses it and sees the gap in seq. */
static void
commit_late(struct commit *c, const struct journal_record *r)
{
	struct journal_record *n;

	if (c->late_len == c->late_cap) {
		size_t cap = c->late_cap ? c->late_cap * 2 : 64;
		if ((n = reallocarray(c->late, cap, sizeof(*n))) == NULL)
			return;
		c->late = n;
		c->late_cap = cap;
	}
	c->late[c->late_len++] = *r;
}

/* Run the callbacks that are decided, in order; loop thread only. */
static void
commit_dispatch(struct commit *c)
{
	struct commit_entry e;
	uint64_t d, fu;
	int fe, st;

	pthread_mutex_lock(&c->mu);
	c->notified = 0;
	d = c->durable;
	fu = c->fail_upto;
	fe = c->fail_err;
	pthread_mutex_unlock(&c->mu);

	/* older than anything in the queue: made durable by a retry */
	while (c->obs != NULL && c->late_len > c->late_head &&
	    c->late[c->late_head].seq <= d)
		c->obs(c->obs_arg, &c->late[c->late_head++]);
	if (c->late_head == c->late_len)
		c->late_head = c->late_len = 0;
	while (c->qlen > 0) {
		struct commit_entry *h = &c->q[c->qhead];

		if (h->seq <= d)
			st = 0;
		else if (h->seq <= fu)
			st = fe;
		else
			break;
		/* copy out: the callback may submit and grow the ring */
		e = *h;
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		if (c->obs != NULL && st == 0)
			c->obs(c->obs_arg, &e.rec);
		else if (c->obs != NULL)
			commit_late(c, &e.rec);
		if (e.cb != NULL)
			e.cb(e.arg, &e.rec, st);
	}
}

void
commit_observe(struct commit *c, commit_durable_fn fn, void *arg)
{
	if (fn == NULL)
		c->late_head = c->late_len = 0;
	c->obs = fn;
	c->obs_arg = arg;
}

static void
commit_on_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct commit *c = arg;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	commit_dispatch(c);
}

struct commit *
commit_new(struct event_base *base, struct journal *j)
{
	struct commit *c;
	sigset_t all, old;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->j = j;
	c->pipefd[0] = c->pipefd[1] = -1;
	c->durable = journal_durable_seq(j);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->done, NULL);
	if (pipe2(c->pipefd, O_NONBLOCK | O_CLOEXEC) == -1)
		goto fail;
	c->ev = event_new(base, c->pipefd[0], EV_READ | EV_PERSIST,
	    commit_on_pipe, c);
	if (c->ev == NULL || event_add(c->ev, NULL) == -1)
		goto fail;
	/* Signals belong to the loop thread, not the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&c->thread, NULL, commit_writer, c) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->started = 1;
	return c;
fail:
	commit_free(c);
	return NULL;
}

static int
commit_grow(struct commit *c)
{
	struct commit_entry *nq;
	size_t ncap, i;

	if (c->qlen < c->qcap)
		return 0;
	ncap = c->qcap ? c->qcap * 2 : 64;
	if ((nq = reallocarray(NULL, ncap, sizeof(*nq))) == NULL)
		return -1;
	for (i = 0; i < c->qlen; i++)
		nq[i] = c->q[(c->qhead + i) % c->qcap];
	free(c->q);
	c->q = nq;
	c->qcap = ncap;
	c->qhead = 0;
	return 0;
}

int
commit_submit(struct commit *c, struct journal_record *rec, commit_cb cb,
    void *arg)
{
	struct commit_entry *e;

	/* Room first: an appended record must always get its callback. */
	if (commit_grow(c) == -1 || journal_append(c->j, rec) == -1)
		return -1;
	e = &c->q[(c->qhead + c->qlen) % c->qcap];
	e->seq = rec->seq;
	e->cb = cb;
	e->arg = arg;
	e->rec = *rec;
	c->qlen++;

	pthread_mutex_lock(&c->mu);
	c->want = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int
commit_drain(struct commit *c)
{
	uint64_t target = journal_last_seq(c->j), a;
	int rc;

	pthread_mutex_lock(&c->mu);
	while (c->durable < target && c->fail_upto < target) {
		/* ask for an attempt and wait until one has finished */
		a = c->attempts;
		c->want = 1;
		pthread_cond_signal(&c->wake);
		while (c->attempts == a)
			pthread_cond_wait(&c->done, &c->mu);
	}
	rc = c->durable >= target ? 0 : c->fail_err;
	pthread_mutex_unlock(&c->mu);
	commit_dispatch(c);
	return rc;
}

void
commit_free(struct commit *c)
{
	struct commit_entry e;

	if (c == NULL)
		return;
	if (c->started) {
		(void)commit_drain(c);
		pthread_mutex_lock(&c->mu);
		c->stop = 1;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	/* Whatever is still undecided did not become durable here. */
	while (c->qlen > 0) {
		e = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		if (e.cb != NULL)
			e.cb(e.arg, &e.rec, -ECANCELED);
	}
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->pipefd[0] != -1)
		close(c->pipefd[0]);
	if (c->pipefd[1] != -1)
		close(c->pipefd[1]);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->mu);
	free(c->q);
	free(c->late);
	free(c);
}
