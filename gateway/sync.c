/*
 * sync.c — the central-log client: journal → RELP → mbedTLS → rsyslog.
 *
 * Owns: its thread and event loop, the TLS session, the window of records
 * in flight, sync.state in the journal directory. Trusts: the journal
 * (read with journal_iter, never past journal_durable_seq) and the venue
 * CA; nothing the server sends (relp_parse checks every byte).
 *
 * libevent 2.1 has no mbedTLS bufferevent, so mbedTLS runs on a
 * non-blocking socket driven by hand: EV_READ stays armed, EV_WRITE is
 * armed on WANT_WRITE, a write that said WANT_WRITE is retried with the
 * same buffer, reads go on until WANT_READ.
 *
 * Threads: everything here runs on the sync thread, except sync_status
 * (s->mu guards s->st) and sync_stop (writes to the pipe).
 *
 * Two record sources: the journal (sync_new + sync_start: the daemon's
 * own thread reads it) or a feed (sync_new_fed: the network process,
 * gateway/netproc.c, which cannot read the journal and gets durable
 * records from the parent). Fed, the session runs on the caller's loop,
 * the credentials are loaded once before the caller's sandbox (no files
 * afterwards) and kept, the server's addresses are resolved once, and
 * acknowledgements go to the feed instead of sync.state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "gateway/conf.h"
#include "gateway/journal.h"
#include "gateway/relp.h"
#include "gateway/sync.h"

#define SYNC_ADDRS	8	/* addresses kept from the one resolution */
#define KEY_MAX		65536	/* a key file larger than this is not one */
#define TICK_MS		10	/* poll the journal's durable seq */
#define PERSIST_MS	200	/* write sync.state at most this often */
#define RETRY_MIN_MS	250
#define RSP_MAX		4096	/* longest answer we accept from the server */
#define WBUF_FILL	(256 * 1024)	/* frames batched per write */
#define TXNR_RECONNECT	(RELP_TXNR_MAX - 1000)

enum sync_phase { PH_IDLE, PH_CONNECT, PH_HANDSHAKE, PH_OPEN, PH_STREAM };
static const char *const phase_names[] = { "idle", "connect", "handshake",
	"open", "stream" };

struct sync_slot {
	uint64_t	 seq;
	uint32_t	 txnr;		/* on this connection; 0 = not sent */
	int		 acked;
	size_t		 len;
	char		*line;
};

struct sync {
	/* configuration (immutable after sync_new) */
	char		 host[256], addr[256], port[8];
	char		 ca[CONF_PATH_MAX], cert[CONF_PATH_MAX], key[CONF_PATH_MAX];
	char		 gwid[32];
	char		 dir[CONF_PATH_MAX];
	uint32_t	 window, ack_timeout_ms, retry_max_ms;
	struct journal	*j;

	/* fed mode (sync_new_fed): the record source, the kept credentials
	 * and addresses */
	int		 fed;
	struct sync_feed feed;
	int		 creds_live;
	struct sockaddr_storage addrs[SYNC_ADDRS];
	socklen_t	 addrlens[SYNC_ADDRS];
	size_t		 naddrs;
	char		 resolve_err[200];
	uint64_t	 reported;	/* acked as last told to the feed */
	int		 finished;

	/* thread plumbing */
	pthread_t	 thread;
	int		 started;
	int		 pipefd[2];
	pthread_mutex_t	 mu;
	struct sync_status st;		/* guarded by mu */

	/* sync thread only from here */
	struct event_base *base;
	struct event	*ev_rd, *ev_wr, *ev_tick, *ev_retry, *ev_pipe;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int		 tls_live;
	mbedtls_ssl_config sslconf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt cacert, owncert;
	mbedtls_pk_context ownkey;
	int		 fd;
	enum sync_phase	 phase;
	int64_t		 phase_since;
	uint32_t	 next_txnr;

	/* the window: ring of records read from the journal, unacked */
	struct sync_slot *ring;
	size_t		 head, count, sent;
	uint64_t	 acked;		/* contiguous prefix acknowledged */
	uint64_t	 next_read;	/* next seq to take from the journal */
	struct journal_iter *it;
	int64_t		 wait_since;	/* oldest unanswered frame, or 0 */

	char		*wbuf;
	size_t		 wlen, woff, wcap;
	uint8_t		 rbuf[RSP_MAX + 64];
	size_t		 rlen;

	uint64_t	 persisted;
	int64_t		 persisted_at;
	uint32_t	 attempts;	/* consecutive failures, for backoff */
	int		 stopping;
	int64_t		 stop_deadline;
	uint64_t	 stop_target;
	char		 err[200];
};

static int64_t
sync_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sync_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sync_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

/* ---- the record as an RFC 5424 line ---- */

static void
sync_hex(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* PRINTUSASCII without space, else "-" (RFC 5424 HOSTNAME, MSGID). */
static const char *
sync_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return "-";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 ||
		    s[i] == '"' || s[i] == ']' || s[i] == '\\' || s[i] == '=')
			return "-";
	return s;
}

size_t
sync_format(const struct journal_record *r, char *buf, size_t len)
{
	char ts[40], hash[65], prev[65], json[SYNC_LINE_MAX];
	struct tm tm;
	time_t t = (time_t)(r->time_us / 1000000);
	int sev = 6, n;
	size_t jl;

	/* facility 13 "log audit"; alarms warn, denials notice */
	if (strncmp(r->type, "alarm", 5) == 0 || strcmp(r->type, "cut") == 0)
		sev = 4;
	else if (strcmp(r->decision, "deny") == 0)
		sev = 5;
	gmtime_r(&t, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%06lldZ",
	    (long long)(r->time_us % 1000000 + (r->time_us < 0 ? 1000000 : 0)));
	sync_hex(hash, r->hash, 32);
	sync_hex(prev, r->prev, 32);
	jl = journal_format_json(r, json, sizeof(json));
	if (jl >= sizeof(json))
		jl = sizeof(json) - 1;	/* cannot happen: see SYNC_LINE_MAX */
	while (jl > 0 && json[jl - 1] == '\n')
		jl--;
	n = snprintf(buf, len, "<%d>1 %s %s gatewayd - %s [gatewayd@32473 "
	    "gw=\"%s\" seq=\"%llu\" hash=\"%s\" prev=\"%s\"] %.*s",
	    13 * 8 + sev, ts, sync_token(r->gateway, 255),
	    sync_token(r->type, 32), sync_token(r->gateway, 255),
	    (unsigned long long)r->seq, hash, prev, (int)jl, json);
	return n < 0 ? 0 : (size_t)n;
}

/* ---- files ---- */

int
sync_check_secret(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: key file owned by uid %u, not by "
		    "root or this user: refused", path, (unsigned)sb.st_uid);
		return -1;
	}
	if (sb.st_mode & 077) {
		snprintf(err, errlen, "%s: key file is accessible by group or "
		    "others (mode %04o): refused; chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
sync_state_load(const char *dir, uint64_t *acked, char *err, size_t errlen)
{
	char path[CONF_PATH_MAX + 32], buf[128], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	*acked = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, SYNC_STATE_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	if (strncmp(buf, "acked ", 6) != 0 || buf[6] < '0' || buf[6] > '9' ||
	    (v = strtoull(buf + 6, &end, 10), errno != 0) ||
	    strcmp(end, "\n") != 0) {
		snprintf(err, errlen, "%s: damaged (expected \"acked SEQ\")",
		    path);
		return -1;
	}
	*acked = v;
	return 0;
}

int
sync_state_save(const char *dir, uint64_t acked, char *err, size_t errlen)
{
	char path[CONF_PATH_MAX + 32], tmp[CONF_PATH_MAX + 32], buf[64];
	int fd, n, dfd;

	snprintf(path, sizeof(path), "%s/%s", dir, SYNC_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, SYNC_STATE_FILE);
	n = snprintf(buf, sizeof(buf), "acked %llu\n",
	    (unsigned long long)acked);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		goto fail;
	if (write(fd, buf, (size_t)n) != n || fsync(fd) == -1) {
		int e = errno ? errno : EIO;
		close(fd);
		errno = e;
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		goto fail;
	/* the rename itself must survive a power cut */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/* ---- status ---- */

static void
sync_set_error(struct sync *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sync_publish(struct sync *s)
{
	pthread_mutex_lock(&s->mu);
	s->st.connected = s->phase == PH_STREAM;
	sync_copy(s->st.phase, sizeof(s->st.phase), phase_names[s->phase]);
	s->st.acked = s->acked;
	s->st.inflight = s->sent;
	pthread_mutex_unlock(&s->mu);
}

static void
sync_set_error(struct sync *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	sync_copy(s->st.error, sizeof(s->st.error), s->err);
	s->st.error_us = sync_wall_us();
	pthread_mutex_unlock(&s->mu);
	if (s->fed && s->feed.error != NULL)
		s->feed.error(s->feed.arg, s->err);
}

void
sync_status(struct sync *s, struct sync_status *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
	out->durable = s->j ? journal_durable_seq(s->j) : out->acked;
	out->backlog = out->durable > out->acked ? out->durable - out->acked
	    : 0;
}

/* ---- the TLS session ---- */

static int
sync_send(void *ctx, const unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);	/* no SIGPIPE */

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
sync_recv(void *ctx, unsigned char *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = recv(fd, buf, len, 0);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET || errno == EPIPE)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static void
sync_creds_free(struct sync *s)
{
	if (!s->creds_live)
		return;
	mbedtls_x509_crt_free(&s->cacert);
	mbedtls_x509_crt_free(&s->owncert);
	mbedtls_pk_free(&s->ownkey);	/* zeroizes the key */
	s->creds_live = 0;
}

static void
sync_tls_free(struct sync *s)
{
	if (!s->tls_live)
		return;
	mbedtls_ssl_free(&s->ssl);
	mbedtls_ssl_config_free(&s->sslconf);
	if (!s->fed)	/* fed: loaded once, kept until sync_free */
		sync_creds_free(s);
	s->tls_live = 0;
}

static void
sync_mbed_err(int rc, char *buf, size_t len)
{
	mbedtls_strerror(rc, buf, len);
}

/* Our certificate must name this gateway: CN = id or id.domain. */
static int
sync_cert_names_us(const mbedtls_x509_crt *c, const char *id, char *cn,
    size_t cnlen)
{
	const mbedtls_x509_name *n;
	size_t il = strlen(id);

	cn[0] = '\0';
	for (n = &c->subject; n != NULL; n = n->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			snprintf(cn, cnlen, "%.*s", (int)n->val.len,
			    (const char *)n->val.p);
			break;
		}
	return strncmp(cn, id, il) == 0 && (cn[il] == '\0' || cn[il] == '.');
}

/* The key file's bytes, NUL-terminated, in *buf (KEY_MAX + 1 bytes, the
 * caller wipes all of them and frees it). Plain read(2) into our buffer:
 * stdio would keep a copy of the key in its own buffer, freed unwiped. */
static int
sync_read_key(const char *path, unsigned char **buf, size_t *len, char *err,
    size_t errlen)
{
	unsigned char *b;
	size_t n = 0;
	ssize_t r = 0;
	int fd;

	*buf = NULL;
	if ((b = calloc(1, KEY_MAX + 1)) == NULL) {
		snprintf(err, errlen, "key %s: out of memory", path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		free(b);
		return -1;
	}
	while (n <= KEY_MAX && (r = read(fd, b + n, KEY_MAX + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (r == -1 || n > KEY_MAX) {
		snprintf(err, errlen, "key %s: %s", path, r == -1 ?
		    strerror(errno) : "larger than 64 KiB, not a key");
		explicit_bzero(b, KEY_MAX + 1);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/* Load the CA, our certificate and key (every connection in the thread
 * mode, so a rotated certificate is picked up without a restart; once in
 * the fed mode, before the sandbox). 0 or -1 with err. */
static int
sync_load_creds(const char *ca, const char *cert, const char *key,
    const char *gwid, mbedtls_x509_crt *cacert, mbedtls_x509_crt *owncert,
    mbedtls_pk_context *ownkey, char *err, size_t errlen)
{
	char e[128], cn[128];
	unsigned char *kb = NULL;
	size_t kl;
	int rc;

	if ((rc = mbedtls_x509_crt_parse_file(cacert, ca)) != 0) {
		sync_mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "venue CA %s: %s", ca, e);
		return -1;
	}
	if ((rc = mbedtls_x509_crt_parse_file(owncert, cert)) != 0) {
		sync_mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "gateway certificate %s: %s", cert, e);
		return -1;
	}
	if (!sync_cert_names_us(owncert, gwid, cn, sizeof(cn))) {
		snprintf(err, errlen, "gateway certificate %s is for '%s', not "
		    "for this gateway '%s'", cert, cn, gwid);
		return -1;
	}
	if (sync_check_secret(key, err, errlen) == -1)
		return -1;
	if (sync_read_key(key, &kb, &kl, err, errlen) == -1)
		return -1;
	rc = mbedtls_pk_parse_key(ownkey, kb, kl + 1, NULL, 0);
	explicit_bzero(kb, KEY_MAX + 1);
	free(kb);
	if (rc != 0) {
		sync_mbed_err(rc, e, sizeof(e));
		snprintf(err, errlen, "key %s: %s", key, e);
		return -1;
	}
	if (mbedtls_pk_check_pair(&owncert->pk, ownkey) != 0) {
		snprintf(err, errlen, "key %s does not belong to certificate "
		    "%s", key, cert);
		return -1;
	}
	return 0;
}

static int
sync_tls_setup(struct sync *s)
{
	char e[256];
	int rc;

	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->sslconf);
	s->tls_live = 1;
	if (!s->fed) {
		mbedtls_x509_crt_init(&s->cacert);
		mbedtls_x509_crt_init(&s->owncert);
		mbedtls_pk_init(&s->ownkey);
		s->creds_live = 1;
		if (sync_load_creds(s->ca, s->cert, s->key, s->gwid,
		    &s->cacert, &s->owncert, &s->ownkey, e, sizeof(e)) == -1) {
			sync_set_error(s, "%s", e);
			return -1;
		}
	}
	if ((rc = mbedtls_ssl_config_defaults(&s->sslconf,
	    MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	    MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		goto tlsfail;
	/* verification is required, never optional */
	mbedtls_ssl_conf_authmode(&s->sslconf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_min_version(&s->sslconf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ca_chain(&s->sslconf, &s->cacert, NULL);
	mbedtls_ssl_conf_rng(&s->sslconf, mbedtls_ctr_drbg_random, &s->drbg);
	if ((rc = mbedtls_ssl_conf_own_cert(&s->sslconf, &s->owncert,
	    &s->ownkey)) != 0 ||
	    (rc = mbedtls_ssl_setup(&s->ssl, &s->sslconf)) != 0 ||
	    (rc = mbedtls_ssl_set_hostname(&s->ssl, s->host)) != 0)
		goto tlsfail;
	mbedtls_ssl_set_bio(&s->ssl, &s->fd, sync_send, sync_recv, NULL);
	return 0;
tlsfail:
	sync_mbed_err(rc, e, sizeof(e));
	sync_set_error(s, "TLS setup: %s", e);
	return -1;
}

/* The handshake failed with rc: say why in words an installer can act on. */
static void
sync_handshake_error(struct sync *s, int rc)
{
	char e[160];
	uint32_t fl;

	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		fl = mbedtls_ssl_get_verify_result(&s->ssl);
		if (fl & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
			sync_set_error(s, "server certificate not signed by the "
			    "venue CA (%s)", s->ca);
		else if (fl & MBEDTLS_X509_BADCERT_EXPIRED)
			sync_set_error(s, "server certificate expired");
		else if (fl & MBEDTLS_X509_BADCERT_FUTURE)
			sync_set_error(s, "server certificate not yet valid "
			    "(check this gateway's clock)");
		else if (fl & MBEDTLS_X509_BADCERT_CN_MISMATCH)
			sync_set_error(s, "server certificate is not for '%s' "
			    "(wrong host name)", s->host);
		else if (fl & MBEDTLS_X509_BADCERT_REVOKED)
			sync_set_error(s, "server certificate revoked");
		else {
			mbedtls_x509_crt_verify_info(e, sizeof(e), "", fl);
			for (char *p = e; *p; p++)
				if (*p == '\n')
					*p = ' ';
			sync_set_error(s, "server certificate refused: %s", e);
		}
		return;
	}
	if (rc == MBEDTLS_ERR_NET_CONN_RESET || rc == 0 ||
	    rc == MBEDTLS_ERR_SSL_CONN_EOF ||
	    rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		/* imrelp refuses a client certificate by dropping the
		 * handshake: no readable alert reaches mbedTLS */
		sync_set_error(s, "server refused the TLS handshake (is this "
		    "gateway's certificate from the venue CA and not revoked?)");
		return;
	}
	sync_mbed_err(rc, e, sizeof(e));
	sync_set_error(s, "TLS handshake failed: %s", e);
}

/* ---- connection life ---- */

static void sync_fill_and_send(struct sync *);
static void sync_flush(struct sync *);

static void
sync_close(struct sync *s)
{
	if (s->ev_rd) {
		event_free(s->ev_rd);
		s->ev_rd = NULL;
	}
	if (s->ev_wr) {
		event_free(s->ev_wr);
		s->ev_wr = NULL;
	}
	if (s->tls_live && s->phase >= PH_OPEN)
		(void)mbedtls_ssl_close_notify(&s->ssl);	/* best effort */
	sync_tls_free(s);
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	/* everything in flight is undelivered: resend on the next session */
	for (size_t i = 0; i < s->count; i++)
		s->ring[(s->head + i) % s->window].txnr = 0;
	s->sent = 0;
	s->wlen = s->woff = s->rlen = 0;
	s->wait_since = 0;
	s->phase = PH_IDLE;
	s->phase_since = sync_now_ms();
}

static void
sync_schedule_retry(struct sync *s)
{
	uint64_t d = RETRY_MIN_MS;
	struct timeval tv;

	for (uint32_t i = 0; i < s->attempts && d < s->retry_max_ms; i++)
		d *= 2;
	if (d > s->retry_max_ms)
		d = s->retry_max_ms;
	/* jitter: somewhere in [d/2, d], so a venue's gateways do not all
	 * reconnect at the same instant after the server comes back */
	d = d / 2 + arc4random_uniform((uint32_t)(d / 2 + 1));
	if (s->attempts < 30)
		s->attempts++;
	tv.tv_sec = (time_t)(d / 1000);
	tv.tv_usec = (suseconds_t)(d % 1000) * 1000;
	evtimer_add(s->ev_retry, &tv);
	pthread_mutex_lock(&s->mu);
	s->st.retry_at_us = sync_wall_us() + (int64_t)d * 1000;
	s->st.failures++;
	s->st.since_us = sync_wall_us();
	pthread_mutex_unlock(&s->mu);
}

/* A session ended badly (the reason is already in s->err). */
static void
sync_fail(struct sync *s)
{
	sync_close(s);
	sync_publish(s);
	if (!s->stopping)
		sync_schedule_retry(s);
}

static void sync_io_cb(evutil_socket_t, short, void *);

static void
sync_set_phase(struct sync *s, enum sync_phase p)
{
	s->phase = p;
	s->phase_since = sync_now_ms();
	sync_publish(s);
}

static void sync_connect_started(struct sync *, const char *);

/* One non-blocking TCP socket connecting to sa, or -1 (errno). */
static int
sync_socket(const struct sockaddr *sa, socklen_t salen, int type, int proto)
{
	int fd, one = 1;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (connect(fd, sa, salen) == 0 || errno == EINPROGRESS)
		return fd;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Fed mode: the addresses resolved once by sync_new_fed (a sandboxed
 * process has no /etc/hosts, resolv.conf or NSS modules any more). */
static void
sync_connect_kept(struct sync *s)
{
	const char *where = s->addr[0] ? s->addr : s->host;

	if (s->naddrs == 0) {
		sync_set_error(s, "%s", s->resolve_err);
		sync_fail(s);
		return;
	}
	errno = ECONNREFUSED;
	for (size_t i = 0; i < s->naddrs && s->fd == -1; i++)
		s->fd = sync_socket((const struct sockaddr *)&s->addrs[i],
		    s->addrlens[i], SOCK_STREAM, 0);
	sync_connect_started(s, where);
}

static void
sync_connect(struct sync *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *where = s->addr[0] ? s->addr : s->host;
	int rc;

	if (s->fed) {
		sync_connect_kept(s);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	/* a blocking lookup, on this thread only: no gate waits for it */
	if ((rc = getaddrinfo(where, s->port, &hints, &res)) != 0) {
		sync_set_error(s, "cannot resolve %s: %s", where,
		    gai_strerror(rc));
		sync_fail(s);
		return;
	}
	for (ai = res; ai != NULL && s->fd == -1; ai = ai->ai_next)
		s->fd = sync_socket(ai->ai_addr, ai->ai_addrlen,
		    ai->ai_socktype, ai->ai_protocol);
	freeaddrinfo(res);
	sync_connect_started(s, where);
}

/* A socket is connecting (s->fd) or none could be made (-1, errno). */
static void
sync_connect_started(struct sync *s, const char *where)
{
	if (s->fd == -1) {
		sync_set_error(s, "cannot connect to %s port %s: %s", where,
		    s->port, strerror(errno));
		sync_fail(s);
		return;
	}
	s->ev_rd = event_new(s->base, s->fd, EV_READ | EV_PERSIST, sync_io_cb,
	    s);
	s->ev_wr = event_new(s->base, s->fd, EV_WRITE, sync_io_cb, s);
	pthread_mutex_lock(&s->mu);
	s->st.connects++;
	pthread_mutex_unlock(&s->mu);
	sync_set_phase(s, PH_CONNECT);
	event_add(s->ev_wr, NULL);	/* writable = connected (or failed) */
}

static void
sync_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sync *s = arg;

	(void)fd;
	(void)what;
	if (s->phase == PH_IDLE && !s->stopping)
		sync_connect(s);
}

/* Append one frame to the write buffer (only when it was flushed). */
static int
sync_wbuf_add(struct sync *s, uint32_t txnr, const char *cmd,
    const void *data, size_t len)
{
	size_t need = s->wlen + len + RELP_HDR_MAX + 2, n;

	if (need > s->wcap) {
		size_t cap = s->wcap ? s->wcap : 65536;
		char *nb;
		while (cap < need)
			cap *= 2;
		if ((nb = realloc(s->wbuf, cap)) == NULL)
			return -1;
		s->wbuf = nb;
		s->wcap = cap;
	}
	n = relp_build(s->wbuf + s->wlen, s->wcap - s->wlen, txnr, cmd, data,
	    len);
	if (n == 0)
		return -1;
	s->wlen += n;
	return 0;
}

/* Write what is buffered; on WANT_WRITE keep it, same bytes, for later. */
static void
sync_flush(struct sync *s)
{
	char e[128];
	int rc;

	while (s->woff < s->wlen) {
		rc = mbedtls_ssl_write(&s->ssl, (const unsigned char *)s->wbuf +
		    s->woff, s->wlen - s->woff);
		if (rc > 0) {
			s->woff += (size_t)rc;
			continue;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			event_add(s->ev_wr, NULL);
			return;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_READ)
			return;
		sync_mbed_err(rc, e, sizeof(e));
		sync_set_error(s, "sending to %s: %s", s->host, e);
		sync_fail(s);
		return;
	}
	s->woff = s->wlen = 0;
}

/* Close the journal reader (it is reopened from s->next_read). */
static void
sync_iter_reset(struct sync *s)
{
	journal_iter_close(s->it);
	s->it = NULL;
}

static int sync_take(struct sync *, struct journal_record *);

/* Read the next record to send, never past the durable seq. 1 one read
 * into *r, 0 none yet. */
static int
sync_read(struct sync *s, struct journal_record *r)
{
	if (s->fed) {
		if (s->feed.next(s->feed.arg, r) != 1)
			return 0;
		return sync_take(s, r);
	}

	uint64_t limit = s->j ? journal_durable_seq(s->j) : UINT64_MAX;
	char e[256];
	int k;

	if (s->next_read > limit)
		return 0;
	if (s->it == NULL && (s->it = journal_iter_open(s->dir, s->next_read,
	    e, sizeof(e))) == NULL) {
		sync_set_error(s, "journal: %s", e);
		return 0;
	}
	k = journal_iter_next(s->it, r, e, sizeof(e));
	if (k == 0) {
		/* a segment created after the reader opened: reopen later */
		sync_iter_reset(s);
		return 0;
	}
	if (k == -1) {
		sync_set_error(s, "journal unreadable: %s", e);
		sync_iter_reset(s);
		return 0;
	}
	return sync_take(s, r);
}

/* The source gave r: account for records it skipped. 1 take it, 0 not. */
static int
sync_take(struct sync *s, struct journal_record *r)
{
	if (r->seq != s->next_read) {
		/* retention deleted records that were never sent: say so
		 * loudly, in the status and (through the daemon) an alarm */
		if (r->seq < s->next_read) {
			sync_set_error(s, "journal reader went backwards");
			if (!s->fed)
				sync_iter_reset(s);
			return 0;
		}
		sync_set_error(s, "records %llu..%llu were deleted by journal "
		    "retention before they were sent",
		    (unsigned long long)s->next_read,
		    (unsigned long long)(r->seq - 1));
		pthread_mutex_lock(&s->mu);
		s->st.lost += r->seq - s->next_read;
		pthread_mutex_unlock(&s->mu);
		if (s->count == 0)
			s->acked = r->seq - 1;
	}
	s->next_read = r->seq + 1;
	return 1;
}

/* Take records into the window and frame every unsent one. */
static void
sync_fill_and_send(struct sync *s)
{
	struct journal_record r;
	char line[SYNC_LINE_MAX + 1];
	size_t n;

	if (s->phase != PH_STREAM || s->woff < s->wlen)
		return;
	/* when finishing, only what was durable when asked to stop */
	while (s->count < s->window && s->wlen < WBUF_FILL &&
	    (!s->stopping || s->next_read <= s->stop_target) &&
	    sync_read(s, &r) == 1) {
		struct sync_slot *sl = &s->ring[(s->head + s->count) %
		    s->window];
		n = sync_format(&r, line, sizeof(line));
		if (n > SYNC_LINE_MAX)
			n = SYNC_LINE_MAX;	/* cannot happen: see sync.h */
		if ((sl->line = malloc(n)) == NULL) {
			s->next_read = r.seq;	/* read it again later */
			sync_iter_reset(s);
			break;
		}
		memcpy(sl->line, line, n);
		sl->len = n;
		sl->seq = r.seq;
		sl->txnr = 0;
		sl->acked = 0;
		s->count++;
	}
	for (; s->sent < s->count; s->sent++) {
		struct sync_slot *sl = &s->ring[(s->head + s->sent) %
		    s->window];
		if (sl->acked)
			continue;
		if (s->next_txnr >= TXNR_RECONNECT)
			break;	/* see sync_tick: a fresh session */
		sl->txnr = s->next_txnr++;
		if (sync_wbuf_add(s, sl->txnr, "syslog", sl->line,
		    sl->len) == -1) {
			sl->txnr = 0;
			s->next_txnr--;
			break;
		}
		if (s->wait_since == 0)
			s->wait_since = sync_now_ms();
	}
	sync_publish(s);
	if (s->wlen > 0)
		sync_flush(s);
}

/* One answer from the server. 0 ok, -1 the session is over (error set). */
static int
sync_on_frame(struct sync *s, const struct relp_frame *f)
{
	char why[160];
	int code;

	if (strcmp(f->cmd, "serverclose") == 0) {
		if (s->phase == PH_OPEN)
			sync_set_error(s, "server closed the session before "
			    "accepting it: is this gateway's certificate name "
			    "permitted on the server (tls.permittedPeer)?");
		else
			sync_set_error(s, "server closed the session");
		return -1;
	}
	if (strcmp(f->cmd, "rsp") != 0) {
		sync_set_error(s, "protocol error: server sent '%s'", f->cmd);
		return -1;
	}
	if (s->phase == PH_OPEN) {
		if (f->txnr != 1) {
			sync_set_error(s, "protocol error: answer to transaction "
			    "%u before the open was answered", f->txnr);
			return -1;
		}
		if (relp_open_ok(f, why, sizeof(why)) == -1) {
			sync_set_error(s, "%s", why);
			return -1;
		}
		sync_set_phase(s, PH_STREAM);
		pthread_mutex_lock(&s->mu);
		s->st.since_us = sync_wall_us();
		s->st.retry_at_us = 0;
		pthread_mutex_unlock(&s->mu);
		s->wait_since = 0;
		return 0;
	}
	/* match by txnr among what is in flight on this session */
	for (size_t i = 0; i < s->sent; i++) {
		struct sync_slot *sl = &s->ring[(s->head + i) % s->window];
		if (sl->txnr != f->txnr || sl->acked)
			continue;
		if ((code = relp_rsp_code(f)) != 200) {
			sync_set_error(s, "server did not store record %llu "
			    "(answer %d): resending on a new session",
			    (unsigned long long)sl->seq, code);
			return -1;
		}
		sl->acked = 1;
		s->attempts = 0;	/* the server works: reset backoff */
		s->wait_since = sync_now_ms();
		while (s->count > 0 && s->ring[s->head].acked) {
			struct sync_slot *h = &s->ring[s->head];
			s->acked = h->seq;
			free(h->line);
			h->line = NULL;
			h->acked = 0;
			h->txnr = 0;
			s->head = (s->head + 1) % s->window;
			s->count--;
			s->sent--;
		}
		if (s->sent == 0)
			s->wait_since = 0;
		pthread_mutex_lock(&s->mu);
		s->st.acked_total++;
		s->st.last_ack_us = sync_wall_us();
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	sync_set_error(s, "protocol error: answer for transaction %u, which "
	    "is not in flight", f->txnr);
	return -1;
}

/* Fed mode: tell the feed how far the server acknowledged, once per
 * batch of answers (it is also the feed's flow control). */
static void
sync_report(struct sync *s)
{
	if (s->fed && s->acked != s->reported) {
		s->reported = s->acked;
		s->feed.acked(s->feed.arg, s->acked);
	}
}

static void
sync_read_tls(struct sync *s)
{
	struct relp_frame f;
	char e[128], why[128];
	long k;
	int rc;

	for (;;) {
		if (s->rlen == sizeof(s->rbuf)) {
			sync_set_error(s, "protocol error: answer longer than "
			    "%d bytes", RSP_MAX);
			sync_fail(s);
			return;
		}
		rc = mbedtls_ssl_read(&s->ssl, s->rbuf + s->rlen,
		    sizeof(s->rbuf) - s->rlen);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ)
			break;
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			event_add(s->ev_wr, NULL);
			break;
		}
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			if (s->phase == PH_OPEN)
				sync_set_error(s, "server closed the connection "
				    "before accepting the session: is this "
				    "gateway's certificate permitted there?");
			else
				sync_set_error(s, "server closed the connection");
			sync_fail(s);
			return;
		}
		if (rc < 0) {
			sync_mbed_err(rc, e, sizeof(e));
			sync_set_error(s, "receiving from %s: %s", s->host, e);
			sync_fail(s);
			return;
		}
		s->rlen += (size_t)rc;
		/* every complete frame in the buffer */
		size_t off = 0;
		while (off < s->rlen) {
			k = relp_parse(s->rbuf + off, s->rlen - off, RSP_MAX, &f,
			    why, sizeof(why));
			if (k == 0)
				break;
			if (k < 0) {
				sync_set_error(s, "protocol error from the "
				    "server: %s", why);
				sync_fail(s);
				return;
			}
			if (sync_on_frame(s, &f) == -1) {
				sync_fail(s);
				return;
			}
			off += (size_t)k;
		}
		memmove(s->rbuf, s->rbuf + off, s->rlen - off);
		s->rlen -= off;
	}
	sync_report(s);
}

static void
sync_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sync *s = arg;
	char e[128];
	int rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	(void)what;
	switch (s->phase) {
	case PH_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			sync_set_error(s, "cannot connect to %s port %s: %s",
			    s->addr[0] ? s->addr : s->host, s->port,
			    strerror(soerr));
			sync_fail(s);
			return;
		}
		if (sync_tls_setup(s) == -1) {
			sync_fail(s);
			return;
		}
		event_add(s->ev_rd, NULL);
		sync_set_phase(s, PH_HANDSHAKE);
		/* FALLTHROUGH */
	case PH_HANDSHAKE:
		rc = mbedtls_ssl_handshake(&s->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ)
			return;
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			event_add(s->ev_wr, NULL);
			return;
		}
		if (rc != 0) {
			sync_handshake_error(s, rc);
			sync_fail(s);
			return;
		}
		sync_set_phase(s, PH_OPEN);
		s->next_txnr = 1;
		if (sync_wbuf_add(s, s->next_txnr++, "open", relp_open_offers,
		    strlen(relp_open_offers)) == -1) {
			sync_set_error(s, "out of memory");
			sync_fail(s);
			return;
		}
		sync_flush(s);
		return;
	case PH_OPEN:
	case PH_STREAM:
		if (s->woff < s->wlen) {
			sync_flush(s);
			if (s->phase == PH_IDLE)
				return;
		}
		sync_read_tls(s);
		if (s->phase == PH_STREAM)
			sync_fill_and_send(s);
		return;
	case PH_IDLE:
		return;
	}
	(void)e;
}

static void
sync_finish_now(struct sync *s)
{
	char e[256];

	if (s->phase >= PH_OPEN && s->woff == s->wlen && s->sent == 0 &&
	    s->next_txnr > 0 && s->next_txnr < RELP_TXNR_MAX) {
		/* a polite close; the answer is not awaited */
		if (sync_wbuf_add(s, s->next_txnr++, "close", NULL, 0) == 0)
			sync_flush(s);
	}
	sync_close(s);
	sync_publish(s);
	if (s->fed) {
		evtimer_del(s->ev_retry);
		event_del(s->ev_tick);
		s->finished = 1;
		sync_report(s);
		s->feed.finished(s->feed.arg);
		return;
	}
	if (s->acked != s->persisted &&
	    sync_state_save(s->dir, s->acked, e, sizeof(e)) == 0)
		s->persisted = s->acked;
	event_base_loopbreak(s->base);
}

static void
sync_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sync *s = arg;
	int64_t now = sync_now_ms();
	char e[256];

	(void)fd;
	(void)what;
	if (s->fed)
		sync_report(s);
	else if (s->acked != s->persisted &&
	    now - s->persisted_at >= PERSIST_MS) {
		if (sync_state_save(s->dir, s->acked, e, sizeof(e)) == 0)
			s->persisted = s->acked;
		else
			sync_set_error(s, "cannot save the position: %s", e);
		s->persisted_at = now;
	}
	if (s->stopping && ((s->acked >= s->stop_target && s->count == 0) ||
	    now >= s->stop_deadline || s->phase == PH_IDLE)) {
		sync_finish_now(s);
		return;
	}
	switch (s->phase) {
	case PH_CONNECT:
	case PH_HANDSHAKE:
	case PH_OPEN:
		if (now - s->phase_since > (int64_t)s->ack_timeout_ms) {
			sync_set_error(s, "no answer from %s in %u s (%s)",
			    s->host, s->ack_timeout_ms / 1000,
			    phase_names[s->phase]);
			sync_fail(s);
		}
		break;
	case PH_STREAM:
		if (s->wait_since && now - s->wait_since >
		    (int64_t)s->ack_timeout_ms) {
			sync_set_error(s, "no acknowledgement from %s in %u s: "
			    "reconnecting", s->host, s->ack_timeout_ms / 1000);
			sync_fail(s);
			break;
		}
		if (s->next_txnr >= TXNR_RECONNECT && s->sent == 0) {
			/* librelp cannot wrap transaction numbers */
			sync_close(s);
			sync_connect(s);
			break;
		}
		sync_fill_and_send(s);
		break;
	case PH_IDLE:
		break;
	}
}

static void
sync_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sync *s = arg;
	int grace_ms = 0;

	(void)what;
	if (read(fd, &grace_ms, sizeof(grace_ms)) != sizeof(grace_ms))
		grace_ms = 0;
	s->stopping = 1;
	s->stop_target = s->j ? journal_durable_seq(s->j) : s->next_read - 1;
	s->stop_deadline = sync_now_ms() + grace_ms;
	evtimer_del(s->ev_retry);
}

/* The timers on s->base, then the first connection. 0 or -1. */
static int
sync_run(struct sync *s)
{
	struct timeval tick = { 0, TICK_MS * 1000 };

	s->ev_tick = event_new(s->base, -1, EV_PERSIST, sync_tick_cb, s);
	s->ev_retry = evtimer_new(s->base, sync_retry_cb, s);
	if (s->ev_tick == NULL || s->ev_retry == NULL)
		return -1;
	event_add(s->ev_tick, &tick);
	s->persisted_at = sync_now_ms();
	sync_connect(s);
	return 0;
}

static void *
sync_main(void *arg)
{
	struct sync *s = arg;

	s->ev_pipe = event_new(s->base, s->pipefd[0], EV_READ | EV_PERSIST,
	    sync_pipe_cb, s);
	if (s->ev_pipe == NULL || event_add(s->ev_pipe, NULL) == -1 ||
	    sync_run(s) == -1)
		return NULL;
	event_base_dispatch(s->base);
	sync_close(s);
	return NULL;
}

/* ---- life cycle ---- */

struct sync *
sync_new(const struct conf_sync *cs, const char *gateway_id,
    const char *journal_dir, struct journal *j, char *err, size_t errlen)
{
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context pk;
	struct sync *s;
	static const char pers[] = "gatewayd-sync";
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = -1;
	s->pipefd[0] = s->pipefd[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	mbedtls_entropy_init(&s->entropy);
	mbedtls_ctr_drbg_init(&s->drbg);
	sync_copy(s->host, sizeof(s->host), cs->server);
	sync_copy(s->addr, sizeof(s->addr), cs->address);
	snprintf(s->port, sizeof(s->port), "%u", cs->port ? cs->port : 2514);
	sync_copy(s->ca, sizeof(s->ca), cs->ca);
	sync_copy(s->cert, sizeof(s->cert), cs->cert);
	sync_copy(s->key, sizeof(s->key), cs->key);
	sync_copy(s->gwid, sizeof(s->gwid), gateway_id);
	sync_copy(s->dir, sizeof(s->dir), journal_dir ? journal_dir : "");
	s->window = cs->window ? cs->window : 128;
	s->ack_timeout_ms = (cs->ack_timeout_s ? cs->ack_timeout_s : 10) * 1000;
	s->retry_max_ms = (cs->retry_max_s ? cs->retry_max_s : 60) * 1000;
	s->j = j;
	snprintf(s->st.server, sizeof(s->st.server), "%s:%s", s->host,
	    s->port);
	sync_copy(s->st.phase, sizeof(s->st.phase), "idle");

	/* fail fast on what an installer got wrong */
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	rc = sync_load_creds(s->ca, s->cert, s->key, s->gwid, &ca, &crt, &pk,
	    err, errlen);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&pk);
	if (rc == -1)
		goto fail;
	/* no directory: the fed mode, whose position the parent keeps */
	if (journal_dir != NULL &&
	    sync_state_load(s->dir, &s->acked, err, errlen) == -1)
		goto fail;
	s->persisted = s->acked;
	s->next_read = s->acked + 1;
	s->st.acked = s->acked;
	if ((s->ring = calloc(s->window, sizeof(*s->ring))) == NULL ||
	    pipe2(s->pipefd, O_CLOEXEC) == -1 ||
	    (s->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno));
		goto fail;
	}
	if ((rc = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func,
	    &s->entropy, (const unsigned char *)pers, sizeof(pers) - 1)) != 0) {
		snprintf(err, errlen, "cannot seed the random generator");
		goto fail;
	}
	return s;
fail:
	sync_free(s);
	return NULL;
}

/* Fed mode: resolve the server once, now, while /etc is still there. An
 * error is kept and shown on every attempt: nothing can resolve later. */
static void
sync_resolve(struct sync *s)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *where = s->addr[0] ? s->addr : s->host;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(where, s->port, &hints, &res)) != 0) {
		snprintf(s->resolve_err, sizeof(s->resolve_err), "cannot "
		    "resolve %.60s: %.40s (names resolve once, when the net "
		    "process starts: set sync address)",
		    where, gai_strerror(rc));
		return;
	}
	for (ai = res; ai != NULL && s->naddrs < SYNC_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(s->addrs[0]))
			continue;
		memcpy(&s->addrs[s->naddrs], ai->ai_addr, ai->ai_addrlen);
		s->addrlens[s->naddrs++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	if (s->naddrs == 0)
		snprintf(s->resolve_err, sizeof(s->resolve_err), "cannot "
		    "resolve %.64s: no usable address", where);
}

struct sync *
sync_new_fed(const struct conf_sync *cs, const char *gateway_id,
    struct event_base *base, const struct sync_feed *feed, char *err,
    size_t errlen)
{
	struct sync *s;

	/* everything the thread mode checks, with no journal or state */
	if ((s = sync_new(cs, gateway_id, NULL, NULL, err, errlen)) == NULL)
		return NULL;
	s->fed = 1;
	s->feed = *feed;
	event_base_free(s->base);	/* the caller's loop runs us */
	s->base = base;
	s->acked = s->persisted = s->reported = 0;
	s->next_read = 1;
	s->st.acked = 0;
	mbedtls_x509_crt_init(&s->cacert);
	mbedtls_x509_crt_init(&s->owncert);
	mbedtls_pk_init(&s->ownkey);
	s->creds_live = 1;
	if (sync_load_creds(s->ca, s->cert, s->key, s->gwid, &s->cacert,
	    &s->owncert, &s->ownkey, err, errlen) == -1) {
		sync_free(s);
		return NULL;
	}
	sync_resolve(s);
	return s;
}

int
sync_begin(struct sync *s, uint64_t acked, char *err, size_t errlen)
{
	s->acked = s->persisted = s->reported = acked;
	s->next_read = acked + 1;
	s->st.acked = acked;
	if (sync_run(s) == -1) {
		snprintf(err, errlen, "cannot set up the session's timers");
		return -1;
	}
	return 0;
}

void
sync_wake(struct sync *s)
{
	if (s->phase == PH_STREAM && !s->finished)
		sync_fill_and_send(s);
}

void
sync_finish(struct sync *s, uint64_t target, int grace_ms)
{
	if (s->finished)
		return;
	s->stopping = 1;
	s->stop_target = target;
	s->stop_deadline = sync_now_ms() + grace_ms;
	evtimer_del(s->ev_retry);
}

int
sync_start(struct sync *s, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	/* signals stay with the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, sync_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the sync thread: %s",
		    strerror(rc));
		return -1;
	}
	s->started = 1;
	return 0;
}

void
sync_stop(struct sync *s, int grace_ms)
{
	if (s == NULL || !s->started)
		return;
	if (write(s->pipefd[1], &grace_ms, sizeof(grace_ms)) !=
	    sizeof(grace_ms))
		return;
	pthread_join(s->thread, NULL);
	s->started = 0;
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	sync_stop(s, 0);
	if (s->fed)
		sync_close(s);	/* the caller's loop outlives us */
	sync_tls_free(s);
	sync_creds_free(s);
	if (s->fd != -1)
		close(s->fd);
	if (s->ring != NULL)
		for (size_t i = 0; i < s->window; i++)
			free(s->ring[i].line);
	free(s->ring);
	free(s->wbuf);
	journal_iter_close(s->it);
	if (s->ev_tick)
		event_free(s->ev_tick);
	if (s->ev_retry)
		event_free(s->ev_retry);
	if (s->ev_pipe)
		event_free(s->ev_pipe);
	if (s->base && !s->fed)
		event_base_free(s->base);
	if (s->pipefd[0] != -1)
		close(s->pipefd[0]);
	if (s->pipefd[1] != -1)
		close(s->pipefd[1]);
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_entropy_free(&s->entropy);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
