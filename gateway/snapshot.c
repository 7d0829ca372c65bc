/*
 * snapshot.c — the state snapshot file: encode, check and read it back,
 * write it atomically, and a writer thread so the fsync happens off the
 * event loop.
 *
 * Owns: the snapshot file and its .tmp twin (in the journal directory,
 * under names the journal ignores). Trusts nothing it reads: size, magic,
 * version, header fields and the SHA-256 over the whole content are
 * checked before any of it is decoded, and the decoders check every
 * length again. Whether the snapshot agrees with the journal is the
 * caller's check (journal_iter_resume via state_replay).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "gateway/snapshot.h"
#include "gateway/state.h"

#define SNAP_MAGIC	"GWSNAPS1"
#define SNAP_HDR	256
#define SNAP_TRAILER	32
#define SNAP_MAX	(1ull << 30)	/* refuse to read anything bigger */

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t
snap_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the alarm section ---- */

static size_t
alarm_str(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	put_le(p, n, 2);
	memcpy(p + 2, s, n);
	return 2 + n;
}

#define ALARM_MAX_BYTES	(8 + 3 * 2 + 48 + 32 + 160 + 8 + 1 + 4)

static size_t
alarms_encode(const struct snapshot *s, uint8_t *p)
{
	uint8_t *q = p;

	for (size_t i = 0; i < s->nalarms; i++) {
		const struct snapshot_alarm *a = &s->alarms[i];
		put_le(q, a->id, 8); q += 8;
		q += alarm_str(q, a->gate);
		q += alarm_str(q, a->name);
		q += alarm_str(q, a->detail);
		put_le(q, (uint64_t)a->at, 8); q += 8;
		*q++ = a->active ? 1 : 0;
		put_le(q, a->count, 4); q += 4;
	}
	return (size_t)(q - p);
}

static int
alarm_read_str(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
	size_t n;

	if (end - *p < 2)
		return -1;
	n = (size_t)get_le(*p, 2);
	if (n >= max || (size_t)(end - *p - 2) < n ||
	    memchr(*p + 2, '\0', n) != NULL)
		return -1;
	memcpy(out, *p + 2, n);
	out[n] = '\0';
	*p += 2 + n;
	return 0;
}

static int
alarms_decode(struct snapshot *s, const uint8_t *p, size_t len, size_t n)
{
	const uint8_t *end = p + len;

	if (n > 0 && (s->alarms = calloc(n, sizeof(*s->alarms))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct snapshot_alarm *a = &s->alarms[i];
		if (end - p < 8)
			return -1;
		a->id = get_le(p, 8); p += 8;
		if (alarm_read_str(&p, end, a->gate, sizeof(a->gate)) == -1 ||
		    alarm_read_str(&p, end, a->name, sizeof(a->name)) == -1 ||
		    alarm_read_str(&p, end, a->detail, sizeof(a->detail)) == -1 ||
		    end - p < 13)
			return -1;
		a->at = (int64_t)get_le(p, 8); p += 8;
		if (*p > 1)
			return -1;
		a->active = *p++;
		a->count = (unsigned)get_le(p, 4); p += 4;
		if (a->id == 0 || a->id > s->next_alarm || a->name[0] == '\0')
			return -1;
		s->nalarms++;
	}
	return p == end ? 0 : -1;
}

/* ---- the file ---- */

/*
 * Header (256 bytes, little-endian): magic, version, header size, seq,
 * hash of record seq, policy hash (NUL-padded), mode (NUL-padded),
 * written_us, next_alarm, alarm count, state section length, alarm
 * section length, zeros. Then the two sections, then SHA-256 of all the
 * bytes before it.
 */
int
snapshot_encode(const struct snapshot *s, uint8_t **out, size_t *len)
{
	uint8_t *st = NULL, *buf;
	size_t stlen, allen, total;

	if (strlen(s->policy) >= 65 || strlen(s->mode) >= 32 ||
	    s->nalarms > UINT32_MAX)
		return -1;
	if (state_encode(s->st, &st, &stlen) == -1)
		return -1;
	/* grow the state's buffer rather than copy it into a new one: on the
	 * loop, page faults on megabytes of fresh memory are what costs */
	total = SNAP_HDR + stlen + s->nalarms * ALARM_MAX_BYTES + SNAP_TRAILER;
	if ((buf = realloc(st, total)) == NULL) {
		free(st);
		return -1;
	}
	memmove(buf + SNAP_HDR, buf, stlen);
	memset(buf, 0, SNAP_HDR);
	allen = alarms_encode(s, buf + SNAP_HDR + stlen);
	memcpy(buf, SNAP_MAGIC, 8);
	put_le(buf + 8, SNAPSHOT_VERSION, 4);
	put_le(buf + 12, SNAP_HDR, 4);
	put_le(buf + 16, s->seq, 8);
	memcpy(buf + 24, s->hash, 32);
	memcpy(buf + 56, s->policy, strlen(s->policy));		/* 72 bytes */
	memcpy(buf + 128, s->mode, strlen(s->mode));		/* 32 bytes */
	put_le(buf + 160, (uint64_t)(s->written_us ? s->written_us :
	    snap_now_us()), 8);
	put_le(buf + 168, s->next_alarm, 8);
	put_le(buf + 176, s->nalarms, 4);
	put_le(buf + 180, stlen, 8);
	put_le(buf + 188, allen, 8);
	total = SNAP_HDR + stlen + allen;
	memset(buf + total, 0, SNAP_TRAILER);
	*out = buf;
	*len = total + SNAP_TRAILER;
	return 0;
}

void
snapshot_seal(uint8_t *buf, size_t len)
{
	if (len >= SNAP_TRAILER)
		(void)mbedtls_sha256_ret(buf, len - SNAP_TRAILER,
		    buf + len - SNAP_TRAILER, 0);
}

static int
snap_fail(struct snapshot *s, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	snapshot_clear(s);
	return -1;
}

/* A NUL-padded text field: terminated inside, nothing after the NUL,
 * shorter than out's size. */
static int
snap_text(const uint8_t *p, size_t size, char *out, size_t outsize)
{
	const uint8_t *nul = memchr(p, '\0', size);

	if (nul == NULL || (size_t)(nul - p) >= outsize)
		return -1;
	for (const uint8_t *q = nul; q < p + size; q++)
		if (*q != 0)
			return -1;
	memcpy(out, p, (size_t)(nul - p) + 1);
	return 0;
}

static int
snap_check(const uint8_t *b, size_t len, size_t max_alarms,
    struct snapshot *s, char *err, size_t errlen)
{
	uint8_t h[32];
	uint64_t stlen, allen, n;

	memset(s, 0, sizeof(*s));
	if (len < 12 || memcmp(b, SNAP_MAGIC, 8) != 0)
		return snap_fail(s, err, errlen, "not a gatewayd state snapshot "
		    "(bad magic)");
	if (get_le(b + 8, 4) != SNAPSHOT_VERSION) {
		snprintf(err, errlen, "snapshot format version %u; this "
		    "gatewayd reads version %d", (unsigned)get_le(b + 8, 4),
		    SNAPSHOT_VERSION);
		return -1;
	}
	if (len < SNAP_HDR + SNAP_TRAILER || get_le(b + 12, 4) != SNAP_HDR)
		return snap_fail(s, err, errlen, "truncated (header)");
	stlen = get_le(b + 180, 8);
	allen = get_le(b + 188, 8);
	if (stlen > len || allen > len ||
	    SNAP_HDR + stlen + allen + SNAP_TRAILER != len) {
		snprintf(err, errlen, "size %zu does not match its sections "
		    "(truncated or extended)", len);
		return -1;
	}
	(void)mbedtls_sha256_ret(b, len - SNAP_TRAILER, h, 0);
	if (memcmp(h, b + len - SNAP_TRAILER, 32) != 0)
		return snap_fail(s, err, errlen, "content does not match its "
		    "SHA-256 (damaged)");
	/* whole and as written: from here on a failure is a bug or a
	 * forgery, and is still refused */
	for (size_t i = 196; i < SNAP_HDR; i++)
		if (b[i] != 0)
			return snap_fail(s, err, errlen, "reserved header bytes "
			    "not zero");
	s->seq = get_le(b + 16, 8);
	memcpy(s->hash, b + 24, 32);
	if (s->seq == 0 ||
	    snap_text(b + 56, 72, s->policy, sizeof(s->policy)) == -1 ||
	    snap_text(b + 128, 32, s->mode, sizeof(s->mode)) == -1)
		return snap_fail(s, err, errlen, "bad header field");
	s->written_us = (int64_t)get_le(b + 160, 8);
	s->next_alarm = get_le(b + 168, 8);
	n = get_le(b + 176, 4);
	if (n > max_alarms)
		return snap_fail(s, err, errlen, "more open alarms than the "
		    "daemon keeps");
	if ((s->st = state_new()) == NULL)
		return snap_fail(s, err, errlen, "out of memory");
	if (state_decode(s->st, b + SNAP_HDR, (size_t)stlen, err, errlen) == -1) {
		snapshot_clear(s);
		return -1;
	}
	if (alarms_decode(s, b + SNAP_HDR + stlen, (size_t)allen,
	    (size_t)n) == -1)
		return snap_fail(s, err, errlen, "bad alarm section");
	return 0;
}

int
snapshot_read(const char *path, size_t max_alarms, struct snapshot *s,
    char *err, size_t errlen)
{
	struct stat sb;
	uint8_t *b = NULL;
	size_t got = 0;
	ssize_t k;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > SNAP_MAX) {
		snprintf(err, errlen, "not a regular file of a sane size");
		close(fd);
		return -1;
	}
	if ((b = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (got < (size_t)sb.st_size &&
	    (k = read(fd, b + got, (size_t)sb.st_size - got)) != 0) {
		if (k == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read: %s", strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		got += (size_t)k;
	}
	close(fd);
	rc = snap_check(b, got, max_alarms, s, err, errlen);
	free(b);
	return rc;
}

void
snapshot_clear(struct snapshot *s)
{
	state_free(s->st);
	free(s->alarms);
	s->st = NULL;
	s->alarms = NULL;
	s->nalarms = 0;
}

int
snapshot_write(const char *path, uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	size_t off = 0;
	ssize_t k;
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	/* the same access as the journal segments: it names the same people */
	snapshot_seal(buf, len);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((k = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)k;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	/* the rename is durable only once the directory is */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return -1;
}

/* ---- the writer thread ---- */

struct snapshot_writer {
	char		*path;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop, busy;
	uint8_t		*buf;		/* to write, owned */
	size_t		 len;
	uint64_t	 seq;
	int		 have_result;
	uint64_t	 res_seq;
	int64_t		 res_us;
	char		 res_err[256];
};

static void *
snapshot_writer_main(void *arg)
{
	struct snapshot_writer *w = arg;
	char err[256];
	uint8_t *buf;
	size_t len;
	int64_t t0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->buf == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->buf == NULL)
			break;
		buf = w->buf;
		len = w->len;
		w->buf = NULL;
		pthread_mutex_unlock(&w->mu);

		t0 = snap_now_us();
		err[0] = '\0';
		(void)snapshot_write(w->path, buf, len, err, sizeof(err));
		free(buf);

		pthread_mutex_lock(&w->mu);
		w->have_result = 1;
		w->res_seq = w->seq;
		w->res_us = snap_now_us() - t0;
		snprintf(w->res_err, sizeof(w->res_err), "%s", err);
		w->busy = 0;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct snapshot_writer *
snapshot_writer_new(const char *path)
{
	struct snapshot_writer *w;
	sigset_t all, old;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->path = strdup(path)) == NULL) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* signals belong to the loop thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, snapshot_writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

int
snapshot_writer_put(struct snapshot_writer *w, uint8_t *buf, size_t len,
    uint64_t seq)
{
	pthread_mutex_lock(&w->mu);
	if (w->busy) {
		pthread_mutex_unlock(&w->mu);
		free(buf);
		errno = EBUSY;
		return -1;
	}
	w->busy = 1;
	w->buf = buf;
	w->len = len;
	w->seq = seq;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
snapshot_writer_busy(struct snapshot_writer *w)
{
	int busy;

	pthread_mutex_lock(&w->mu);
	busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

int
snapshot_writer_result(struct snapshot_writer *w, uint64_t *seq,
    int64_t *took_us, char *err, size_t errlen)
{
	int have;

	pthread_mutex_lock(&w->mu);
	if ((have = w->have_result) != 0) {
		w->have_result = 0;
		*seq = w->res_seq;
		*took_us = w->res_us;
		snprintf(err, errlen, "%s", w->res_err);
	}
	pthread_mutex_unlock(&w->mu);
	return have;
}

void
snapshot_writer_wait(struct snapshot_writer *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void
snapshot_writer_free(struct snapshot_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);	/* finishes a write under way */
	free(w->buf);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->path);
	free(w);
}
