/*
 * test_commit.c — group commit on a real libevent loop: callbacks in
 * submission order with status 0 once durable, negative status when the
 * disk fails (fdatasync wrapped at link time, see test_commit.ldflags),
 * automatic recovery, drain and free.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "gateway/commit.h"
#include "gateway/journal.h"

int	__real_fdatasync(int);
int	__wrap_fdatasync(int);

static atomic_int fail_fdatasync;	/* the writer thread reads it */
static atomic_int n_fdatasync;

int
__wrap_fdatasync(int fd)
{
	atomic_fetch_add(&n_fdatasync, 1);
	if (atomic_load(&fail_fdatasync)) {
		errno = atomic_load(&fail_fdatasync);
		return -1;
	}
	return __real_fdatasync(fd);
}

struct fx {
	char			 dir[PATH_MAX];
	struct event_base	*base;
	struct journal		*j;
	struct commit		*c;
	/* what the callbacks saw */
	uint64_t		 next;		/* seq the next callback must carry */
	unsigned		 ok, failed, target;
	int			 last_status;
	int			 disorder;
	struct event		*timer;
};

static void
fx_rmdir(const char *dir)
{
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX + 300];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
fx_setup(void **state)
{
	struct fx *f;
	const char *base = getenv("TMPDIR");
	char err[256];

	f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/test_commit.XXXXXX",
	    base && *base ? base : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->base = event_base_new();
	f->j = journal_open(f->dir, "gw-commit", NULL, err, sizeof(err));
	if (f->base == NULL || f->j == NULL)
		return -1;
	f->c = commit_new(f->base, f->j);
	if (f->c == NULL)
		return -1;
	f->next = 1;
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	atomic_store(&fail_fdatasync, 0);
	commit_free(f->c);
	journal_close(f->j);
	if (f->timer)
		event_free(f->timer);
	event_base_free(f->base);
	fx_rmdir(f->dir);
	free(f);
	return 0;
}

static void
on_done(void *arg, const struct journal_record *rec, int status)
{
	struct fx *f = arg;

	if (rec->seq != f->next)
		f->disorder++;
	f->next = rec->seq + 1;
	f->last_status = status;
	if (status == 0) {
		f->ok++;
		/* the promise: durable before the effect */
		if (journal_durable_seq(f->j) < rec->seq)
			f->disorder++;
	} else
		f->failed++;
	if (f->ok + f->failed == f->target)
		event_base_loopbreak(f->base);
}

static void
rec_fill(struct journal_record *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "decision");
	snprintf(r->gate, sizeof(r->gate), "main-door");
	snprintf(r->cred, sizeof(r->cred), "badge-%u", i);
	snprintf(r->decision, sizeof(r->decision), "grant");
}

struct burst {
	struct fx	*f;
	unsigned	 from, n, chunk;
	int		 rc;
};

/* Submit in chunks from the loop, so batches form while the writer
 * fsyncs the previous one. */
static void
on_burst(evutil_socket_t fd, short what, void *arg)
{
	struct burst *b = arg;
	struct journal_record r;
	unsigned k;

	(void)fd;
	(void)what;
	for (k = 0; k < b->chunk && b->n > 0; k++, b->from++, b->n--) {
		rec_fill(&r, b->from);
		if (commit_submit(b->f->c, &r, on_done, b->f) != 0) {
			b->rc = -1;
			return;
		}
		assert_int_equal(r.seq, b->from);
	}
	if (b->n > 0)
		event_base_once(b->f->base, -1, EV_TIMEOUT, on_burst, b, NULL);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(f->base);
}

static void
run_loop(struct fx *f, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (f->timer == NULL)
		f->timer = evtimer_new(f->base, on_timeout, f);
	evtimer_add(f->timer, &tv);
	event_base_dispatch(f->base);
	evtimer_del(f->timer);
}

static void
test_submit_in_order(void **state)
{
	struct fx *f = *state;
	struct burst b = { f, 1, 5000, 100, 0 };
	char err[256];
	uint64_t count, bad;
	int syncs;

	atomic_store(&n_fdatasync, 0);
	f->target = 5000;
	event_base_once(f->base, -1, EV_TIMEOUT, on_burst, &b, NULL);
	run_loop(f, 30);
	assert_int_equal(b.rc, 0);
	assert_int_equal(f->ok, 5000);
	assert_int_equal(f->failed, 0);
	assert_int_equal(f->disorder, 0);
	assert_int_equal(journal_durable_seq(f->j), 5000);
	syncs = atomic_load(&n_fdatasync);
	/* group commit: fewer fsyncs than records */
	print_message("5000 records in %d fdatasync batches\n", syncs);
	assert_true(syncs >= 1 && syncs < 5000);
	assert_int_equal(journal_verify(f->dir, &count, &bad, err,
	    sizeof(err)), 0);
	assert_int_equal(count, 5000);
}

static void
test_failure_then_recovery(void **state)
{
	struct fx *f = *state;
	struct burst b = { f, 1, 10, 10, 0 };
	struct journal_record r;
	char err[256];
	uint64_t count, bad;
	unsigned accepted;
	int i;

	/* healthy first */
	f->target = 10;
	event_base_once(f->base, -1, EV_TIMEOUT, on_burst, &b, NULL);
	run_loop(f, 10);
	assert_int_equal(f->ok, 10);

	/* the disk fails: every callback of what was accepted says so. The
	 * writer may fail the first record before the rest are submitted;
	 * from then on submits are refused, so count what got in. */
	atomic_store(&fail_fdatasync, EIO);
	b.n = 10;
	b.chunk = 10;
	on_burst(-1, 0, &b);
	accepted = 10 - b.n;
	assert_true(accepted >= 1);
	assert_true(b.n == 0 || b.rc == -1);
	f->target = 10 + accepted;
	run_loop(f, 10);
	assert_int_equal(f->ok, 10);
	assert_int_equal(f->failed, accepted);
	assert_int_equal(f->last_status, -EIO);
	assert_int_equal(f->disorder, 0);
	assert_int_equal(journal_durable_seq(f->j), 10);
	/* and no new record is accepted while it stays failed */
	rec_fill(&r, 999);
	assert_int_equal(commit_submit(f->c, &r, on_done, f), -1);

	/* the disk comes back: the writer retries on its own */
	atomic_store(&fail_fdatasync, 0);
	/* (the retry may take two batches: the failed one, then what was
	 * appended while it was failing) */
	for (i = 0; i < 100 && (journal_failed(f->j) != 0 ||
	    journal_durable_seq(f->j) < 10 + accepted); i++)
		usleep(50 * 1000);
	assert_int_equal(journal_failed(f->j), 0);
	assert_int_equal(journal_durable_seq(f->j), 10 + accepted);

	b.rc = 0;
	b.from = 11 + accepted;
	b.n = 5;
	f->target = 15 + accepted;
	event_base_once(f->base, -1, EV_TIMEOUT, on_burst, &b, NULL);
	run_loop(f, 10);
	assert_int_equal(b.rc, 0);
	assert_int_equal(f->ok, 15);
	assert_int_equal(f->last_status, 0);
	assert_int_equal(f->disorder, 0);
	assert_int_equal(journal_durable_seq(f->j), 15 + accepted);
	/* every record there exactly once, chain intact */
	assert_int_equal(journal_verify(f->dir, &count, &bad, err,
	    sizeof(err)), 0);
	assert_int_equal(count, 15 + accepted);
}

/* commit_observe: every durable record once, in order, even those whose
 * callback said "failed" and that the retry wrote afterwards. */
struct obs {
	struct fx	*f;
	uint64_t	 next, seen, early;
};

static void
on_observe(void *arg, const struct journal_record *rec)
{
	struct obs *o = arg;

	if (rec->seq != o->next)
		o->early += 1000000;	/* out of order or twice: fails below */
	o->next = rec->seq + 1;
	o->seen++;
	if (journal_durable_seq(o->f->j) < rec->seq)
		o->early++;
}

static void
test_observe_failed_then_durable(void **state)
{
	struct fx *f = *state;
	struct obs o = { f, 1, 0, 0 };
	struct burst b = { f, 1, 10, 10, 0 };
	unsigned accepted;
	int i;

	commit_observe(f->c, on_observe, &o);
	f->target = 10;
	event_base_once(f->base, -1, EV_TIMEOUT, on_burst, &b, NULL);
	run_loop(f, 10);
	assert_int_equal(o.seen, 10);

	atomic_store(&fail_fdatasync, EIO);
	b.n = 10;
	on_burst(-1, 0, &b);
	accepted = 10 - b.n;
	f->target = 10 + accepted;
	run_loop(f, 10);
	assert_int_equal(f->failed, accepted);
	assert_int_equal(o.seen, 10);		/* not durable: not seen */

	atomic_store(&fail_fdatasync, 0);
	for (i = 0; i < 100 && journal_durable_seq(f->j) < 10 + accepted; i++)
		usleep(50 * 1000);
	assert_int_equal(journal_durable_seq(f->j), 10 + accepted);
	b.rc = 0;
	b.from = 11 + accepted;
	b.n = 5;
	f->target = 15 + accepted;
	event_base_once(f->base, -1, EV_TIMEOUT, on_burst, &b, NULL);
	run_loop(f, 10);
	assert_int_equal(b.rc, 0);
	/* the retried ones too, before the later ones, each once */
	assert_int_equal(o.seen, 15 + accepted);
	assert_int_equal(o.next, 16 + accepted);
	assert_int_equal(o.early, 0);
}

static void
test_drain(void **state)
{
	struct fx *f = *state;
	struct journal_record r;
	unsigned i;

	/* no loop running: drain alone makes them durable and calls back */
	for (i = 1; i <= 300; i++) {
		rec_fill(&r, i);
		assert_int_equal(commit_submit(f->c, &r, on_done, f), 0);
	}
	assert_int_equal(commit_drain(f->c), 0);
	assert_int_equal(f->ok, 300);
	assert_int_equal(f->disorder, 0);
	assert_int_equal(journal_durable_seq(f->j), 300);
	/* nothing left to do */
	assert_int_equal(commit_drain(f->c), 0);
	assert_int_equal(f->ok, 300);
}

static void
test_drain_failure(void **state)
{
	struct fx *f = *state;
	struct journal_record r;
	unsigned i;

	atomic_store(&fail_fdatasync, ENOSPC);
	/* the writer may fail the first before the rest are in: then the
	 * rest are refused */
	for (i = 1; i <= 5; i++) {
		rec_fill(&r, i);
		if (commit_submit(f->c, &r, on_done, f) != 0)
			break;
	}
	assert_true(i > 1);
	assert_int_equal(commit_drain(f->c), -ENOSPC);
	assert_int_equal(f->failed, i - 1);
	assert_int_equal(f->ok, 0);
	assert_int_equal(f->last_status, -ENOSPC);
	assert_int_equal(journal_durable_seq(f->j), 0);
	atomic_store(&fail_fdatasync, 0);
}

/* A callback that submits (an alarm journaled because of a decision). */
static void
on_chain(void *arg, const struct journal_record *rec, int status)
{
	struct fx *f = arg;
	struct journal_record r;

	on_done(arg, rec, status);
	if (rec->seq < 50) {
		rec_fill(&r, (unsigned)rec->seq + 1);
		if (commit_submit(f->c, &r, on_chain, f) != 0)
			f->disorder++;
	}
}

static void
test_submit_from_callback(void **state)
{
	struct fx *f = *state;
	struct journal_record r;

	f->target = 50;
	rec_fill(&r, 1);
	assert_int_equal(commit_submit(f->c, &r, on_chain, f), 0);
	run_loop(f, 10);
	assert_int_equal(f->ok, 50);
	assert_int_equal(f->disorder, 0);
}

static void
test_free_drains(void **state)
{
	struct fx *f = *state;
	struct journal_record r;
	unsigned i;

	for (i = 1; i <= 20; i++) {
		rec_fill(&r, i);
		assert_int_equal(commit_submit(f->c, &r, i % 2 ? on_done :
		    NULL, f), 0);
	}
	commit_free(f->c);
	f->c = NULL;
	assert_int_equal(f->ok, 10);
	assert_int_equal(journal_durable_seq(f->j), 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_submit_in_order,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_failure_then_recovery,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_observe_failed_then_durable,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_drain,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_drain_failure,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_submit_from_callback,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_free_drains,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
