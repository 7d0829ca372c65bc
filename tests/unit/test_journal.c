/*
 * test_journal.c — the audit journal: append/sync/reopen/iterate, the hash
 * chain, damage anywhere named by its seq, a torn tail cut at every byte
 * offset, rotation and retention, and write/fsync failures injected with
 * -Wl,--wrap (see test_journal.ldflags).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <mbedtls/sha256.h>

#include "gateway/journal.h"

/* ---- failure injection: link-time wrapped syscalls ---- */

ssize_t	__real_pwrite(int, const void *, size_t, off_t);
ssize_t	__wrap_pwrite(int, const void *, size_t, off_t);
int	__real_fdatasync(int);
int	__wrap_fdatasync(int);
int	__real_fsync(int);
int	__wrap_fsync(int);

static int fail_pwrite;		/* errno to fail with, 0 = pass through */
static int short_pwrite;	/* write only this many bytes, then fail */
static int fail_fdatasync, fail_fsync;
static int n_pwrite, n_fdatasync;

ssize_t
__wrap_pwrite(int fd, const void *p, size_t n, off_t off)
{
	n_pwrite++;
	if (short_pwrite > 0 && n > (size_t)short_pwrite) {
		/* a partial write: some bytes land, the rest fails next */
		ssize_t w = __real_pwrite(fd, p, (size_t)short_pwrite, off);
		short_pwrite = 0;
		return w;
	}
	if (fail_pwrite) {
		errno = fail_pwrite;
		return -1;
	}
	return __real_pwrite(fd, p, n, off);
}

int
__wrap_fdatasync(int fd)
{
	n_fdatasync++;
	if (fail_fdatasync) {
		errno = fail_fdatasync;
		return -1;
	}
	return __real_fdatasync(fd);
}

int
__wrap_fsync(int fd)
{
	if (fail_fsync) {
		errno = fail_fsync;
		return -1;
	}
	return __real_fsync(fd);
}

static void
inject_clear(void)
{
	fail_pwrite = short_pwrite = fail_fdatasync = fail_fsync = 0;
}

/* ---- helpers ---- */

struct tdir {
	char	path[PATH_MAX];
};

static void
tdir_make(struct tdir *t)
{
	const char *base = getenv("TMPDIR");

	snprintf(t->path, sizeof(t->path), "%s/test_journal.XXXXXX",
	    base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(t->path));
}

static void
tdir_remove(struct tdir *t)
{
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX + 300];

	if ((d = opendir(t->path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->path, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(t->path);
}

static size_t
tdir_count(struct tdir *t, const char *suffix)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0, sl = strlen(suffix);

	assert_non_null(d = opendir(t->path));
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l >= sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static struct journal *
jopen(struct tdir *t, const struct journal_opts *o)
{
	char err[256] = "";
	struct journal *j;

	j = journal_open(t->path, "gw-test", o, err, sizeof(err));
	if (j == NULL)
		fail_msg("journal_open: %s", err);
	return j;
}

static void
rec_fill(struct journal_record *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "%s", i % 3 ? "decision" : "passage");
	snprintf(r->gate, sizeof(r->gate), "gate-%u", i % 7);
	snprintf(r->zone_from, sizeof(r->zone_from), "lobby");
	snprintf(r->zone_to, sizeof(r->zone_to), "ward-%u", i % 5);
	snprintf(r->cred, sizeof(r->cred), "badge-%08u", i);
	snprintf(r->holder, sizeof(r->holder), "Holder, \"No. %u\"", i);
	snprintf(r->decision, sizeof(r->decision), i % 2 ? "grant" : "deny");
	snprintf(r->reason, sizeof(r->reason), "R%03u", i % 40);
	snprintf(r->rule, sizeof(r->rule), "venue.policy:%u", 10 + i % 90);
	snprintf(r->mode, sizeof(r->mode), "normal");
	snprintf(r->policy, sizeof(r->policy), "%064u", i % 4);
	snprintf(r->text, sizeof(r->text), "line1\nline2\t%u", i);
	r->flags = i & 0x1f;
	r->time_us = 1700000000000000LL + (int64_t)i * 1000;
}

static void
append_n(struct journal *j, unsigned from, unsigned n)
{
	struct journal_record r;

	for (unsigned i = from; i < from + n; i++) {
		rec_fill(&r, i);
		assert_int_equal(journal_append(j, &r), 0);
	}
}

static uint64_t
verify_ok(struct tdir *t)
{
	char err[256] = "";
	uint64_t count = 0, bad = 0;
	int rc;

	rc = journal_verify(t->path, &count, &bad, err, sizeof(err));
	if (rc != 0)
		fail_msg("verify: bad seq %llu: %s", (unsigned long long)bad,
		    err);
	return count;
}

static void
seg_path(struct tdir *t, uint64_t first, char *out, size_t len)
{
	snprintf(out, len, "%s/%020llu.jnl", t->path,
	    (unsigned long long)first);
}

static uint8_t *
file_read(const char *path, size_t *len)
{
	FILE *f;
	uint8_t *p;
	long n;

	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(p = malloc(n ? (size_t)n : 1));
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
file_write(const char *path, const uint8_t *p, size_t n)
{
	FILE *f;

	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Offsets of each frame in a segment image (header 128, then frames of
 * 12 + length bytes); returns how many. Independent of the reader. */
static size_t
frame_offsets(const uint8_t *p, size_t n, size_t *off, size_t max)
{
	size_t o = 128, k = 0;

	while (o + 12 <= n && k < max) {
		uint32_t len = p[o + 4] | p[o + 5] << 8 | p[o + 6] << 16 |
		    (uint32_t)p[o + 7] << 24;
		off[k++] = o;
		o += 12 + len;
	}
	return k;
}

/* ---- tests ---- */

static void
test_append_sync_reopen_iterate(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_iter *it;
	struct journal_record r, want;
	char err[256];
	uint8_t h[32];
	unsigned i;
	int k;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	assert_int_equal(journal_last_seq(j), 0);
	append_n(j, 1, 100);
	assert_int_equal(journal_last_seq(j), 100);
	assert_int_equal(journal_durable_seq(j), 0);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_durable_seq(j), 100);
	memcpy(h, journal_last_hash(j), 32);
	journal_close(j);

	/* reopen: nothing cut, the chain continues */
	j = jopen(&t, NULL);
	assert_int_equal(journal_last_seq(j), 100);
	assert_int_equal(journal_durable_seq(j), 100);
	assert_memory_equal(journal_last_hash(j), h, 32);
	rec_fill(&r, 101);
	r.time_us = 0;
	assert_int_equal(journal_append(j, &r), 0);
	assert_int_equal(r.seq, 101);
	assert_true(r.time_us > 1600000000000000LL);
	assert_string_equal(r.gateway, "gw-test");
	assert_memory_equal(r.prev, h, 32);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	assert_int_equal(tdir_count(&t, ".cut-128"), 0);

	assert_non_null(it = journal_iter_open(t.path, 1, err, sizeof(err)));
	for (i = 1; (k = journal_iter_next(it, &r, err, sizeof(err))) == 1;
	    i++) {
		rec_fill(&want, i);
		assert_int_equal(r.seq, i);
		assert_string_equal(r.gate, want.gate);
		assert_string_equal(r.cred, want.cred);
		assert_string_equal(r.holder, want.holder);
		assert_string_equal(r.text, want.text);
		assert_string_equal(r.policy, want.policy);
		assert_string_equal(r.gateway, "gw-test");
		assert_int_equal(r.flags, want.flags);
		if (i <= 100)
			assert_int_equal(r.time_us, want.time_us);
	}
	assert_int_equal(k, 0);
	assert_int_equal(i, 102);
	journal_iter_close(it);

	/* from_seq skips, still checks the chain */
	assert_non_null(it = journal_iter_open(t.path, 60, err, sizeof(err)));
	assert_int_equal(journal_iter_next(it, &r, err, sizeof(err)), 1);
	assert_int_equal(r.seq, 60);
	journal_iter_close(it);

	assert_int_equal(verify_ok(&t), 101);
	tdir_remove(&t);
}

static void
test_truncates_long_strings(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_record r;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	memset(&r, 'x', sizeof(r));	/* no terminators anywhere */
	r.time_us = 5;
	assert_int_equal(journal_append(j, &r), 0);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_int_equal(strlen(r.type), sizeof(r.type) - 1);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	assert_int_equal(verify_ok(&t), 1);
	tdir_remove(&t);
}

/* Flip each byte of the frame of record 25 in turn: verify names 25. */
static void
test_verify_names_damaged_seq(void **state)
{
	struct tdir t;
	struct journal *j;
	char path[PATH_MAX + 32], err[256];
	uint8_t *img;
	size_t n, offs[64], nf, o;
	uint64_t count, bad;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 50);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	nf = frame_offsets(img, n, offs, 64);
	assert_int_equal(nf, 50);

	for (o = offs[24]; o < offs[25]; o++) {
		img[o] ^= 0x40;
		file_write(path, img, n);
		count = bad = 0;
		assert_int_equal(journal_verify(t.path, &count, &bad, err,
		    sizeof(err)), -1);
		if (bad != 25)
			fail_msg("byte %zu: bad seq %llu (%s)", o - offs[24],
			    (unsigned long long)bad, err);
		assert_int_equal(count, 24);
		img[o] ^= 0x40;
	}
	file_write(path, img, n);
	assert_int_equal(verify_ok(&t), 50);

	/* the segment header too: anchor and magic */
	img[40] ^= 1;
	file_write(path, img, n);
	assert_int_equal(journal_verify(t.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_int_equal(bad, 1);
	free(img);
	tdir_remove(&t);
}

/* A consistent rewrite (CRC and hash recomputed) of a middle record is
 * caught by the next record's prev. Simulated by swapping two frames. */
static void
test_verify_detects_reorder(void **state)
{
	struct tdir t;
	struct journal *j;
	char path[PATH_MAX + 32], err[256];
	uint8_t *img, *cp;
	size_t n, offs[16], nf, a, b;
	uint64_t count, bad;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 10);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	nf = frame_offsets(img, n, offs, 16);
	assert_int_equal(nf, 10);
	/* drop record 5 entirely: every frame intact, the chain is not */
	a = offs[4];
	b = offs[5];
	assert_non_null(cp = malloc(n));
	memcpy(cp, img, a);
	memcpy(cp + a, img + b, n - b);
	file_write(path, cp, n - (b - a));
	assert_int_equal(journal_verify(t.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_int_equal(bad, 5);
	assert_int_equal(count, 4);
	assert_non_null(strstr(err, "seq"));
	free(cp);
	free(img);
	tdir_remove(&t);
}

/* Cut the last record at every byte offset: reopen cuts it, journals the
 * cut, verify passes, earlier records are intact. */
static void
test_torn_tail_every_offset(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_iter *it;
	struct journal_record r;
	char path[PATH_MAX + 32], err[256];
	uint8_t *img;
	size_t n, offs[32], nf, cut, last;
	uint64_t count;
	int k;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 20);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	nf = frame_offsets(img, n, offs, 32);
	assert_int_equal(nf, 20);
	last = offs[19];

	for (cut = last; cut < n; cut++) {
		tdir_remove(&t);
		assert_int_equal(mkdir(t.path, 0700), 0);
		file_write(path, img, cut);

		j = jopen(&t, NULL);
		if (cut == last) {
			/* a clean frame boundary: nothing to cut */
			assert_int_equal(journal_last_seq(j), 19);
			journal_close(j);
			assert_int_equal(verify_ok(&t), 19);
			continue;
		}
		assert_int_equal(journal_last_seq(j), 20);
		assert_int_equal(journal_durable_seq(j), 20);
		journal_close(j);
		count = verify_ok(&t);
		assert_int_equal(count, 20);
		assert_int_equal(tdir_count(&t, ".jnl"), 1);
		assert_non_null(it = journal_iter_open(t.path, 19, err,
		    sizeof(err)));
		assert_int_equal(journal_iter_next(it, &r, err, sizeof(err)),
		    1);
		assert_int_equal(r.seq, 19);
		assert_string_equal(r.cred, "badge-00000019");
		k = journal_iter_next(it, &r, err, sizeof(err));
		assert_int_equal(k, 1);
		assert_int_equal(r.seq, 20);
		assert_string_equal(r.type, "cut");
		assert_non_null(strstr(r.text, "after seq 19"));
		{
			char want[64];
			snprintf(want, sizeof(want), "cut %zu bytes at offset "
			    "%zu", cut - last, last);
			if (strstr(r.text, want) == NULL)
				fail_msg("cut text '%s' lacks '%s'", r.text,
				    want);
		}
		assert_int_equal(journal_iter_next(it, &r, err, sizeof(err)),
		    0);
		journal_iter_close(it);
		/* the cut bytes are kept aside, byte for byte */
		{
			char side[PATH_MAX + 64];
			uint8_t *sp;
			size_t sn;

			snprintf(side, sizeof(side), "%s.cut-%zu", path, last);
			sp = file_read(side, &sn);
			assert_int_equal(sn, cut - last);
			assert_memory_equal(sp, img + last, sn);
			free(sp);
		}
		/* and a second reopen finds nothing more to cut */
		j = jopen(&t, NULL);
		assert_int_equal(journal_last_seq(j), 20);
		journal_close(j);
	}
	free(img);
	tdir_remove(&t);
}

/* Garbage after the last record (zeros from a preallocated block, or
 * random bytes) is cut just the same. */
static void
test_garbage_tail(void **state)
{
	struct tdir t;
	struct journal *j;
	char path[PATH_MAX + 32];
	uint8_t *img, *big;
	size_t n;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 5);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	assert_non_null(big = calloc(1, n + 4096));
	memcpy(big, img, n);
	file_write(path, big, n + 4096);
	j = jopen(&t, NULL);
	assert_int_equal(journal_last_seq(j), 6);
	journal_close(j);
	assert_int_equal(verify_ok(&t), 6);
	free(img);
	free(big);
	tdir_remove(&t);
}

static void
test_rotation_many_records(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_iter *it;
	struct journal_record r;
	struct journal_summary s;
	struct journal_opts o = { .segment_bytes = 64 * 1024 };
	char err[256];
	unsigned i;
	uint64_t want;
	int k;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	for (i = 1; i <= 12000; i += 40) {
		append_n(j, i, 40);
		assert_int_equal(journal_sync(j), 0);
	}
	assert_int_equal(journal_durable_seq(j), 12000);
	journal_close(j);
	assert_true(tdir_count(&t, ".jnl") > 20);

	assert_int_equal(journal_verify_summary(t.path, &s, err, sizeof(err)),
	    0);
	assert_int_equal(s.count, 12000);
	assert_int_equal(s.first_seq, 1);
	assert_int_equal(s.last_seq, 12000);
	assert_int_equal(s.anchor_seq, 1);
	assert_int_equal(s.segments, tdir_count(&t, ".jnl"));

	/* iterate from the middle of a later segment */
	assert_non_null(it = journal_iter_open(t.path, 7777, err, sizeof(err)));
	for (want = 7777; (k = journal_iter_next(it, &r, err, sizeof(err))) ==
	    1; want++)
		assert_int_equal(r.seq, want);
	assert_int_equal(k, 0);
	assert_int_equal(want, 12001);
	journal_iter_close(it);

	/* reopen continues in the last segment */
	j = jopen(&t, &o);
	assert_int_equal(journal_last_seq(j), 12000);
	append_n(j, 12001, 10);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	assert_int_equal(verify_ok(&t), 12010);
	tdir_remove(&t);
}

/* A missing middle segment is named by the first missing seq. */
static void
test_verify_missing_segment(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_opts o = { .segment_bytes = 4096 };
	char err[256], path[PATH_MAX + 32];
	uint64_t *firsts = NULL, count, bad;
	size_t nf = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	for (unsigned i = 1; i <= 200; i += 10) {
		append_n(j, i, 10);
		assert_int_equal(journal_sync(j), 0);
	}
	journal_close(j);
	assert_non_null(d = opendir(t.path));
	while ((de = readdir(d)) != NULL) {
		unsigned long long v;
		if (sscanf(de->d_name, "%20llu.jnl", &v) == 1 &&
		    strlen(de->d_name) == 24) {
			firsts = realloc(firsts, (nf + 1) * sizeof(*firsts));
			firsts[nf++] = v;
		}
	}
	closedir(d);
	assert_true(nf >= 4);
	/* the second-smallest */
	uint64_t lo = UINT64_MAX, second = UINT64_MAX;
	for (size_t i = 0; i < nf; i++)
		if (firsts[i] < lo)
			lo = firsts[i];
	for (size_t i = 0; i < nf; i++)
		if (firsts[i] > lo && firsts[i] < second)
			second = firsts[i];
	seg_path(&t, second, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(journal_verify(t.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_int_equal(bad, second);
	assert_int_equal(count, second - 1);
	assert_non_null(strstr(err, "missing"));
	free(firsts);
	tdir_remove(&t);
}

static void
test_retention_by_size(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_summary s;
	struct journal_opts o = { .segment_bytes = 16 * 1024 };
	char err[256];
	size_t before;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	for (unsigned i = 1; i <= 3000; i += 50) {
		append_n(j, i, 50);
		assert_int_equal(journal_sync(j), 0);
	}
	journal_close(j);
	before = tdir_count(&t, ".jnl");
	assert_true(before > 10);

	/* now keep about 64 KiB: the oldest go, the rest stays verifiable */
	o.retain_bytes = 64 * 1024;
	j = jopen(&t, &o);
	append_n(j, 3001, 50);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	assert_true(tdir_count(&t, ".jnl") < before);
	assert_true(tdir_count(&t, ".jnl") <= 5);
	assert_int_equal(journal_verify_summary(t.path, &s, err, sizeof(err)),
	    0);
	assert_true(s.anchor_seq > 1);
	assert_int_equal(s.first_seq, s.anchor_seq);
	assert_int_equal(s.last_seq, 3050);
	assert_int_equal(s.count, 3050 - s.anchor_seq + 1);

	/* a tiny limit never deletes the current segment */
	o.retain_bytes = 1;
	j = jopen(&t, &o);
	journal_close(j);
	assert_int_equal(tdir_count(&t, ".jnl"), 1);
	assert_int_equal(journal_verify_summary(t.path, &s, err, sizeof(err)),
	    0);
	assert_int_equal(s.last_seq, 3050);
	tdir_remove(&t);
}

static void
test_retention_by_age(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_summary s;
	struct journal_opts o = { .segment_bytes = 8 * 1024 };
	struct timespec old[2];
	char err[256], path[PATH_MAX + 300];
	size_t before, n = 0;
	DIR *d;
	struct dirent *de;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	for (unsigned i = 1; i <= 600; i += 20) {
		append_n(j, i, 20);
		assert_int_equal(journal_sync(j), 0);
	}
	journal_close(j);
	before = tdir_count(&t, ".jnl");
	assert_true(before > 4);
	/* age the three oldest segments by ten days */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 10 * 86400;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	{
		uint64_t firsts[256];
		assert_non_null(d = opendir(t.path));
		while ((de = readdir(d)) != NULL && n < 256) {
			unsigned long long v;
			if (strlen(de->d_name) == 24 &&
			    sscanf(de->d_name, "%20llu", &v) == 1)
				firsts[n++] = v;
		}
		closedir(d);
		for (int pass = 0; pass < 3; pass++) {
			size_t mi = 0;
			for (size_t i = 1; i < n; i++)
				if (firsts[i] < firsts[mi])
					mi = i;
			seg_path(&t, firsts[mi], path, sizeof(path));
			assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
			firsts[mi] = UINT64_MAX;
		}
	}
	o.retain_days = 5;
	j = jopen(&t, &o);
	journal_close(j);
	assert_int_equal(tdir_count(&t, ".jnl"), before - 3);
	assert_int_equal(journal_verify_summary(t.path, &s, err, sizeof(err)),
	    0);
	assert_int_equal(s.last_seq, 600);
	assert_true(s.anchor_seq > 1);
	tdir_remove(&t);
}

/* The injected failure happens; sync reports it; nothing is claimed
 * durable; appends are refused; a later sync writes everything once. */
static void
fail_case(int which)
{
	struct tdir t;
	struct journal *j;
	struct journal_iter *it;
	struct journal_record r;
	char err[256];
	uint64_t want;
	int rc, expect;
	int k;

	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 10);
	assert_int_equal(journal_sync(j), 0);
	append_n(j, 11, 10);
	switch (which) {
	case 0: fail_pwrite = EIO; expect = -EIO; break;
	case 1: fail_pwrite = ENOSPC; expect = -ENOSPC; break;
	case 2: short_pwrite = 100; fail_pwrite = ENOSPC; expect = -ENOSPC;
		break;
	default: fail_fdatasync = EIO; expect = -EIO; break;
	}
	rc = journal_sync(j);
	assert_int_equal(rc, expect);
	assert_int_equal(journal_durable_seq(j), 10);
	assert_int_equal(journal_last_seq(j), 20);
	assert_int_equal(journal_failed(j), expect);
	rec_fill(&r, 99);
	assert_int_equal(journal_append(j, &r), -1);
	assert_int_equal(errno, -expect);
	/* still failing: still nothing */
	assert_int_equal(journal_sync(j), expect);
	assert_int_equal(journal_durable_seq(j), 10);

	inject_clear();
	n_pwrite = n_fdatasync = 0;
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(n_fdatasync, 1);	/* one batch, one fdatasync */
	assert_int_equal(journal_durable_seq(j), 20);
	assert_int_equal(journal_failed(j), 0);
	append_n(j, 21, 5);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	assert_int_equal(verify_ok(&t), 25);
	assert_non_null(it = journal_iter_open(t.path, 1, err, sizeof(err)));
	for (want = 1; (k = journal_iter_next(it, &r, err, sizeof(err))) == 1;
	    want++) {
		char cred[32];
		snprintf(cred, sizeof(cred), "badge-%08llu",
		    (unsigned long long)want);
		assert_int_equal(r.seq, want);
		assert_string_equal(r.cred, cred);
	}
	assert_int_equal(k, 0);
	assert_int_equal(want, 26);
	journal_iter_close(it);
	tdir_remove(&t);
}

static void
test_fail_pwrite_eio(void **state)
{
	(void)state;
	fail_case(0);
}

static void
test_fail_pwrite_enospc(void **state)
{
	(void)state;
	fail_case(1);
}

static void
test_fail_partial_write(void **state)
{
	(void)state;
	fail_case(2);
}

static void
test_fail_fdatasync(void **state)
{
	(void)state;
	fail_case(3);
}

/* Rotation needs a new file, an fsync and a directory fsync; if those
 * fail the batch stays buffered and a retry completes it. */
static void
test_fail_rotation(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_opts o = { .segment_bytes = 2048 };
	size_t segs;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	append_n(j, 1, 20);
	assert_int_equal(journal_sync(j), 0);
	segs = tdir_count(&t, ".jnl");
	append_n(j, 21, 5);
	fail_fsync = EIO;
	assert_int_equal(journal_sync(j), -EIO);
	assert_int_equal(journal_durable_seq(j), 20);
	assert_int_equal(tdir_count(&t, ".tmp"), 0);
	inject_clear();
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_durable_seq(j), 25);
	assert_int_equal(tdir_count(&t, ".jnl"), segs + 1);
	journal_close(j);
	assert_int_equal(verify_ok(&t), 25);
	tdir_remove(&t);
}

/* Failure while cutting a damaged tail at open: the open fails, nothing
 * is misread; with the disk back the cut is done and journaled. */
static void
test_fail_during_recovery(void **state)
{
	struct tdir t;
	struct journal *j;
	char path[PATH_MAX + 32], err[256];
	uint8_t *img;
	size_t n;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 3);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	file_write(path, img, n - 7);
	fail_fdatasync = EIO;
	assert_null(journal_open(t.path, "gw", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "cut"));
	inject_clear();
	j = jopen(&t, NULL);
	assert_int_equal(journal_last_seq(j), 3);	/* 1, 2, cut */
	journal_close(j);
	assert_int_equal(verify_ok(&t), 3);
	free(img);
	tdir_remove(&t);
}

static void
test_buffer_full(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_record r;
	unsigned i;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 1000000; i++) {
		memset(r.text, 'a', sizeof(r.text) - 1);
		r.text[sizeof(r.text) - 1] = '\0';
		r.time_us = 0;
		if (journal_append(j, &r) == -1)
			break;
	}
	assert_true(i > 1000 && i < 1000000);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(journal_sync(j), 0);
	assert_int_equal(journal_durable_seq(j), i);
	assert_int_equal(journal_append(j, &r), 0);
	journal_close(j);	/* syncs the last one */
	assert_int_equal(verify_ok(&t), i + 1);
	tdir_remove(&t);
}

static void
test_second_writer_refused(void **state)
{
	struct tdir t;
	struct journal *j;
	char err[256] = "";

	(void)state;
	tdir_make(&t);
	j = jopen(&t, NULL);
	assert_null(journal_open(t.path, "gw2", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	journal_close(j);
	tdir_remove(&t);
}

static void
test_verify_empty_dir(void **state)
{
	struct tdir t;
	char err[256] = "";
	uint64_t count, bad;

	(void)state;
	tdir_make(&t);
	assert_int_equal(journal_verify(t.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no journal segments"));
	tdir_remove(&t);
}

/* An independent reading of docs/journal-format.md: bitwise CRC32C with
 * the standard check value, SHA-256 over the raw body, the chain. If the
 * writer (or its hardware CRC path) drifts from the document, this fails. */
static uint32_t
ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static uint32_t
le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
test_format_conformance(void **state)
{
	struct tdir t;
	struct journal *j;
	char path[PATH_MAX + 32];
	uint8_t *img, prev[32] = { 0 }, h[32], lenb[4];
	size_t n, o;
	uint64_t seq = 1, v;

	(void)state;
	assert_int_equal(ref_crc32c(0, (const uint8_t *)"123456789", 9),
	    0xe3069283u);
	tdir_make(&t);
	j = jopen(&t, NULL);
	append_n(j, 1, 30);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&t, 1, path, sizeof(path));
	img = file_read(path, &n);
	assert_true(n > 128);
	assert_memory_equal(img, "GWJNLSG1", 8);
	assert_int_equal(le32(img + 8), 1);
	assert_int_equal(le32(img + 12), 128);
	assert_int_equal(le32(img + 124), ref_crc32c(0, img, 124));
	assert_memory_equal(img + 32, prev, 32);	/* genesis anchor */
	for (o = 128; o < n; seq++) {
		uint32_t len = le32(img + o + 4);
		const uint8_t *b = img + o + 12;

		assert_int_equal(le32(img + o), 0x314a5747u);
		assert_true(len >= 113 && len <= 1004 && o + 12 + len <= n);
		memcpy(lenb, img + o + 4, 4);
		assert_int_equal(le32(img + o + 8),
		    ref_crc32c(ref_crc32c(0, lenb, 4), b, len));
		assert_memory_equal(b, prev, 32);
		assert_int_equal(b[32], 1);
		v = 0;
		for (int i = 7; i >= 0; i--)
			v = v << 8 | b[33 + i];
		assert_int_equal(v, seq);
		assert_int_equal(mbedtls_sha256_ret(b, len - 32, h, 0), 0);
		assert_memory_equal(b + len - 32, h, 32);
		memcpy(prev, h, 32);
		o += 12 + len;
	}
	assert_int_equal(o, n);
	assert_int_equal(seq, 31);
	free(img);
	tdir_remove(&t);
}

/* A record from another journal with the right seq, valid CRC and hash:
 * only the chain (prev) can tell. Verify names it. */
static void
test_verify_spliced_record(void **state)
{
	struct tdir a, b;
	struct journal *j;
	char pa[PATH_MAX + 32], pb[PATH_MAX + 32], err[256];
	uint8_t *ia, *ib, *out;
	size_t na, nb, oa[16], ob[16], la, lb, no;
	uint64_t count, bad;
	struct journal_record r;

	(void)state;
	tdir_make(&a);
	tdir_make(&b);
	j = jopen(&a, NULL);
	append_n(j, 1, 10);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	j = jopen(&b, NULL);
	rec_fill(&r, 1000);	/* B differs from record 1 on */
	assert_int_equal(journal_append(j, &r), 0);
	append_n(j, 2, 9);
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);
	seg_path(&a, 1, pa, sizeof(pa));
	seg_path(&b, 1, pb, sizeof(pb));
	ia = file_read(pa, &na);
	ib = file_read(pb, &nb);
	assert_int_equal(frame_offsets(ia, na, oa, 16), 10);
	assert_int_equal(frame_offsets(ib, nb, ob, 16), 10);
	/* A's frames 1-6, B's frame 7, A's frames 8-10 */
	la = oa[7] - oa[6];
	lb = ob[7] - ob[6];
	assert_non_null(out = malloc(na + lb));
	memcpy(out, ia, oa[6]);
	memcpy(out + oa[6], ib + ob[6], lb);
	memcpy(out + oa[6] + lb, ia + oa[7], na - oa[7]);
	no = na - la + lb;
	file_write(pa, out, no);
	assert_int_equal(journal_verify(a.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_int_equal(bad, 7);
	assert_int_equal(count, 6);
	assert_non_null(strstr(err, "chain"));
	free(ia);
	free(ib);
	free(out);
	tdir_remove(&a);
	tdir_remove(&b);
}

/* A later segment whose header is re-signed with a wrong anchor (a
 * segment replaced wholesale) breaks at its first seq. */
static void
test_verify_segment_anchor(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_opts o = { .segment_bytes = 2048 };
	char path[PATH_MAX + 32], err[256];
	uint8_t *img;
	size_t n;
	uint64_t count, bad, first = 0;
	uint32_t c;

	(void)state;
	tdir_make(&t);
	j = jopen(&t, &o);
	for (unsigned i = 1; i <= 40; i += 10) {
		append_n(j, i, 10);
		assert_int_equal(journal_sync(j), 0);
	}
	journal_close(j);
	for (uint64_t s = 2; s <= 40 && first == 0; s++) {
		seg_path(&t, s, path, sizeof(path));
		if (access(path, F_OK) == 0)
			first = s;
	}
	assert_true(first > 1);
	img = file_read(path, &n);
	img[40] ^= 0x80;		/* inside the anchor */
	c = ref_crc32c(0, img, 124);
	img[124] = c; img[125] = c >> 8; img[126] = c >> 16; img[127] = c >> 24;
	file_write(path, img, n);
	assert_int_equal(journal_verify(t.path, &count, &bad, err,
	    sizeof(err)), -1);
	assert_int_equal(bad, first);
	assert_int_equal(count, first - 1);
	assert_non_null(strstr(err, "anchor"));
	free(img);
	tdir_remove(&t);
}

/* kill -9 at a random moment, many times: every record whose sync was
 * acknowledged (the "effect") is there after reopen, the journal verifies,
 * and a torn batch, if any, was cut and journaled. */
static void
test_kill9_keeps_acknowledged(void **state)
{
	struct tdir t;
	struct journal *j;
	struct journal_iter *it;
	struct journal_record r;
	struct journal_opts o = { .segment_bytes = 256 * 1024 };
	char err[256], want[64];
	uint64_t acked, got, seq;
	int fds[2], status, k;
	unsigned cuts = 0;
	pid_t pid;

	(void)state;
	srandom(12345);
	for (int round = 0; round < 12; round++) {
		tdir_make(&t);
		assert_int_equal(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			uint64_t d;
			close(fds[0]);
			if ((j = journal_open(t.path, "gw-kill", &o, err,
			    sizeof(err))) == NULL)
				_exit(2);
			for (unsigned i = 1;; ) {
				/* batches big enough for a kill to tear one */
				unsigned n = 1 + (unsigned)random() % 3000;
				for (unsigned k2 = 0; k2 < n; k2++, i++) {
					memset(&r, 0, sizeof(r));
					snprintf(r.type, sizeof(r.type),
					    "decision");
					snprintf(r.cred, sizeof(r.cred), "c%u",
					    i);
					memset(r.text, 'k', 200);
					if (journal_append(j, &r) != 0)
						_exit(3);
				}
				if (journal_sync(j) != 0)
					_exit(4);
				d = journal_durable_seq(j);
				if (write(fds[1], &d, sizeof(d)) != sizeof(d))
					_exit(5);
			}
		}
		assert_true(pid > 0);
		close(fds[1]);
		usleep(20000 + (useconds_t)(random() % 200000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		acked = 0;
		while (read(fds[0], &got, sizeof(got)) == sizeof(got))
			acked = got;
		close(fds[0]);

		j = jopen(&t, &o);
		assert_true(journal_last_seq(j) >= acked);
		journal_close(j);
		verify_ok(&t);
		assert_non_null(it = journal_iter_open(t.path, 1, err,
		    sizeof(err)));
		for (seq = 1; (k = journal_iter_next(it, &r, err,
		    sizeof(err))) == 1; seq++) {
			assert_int_equal(r.seq, seq);
			if (strcmp(r.type, "cut") == 0) {
				cuts++;
				assert_true(seq > acked);
				continue;
			}
			snprintf(want, sizeof(want), "c%llu",
			    (unsigned long long)seq);
			assert_string_equal(r.cred, want);
		}
		assert_int_equal(k, 0);
		assert_true(seq - 1 >= acked);
		journal_iter_close(it);
		tdir_remove(&t);
	}
	print_message("kill -9: 12 rounds, %u torn tails cut\n", cuts);
}

static void
test_format_json(void **state)
{
	struct journal_record r;
	char buf[4096], small[16];
	size_t n;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seq = 42;
	r.time_us = 1700000000123456LL;
	snprintf(r.type, sizeof(r.type), "decision");
	snprintf(r.holder, sizeof(r.holder), "A \"q\" \\ b\x01\x1f\x7f");
	/* é in UTF-8 passes; a lone 0xff and a truncated sequence do not */
	snprintf(r.text, sizeof(r.text), "caf\xc3\xa9 \xff x\xe2\x82");
	snprintf(r.gate, sizeof(r.gate), "g\n1");
	r.prev[0] = 0xab;
	r.hash[31] = 0x01;
	n = journal_format_json(&r, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "{\"seq\":42,\"time\":"
	    "\"2023-11-14T22:13:20.123456Z\",\"time_us\":1700000000123456,"));
	assert_non_null(strstr(buf,
	    "\"holder\":\"A \\\"q\\\" \\\\ b\\u0001\\u001f\\u007f\""));
	assert_non_null(strstr(buf,
	    "\"text\":\"caf\xc3\xa9 \\u00ff x\\u00e2\\u0082\""));
	assert_non_null(strstr(buf, "\"gate\":\"g\\u000a1\""));
	assert_non_null(strstr(buf, "\"prev\":\"ab000000"));
	assert_non_null(strstr(buf, "01\"}\n"));
	assert_int_equal(buf[n - 1], '\n');
	for (size_t i = 0; i + 1 < n; i++)	/* one line, no raw controls */
		assert_true((unsigned char)buf[i] >= 0x20);
	/* snprintf-like: truncated, terminated, full length returned */
	assert_int_equal(journal_format_json(&r, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(journal_format_json(&r, NULL, 0), n);
}

static void
test_format_csv(void **state)
{
	struct journal_record r;
	char buf[4096];
	size_t n, commas = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.time_us = 0;
	snprintf(r.type, sizeof(r.type), "alarm");
	snprintf(r.holder, sizeof(r.holder), "Doe, \"JD\"");
	snprintf(r.text, sizeof(r.text), "two\r\nlines");
	snprintf(r.gate, sizeof(r.gate), "plain");
	n = journal_format_csv(&r, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_non_null(strstr(buf, "7,1970-01-01T00:00:00.000000Z,0,alarm,,"
	    "plain,"));
	assert_non_null(strstr(buf, ",\"Doe, \"\"JD\"\"\","));
	assert_non_null(strstr(buf, ",\"two\r\nlines\","));
	assert_int_equal(memcmp(buf + n - 2, "\r\n", 2), 0);
	for (const char *p = journal_csv_header; *p; p++)
		commas += *p == ',';
	assert_int_equal(commas, 19);
	assert_int_equal(memcmp(journal_csv_header + strlen(journal_csv_header)
	    - 2, "\r\n", 2), 0);
	/* negative time before the epoch formats sanely */
	r.time_us = -1;
	journal_format_csv(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "1969-12-31T23:59:59.999999Z,-1,"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_sync_reopen_iterate),
		cmocka_unit_test(test_truncates_long_strings),
		cmocka_unit_test(test_verify_names_damaged_seq),
		cmocka_unit_test(test_verify_detects_reorder),
		cmocka_unit_test(test_torn_tail_every_offset),
		cmocka_unit_test(test_garbage_tail),
		cmocka_unit_test(test_rotation_many_records),
		cmocka_unit_test(test_verify_missing_segment),
		cmocka_unit_test(test_retention_by_size),
		cmocka_unit_test(test_retention_by_age),
		cmocka_unit_test(test_fail_pwrite_eio),
		cmocka_unit_test(test_fail_pwrite_enospc),
		cmocka_unit_test(test_fail_partial_write),
		cmocka_unit_test(test_fail_fdatasync),
		cmocka_unit_test(test_fail_rotation),
		cmocka_unit_test(test_fail_during_recovery),
		cmocka_unit_test(test_buffer_full),
		cmocka_unit_test(test_second_writer_refused),
		cmocka_unit_test(test_verify_empty_dir),
		cmocka_unit_test(test_format_conformance),
		cmocka_unit_test(test_verify_spliced_record),
		cmocka_unit_test(test_verify_segment_anchor),
		cmocka_unit_test(test_kill9_keeps_acknowledged),
		cmocka_unit_test(test_format_json),
		cmocka_unit_test(test_format_csv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
