/*
 * bench_journal.c — durable throughput of the audit journal with group
 * commit through commit.c on a real event_base, the submit -> durable
 * latency at a moderate steady rate, and the offline verify speed.
 *
 * The journal goes to $BENCH_DIR (default: a fresh directory under
 * $TMPDIR or /tmp), removed afterwards. Figures depend on the disk's
 * fsync latency: say which disk when quoting them.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/commit.h"
#include "gateway/journal.h"

#define THROUGHPUT_N	200000
#define CHUNK		512	/* submitted per loop turn */
#define RATE		2000	/* records/s for the latency run */
#define RATE_SECONDS	5

struct bench {
	struct event_base	*base;
	struct journal		*j;
	struct commit		*c;
	uint64_t		 submitted, done, failed, target;
	double			 rate_t0;	/* latency run start */
	double			*submit_at;	/* by seq, latency run */
	double			*lat;
	size_t			 nlat;
	uint64_t		 lat_base;	/* seq before the latency run */
	struct event		*tick;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
rec_fill(struct journal_record *r, uint64_t i)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "decision");
	snprintf(r->gate, sizeof(r->gate), "ward-7-east-door");
	snprintf(r->zone_from, sizeof(r->zone_from), "corridor-7");
	snprintf(r->zone_to, sizeof(r->zone_to), "ward-7");
	snprintf(r->cred, sizeof(r->cred), "04a1b2c3d4e5%08llx",
	    (unsigned long long)i);
	snprintf(r->holder, sizeof(r->holder), "Staff Member %llu",
	    (unsigned long long)(i % 5000));
	snprintf(r->decision, sizeof(r->decision), "grant");
	snprintf(r->reason, sizeof(r->reason), "RULE_ALLOW");
	snprintf(r->rule, sizeof(r->rule), "hospital.policy:142");
	snprintf(r->mode, sizeof(r->mode), "normal");
	snprintf(r->policy, sizeof(r->policy), "%064x", 0xbeef);
}

static void
on_durable(void *arg, const struct journal_record *rec, int status)
{
	struct bench *b = arg;

	if (status != 0) {
		b->failed++;
	} else {
		b->done++;
		if (b->submit_at != NULL) {
			b->lat[b->nlat++] = now_s() -
			    b->submit_at[rec->seq - b->lat_base];
		}
	}
	if (b->done + b->failed == b->target)
		event_base_loopbreak(b->base);
}

static void
on_chunk(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct journal_record r;
	int k;

	(void)fd;
	(void)what;
	for (k = 0; k < CHUNK && b->submitted < b->target; k++) {
		rec_fill(&r, b->submitted);
		if (commit_submit(b->c, &r, on_durable, b) != 0) {
			if (errno != ENOBUFS) {
				fprintf(stderr, "submit: %s\n",
				    strerror(errno));
				exit(1);
			}
			break;	/* buffer full: let the writer catch up */
		}
		b->submitted++;
	}
	if (b->submitted < b->target)
		event_base_once(b->base, -1, EV_TIMEOUT, on_chunk, b, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	struct journal_record r;
	uint64_t due;

	(void)fd;
	(void)what;
	/* as many as are due by the clock: the timer may fire late */
	due = (uint64_t)((now_s() - b->rate_t0) * RATE);
	if (due > b->target)
		due = b->target;
	while (b->submitted < due) {
		rec_fill(&r, b->submitted);
		if (commit_submit(b->c, &r, on_durable, b) != 0) {
			fprintf(stderr, "submit: %s\n", strerror(errno));
			exit(1);
		}
		b->submit_at[r.seq - b->lat_base] = now_s();
		b->submitted++;
	}
	if (b->submitted >= b->target)
		event_del(b->tick);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
rm_dir(const char *dir)
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

/* Ten million records (the requirement) in default 64 MiB segments:
 * write with group commit, reopen (recovery scan of the last segment),
 * verify the whole chain. */
static int
capacity(uint64_t n, char *dir)
{
	struct bench b;
	struct journal_summary s;
	char err[256];
	double t0, t1, t2, t3;

	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);	/* a fresh one */
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	memset(&b, 0, sizeof(b));
	b.base = event_base_new();
	if ((b.j = journal_open(dir, "bench-gw", NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "journal_open: %s\n", err);
		return 1;
	}
	b.c = commit_new(b.base, b.j);
	b.target = n;
	t0 = now_s();
	event_base_once(b.base, -1, EV_TIMEOUT, on_chunk, &b, NULL);
	event_base_dispatch(b.base);
	commit_free(b.c);
	journal_close(b.j);
	t1 = now_s();
	if ((b.j = journal_open(dir, "bench-gw", NULL, err, sizeof(err))) ==
	    NULL || journal_last_seq(b.j) != n) {
		fprintf(stderr, "reopen: %s\n", err);
		return 1;
	}
	journal_close(b.j);
	t2 = now_s();
	if (journal_verify_summary(dir, &s, err, sizeof(err)) != 0 ||
	    s.count != n) {
		fprintf(stderr, "verify: %s\n", err);
		return 1;
	}
	t3 = now_s();
	printf("  capacity: %llu records durable in %.1f s (%.0f/s), "
	    "%llu segments; reopen %.2f s; verify %.1f s\n",
	    (unsigned long long)n, t1 - t0, (double)n / (t1 - t0),
	    (unsigned long long)s.segments, t2 - t1, t3 - t2);
	event_base_free(b.base);
	rm_dir(dir);
	return 0;
}

int
main(void)
{
	struct bench b;
	struct journal_opts o = { .segment_bytes = 16ull << 20 };
	struct journal_record r;
	struct journal_summary s;
	struct timeval ms = { 0, 1000 };
	char dir[PATH_MAX], err[256];
	const char *env = getenv("BENCH_DIR"), *tmp = getenv("TMPDIR");
	double t0 = 0, t1 = 0, p50, p99, pmax;
	uint64_t syncs;
	size_t n = 0;

	if (env != NULL && *env)
		snprintf(dir, sizeof(dir), "%s/bench_journal.XXXXXX", env);
	else
		snprintf(dir, sizeof(dir), "%s/bench_journal.XXXXXX",
		    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	memset(&b, 0, sizeof(b));
	b.base = event_base_new();
	if ((b.j = journal_open(dir, "bench-gw", &o, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "journal_open: %s\n", err);
		return 1;
	}
	b.c = commit_new(b.base, b.j);
	printf("bench_journal: journal in %s\n", dir);

	/* 1. append cost alone: serialise + SHA-256 + CRC, no I/O (a first
	 * round warms the buffers) */
	for (int round = 0; round < 2; round++) {
		t0 = now_s();
		for (n = 0; n < 20000; n++) {
			rec_fill(&r, n);
			if (journal_append(b.j, &r) != 0)
				break;
		}
		t1 = now_s();
		if (journal_sync(b.j) != 0) {
			fprintf(stderr, "sync failed\n");
			return 1;
		}
	}
	printf("  journal_append (no I/O):      %.2f us/record (incl. "
	    "filling the record)\n", (t1 - t0) * 1e6 / (double)n);

	/* 2. sustained durable throughput, batches forming naturally */
	b.target = THROUGHPUT_N;
	syncs = journal_sync_count(b.j);
	t0 = now_s();
	event_base_once(b.base, -1, EV_TIMEOUT, on_chunk, &b, NULL);
	event_base_dispatch(b.base);
	t1 = now_s();
	if (b.done != THROUGHPUT_N || b.failed != 0) {
		fprintf(stderr, "throughput run: %llu done, %llu failed\n",
		    (unsigned long long)b.done, (unsigned long long)b.failed);
		return 1;
	}
	printf("  durable throughput:           %.0f records/s "
	    "(%d records in %.2f s, %llu fsync batches, %.0f records/batch)\n",
	    THROUGHPUT_N / (t1 - t0), THROUGHPUT_N, t1 - t0,
	    (unsigned long long)(journal_sync_count(b.j) - syncs),
	    (double)THROUGHPUT_N / (double)(journal_sync_count(b.j) - syncs));

	/* 3. latency at a moderate steady rate */
	b.done = b.failed = b.submitted = 0;
	syncs = journal_sync_count(b.j);
	b.target = (uint64_t)RATE * RATE_SECONDS;
	b.lat_base = journal_last_seq(b.j);
	b.submit_at = calloc(b.target + 2, sizeof(double));
	b.lat = calloc(b.target + 2, sizeof(double));
	b.tick = event_new(b.base, -1, EV_PERSIST, on_tick, &b);
	event_add(b.tick, &ms);
	t0 = b.rate_t0 = now_s();
	event_base_dispatch(b.base);
	t1 = now_s();
	qsort(b.lat, b.nlat, sizeof(double), cmp_double);
	p50 = b.lat[b.nlat / 2] * 1e3;
	p99 = b.lat[(size_t)((double)b.nlat * 0.99)] * 1e3;
	pmax = b.lat[b.nlat - 1] * 1e3;
	printf("  latency at %d records/s:    p50 %.2f ms, p99 %.2f ms, "
	    "max %.2f ms (%zu samples, %llu batches, %.1f s)\n", RATE, p50,
	    p99, pmax, b.nlat,
	    (unsigned long long)(journal_sync_count(b.j) - syncs), t1 - t0);

	commit_free(b.c);
	journal_close(b.j);
	event_free(b.tick);
	event_base_free(b.base);

	/* 4. offline verify of everything written */
	t0 = now_s();
	if (journal_verify_summary(dir, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "verify failed at %llu: %s\n",
		    (unsigned long long)s.bad_seq, err);
		return 1;
	}
	t1 = now_s();
	printf("  verify:                       %llu records, %llu segments "
	    "in %.2f s (%.0f records/s)\n", (unsigned long long)s.count,
	    (unsigned long long)s.segments, t1 - t0,
	    (double)s.count / (t1 - t0));
	free(b.submit_at);
	free(b.lat);
	rm_dir(dir);

	/* 5. optional capacity run: BENCH_JOURNAL_CAPACITY=10000000 */
	if ((env = getenv("BENCH_JOURNAL_CAPACITY")) != NULL && atoll(env) > 0)
		return capacity((uint64_t)atoll(env), dir);
	return 0;
}
