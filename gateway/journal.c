/*
 * journal.c — the audit journal: hash-chained records in segment files,
 * group-committed with one write and one fdatasync per batch.
 *
 * Owns: every file in the journal directory (segments NNN.jnl, their
 * temporary twins while being created, and the .cut-OFFSET files that keep
 * the bytes a recovery cut). Trusts nothing it reads back: every frame is
 * checked (magic, length, CRC32C, canonical body, sequence, chain, hash)
 * before a single field is believed. The format is in docs/journal-format.md.
 *
 * Threads: one appender (the event loop) and one syncer (the commit writer)
 * may run at once. j->mu guards the open buffer and the counters; the
 * buffer being written ("flight") and the segment file belong to whoever
 * holds j->sync_mu, so the disk I/O never holds up journal_append.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "gateway/journal.h"

#define SEG_MAGIC	"GWJNLSG1"
#define SEG_VERSION	1
#define SEG_HDR_SIZE	128
#define FRAME_MAGIC	0x314a5747u	/* "GWJ1" little-endian */
#define FRAME_HDR_SIZE	12
#define BODY_VERSION	1
#define NSTR		14
#define BODY_FIXED	(32 + 1 + 8 + 8 + 4 + 2 * NSTR + 32)
#define BODY_MAX	(BODY_FIXED + 891)	/* 891 = sum of string sizes - 1 */
#define FRAME_MAX	(FRAME_HDR_SIZE + BODY_MAX)
#ifdef FUZZING
#define BUF_CAP		(64u << 10)	/* keep journal_open cheap per input */
#else
#define BUF_CAP		(8u << 20)	/* per buffer: ~30,000 records */
#endif
#define DEFAULT_SEGMENT	(64ull << 20)

/*
 * Fuzz builds only: a checksum or hash mismatch is not fatal, so mutated
 * inputs reach the body parser and the chain and recovery logic behind
 * these gates (as zlib/libpng fuzzers do). Every other check stays.
 */
#ifdef FUZZING
#define FUZZ_LENIENT	1
#else
#define FUZZ_LENIENT	0
#endif
#define SEG_NAME_LEN	24		/* 20 digits + ".jnl" */

/* The string fields in canonical order; the order is part of the format. */
static const struct strfield {
	const char	*name;
	size_t		 off, size;
} strfields[NSTR] = {
#define F(x) { #x, offsetof(struct journal_record, x), \
	    sizeof(((struct journal_record *)0)->x) }
	F(type), F(gateway), F(gate), F(zone_from), F(zone_to), F(cred),
	F(holder), F(decision), F(reason), F(rule), F(mode), F(policy),
	F(actor), F(text),
#undef F
};

struct jbuf {
	uint8_t		*p;
	size_t		 len;
	uint64_t	 first_seq, last_seq;
	uint8_t		 first_prev[32], last_hash[32];
};

struct journal {
	pthread_mutex_t	 mu;		/* open, last_*, failed, durable_seq */
	pthread_mutex_t	 sync_mu;	/* flight, fd, seg_*: one sync at once */
	char		*dir;
	int		 dirfd;
	char		 gateway[32];
	struct journal_opts opts;

	struct jbuf	 open;		/* appended, not yet handed to a sync */
	uint64_t	 last_seq;	/* atomic reads: see journal_last_seq */
	uint8_t		 last_hash[32];
	int		 failed;	/* -errno of the last failed sync, or 0 */
	uint64_t	 durable_seq;
	uint64_t	 syncs;		/* successful batches, for statistics */

	struct jbuf	 flight;	/* being written; kept on failure */
	int		 fd;		/* current segment */
	uint64_t	 seg_first;
	uint64_t	 seg_size;	/* durable bytes in the current segment */
	uint8_t		 durable_hash[32];
};

struct journal_iter {
	char		*dir;
	uint64_t	*segs;
	size_t		 nseg, segi;
	FILE		*f;
	char		 name[SEG_NAME_LEN + 1];
	uint64_t	 off;
	uint64_t	 next_seq;	/* seq the next record must carry */
	uint8_t		 prev[32];
	int		 chained;	/* prev/next_seq known from a record */
	uint64_t	 from;
	int		 broken;
	/* for journal_verify's summary */
	uint64_t	 first_seq;
	uint8_t		 anchor[32];
	int		 anchored;
};

/* ---- little helpers ---- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v; p[1] = v >> 8;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static uint16_t
get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t crc_table[256];
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__)
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
/* The SSE4.2 crc32 instruction computes exactly CRC32C. */
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = crc, v;

	while (n >= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	crc = (uint32_t)c;
	while (n--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

/* CRC32C (Castagnoli), continued from crc (start with 0). */
static uint32_t
crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc32c_hw(crc, p, n);
#endif
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	/* mbedtls_sha256_ret cannot fail for the software implementation. */
	(void)mbedtls_sha256_ret(p, n, out, 0);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
seg_name(uint64_t first, char out[SEG_NAME_LEN + 1])
{
	snprintf(out, SEG_NAME_LEN + 1, "%020llu.jnl",
	    (unsigned long long)first);
}

/* 20 decimal digits then ".jnl", nothing else: returns the first seq. */
static int
seg_parse_name(const char *name, uint64_t *first)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strcmp(name + 20, ".jnl") != 0)
		return -1;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (name[i] - '0')) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	*first = v;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The segments in dir, sorted by first seq. 0, or -1 with errno. */
static int
seg_list(const char *dir, uint64_t **out, size_t *nout)
{
	DIR *d;
	struct dirent *de;
	uint64_t *v = NULL, *nv, first;
	size_t n = 0, cap = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (seg_parse_name(de->d_name, &first) == -1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = first;
	}
	if (errno != 0) {
		int e = errno;
		free(v);
		closedir(d);
		errno = e;
		return -1;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_u64);
	*out = v;
	*nout = n;
	return 0;
}

static void
seg_header_build(uint8_t h[SEG_HDR_SIZE], uint64_t first,
    const uint8_t anchor[32], const char *gateway)
{
	memset(h, 0, SEG_HDR_SIZE);
	memcpy(h, SEG_MAGIC, 8);
	put32(h + 8, SEG_VERSION);
	put32(h + 12, SEG_HDR_SIZE);
	put64(h + 16, first);
	put64(h + 24, (uint64_t)now_us());
	memcpy(h + 32, anchor, 32);
	memcpy(h + 64, gateway, strnlen(gateway, 31));
	put32(h + 124, crc32c(0, h, 124));
}

/* Check a header read from the file named `first`; fills anchor. */
static int
seg_header_check(const uint8_t h[SEG_HDR_SIZE], uint64_t first,
    uint8_t anchor[32], char *why, size_t whylen)
{
	if (memcmp(h, SEG_MAGIC, 8) != 0) {
		snprintf(why, whylen, "not a journal segment (bad magic)");
		return -1;
	}
	if (get32(h + 124) != crc32c(0, h, 124)) {
		snprintf(why, whylen, "segment header checksum mismatch");
		return -1;
	}
	if (get32(h + 8) != SEG_VERSION || get32(h + 12) != SEG_HDR_SIZE) {
		snprintf(why, whylen, "unsupported segment version %u",
		    get32(h + 8));
		return -1;
	}
	if (get64(h + 16) != first || first == 0) {
		snprintf(why, whylen, "header says first seq %llu, name says "
		    "%llu", (unsigned long long)get64(h + 16),
		    (unsigned long long)first);
		return -1;
	}
	memcpy(anchor, h + 32, 32);
	return 0;
}

/* ---- the record body ---- */

/* Canonical body of r (with r->prev, r->seq set) into out; fills r->hash
 * and its copy at the end of the body. Returns the body length. */
static size_t
body_build(struct journal_record *r, uint8_t *out)
{
	uint8_t *p = out;

	memcpy(p, r->prev, 32); p += 32;
	*p++ = BODY_VERSION;
	put64(p, r->seq); p += 8;
	put64(p, (uint64_t)r->time_us); p += 8;
	put32(p, r->flags); p += 4;
	for (size_t i = 0; i < NSTR; i++) {
		const char *s = (const char *)r + strfields[i].off;
		size_t n = strlen(s);
		put16(p, (uint16_t)n); p += 2;
		memcpy(p, s, n); p += n;
	}
	sha256(out, (size_t)(p - out), r->hash);
	memcpy(p, r->hash, 32); p += 32;
	return (size_t)(p - out);
}

void
journal_rehash(const struct journal_record *r, uint8_t out[32])
{
	struct journal_record c = *r;
	uint8_t body[BODY_MAX];

	/* the copy's strings may be unterminated at full length: re-cut */
	for (size_t i = 0; i < NSTR; i++)
		((char *)&c + strfields[i].off)[strfields[i].size - 1] = '\0';
	(void)body_build(&c, body);
	memcpy(out, c.hash, 32);
}

/* Parse and check a body: canonical layout and its own hash. */
static int
body_parse(const uint8_t *b, size_t n, struct journal_record *r, char *why,
    size_t whylen)
{
	const uint8_t *p = b, *end = b + n;
	uint8_t h[32];

	memset(r, 0, sizeof(*r));
	if (n < BODY_FIXED || n > BODY_MAX) {
		snprintf(why, whylen, "body length %zu out of range", n);
		return -1;
	}
	memcpy(r->prev, p, 32); p += 32;
	if (*p++ != BODY_VERSION) {
		snprintf(why, whylen, "unknown record version %u", p[-1]);
		return -1;
	}
	r->seq = get64(p); p += 8;
	r->time_us = (int64_t)get64(p); p += 8;
	r->flags = get32(p); p += 4;
	for (size_t i = 0; i < NSTR; i++) {
		char *s = (char *)r + strfields[i].off;
		size_t len;

		if (end - p < 2 + 32) {
			snprintf(why, whylen, "body truncated in field %s",
			    strfields[i].name);
			return -1;
		}
		len = get16(p); p += 2;
		if (len >= strfields[i].size || (size_t)(end - p) < len + 32) {
			snprintf(why, whylen, "field %s length %zu invalid",
			    strfields[i].name, len);
			return -1;
		}
		if (memchr(p, '\0', len) != NULL) {
			snprintf(why, whylen, "field %s contains NUL",
			    strfields[i].name);
			return -1;
		}
		memcpy(s, p, len);
		s[len] = '\0';
		p += len;
	}
	if (end - p != 32) {
		snprintf(why, whylen, "%td trailing bytes in body",
		    end - p - 32);
		return -1;
	}
	memcpy(r->hash, p, 32);
	sha256(b, n - 32, h);
	if (memcmp(h, r->hash, 32) != 0 && !FUZZ_LENIENT) {
		snprintf(why, whylen, "record hash mismatch");
		return -1;
	}
	return 0;
}

/*
 * Read the frame at the current position of f into body: magic, length and
 * CRC checked (frame_read then checks the body, frame_skip only its seq).
 * 1 = a frame, 0 = clean end of file, -1 = damage.
 */
static int
frame_next(FILE *f, uint8_t *body, size_t *blen, char *why, size_t whylen)
{
	uint8_t h[FRAME_HDR_SIZE];
	size_t got, n;

	got = fread(h, 1, sizeof(h), f);
	if (got == 0 && feof(f))
		return 0;
	if (got != sizeof(h)) {
		snprintf(why, whylen, ferror(f) ? "read error" :
		    "torn frame header (%zu of %d bytes)", got, FRAME_HDR_SIZE);
		return -1;
	}
	if (get32(h) != FRAME_MAGIC) {
		snprintf(why, whylen, "bad frame magic");
		return -1;
	}
	n = get32(h + 4);
	if (n < BODY_FIXED || n > BODY_MAX) {
		snprintf(why, whylen, "frame length %zu out of range", n);
		return -1;
	}
	got = fread(body, 1, n, f);
	if (got != n) {
		snprintf(why, whylen, ferror(f) ? "read error" :
		    "torn frame (%zu of %zu body bytes)", got, n);
		return -1;
	}
	if (crc32c(crc32c(0, h + 4, 4), body, n) != get32(h + 8) &&
	    !FUZZ_LENIENT) {
		snprintf(why, whylen, "frame checksum mismatch");
		return -1;
	}
	*blen = n;
	return 1;
}

static int
frame_read(FILE *f, uint8_t *body, size_t *blen, struct journal_record *r,
    char *why, size_t whylen)
{
	int k = frame_next(f, body, blen, why, whylen);

	if (k != 1)
		return k;
	return body_parse(body, *blen, r, why, whylen) == 0 ? 1 : -1;
}

/* ---- writing ---- */

static int
fsync_dir(struct journal *j)
{
	return fsync(j->dirfd) == -1 ? -errno : 0;
}

/*
 * Create segment `first` with the given anchor: write the header to a
 * temporary file, fsync it, rename it into place, fsync the directory, so
 * a segment either exists whole or not at all. Returns the fd or -errno.
 */
static int
seg_create(struct journal *j, uint64_t first, const uint8_t anchor[32])
{
	char name[SEG_NAME_LEN + 1], tmp[SEG_NAME_LEN + 8];
	uint8_t h[SEG_HDR_SIZE];
	ssize_t w;
	int fd, e;

	seg_name(first, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	seg_header_build(h, first, anchor, j->gateway);
	(void)unlinkat(j->dirfd, tmp, 0);
	fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640);
	if (fd == -1)
		return -errno;
	w = pwrite(fd, h, sizeof(h), 0);
	if (w != (ssize_t)sizeof(h)) {
		e = w == -1 ? errno : ENOSPC;
		goto fail;
	}
	if (fsync(fd) == -1 || renameat(j->dirfd, tmp, j->dirfd, name) == -1) {
		e = errno;
		goto fail;
	}
	if ((e = -fsync_dir(j)) != 0) {
		/* the name may or may not be durable: take it back */
		(void)unlinkat(j->dirfd, name, 0);
		close(fd);
		return -e;
	}
	return fd;
fail:
	close(fd);
	(void)unlinkat(j->dirfd, tmp, 0);
	return -e;
}

/*
 * Delete the oldest segments beyond retain_bytes / retain_days, oldest
 * first and stopping at the first one kept, so what remains is contiguous;
 * never the current one. Failures only mean the files stay.
 */
static void
journal_retain(struct journal *j)
{
	uint64_t *segs, total = 0, *sizes;
	time_t *mtimes;
	size_t n, i;
	char name[SEG_NAME_LEN + 1];
	struct stat st;
	time_t cutoff;
	int removed = 0;

	if (j->opts.retain_bytes == 0 && j->opts.retain_days <= 0)
		return;
	if (seg_list(j->dir, &segs, &n) == -1)
		return;
	sizes = calloc(n ? n : 1, sizeof(*sizes));
	mtimes = calloc(n ? n : 1, sizeof(*mtimes));
	if (sizes == NULL || mtimes == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		seg_name(segs[i], name);
		if (fstatat(j->dirfd, name, &st, 0) == -1)
			goto out;
		sizes[i] = (uint64_t)st.st_size;
		mtimes[i] = st.st_mtim.tv_sec;
		total += sizes[i];
	}
	cutoff = j->opts.retain_days > 0 && j->opts.retain_days < 1000000 ?
	    time(NULL) - (time_t)(j->opts.retain_days * 86400) : 0;
	for (i = 0; i + 1 < n && segs[i] < j->seg_first; i++) {
		int big = j->opts.retain_bytes && total > j->opts.retain_bytes;
		int old = j->opts.retain_days > 0 && mtimes[i] < cutoff;

		if (!big && !old)
			break;
		seg_name(segs[i], name);
		if (unlinkat(j->dirfd, name, 0) == -1)
			break;
		total -= sizes[i];
		removed = 1;
	}
	if (removed)
		(void)fsync_dir(j);
out:
	free(sizes);
	free(mtimes);
	free(segs);
}

/* Rotate if the current segment is full: the next one starts with the
 * first record of the flight, anchored on the last durable hash. */
static int
journal_rotate(struct journal *j)
{
	int fd;

	if (j->seg_size < j->opts.segment_bytes ||
	    j->seg_size <= SEG_HDR_SIZE || j->flight.len == 0)
		return 0;
	if ((fd = seg_create(j, j->flight.first_seq, j->durable_hash)) < 0)
		return fd;
	close(j->fd);
	j->fd = fd;
	j->seg_first = j->flight.first_seq;
	j->seg_size = SEG_HDR_SIZE;
	journal_retain(j);
	return 0;
}

/*
 * Write the flight at the durable end of the segment and fdatasync it.
 * pwrite at a fixed offset makes a retry rewrite the same bytes in the same
 * place, whatever a failed attempt left behind; and the whole batch is
 * rewritten before the next fdatasync because after a failed fsync Linux
 * may have dropped the dirty pages while reporting the next fsync clean.
 */
static int
journal_write_flight(struct journal *j)
{
	size_t off = 0;
	ssize_t w;
	int rc;

	if ((rc = journal_rotate(j)) < 0)
		return rc;
	while (off < j->flight.len) {
		w = pwrite(j->fd, j->flight.p + off, j->flight.len - off,
		    (off_t)(j->seg_size + off));
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		if (w == 0)
			return -ENOSPC;
		off += (size_t)w;
	}
	while ((rc = fdatasync(j->fd)) == -1 && errno == EINTR)
		;
	if (rc == -1)
		return -errno;
	j->seg_size += j->flight.len;
	memcpy(j->durable_hash, j->flight.last_hash, 32);
	return 0;
}

int
journal_sync(struct journal *j)
{
	uint64_t target;
	uint8_t *p;
	int rc = 0;

	pthread_mutex_lock(&j->sync_mu);
	pthread_mutex_lock(&j->mu);
	target = j->last_seq;
	for (;;) {
		if (j->flight.len == 0) {
			if (j->open.len == 0 || j->durable_seq >= target)
				break;
			/* swap: the loop keeps appending into the old flight */
			p = j->flight.p;
			j->flight = j->open;
			j->open.p = p;
			j->open.len = 0;
		}
		pthread_mutex_unlock(&j->mu);
		rc = journal_write_flight(j);
		pthread_mutex_lock(&j->mu);
		if (rc < 0) {
			j->failed = rc;
			break;
		}
		__atomic_store_n(&j->durable_seq, j->flight.last_seq,
		    __ATOMIC_RELEASE);
		__atomic_store_n(&j->syncs, j->syncs + 1, __ATOMIC_RELAXED);
		j->flight.len = 0;
		j->failed = 0;
	}
	pthread_mutex_unlock(&j->mu);
	pthread_mutex_unlock(&j->sync_mu);
	return rc;
}

int
journal_append(struct journal *j, struct journal_record *r)
{
	uint8_t *f;
	size_t n;

	pthread_mutex_lock(&j->mu);
	if (j->failed != 0) {
		int e = -j->failed;

		pthread_mutex_unlock(&j->mu);
		errno = e;
		return -1;
	}
	if (j->last_seq == UINT64_MAX) {
		pthread_mutex_unlock(&j->mu);
		errno = EOVERFLOW;	/* never wrap: seq orders the evidence */
		return -1;
	}
	if (BUF_CAP - j->open.len < FRAME_MAX) {
		pthread_mutex_unlock(&j->mu);
		errno = ENOBUFS;
		return -1;
	}
	r->seq = j->last_seq + 1;
	if (r->time_us == 0)
		r->time_us = now_us();
	memcpy(r->gateway, j->gateway, sizeof(r->gateway));
	for (size_t i = 0; i < NSTR; i++) {
		char *s = (char *)r + strfields[i].off;
		s[strnlen(s, strfields[i].size - 1)] = '\0';
	}
	memcpy(r->prev, j->last_hash, 32);

	f = j->open.p + j->open.len;
	n = body_build(r, f + FRAME_HDR_SIZE);
	put32(f, FRAME_MAGIC);
	put32(f + 4, (uint32_t)n);
	put32(f + 8, crc32c(crc32c(0, f + 4, 4), f + FRAME_HDR_SIZE, n));

	if (j->open.len == 0) {
		j->open.first_seq = r->seq;
		memcpy(j->open.first_prev, r->prev, 32);
	}
	j->open.len += FRAME_HDR_SIZE + n;
	j->open.last_seq = r->seq;
	memcpy(j->open.last_hash, r->hash, 32);
	__atomic_store_n(&j->last_seq, r->seq, __ATOMIC_RELEASE);
	memcpy(j->last_hash, r->hash, 32);
	pthread_mutex_unlock(&j->mu);
	return 0;
}

uint64_t
journal_last_seq(const struct journal *j)
{
	return __atomic_load_n(&j->last_seq, __ATOMIC_ACQUIRE);
}

uint64_t
journal_durable_seq(const struct journal *j)
{
	return __atomic_load_n(&j->durable_seq, __ATOMIC_ACQUIRE);
}

uint64_t
journal_sync_count(const struct journal *j)
{
	return __atomic_load_n(&j->syncs, __ATOMIC_RELAXED);
}

const uint8_t *
journal_last_hash(const struct journal *j)
{
	return j->last_hash;
}

int
journal_failed(struct journal *j)
{
	int rc;

	pthread_mutex_lock(&j->mu);
	rc = j->failed;
	pthread_mutex_unlock(&j->mu);
	return rc;
}

/* ---- open and recovery ---- */

/*
 * Keep the bytes a recovery is about to cut in NAME.cut-OFFSET beside the
 * segment: a torn batch is worthless, but a damaged frame followed by good
 * ones is evidence and must not vanish with the truncation.
 */
static int
journal_keep_cut(struct journal *j, int fd, const char *name, uint64_t off,
    uint64_t len, char *kept, size_t keptlen)
{
	char side[SEG_NAME_LEN + 32];
	uint8_t buf[65536];
	uint64_t done = 0;
	ssize_t r, w;
	int out, e = 0;

	/* never overwrite an earlier cut of the same place */
	for (int k = 0; ; k++) {
		if (k == 0)
			snprintf(side, sizeof(side), "%s.cut-%llu", name,
			    (unsigned long long)off);
		else
			snprintf(side, sizeof(side), "%s.cut-%llu.%d", name,
			    (unsigned long long)off, k);
		out = openat(j->dirfd, side, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0640);
		if (out != -1)
			break;
		if (errno != EEXIST || k == 999)
			return -errno;
	}
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done :
		    sizeof(buf);
		r = pread(fd, buf, want, (off_t)(off + done));
		if (r <= 0) {
			e = r == 0 ? EIO : errno;
			break;
		}
		if ((w = write(out, buf, (size_t)r)) != r) {
			e = w == -1 ? errno : ENOSPC;
			break;
		}
		done += (uint64_t)r;
	}
	if (e == 0 && fsync(out) == -1)
		e = errno;
	close(out);
	if (e != 0) {
		(void)unlinkat(j->dirfd, side, 0);
		return -e;
	}
	snprintf(kept, keptlen, "%s", side);
	return fsync_dir(j);
}

/*
 * Scan the last segment: find the end of its valid prefix, the last seq
 * and hash there. Anything after it is cut (kept aside first), and the cut
 * is journaled once the journal is writable.
 */
static int
journal_recover(struct journal *j, const char *name, uint64_t first,
    char *cuttext, size_t cutlen, char *err, size_t errlen)
{
	uint8_t h[SEG_HDR_SIZE], anchor[32], *body = NULL;
	struct journal_record r;
	char why[128] = "", kept[SEG_NAME_LEN + 32] = "";
	uint64_t good, expect;
	struct stat st;
	size_t blen;
	FILE *f = NULL;
	int rc = -1, dfd = -1, k;

	if ((j->fd = openat(j->dirfd, name, O_RDWR | O_CLOEXEC)) == -1 ||
	    fstat(j->fd, &st) == -1) {
		snprintf(err, errlen, "%s/%s: %s", j->dir, name,
		    strerror(errno));
		goto out;
	}
	if (pread(j->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "%s/%s: segment header unreadable or "
		    "short", j->dir, name);
		goto out;
	}
	if (seg_header_check(h, first, anchor, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s/%s: %s; move the segment aside to "
		    "start a new one", j->dir, name, why);
		goto out;
	}
	if ((body = malloc(BODY_MAX)) == NULL ||
	    (dfd = dup(j->fd)) == -1 || (f = fdopen(dfd, "rb")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	dfd = -1;
	if (fseeko(f, SEG_HDR_SIZE, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	good = SEG_HDR_SIZE;
	expect = first;
	memcpy(j->durable_hash, anchor, 32);
	while ((k = frame_read(f, body, &blen, &r, why, sizeof(why))) == 1) {
		if (r.seq != expect) {
			snprintf(why, sizeof(why), "seq %llu where %llu was "
			    "due", (unsigned long long)r.seq,
			    (unsigned long long)expect);
			k = -1;
			break;
		}
		if (memcmp(r.prev, j->durable_hash, 32) != 0) {
			snprintf(why, sizeof(why), "chain broken (prev hash "
			    "mismatch)");
			k = -1;
			break;
		}
		memcpy(j->durable_hash, r.hash, 32);
		good += FRAME_HDR_SIZE + blen;
		expect++;
	}
	j->seg_first = first;
	j->seg_size = good;
	j->last_seq = j->durable_seq = expect - 1;
	memcpy(j->last_hash, j->durable_hash, 32);
	if (k == -1 && ferror(f)) {
		snprintf(err, errlen, "%s/%s: read error", j->dir, name);
		goto out;
	}
	if ((uint64_t)st.st_size > good) {
		uint64_t cut = (uint64_t)st.st_size - good;
		int kr;

		kr = journal_keep_cut(j, j->fd, name, good, cut, kept,
		    sizeof(kept));
		if (ftruncate(j->fd, (off_t)good) == -1 ||
		    fsync(j->fd) == -1) {
			snprintf(err, errlen, "%s/%s: cutting the damaged tail:"
			    " %s", j->dir, name, strerror(errno));
			goto out;
		}
		/* sized to fit: the why is short, the names fixed */
		if (snprintf(cuttext, cutlen, "cut %llu bytes at offset %llu "
		    "of %s after seq %llu (%.80s); %s%s", (unsigned long long)cut,
		    (unsigned long long)good, name,
		    (unsigned long long)(expect - 1),
		    k == -1 ? why : "trailing bytes",
		    kr == 0 ? "kept in " : "not kept: ",
		    kr == 0 ? kept : strerror(-kr)) >= (int)cutlen)
			cuttext[cutlen - 1] = '\0';
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (dfd != -1)
		close(dfd);
	free(body);
	return rc;
}

/* Remove the temporary files a crash during seg_create left behind. */
static void
journal_clean_tmp(struct journal *j)
{
	DIR *d;
	struct dirent *de;
	uint64_t first;
	char base[SEG_NAME_LEN + 1];
	size_t n;

	if ((d = opendir(j->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n != SEG_NAME_LEN + 4 ||
		    strcmp(de->d_name + SEG_NAME_LEN, ".tmp") != 0)
			continue;
		memcpy(base, de->d_name, SEG_NAME_LEN);
		base[SEG_NAME_LEN] = '\0';
		if (seg_parse_name(base, &first) == 0)
			(void)unlinkat(j->dirfd, de->d_name, 0);
	}
	closedir(d);
}

struct journal *
journal_open(const char *dir, const char *gateway_id,
    const struct journal_opts *opts, char *err, size_t errlen)
{
	struct journal *j;
	uint64_t *segs = NULL;
	size_t nseg = 0;
	char name[SEG_NAME_LEN + 1], cuttext[256] = "";
	uint8_t zero[32] = { 0 };
	int fd;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	j->dirfd = j->fd = -1;
	pthread_mutex_init(&j->mu, NULL);
	pthread_mutex_init(&j->sync_mu, NULL);
	snprintf(j->gateway, sizeof(j->gateway), "%s",
	    gateway_id ? gateway_id : "");
	if (opts != NULL)
		j->opts = *opts;
	if (j->opts.segment_bytes == 0)
		j->opts.segment_bytes = DEFAULT_SEGMENT;
	if ((j->dir = strdup(dir)) == NULL ||
	    (j->open.p = malloc(BUF_CAP)) == NULL ||
	    (j->flight.p = malloc(BUF_CAP)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Two writers would fork the chain. */
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "%s: %s", dir, errno == EWOULDBLOCK ?
		    "journal in use by another process" : strerror(errno));
		goto fail;
	}
	journal_clean_tmp(j);
	if (seg_list(dir, &segs, &nseg) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (nseg == 0) {
		if ((fd = seg_create(j, 1, zero)) < 0) {
			snprintf(err, errlen, "%s: creating the first segment: "
			    "%s", dir, strerror(-fd));
			goto fail;
		}
		j->fd = fd;
		j->seg_first = 1;
		j->seg_size = SEG_HDR_SIZE;
	} else {
		seg_name(segs[nseg - 1], name);
		if (journal_recover(j, name, segs[nseg - 1], cuttext,
		    sizeof(cuttext), err, errlen) == -1)
			goto fail;
	}
	free(segs);
	segs = NULL;
	journal_retain(j);
	if (cuttext[0] != '\0') {
		struct journal_record r;
		int rc;

		memset(&r, 0, sizeof(r));
		snprintf(r.type, sizeof(r.type), "cut");
		snprintf(r.text, sizeof(r.text), "%s", cuttext);
		rc = journal_append(j, &r) == -1 ? -errno : journal_sync(j);
		if (rc < 0) {
			snprintf(err, errlen, "%s: journaling the recovery cut: "
			    "%s", dir, strerror(-rc));
			goto fail;
		}
	}
	return j;
fail:
	free(segs);
	journal_close(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	/* Best effort: a record appended is better written than lost. */
	if (j->fd != -1 && journal_last_seq(j) > journal_durable_seq(j))
		(void)journal_sync(j);
	if (j->fd != -1)
		close(j->fd);
	if (j->dirfd != -1)
		close(j->dirfd);	/* drops the flock */
	pthread_mutex_destroy(&j->mu);
	pthread_mutex_destroy(&j->sync_mu);
	free(j->open.p);
	free(j->flight.p);
	free(j->dir);
	free(j);
}

/* ---- reading ---- */

struct journal_iter *
journal_iter_open(const char *dir, uint64_t from_seq, char *err,
    size_t errlen)
{
	struct journal_iter *it;
	size_t i;

	if ((it = calloc(1, sizeof(*it))) == NULL ||
	    (it->dir = strdup(dir)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(it);
		return NULL;
	}
	if (seg_list(dir, &it->segs, &it->nseg) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		journal_iter_close(it);
		return NULL;
	}
	if (it->nseg == 0) {
		snprintf(err, errlen, "%s: no journal segments", dir);
		journal_iter_close(it);
		return NULL;
	}
	/* Start in the last segment that begins at or before from_seq. */
	for (i = 0; i + 1 < it->nseg && it->segs[i + 1] <= from_seq; i++)
		;
	it->segi = i;
	it->from = from_seq;
	return it;
}

static int
iter_fail(struct journal_iter *it, char *err, size_t errlen, const char *why)
{
	if (it->f != NULL)
		snprintf(err, errlen, "%s: offset %llu: %s (seq %llu expected)",
		    it->name, (unsigned long long)it->off, why,
		    (unsigned long long)it->next_seq);
	else
		snprintf(err, errlen, "%s: %s", it->name, why);
	it->broken = 1;
	return -1;
}

/* Open the next segment and check it continues the chain. 1 opened, 0 no
 * more, -1 damage. */
static int
iter_open_seg(struct journal_iter *it, char *err, size_t errlen)
{
	uint8_t h[SEG_HDR_SIZE], anchor[32];
	char path[PATH_MAX], why[160];
	uint64_t first;

	if (it->segi >= it->nseg)
		return 0;
	first = it->segs[it->segi];
	seg_name(first, it->name);
	snprintf(path, sizeof(path), "%s/%s", it->dir, it->name);
	if (!it->chained)
		it->next_seq = first;
	if ((it->f = fopen(path, "rb")) == NULL) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		return iter_fail(it, err, errlen, why);
	}
	if (fread(h, 1, sizeof(h), it->f) != sizeof(h)) {
		fclose(it->f);
		it->f = NULL;
		return iter_fail(it, err, errlen, "segment header short");
	}
	if (seg_header_check(h, first, anchor, why, sizeof(why)) == -1) {
		fclose(it->f);
		it->f = NULL;
		return iter_fail(it, err, errlen, why);
	}
	it->off = SEG_HDR_SIZE;
	if (it->chained) {
		if (first != it->next_seq) {
			snprintf(why, sizeof(why), "segment starts at seq %llu "
			    "but seq %llu is due: records missing",
			    (unsigned long long)first,
			    (unsigned long long)it->next_seq);
			return iter_fail(it, err, errlen, why);
		}
		if (memcmp(anchor, it->prev, 32) != 0)
			return iter_fail(it, err, errlen, "segment anchor does "
			    "not match the previous segment's last hash");
	} else {
		memcpy(it->prev, anchor, 32);
		it->chained = 1;
		if (!it->anchored) {
			it->anchored = 1;
			it->first_seq = first;
			memcpy(it->anchor, anchor, 32);
		}
	}
	return 1;
}

int
journal_iter_next(struct journal_iter *it, struct journal_record *r,
    char *err, size_t errlen)
{
	uint8_t body[BODY_MAX];
	char why[160];
	size_t blen;
	int k;

	if (it->broken) {
		snprintf(err, errlen, "journal damaged; iteration stopped");
		return -1;
	}
	for (;;) {
		if (it->f == NULL) {
			if ((k = iter_open_seg(it, err, errlen)) <= 0)
				return k;
		}
		k = frame_read(it->f, body, &blen, r, why, sizeof(why));
		if (k == 0) {
			fclose(it->f);
			it->f = NULL;
			it->segi++;
			continue;
		}
		if (k == -1)
			return iter_fail(it, err, errlen, why);
		if (r->seq != it->next_seq) {
			snprintf(why, sizeof(why), "record carries seq %llu",
			    (unsigned long long)r->seq);
			return iter_fail(it, err, errlen, why);
		}
		if (memcmp(r->prev, it->prev, 32) != 0)
			return iter_fail(it, err, errlen, "hash chain broken "
			    "(prev does not match the previous record)");
		memcpy(it->prev, r->hash, 32);
		it->next_seq++;
		it->off += FRAME_HDR_SIZE + blen;
		if (r->seq >= it->from)
			return 1;
	}
}

void
journal_iter_close(struct journal_iter *it)
{
	if (it == NULL)
		return;
	if (it->f != NULL)
		fclose(it->f);
	free(it->segs);
	free(it->dir);
	free(it);
}

/*
 * Skip the frame at the current position of f without believing its body:
 * framing and CRC only (the body's layout, hash and chain are not checked;
 * nobody is shown these records). *seq is read from its fixed place in the
 * body. 1 = skipped, 0 = clean end of file, -1 = damage.
 */
static int
frame_skip(FILE *f, uint8_t *body, size_t *blen, uint64_t *seq, char *why,
    size_t whylen)
{
	int k = frame_next(f, body, blen, why, whylen);

	if (k != 1)
		return k;
	if (body[32] != BODY_VERSION) {
		snprintf(why, whylen, "unknown record version %u", body[32]);
		return -1;
	}
	*seq = get64(body + 33);
	return 1;
}

struct journal_iter *
journal_iter_resume(const char *dir, uint64_t seq, const uint8_t hash[32],
    char *err, size_t errlen)
{
	struct journal_iter *it;
	struct journal_record r = { 0 };
	uint8_t body[BODY_MAX];
	char why[160], hx[17], hy[17];
	uint64_t s = 0;
	size_t blen, i;
	int k;

	if (seq == 0) {
		snprintf(err, errlen, "seq 0 is before the first record");
		return NULL;
	}
	if ((it = journal_iter_open(dir, seq, err, errlen)) == NULL)
		return NULL;
	if (it->segs[0] > seq) {
		snprintf(err, errlen, "seq %llu is no longer in the journal "
		    "(the oldest segment starts at seq %llu)",
		    (unsigned long long)seq,
		    (unsigned long long)it->segs[0]);
		goto fail;
	}
	/* journal_iter_open chose the last segment starting at or before seq;
	 * everything before it is never opened */
	if ((k = iter_open_seg(it, err, errlen)) <= 0) {
		if (k == 0)
			snprintf(err, errlen, "no segment holds seq %llu",
			    (unsigned long long)seq);
		goto fail;
	}
	while (it->next_seq < seq) {
		k = frame_skip(it->f, body, &blen, &s, why, sizeof(why));
		if (k == 0)
			break;
		if (k == -1 || s != it->next_seq) {
			if (k == 1)
				snprintf(why, sizeof(why), "record carries seq "
				    "%llu", (unsigned long long)s);
			(void)iter_fail(it, err, errlen, why);
			goto fail;
		}
		it->next_seq++;
		it->off += FRAME_HDR_SIZE + blen;
	}
	k = it->next_seq == seq ? frame_read(it->f, body, &blen, &r, why,
	    sizeof(why)) : 0;
	if (k == 0) {
		/* the segment ended first: a later segment would have to start
		 * at or before seq, and journal_iter_open would have picked it */
		snprintf(err, errlen, "the journal ends at seq %llu, before seq "
		    "%llu", (unsigned long long)(it->next_seq - 1),
		    (unsigned long long)seq);
		goto fail;
	}
	if (k == -1 || r.seq != seq) {
		if (k == 1)
			snprintf(why, sizeof(why), "record carries seq %llu",
			    (unsigned long long)r.seq);
		(void)iter_fail(it, err, errlen, why);
		goto fail;
	}
	if (seq == it->segs[it->segi] && memcmp(r.prev, it->prev, 32) != 0) {
		(void)iter_fail(it, err, errlen, "hash chain broken (prev does "
		    "not match the segment's anchor)");
		goto fail;
	}
	if (memcmp(r.hash, hash, 32) != 0) {
		for (i = 0; i < 8; i++) {
			snprintf(hx + 2 * i, 3, "%02x", r.hash[i]);
			snprintf(hy + 2 * i, 3, "%02x", hash[i]);
		}
		snprintf(err, errlen, "record %llu has hash %s..., not %s...",
		    (unsigned long long)seq, hx, hy);
		goto fail;
	}
	memcpy(it->prev, r.hash, 32);
	it->next_seq = seq + 1;
	it->off += FRAME_HDR_SIZE + blen;
	it->from = seq + 1;
	return it;
fail:
	journal_iter_close(it);
	return NULL;
}

int
journal_verify_summary(const char *dir, struct journal_summary *s,
    char *err, size_t errlen)
{
	return journal_verify_upto(dir, UINT64_MAX, s, err, errlen);
}

int
journal_verify_upto(const char *dir, uint64_t upto, struct journal_summary *s,
    char *err, size_t errlen)
{
	struct journal_iter *it;
	struct journal_record r;
	int k;

	memset(s, 0, sizeof(*s));
	if ((it = journal_iter_open(dir, 0, err, errlen)) == NULL)
		return -1;
	s->segments = it->nseg;
	while ((k = journal_iter_next(it, &r, err, errlen)) == 1) {
		if (s->count++ == 0)
			s->first_seq = r.seq;
		s->last_seq = r.seq;
		memcpy(s->last_hash, r.hash, 32);
		/* a live journal: what lies past the durable seq may be half
		 * written, and is not evidence yet */
		if (r.seq >= upto) {
			k = 0;
			break;
		}
	}
	if (it->anchored) {
		s->anchor_seq = it->first_seq;
		memcpy(s->anchor, it->anchor, 32);
	}
	if (k == -1)
		s->bad_seq = it->next_seq;
	journal_iter_close(it);
	return k == 0 ? 0 : -1;
}

int
journal_verify(const char *dir, uint64_t *count, uint64_t *bad_seq,
    char *err, size_t errlen)
{
	struct journal_summary s;
	int rc;

	rc = journal_verify_summary(dir, &s, err, errlen);
	if (count != NULL)
		*count = s.count;
	if (bad_seq != NULL)
		*bad_seq = s.bad_seq;
	return rc;
}

/* ---- export ---- */

const char journal_csv_header[] = "seq,time,time_us,type,gateway,gate,"
    "zone_from,zone_to,cred,holder,decision,reason,rule,mode,policy,actor,"
    "text,flags,prev,hash\r\n";

struct out {
	char	*buf;
	size_t	 len, n;	/* capacity, length needed so far */
};

static void
out_putc(struct out *o, char c)
{
	if (o->n + 1 < o->len)
		o->buf[o->n] = c;
	o->n++;
}

static void
out_puts(struct out *o, const char *s)
{
	while (*s)
		out_putc(o, *s++);
}

static void
out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	out_puts(o, tmp);
}

static void
out_finish(struct out *o)
{
	if (o->len > 0)
		o->buf[o->n < o->len ? o->n : o->len - 1] = '\0';
}

static void
out_hex(struct out *o, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out_putc(o, hx[p[i] >> 4]);
		out_putc(o, hx[p[i] & 15]);
	}
}

static void
out_time(struct out *o, int64_t us)
{
	struct tm tm;
	time_t t;
	int64_t frac;
	char tmp[64];

	frac = us % 1000000;
	t = (time_t)(us / 1000000);
	if (frac < 0) {
		frac += 1000000;
		t--;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		out_puts(o, "invalid");
		return;
	}
	out_puts(o, tmp);
	out_printf(o, ".%06lldZ", (long long)frac);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; c = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string of at most max bytes; bytes that are not valid UTF-8
 * become \u00XX (read as Latin-1), so the output is always valid JSON and
 * nothing is silently dropped. */
static void
out_json_str(struct out *o, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *end = s + strnlen(str, max);
	unsigned char tmp[4] = { 0 };
	size_t n;

	out_putc(o, '"');
	while (s < end) {
		if (*s == '"' || *s == '\\') {
			out_putc(o, '\\');
			out_putc(o, (char)*s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			out_printf(o, "\\u%04x", *s++);
		} else {
			/* never let utf8_len look past the field */
			memset(tmp, 0, sizeof(tmp));
			memcpy(tmp, s, (size_t)(end - s) < 4 ?
			    (size_t)(end - s) : 4);
			if ((n = utf8_len(tmp)) == 0) {
				out_printf(o, "\\u%04x", *s++);
				continue;
			}
			while (n--)
				out_putc(o, (char)*s++);
		}
	}
	out_putc(o, '"');
}

size_t
journal_format_json(const struct journal_record *r, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	out_printf(&o, "{\"seq\":%llu,\"time\":\"",
	    (unsigned long long)r->seq);
	out_time(&o, r->time_us);
	out_printf(&o, "\",\"time_us\":%lld", (long long)r->time_us);
	for (size_t i = 0; i < NSTR; i++) {
		out_printf(&o, ",\"%s\":", strfields[i].name);
		out_json_str(&o, (const char *)r + strfields[i].off,
		    strfields[i].size);
	}
	out_printf(&o, ",\"flags\":%u,\"prev\":\"", r->flags);
	out_hex(&o, r->prev, 32);
	out_puts(&o, "\",\"hash\":\"");
	out_hex(&o, r->hash, 32);
	out_puts(&o, "\"}\n");
	out_finish(&o);
	return o.n;
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double the
 * quotes inside. */
static void
out_csv_field(struct out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max), i;
	int quote = 0;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = 1;
	if (quote)
		out_putc(o, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			out_putc(o, '"');
		out_putc(o, s[i]);
	}
	if (quote)
		out_putc(o, '"');
}

size_t
journal_format_csv(const struct journal_record *r, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	out_printf(&o, "%llu,", (unsigned long long)r->seq);
	out_time(&o, r->time_us);
	out_printf(&o, ",%lld", (long long)r->time_us);
	for (size_t i = 0; i < NSTR; i++) {
		out_putc(&o, ',');
		out_csv_field(&o, (const char *)r + strfields[i].off,
		    strfields[i].size);
	}
	out_printf(&o, ",%u,", r->flags);
	out_hex(&o, r->prev, 32);
	out_putc(&o, ',');
	out_hex(&o, r->hash, 32);
	out_puts(&o, "\r\n");
	out_finish(&o);
	return o.n;
}
