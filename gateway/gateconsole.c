/*
 * gateconsole.c — the gate staff's web console: a small HTTPS server
 * (mbedTLS, TLS 1.2+, ECDHE + AEAD only) that signs people in from a
 * local accounts file, serves one static page, pushes live events to it
 * with Server-Sent Events, and turns its few buttons into control-socket
 * requests to gatewayd, made on the signed-in person's behalf
 * ("delegate NAME ROLES", see ctl.h), so the daemon applies exactly the
 * role checks and journal fields it applies to gatectl.
 *
 * A separate process on purpose (docs/console.md): a browser-facing TLS
 * server is the largest attack surface in the system and must not share
 * an address space, an event loop or a privilege with the tap path.
 *
 * Trusts: the daemon's answers (local socket, its own format); nothing a
 * browser sends — every request is parsed by the bounded parser in
 * http.c, checked for a session, a same-origin Origin and a CSRF token
 * before it turns into anything.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "gateway/conf.h"
#include "gateway/ctl.h"
#include "gateway/http.h"
#include "gateway/session.h"
#include "gateway/throttle.h"
#include "gateway/users.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) && ((tvar) = TAILQ_NEXT(var, field), 1);		\
	    (var) = (tvar))
#endif

#define GC_CONNS_MAX		256
#define GC_IN_MAX		(HTTP_HEAD_MAX + HTTP_BODY_MAX)
#define GC_OUT_MAX		(1u << 20)	/* an SSE reader this far behind goes */
#define GC_IDLE_S		30		/* a quiet non-SSE connection */
#define GC_HANDSHAKE_S		10
#define GC_KEEPALIVE_S		15		/* SSE comment, keeps proxies awake */
#define GC_RING			100		/* recent events a new page gets */
#define GC_CALL_DATA_MAX	(4u << 20)
#define GC_ASSET_MAX		(512u << 10)
#define GC_COOKIE		"__Host-gcsession"
#define GC_STATUS_SOON_US	200000		/* status fetch after a record */
/*
 * Failed sign-ins: per name (guessing one person's password) and per
 * source address (one password tried on many names). An address gets
 * more room than a name since a shared tablet at a busy gate may see
 * several people mistype; both forget after ten quiet minutes.
 */
#define GC_FAILS_MAX		5		/* failures per name ... */
#define GC_FAILS_LOCK_S		60		/* ... then it waits this long */
#define GC_ADDR_FAILS_MAX	20		/* failures per address ... */
#define GC_ADDR_LOCK_S		300		/* ... then it waits this long */
#define GC_FAILS_WINDOW_S	600
#define GC_FAILS_TABLE		256		/* keys remembered, each table */

struct gc;

struct gc_conn {
	TAILQ_ENTRY(gc_conn)	 entry;
	struct gc		*gc;
	uint64_t		 id;
	mbedtls_net_context	 net;
	mbedtls_ssl_context	 ssl;
	struct event		*ev_read, *ev_write;
	int			 handshaken;
	int			 sse;		/* an event stream */
	int			 waiting;	/* an answer from gatewayd is due */
	int			 close_after;	/* close once out is flushed */
	int			 keep_alive;
	int			 head_only;
	size_t			 wlen;		/* a write in progress (WANT_WRITE) */
	uint64_t		 session_id;	/* SSE: whose stream */
	char			 token[SESSION_TOKEN_LEN + 1];
	time_t			 since, last_io, last_ping;
	size_t			 inlen;
	char			 in[GC_IN_MAX];
	struct evbuffer		*out;		/* plaintext waiting for TLS */
	char			 peer[64];
	char			 addr_key[THROTTLE_KEY_MAX];	/* throttle */
};

enum gc_call_kind { GC_CALL_ACTION, GC_CALL_STATUS, GC_CALL_WATCH,
	GC_CALL_MUSTER };

struct gc_call {
	TAILQ_ENTRY(gc_call)	 entry;
	struct gc		*gc;
	enum gc_call_kind	 kind;
	struct bufferevent	*bev;
	uint64_t		 conn;		/* waiting HTTP connection, 0: none */
	int			 stage;		/* 0: delegate not yet answered */
	int			 done;
	struct evbuffer		*data;
};

struct gc_asset {
	const char	*path, *file, *type;
	char		*body;
	size_t		 len;
};

struct gc {
	struct event_base	*base;
	struct evconnlistener	*lev;
	struct event		*tick, *status_soon, *relink, *sig_term,
				*sig_int, *sig_hup;
	TAILQ_HEAD(, gc_conn)	 conns;
	TAILQ_HEAD(, gc_call)	 calls;
	size_t			 nconns;
	uint64_t		 next_id;
	const char		*socket, *users_path;
	struct users		*users;
	struct session_table	*sessions;
	int64_t			 idle_s, max_s;
	/* TLS */
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config	 tls;
	mbedtls_x509_crt	 crt;
	mbedtls_pk_context	 key;
	/* the daemon */
	int			 live;
	struct gc_call		*watch;
	int			 status_busy;
	char			*status;		/* last status JSON */
	char			*ring[GC_RING];
	size_t			 ring_next;
	struct gc_asset		 assets[3];
	struct throttle		*fails_name, *fails_addr;
};

static void gc_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int gc_foreground;

static void
gc_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (gc_foreground) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else
		vsyslog(prio, fmt, ap);
	va_end(ap);
}

/* ---- connections: TLS on a non-blocking socket ---- */

static void gc_conn_io(struct gc_conn *);
static void gc_conn_process(struct gc_conn *);

static void
gc_conn_free(struct gc_conn *c)
{
	struct gc *gc = c->gc;

	TAILQ_REMOVE(&gc->conns, c, entry);
	gc->nconns--;
	event_free(c->ev_read);
	event_free(c->ev_write);
	if (c->handshaken)
		(void)mbedtls_ssl_close_notify(&c->ssl);
	mbedtls_ssl_free(&c->ssl);
	mbedtls_net_free(&c->net);
	evbuffer_free(c->out);
	explicit_bzero(c->token, sizeof(c->token));
	explicit_bzero(c->in, sizeof(c->in));
	free(c);
}

static struct gc_conn *
gc_conn_find(struct gc *gc, uint64_t id)
{
	struct gc_conn *c;

	TAILQ_FOREACH(c, &gc->conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

/* Push plaintext through TLS. 0 fine (maybe waiting), -1 the connection
 * is finished (freed). */
static int
gc_conn_flush(struct gc_conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		size_t n = c->wlen ? c->wlen : evbuffer_get_length(c->out);
		unsigned char *p;
		int rc;

		if (n > 16384)
			n = 16384;
		p = evbuffer_pullup(c->out, (ssize_t)n);
		rc = mbedtls_ssl_write(&c->ssl, p, n);
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			c->wlen = n;	/* the same call again, when writable */
			event_add(c->ev_write, NULL);
			return 0;
		}
		if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
			c->wlen = n;
			return 0;
		}
		if (rc < 0) {
			gc_conn_free(c);
			return -1;
		}
		c->wlen = 0;
		evbuffer_drain(c->out, (size_t)rc);
		c->last_io = time(NULL);
	}
	if (c->close_after) {
		gc_conn_free(c);
		return -1;
	}
	return 0;
}

static void
gc_conn_io(struct gc_conn *c)
{
	int rc;

	if (!c->handshaken) {
		rc = mbedtls_ssl_handshake(&c->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ)
			return;
		if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
			event_add(c->ev_write, NULL);
			return;
		}
		if (rc != 0) {
			if (gc_foreground) {
				char e[128];
				mbedtls_strerror(rc, e, sizeof(e));
				gc_log(LOG_DEBUG, "%s: handshake: %s", c->peer, e);
			}
			gc_conn_free(c);
			return;
		}
		c->handshaken = 1;
		c->last_io = time(NULL);
	}
	if (gc_conn_flush(c) == -1)
		return;
	/* read everything TLS has for us, while there is room */
	while (c->inlen < sizeof(c->in)) {
		rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)c->in + c->inlen,
		    sizeof(c->in) - c->inlen);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
		    rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		if (rc <= 0) {	/* close_notify, EOF or an error */
			gc_conn_free(c);
			return;
		}
		c->inlen += (size_t)rc;
		c->last_io = time(NULL);
		if (c->sse)	/* nothing is expected on an event stream */
			c->inlen = 0;
	}
	gc_conn_process(c);
	(void)gc_conn_flush(c);
}

static void
gc_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gc_conn_io(arg);
}

static void
gc_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct gc *gc = arg;
	struct gc_conn *c;
	char host[INET6_ADDRSTRLEN] = "?";

	(void)lev;
	(void)salen;
	if (gc->nconns >= GC_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host,
		    sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    host, sizeof(host));
	snprintf(c->peer, sizeof(c->peer), "%s", host);
	if (throttle_addr_key(sa, c->addr_key, sizeof(c->addr_key)) == -1)
		snprintf(c->addr_key, sizeof(c->addr_key), "?");
	c->gc = gc;
	c->id = ++gc->next_id;
	c->since = c->last_io = time(NULL);
	mbedtls_net_init(&c->net);
	c->net.fd = fd;
	mbedtls_ssl_init(&c->ssl);
	c->out = evbuffer_new();
	c->ev_read = event_new(gc->base, fd, EV_READ | EV_PERSIST, gc_conn_cb, c);
	c->ev_write = event_new(gc->base, fd, EV_WRITE, gc_conn_cb, c);
	if (c->out == NULL || c->ev_read == NULL || c->ev_write == NULL ||
	    mbedtls_ssl_setup(&c->ssl, &gc->tls) != 0) {
		if (c->out)
			evbuffer_free(c->out);
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		mbedtls_ssl_free(&c->ssl);
		mbedtls_net_free(&c->net);
		free(c);
		return;
	}
	mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send,
	    mbedtls_net_recv, NULL);
	TAILQ_INSERT_TAIL(&gc->conns, c, entry);
	gc->nconns++;
	event_add(c->ev_read, NULL);
}

/* ---- responses ---- */

static const char *
gc_status_text(int st)
{
	switch (st) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Every response: nothing from elsewhere, no framing, no sniffing, no
 * caching, no referrer. The page has no inline script or style at all. */
static void
gc_headers(struct gc_conn *c, int st, const char *ctype, long clen,
    const char *extra)
{
	evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "Strict-Transport-Security: max-age=31536000\r\n"
	    "Content-Security-Policy: default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self'; connect-src 'self'; "
	    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Cross-Origin-Opener-Policy: same-origin\r\n"
	    "Cross-Origin-Resource-Policy: same-origin\r\n"
	    "Permissions-Policy: camera=(), microphone=(), geolocation=()\r\n"
	    "%s",
	    st, gc_status_text(st), ctype, extra ? extra : "");
	if (clen >= 0)
		evbuffer_add_printf(c->out, "Content-Length: %ld\r\n"
		    "Connection: %s\r\n\r\n", clen,
		    c->keep_alive ? "keep-alive" : "close");
	else
		evbuffer_add_printf(c->out, "Connection: keep-alive\r\n\r\n");
	if (!c->keep_alive && clen >= 0)
		c->close_after = 1;
}

static void
gc_respond(struct gc_conn *c, int st, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	gc_headers(c, st, ctype, (long)len, extra);
	if (!c->head_only)
		evbuffer_add(c->out, body, len);
}

static void
gc_json(struct gc_conn *c, int st, const char *body, const char *extra)
{
	gc_respond(c, st, "application/json", body, strlen(body), extra);
}

/* {"ok":false,"code":CODE,"text":TEXT} */
static void
gc_fail(struct gc_conn *c, int st, const char *code, const char *text)
{
	char t[1200], b[1400];

	http_json_str(t, sizeof(t), text);
	snprintf(b, sizeof(b), "{\"ok\":false,\"code\":\"%s\",\"text\":%s}", code,
	    t);
	gc_json(c, st, b, NULL);
}

/* ---- server-sent events ---- */

static void
gc_sse_send(struct gc_conn *c, const char *event, const char *data)
{
	if (evbuffer_get_length(c->out) > GC_OUT_MAX) {
		/* a stalled page must not grow without bound; its
		 * EventSource reconnects and starts from a fresh snapshot */
		c->close_after = 1;
		return;
	}
	evbuffer_add_printf(c->out, "event: %s\ndata: %s\n\n", event, data);
}

static void
gc_broadcast(struct gc *gc, const char *event, const char *data)
{
	struct gc_conn *c, *tmp;

	TAILQ_FOREACH_SAFE(c, &gc->conns, entry, tmp) {
		if (!c->sse)
			continue;
		gc_sse_send(c, event, data);
		(void)gc_conn_flush(c);
	}
}

/* ---- talking to gatewayd ---- */

static void gc_call_free(struct gc_call *);
static void gc_call_finish(struct gc_call *, int ok, const char *code,
    const char *text);
static void gc_status_refresh(struct gc *);

static const char *
gc_roles_arg(unsigned roles, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s",
	    roles & CTL_ROLE_STAFF ? "staff," : "",
	    roles & CTL_ROLE_ADMIN ? "admin," : "",
	    roles & CTL_ROLE_AUDITOR ? "auditor," : "");
	if (buf[0] != '\0')
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

static void
gc_event(struct gc *gc, const char *json)
{
	char *dup = strdup(json);

	if (dup != NULL) {
		free(gc->ring[gc->ring_next]);
		gc->ring[gc->ring_next] = dup;
		gc->ring_next = (gc->ring_next + 1) % GC_RING;
	}
	gc_broadcast(gc, "record", json);
	/* counts, alarms and modes change with records: fetch soon, but at
	 * most 5 times a second: each fetch is a connection and a status
	 * built on the daemon's loop, and at a busy gate bank (200 taps/s)
	 * fetching 30 ms after each record cost the daemon ~30% more CPU per
	 * tap and its p99 ~20% (tests/bench/console.sh). The record itself
	 * still reaches the page at once. */
	if (!evtimer_pending(gc->status_soon, NULL)) {
		struct timeval tv = { 0, GC_STATUS_SOON_US };
		evtimer_add(gc->status_soon, &tv);
	}
}

static void
gc_set_live(struct gc *gc, int live)
{
	if (gc->live == live)
		return;
	gc->live = live;
	gc_log(live ? LOG_NOTICE : LOG_WARNING, "gatewayd %s",
	    live ? "reached: live" : "lost: not live");
	gc_broadcast(gc, "live", live ? "true" : "false");
}

static void
gc_call_line(struct gc_call *k, char *line)
{
	struct gc *gc = k->gc;

	if (strncmp(line, "event ", 6) == 0) {
		if (k->kind == GC_CALL_WATCH)
			gc_event(gc, line + 6);
		return;
	}
	if (strncmp(line, "data ", 5) == 0 || strcmp(line, "data") == 0) {
		const char *d = line[4] ? line + 5 : "";
		if (k->kind == GC_CALL_WATCH) {
			if (k->stage == 1 && strcmp(d, "watching") == 0) {
				gc_set_live(gc, 1);
				gc_status_refresh(gc);
			}
			return;
		}
		if (evbuffer_get_length(k->data) + strlen(d) > GC_CALL_DATA_MAX) {
			gc_call_finish(k, 0, "E2BIG", "answer too long");
			return;
		}
		evbuffer_add(k->data, d, strlen(d));
		if (k->kind == GC_CALL_MUSTER)
			evbuffer_add(k->data, "\n", 1);
		return;
	}
	if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
		if (k->stage == 0) {
			k->stage = 1;	/* delegated; the real answer is next */
			return;
		}
		gc_call_finish(k, 1, "", line[2] ? line + 3 : "");
		return;
	}
	if (strncmp(line, "err ", 4) == 0) {
		char code[16];
		const char *sp = strchr(line + 4, ' ');
		size_t n = sp ? (size_t)(sp - line - 4) : strlen(line + 4);
		snprintf(code, sizeof(code), "%.*s", (int)(n < 15 ? n : 15),
		    line + 4);
		gc_call_finish(k, 0, code, sp ? sp + 1 : "");
		return;
	}
	gc_call_finish(k, 0, "EIO", "unexpected answer from gatewayd");
}

static void
gc_call_read_cb(struct bufferevent *bev, void *arg)
{
	struct gc_call *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while (!k->done && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))
	    != NULL) {
		gc_call_line(k, line);
		free(line);
	}
	if (!k->done && evbuffer_get_length(in) > CTL_RESP_MAX)
		gc_call_finish(k, 0, "E2BIG", "answer line too long");
	if (k->done)
		gc_call_free(k);
}

static void
gc_call_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct gc_call *k = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (!k->done)
			gc_call_finish(k, 0, "EIO", "gatewayd is not answering");
		gc_call_free(k);
	}
}

/*
 * One request to gatewayd on a fresh connection: "delegate NAME ROLES"
 * then the command. A connection per request keeps people apart: each
 * carries exactly one person's roles, and nothing is shared between them.
 */
static struct gc_call *
gc_call_start(struct gc *gc, enum gc_call_kind kind, uint64_t conn,
    const char *name, unsigned roles, int argc, char *const argv[])
{
	struct gc_call *k = calloc(1, sizeof(*k));
	struct sockaddr_un sun;
	char line[CTL_LINE_MAX + 2], ra[64];
	char *dv[3] = { "delegate", (char *)name, NULL };

	if (k == NULL)
		return NULL;
	k->gc = gc;
	k->kind = kind;
	k->conn = conn;
	k->data = evbuffer_new();
	k->bev = bufferevent_socket_new(gc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (k->data == NULL || k->bev == NULL)
		goto fail;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", gc->socket);
	dv[2] = (char *)gc_roles_arg(roles, ra, sizeof(ra));
	if (ctl_format(3, dv, line, sizeof(line)) < 0)
		goto fail;
	evbuffer_add(bufferevent_get_output(k->bev), line, strlen(line));
	if (ctl_format(argc, argv, line, sizeof(line)) < 0)
		goto fail;
	evbuffer_add(bufferevent_get_output(k->bev), line, strlen(line));
	bufferevent_setcb(k->bev, gc_call_read_cb, NULL, gc_call_event_cb, k);
	if (bufferevent_socket_connect(k->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		goto fail;
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&gc->calls, k, entry);
	return k;
fail:
	if (k->bev)
		bufferevent_free(k->bev);
	if (k->data)
		evbuffer_free(k->data);
	free(k);
	return NULL;
}

static void
gc_call_free(struct gc_call *k)
{
	struct gc *gc = k->gc;

	TAILQ_REMOVE(&gc->calls, k, entry);
	if (gc->watch == k) {
		gc->watch = NULL;
		gc_set_live(gc, 0);
		/* the daemon restarts: try again soon, quietly */
		if (!evtimer_pending(gc->relink, NULL)) {
			struct timeval tv = { 0, 300000 };
			evtimer_add(gc->relink, &tv);
		}
	}
	if (k->kind == GC_CALL_STATUS)
		gc->status_busy = 0;
	bufferevent_free(k->bev);
	evbuffer_free(k->data);
	free(k);
}

static int
gc_code_status(const char *code)
{
	if (strcmp(code, "EPERM") == 0)
		return 403;
	if (strcmp(code, "EINVAL") == 0)
		return 400;
	if (strcmp(code, "ENOENT") == 0)
		return 404;
	if (strcmp(code, "EBUSY") == 0 || strcmp(code, "EAGAIN") == 0)
		return 503;
	return 502;
}

static void
gc_call_finish(struct gc_call *k, int ok, const char *code, const char *text)
{
	struct gc *gc = k->gc;
	struct gc_conn *c;

	if (k->done)
		return;
	k->done = 1;
	if (k->kind == GC_CALL_STATUS) {
		size_t n = evbuffer_get_length(k->data);
		char *s;
		if (!ok || (s = malloc(n + 1)) == NULL)
			return;
		evbuffer_remove(k->data, s, n);
		s[n] = '\0';
		if (gc->status != NULL && strcmp(gc->status, s) == 0) {
			free(s);
			return;
		}
		free(gc->status);
		gc->status = s;
		gc_broadcast(gc, "status", s);
		return;
	}
	if (k->kind == GC_CALL_WATCH)
		return;		/* gc_call_free marks us not live */
	if ((c = gc_conn_find(gc, k->conn)) == NULL)
		return;		/* the page went away; the action stands */
	c->waiting = 0;
	if (!ok) {
		gc_fail(c, gc_code_status(code), code, text);
	} else if (k->kind == GC_CALL_MUSTER) {
		/* jsonl lines -> one JSON array */
		struct evbuffer *b = evbuffer_new();
		char *line;
		size_t n;
		int first = 1;
		if (b == NULL) {
			gc_fail(c, 503, "EIO", "out of memory");
		} else {
			char t[600];
			http_json_str(t, sizeof(t), text);
			evbuffer_add_printf(b, "{\"ok\":true,\"text\":%s,"
			    "\"people\":[", t);
			while ((line = evbuffer_readln(k->data, &n,
			    EVBUFFER_EOL_LF)) != NULL) {
				if (n > 0) {
					evbuffer_add_printf(b, "%s%s",
					    first ? "" : ",", line);
					first = 0;
				}
				free(line);
			}
			evbuffer_add(b, "]}", 2);
			n = evbuffer_get_length(b);
			gc_respond(c, 200, "application/json",
			    (const char *)evbuffer_pullup(b, -1), n, NULL);
			evbuffer_free(b);
		}
	} else {
		char t[1200], b[1300];
		http_json_str(t, sizeof(t), text);
		snprintf(b, sizeof(b), "{\"ok\":true,\"text\":%s}", t);
		gc_json(c, 200, b, NULL);
	}
	/* send it, and look at any request that waited behind it */
	gc_conn_io(c);
}

static void
gc_status_refresh(struct gc *gc)
{
	char *argv[] = { "status", "--json", NULL };

	if (gc->status_busy || !gc->live)
		return;
	if (gc_call_start(gc, GC_CALL_STATUS, 0, "console", CTL_ROLE_STAFF, 2,
	    argv) != NULL)
		gc->status_busy = 1;
}

static void
gc_status_soon_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gc_status_refresh(arg);
}

static void
gc_relink_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gc *gc = arg;
	char *argv[] = { "watch", "--json", NULL };

	(void)fd;
	(void)what;
	if (gc->watch != NULL)
		return;
	gc->watch = gc_call_start(gc, GC_CALL_WATCH, 0, "console",
	    CTL_ROLE_STAFF, 2, argv);
	if (gc->watch == NULL) {
		struct timeval tv = { 1, 0 };
		evtimer_add(gc->relink, &tv);
	}
}

/* ---- requests ---- */

static struct session *
gc_session(struct gc_conn *c, const struct http_request *req, int touch)
{
	char tok[SESSION_TOKEN_LEN + 2];

	if (http_header_count(req, "Cookie") > 1 ||
	    http_cookie(req, GC_COOKIE, tok, sizeof(tok)) != 1)
		return NULL;
	return session_find(c->gc->sessions, tok, time(NULL), touch);
}

/*
 * A state-changing request must come from our own page: Origin present and
 * equal to https://HOST (browsers send it on every POST), Fetch metadata,
 * when sent, same-origin, and a JSON body (a cross-site <form> cannot send
 * one without a CORS preflight, which we never answer).
 */
static const char *
gc_same_origin(const struct http_request *req)
{
	const char *o = http_header(req, "Origin"), *h = http_header(req, "Host");
	const char *site = http_header(req, "Sec-Fetch-Site");
	const char *ct = http_header(req, "Content-Type");

	if (o == NULL || h == NULL || http_header_count(req, "Origin") != 1)
		return "no Origin header";
	if (strncmp(o, "https://", 8) != 0 || strcmp(o + 8, h) != 0)
		return "cross-origin request";
	if (site != NULL && strcmp(site, "same-origin") != 0)
		return "cross-site request";
	if (ct == NULL || (strcmp(ct, "application/json") != 0 &&
	    strncmp(ct, "application/json;", 17) != 0))
		return "body must be application/json";
	return NULL;
}

static const char *
gc_role_list(unsigned roles, char *buf, size_t len)
{
	snprintf(buf, len, "[%s%s%s]",
	    roles & CTL_ROLE_STAFF ? "\"staff\"," : "",
	    roles & CTL_ROLE_ADMIN ? "\"supervisor\"," : "",
	    roles & CTL_ROLE_AUDITOR ? "\"auditor\"," : "");
	if (strlen(buf) > 2)
		memmove(buf + strlen(buf) - 2, "]", 2);
	return buf;
}

static void
gc_session_json(struct gc *gc, const struct session *s, char *buf,
    size_t len)
{
	char u[80], r[64];

	http_json_str(u, sizeof(u), s->user);
	snprintf(buf, len, "{\"ok\":true,\"user\":%s,\"roles\":%s,"
	    "\"csrf\":\"%s\",\"expires_in\":%lld,\"live\":%s}", u,
	    gc_role_list(s->roles, r, sizeof(r)), s->csrf,
	    (long long)session_remaining(gc->sessions, s, time(NULL)),
	    gc->live ? "true" : "false");
}

static void
gc_login(struct gc_conn *c, const struct http_request *req)
{
	struct gc *gc = c->gc;
	char user[USERS_NAME_MAX + 2], pass[USERS_PASS_MAX + 2], body[400];
	char cookie[256];
	unsigned roles;
	struct session *s;
	time_t now = time(NULL);
	int64_t wait_name, wait_addr;
	const char *why;

	if ((why = gc_same_origin(req)) != NULL) {
		gc_fail(c, 403, "EPERM", why);
		return;
	}
	if (http_json_get(req->body, req->content_length, "user", user,
	    sizeof(user)) != 1 || http_json_get(req->body, req->content_length,
	    "password", pass, sizeof(pass)) != 1 || user[0] == '\0' ||
	    strlen(user) > USERS_NAME_MAX) {
		explicit_bzero(pass, sizeof(pass));
		gc_fail(c, 400, "EINVAL", "want {\"user\":...,\"password\":...}");
		return;
	}
	/* checked before hashing: a waiting key costs no CPU */
	wait_name = throttle_wait(gc->fails_name, user, now);
	wait_addr = throttle_wait(gc->fails_addr, c->addr_key, now);
	if (wait_name > 0 || wait_addr > 0) {
		explicit_bzero(pass, sizeof(pass));
		gc_log(LOG_WARNING, "sign-in refused for %s from %s: too many "
		    "failures from this %s (%lld s to wait)", user, c->peer,
		    wait_addr > 0 ? "address" : "name",
		    (long long)(wait_addr > wait_name ? wait_addr : wait_name));
		gc_fail(c, 429, "EAGAIN", "too many failed sign-ins; wait a "
		    "few minutes");
		return;
	}
	if (!users_check(gc->users, user, pass, &roles)) {
		explicit_bzero(pass, sizeof(pass));
		(void)throttle_fail(gc->fails_name, user, now);
		(void)throttle_fail(gc->fails_addr, c->addr_key, now);
		gc_log(LOG_WARNING, "sign-in failed for %s from %s", user,
		    c->peer);
		gc_fail(c, 401, "EPERM", "wrong name or password");
		return;
	}
	explicit_bzero(pass, sizeof(pass));
	/* the name's count is forgotten; the address's is not, so one valid
	 * account cannot wash out the failures of guesses made beside it */
	throttle_forget(gc->fails_name, user);
	if ((s = session_create(gc->sessions, user, roles, now)) == NULL) {
		gc_fail(c, 503, "EIO", "no randomness for a session");
		return;
	}
	gc_log(LOG_NOTICE, "%s signed in from %s (session %llu)", user, c->peer,
	    (unsigned long long)s->id);
	snprintf(cookie, sizeof(cookie), "Set-Cookie: " GC_COOKIE "=%s; Path=/; "
	    "Secure; HttpOnly; SameSite=Strict; Max-Age=%lld\r\n", s->token,
	    (long long)gc->max_s);
	gc_session_json(gc, s, body, sizeof(body));
	gc_json(c, 200, body, cookie);
}

static void
gc_sse_start(struct gc_conn *c, struct session *s)
{
	struct gc *gc = c->gc;
	char hello[400];

	c->sse = 1;
	c->session_id = s->id;
	memcpy(c->token, s->token, sizeof(c->token));
	c->last_ping = time(NULL);
	gc_headers(c, 200, "text/event-stream", -1, NULL);
	evbuffer_add_printf(c->out, "retry: 1000\n\n");
	gc_session_json(gc, s, hello, sizeof(hello));
	gc_sse_send(c, "hello", hello);
	gc_sse_send(c, "live", gc->live ? "true" : "false");
	if (gc->status != NULL)
		gc_sse_send(c, "status", gc->status);
	for (size_t i = 0; i < GC_RING; i++) {
		const char *e = gc->ring[(gc->ring_next + i) % GC_RING];
		if (e != NULL)
			gc_sse_send(c, "record", e);
	}
}

/* An action for gatewayd: argv built from the JSON body. */
static void
gc_action(struct gc_conn *c, struct session *s, enum gc_call_kind kind,
    int argc, char *argv[])
{
	if (!c->gc->live) {
		gc_fail(c, 503, "EIO", "gatewayd is not reachable right now");
		return;
	}
	if (gc_call_start(c->gc, kind, c->id, s->user, s->roles, argc, argv)
	    == NULL) {
		gc_fail(c, 503, "EIO", "cannot reach gatewayd");
		return;
	}
	c->waiting = 1;
	gc_log(LOG_INFO, "%s: %s %s", s->user, argv[0], argc > 1 ? argv[1] : "");
}

static int
gc_json_arg(struct gc_conn *c, const struct http_request *req,
    const char *key, char *out, size_t len)
{
	if (http_json_get(req->body, req->content_length, key, out, len) != 1 ||
	    out[0] == '\0') {
		char t[96];
		snprintf(t, sizeof(t), "missing or bad \"%s\"", key);
		gc_fail(c, 400, "EINVAL", t);
		return -1;
	}
	return 0;
}

static void
gc_route(struct gc_conn *c, const struct http_request *req)
{
	struct gc *gc = c->gc;
	struct session *s;
	const char *why;
	int get = strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0;
	char a1[300], a2[300], body[400];

	c->head_only = strcmp(req->method, "HEAD") == 0;
	for (size_t i = 0; i < sizeof(gc->assets) / sizeof(gc->assets[0]); i++)
		if (strcmp(req->path, gc->assets[i].path) == 0 ||
		    (i == 0 && strcmp(req->path, "/") == 0)) {
			if (!get) {
				gc_fail(c, 405, "EINVAL", "GET only");
				return;
			}
			gc_respond(c, 200, gc->assets[i].type, gc->assets[i].body,
			    gc->assets[i].len, NULL);
			return;
		}
	if (strcmp(req->path, "/favicon.ico") == 0) {
		gc_respond(c, 204, "image/x-icon", "", 0, NULL);
		return;
	}
	if (strncmp(req->path, "/api/", 5) != 0) {
		gc_fail(c, 404, "ENOENT", "no such page");
		return;
	}
	if (strcmp(req->path, "/api/login") == 0 && !get) {
		gc_login(c, req);
		return;
	}
	if ((s = gc_session(c, req, 1)) == NULL) {
		gc_fail(c, 401, "EPERM", "not signed in, or the session expired");
		return;
	}
	if (get) {
		if (strcmp(req->path, "/api/session") == 0) {
			gc_session_json(gc, s, body, sizeof(body));
			gc_json(c, 200, body, NULL);
		} else if (strcmp(req->path, "/api/events") == 0)
			gc_sse_start(c, s);
		else if (strcmp(req->path, "/api/muster") == 0) {
			char *argv[] = { "muster", "--format", "jsonl", NULL };
			gc_action(c, s, GC_CALL_MUSTER, 3, argv);
		} else
			gc_fail(c, 404, "ENOENT", "no such call");
		return;
	}
	/* everything below changes something */
	if ((why = gc_same_origin(req)) != NULL) {
		gc_fail(c, 403, "EPERM", why);
		return;
	}
	if (http_header_count(req, "X-CSRF-Token") != 1 ||
	    !session_csrf_ok(s, http_header(req, "X-CSRF-Token"))) {
		gc_fail(c, 403, "EPERM", "missing or wrong CSRF token");
		return;
	}
	if (strcmp(req->path, "/api/logout") == 0) {
		gc_log(LOG_NOTICE, "%s signed out (session %llu)", s->user,
		    (unsigned long long)s->id);
		session_end(s);
		gc_json(c, 200, "{\"ok\":true}", "Set-Cookie: " GC_COOKIE "=; "
		    "Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0\r\n");
	} else if (strcmp(req->path, "/api/open") == 0) {
		char *argv[] = { "open", a1, "--reason", a2, NULL };
		if (gc_json_arg(c, req, "gate", a1, 49) == 0 &&
		    gc_json_arg(c, req, "reason", a2, 200) == 0)
			gc_action(c, s, GC_CALL_ACTION, 4, argv);
	} else if (strcmp(req->path, "/api/ack") == 0) {
		char *argv[] = { "ack", a1, NULL };
		if (gc_json_arg(c, req, "alarm", a1, 100) == 0)
			gc_action(c, s, GC_CALL_ACTION, 2, argv);
	} else if (strcmp(req->path, "/api/mode") == 0) {
		char *argv[] = { "mode", a1, "--reason", a2, NULL };
		if (gc_json_arg(c, req, "mode", a1, 33) == 0 &&
		    gc_json_arg(c, req, "reason", a2, 200) == 0)
			gc_action(c, s, GC_CALL_ACTION, 4, argv);
	} else
		gc_fail(c, 404, "ENOENT", "no such call");
}

static void
gc_conn_process(struct gc_conn *c)
{
	static struct http_request req;	/* one loop, one request at a time */
	long n;

	while (!c->waiting && !c->sse && !c->close_after && c->inlen > 0) {
		n = http_parse(c->in, c->inlen, &req);
		if (n == HTTP_INCOMPLETE)
			return;
		if (n < 0) {
			c->keep_alive = 0;
			gc_fail(c, (int)-n, "EINVAL", "malformed request");
			c->inlen = 0;
			return;
		}
		c->keep_alive = req.keep_alive;
		gc_route(c, &req);
		memmove(c->in, c->in + n, c->inlen - (size_t)n);
		c->inlen -= (size_t)n;
	}
}

/* ---- housekeeping ---- */

static void
gc_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gc *gc = arg;
	struct gc_conn *c, *tmp;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	session_expire(gc->sessions, now);
	TAILQ_FOREACH_SAFE(c, &gc->conns, entry, tmp) {
		if (!c->handshaken) {
			if (now - c->since > GC_HANDSHAKE_S)
				gc_conn_free(c);
			continue;
		}
		if (c->sse) {
			if (session_find(gc->sessions, c->token, now, 0) == NULL) {
				gc_sse_send(c, "expired", "true");
				c->close_after = 1;
			} else if (now - c->last_ping >= GC_KEEPALIVE_S) {
				evbuffer_add_printf(c->out, ": keepalive\n\n");
				c->last_ping = now;
			}
			(void)gc_conn_flush(c);
			continue;
		}
		if (!c->waiting && now - c->last_io > GC_IDLE_S)
			gc_conn_free(c);
	}
	/* gate states change without records (relock): keep pages current */
	gc_status_refresh(gc);
}

static void
gc_sig_cb(evutil_socket_t sig, short what, void *arg)
{
	struct gc *gc = arg;
	char err[300];

	(void)what;
	if (sig == SIGHUP) {
		struct users *u = users_load(gc->users_path, err, sizeof(err));
		if (u == NULL) {
			gc_log(LOG_ERR, "accounts not reloaded: %s", err);
			return;
		}
		users_free(gc->users);
		gc->users = u;
		gc_log(LOG_NOTICE, "accounts reloaded: %zu people",
		    users_count(u));
		return;
	}
	event_base_loopbreak(gc->base);
}

/* ---- start ---- */

static int
gc_assets_load(struct gc *gc, const char *dir, char *err, size_t errlen)
{
	static const struct gc_asset a[3] = {
		{ "/index.html", "index.html", "text/html; charset=utf-8", NULL, 0 },
		{ "/console.js", "console.js", "text/javascript; charset=utf-8",
		    NULL, 0 },
		{ "/console.css", "console.css", "text/css; charset=utf-8", NULL,
		    0 },
	};

	for (size_t i = 0; i < 3; i++) {
		char path[CONF_PATH_MAX + 32];
		FILE *f;
		gc->assets[i] = a[i];
		snprintf(path, sizeof(path), "%s/%s", dir, a[i].file);
		if ((f = fopen(path, "re")) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		gc->assets[i].body = malloc(GC_ASSET_MAX);
		if (gc->assets[i].body == NULL) {
			fclose(f);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		gc->assets[i].len = fread(gc->assets[i].body, 1, GC_ASSET_MAX, f);
		if (ferror(f) || !feof(f)) {
			fclose(f);
			snprintf(err, errlen, "%s: unreadable or larger than %u "
			    "bytes", path, GC_ASSET_MAX);
			return -1;
		}
		fclose(f);
	}
	return 0;
}

/* The private key must be ours alone (OpenSMTPD's check_file_secrecy). */
static int
gc_key_secret(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IRWXO | S_IWGRP)) {
		snprintf(err, errlen, "%s: mode %03o: a private key must not be "
		    "readable by others; chmod 600", path,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

static int
gc_tls_init(struct gc *gc, const char *cert, const char *key, char *err,
    size_t errlen)
{
	static const int suites[] = {
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		0
	};
	static const char pers[] = "gateconsole";
	char e[160];
	int rc;

	if (gc_key_secret(key, err, errlen) == -1)
		return -1;
	if ((rc = mbedtls_ctr_drbg_seed(&gc->drbg, mbedtls_entropy_func,
	    &gc->entropy, (const unsigned char *)pers, sizeof(pers) - 1)) != 0)
		goto fail;
	if ((rc = mbedtls_x509_crt_parse_file(&gc->crt, cert)) != 0) {
		mbedtls_strerror(rc, e, sizeof(e));
		snprintf(err, errlen, "%s: %s", cert, e);
		return -1;
	}
	if ((rc = mbedtls_pk_parse_keyfile(&gc->key, key, NULL)) != 0) {
		mbedtls_strerror(rc, e, sizeof(e));
		snprintf(err, errlen, "%s: %s", key, e);
		return -1;
	}
	if ((rc = mbedtls_ssl_config_defaults(&gc->tls, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		goto fail;
	mbedtls_ssl_conf_min_version(&gc->tls, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);	/* TLS 1.2 and up */
	mbedtls_ssl_conf_ciphersuites(&gc->tls, suites);
	mbedtls_ssl_conf_rng(&gc->tls, mbedtls_ctr_drbg_random, &gc->drbg);
	mbedtls_ssl_conf_renegotiation(&gc->tls,
	    MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	if ((rc = mbedtls_ssl_conf_own_cert(&gc->tls, &gc->crt, &gc->key)) != 0)
		goto fail;
	return 0;
fail:
	mbedtls_strerror(rc, e, sizeof(e));
	snprintf(err, errlen, "TLS setup: %s", e);
	return -1;
}

static int
gc_listen(struct gc *gc, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) == -1) {
		snprintf(err, errlen, "cannot read listen address '%s' (want "
		    "ADDR:PORT or [ADDR6]:PORT)", addr);
		return -1;
	}
	gc->lev = evconnlistener_new_bind(gc->base, gc_accept_cb, gc,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    64, (struct sockaddr *)&ss, sl);
	if (gc->lev == NULL) {
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(errno));
		return -1;
	}
	return 0;
}

static int
gc_passwd(int argc, char **argv)
{
	char pw[USERS_PASS_MAX + 2], out[200];
	unsigned iter = USERS_ITER_DEFAULT;
	size_t n;

	if (argc == 3 && strcmp(argv[1], "--iterations") == 0)
		iter = (unsigned)strtoul(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: gateconsole passwd [--iterations N] "
		    "< password\n");
		return 2;
	}
	if (fgets(pw, sizeof(pw), stdin) == NULL) {
		fprintf(stderr, "gateconsole: no password on standard input\n");
		return 1;
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n == 0 || n > USERS_PASS_MAX || users_hash(pw, iter, out,
	    sizeof(out)) == -1) {
		explicit_bzero(pw, sizeof(pw));
		fprintf(stderr, "gateconsole: cannot hash that (empty, longer "
		    "than %d bytes, or fewer than %u iterations)\n",
		    USERS_PASS_MAX, USERS_ITER_MIN);
		return 1;
	}
	explicit_bzero(pw, sizeof(pw));
	printf("%s\n", out);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gateconsole [-dn] [-c gateway.conf] [-s SOCKET] -l ADDR:PORT\n"
	    "           --cert FILE --key FILE --users FILE --assets DIR\n"
	    "           [--idle SECONDS] [--max-age SECONDS]\n"
	    "       gateconsole passwd [--iterations N] < password\n");
	exit(2);
}

static char *
gc_conf_socket(const char *path)
{
	struct policy_diags d;
	struct gateway_conf *conf;
	char *text = NULL, *sock = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return NULL;
	text = malloc(1u << 20);
	if (text != NULL)
		len = fread(text, 1, 1u << 20, f);
	fclose(f);
	if (text == NULL)
		return NULL;
	memset(&d, 0, sizeof(d));
	conf = conf_parse(path, text, len, &d);
	policy_diags_free(&d);
	free(text);
	if (conf == NULL)
		return NULL;
	sock = strdup(conf->socket[0] ? conf->socket : "/run/gatewayd.sock");
	conf_free(conf);
	return sock;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "users", required_argument, NULL, 'U' },
		{ "assets", required_argument, NULL, 'A' },
		{ "idle", required_argument, NULL, 'I' },
		{ "max-age", required_argument, NULL, 'M' },
		{ "socket", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct gc *gc;
	const char *conf = NULL, *sock = NULL, *listen_at = NULL, *cert = NULL,
	    *key = NULL, *users = NULL, *assets = "/usr/share/gateconsole";
	char *conf_sock = NULL, err[600];
	int ch, check = 0, rc = 1;
	long idle = 900, max_age = 12 * 3600;

	if (argc > 1 && strcmp(argv[1], "passwd") == 0)
		return gc_passwd(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:dl:ns:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'd': gc_foreground = 1; break;
		case 'l': listen_at = optarg; break;
		case 'n': check = 1; break;
		case 's': sock = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'U': users = optarg; break;
		case 'A': assets = optarg; break;
		case 'I': idle = strtol(optarg, NULL, 10); break;
		case 'M': max_age = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || listen_at == NULL || cert == NULL || key == NULL ||
	    users == NULL || idle < 10 || max_age < idle)
		usage();
	if (sock == NULL && conf != NULL) {
		if ((conf_sock = gc_conf_socket(conf)) == NULL) {
			fprintf(stderr, "gateconsole: %s: cannot read the socket "
			    "from it (check it with gatewayd -n)\n", conf);
			return 1;
		}
		sock = conf_sock;
	}
	if (sock == NULL)
		sock = "/run/gatewayd.sock";
	if (!gc_foreground)
		openlog("gateconsole", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);

	if ((gc = calloc(1, sizeof(*gc))) == NULL)
		return 1;
	TAILQ_INIT(&gc->conns);
	TAILQ_INIT(&gc->calls);
	gc->socket = sock;
	gc->users_path = users;
	gc->idle_s = idle;
	gc->max_s = max_age;
	mbedtls_entropy_init(&gc->entropy);
	mbedtls_ctr_drbg_init(&gc->drbg);
	mbedtls_ssl_config_init(&gc->tls);
	mbedtls_x509_crt_init(&gc->crt);
	mbedtls_pk_init(&gc->key);

	if ((gc->users = users_load(users, err, sizeof(err))) == NULL ||
	    gc_assets_load(gc, assets, err, sizeof(err)) == -1 ||
	    gc_tls_init(gc, cert, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "gateconsole: %s\n", err);
		goto exit;
	}
	if (check) {
		printf("gateconsole: %zu people, certificate and key load, "
		    "gatewayd at %s\n", users_count(gc->users), sock);
		rc = 0;
		goto exit;
	}
	gc->sessions = session_table_new(256, idle, max_age);
	gc->fails_name = throttle_new(GC_FAILS_TABLE, GC_FAILS_MAX,
	    GC_FAILS_LOCK_S, GC_FAILS_WINDOW_S);
	gc->fails_addr = throttle_new(GC_FAILS_TABLE, GC_ADDR_FAILS_MAX,
	    GC_ADDR_LOCK_S, GC_FAILS_WINDOW_S);
	gc->base = event_base_new();
	if (gc->sessions == NULL || gc->base == NULL || gc->fails_name == NULL ||
	    gc->fails_addr == NULL) {
		fprintf(stderr, "gateconsole: out of memory\n");
		goto exit;
	}
	if (gc_listen(gc, listen_at, err, sizeof(err)) == -1) {
		fprintf(stderr, "gateconsole: %s\n", err);
		goto exit;
	}
	gc->tick = event_new(gc->base, -1, EV_PERSIST, gc_tick_cb, gc);
	gc->status_soon = evtimer_new(gc->base, gc_status_soon_cb, gc);
	gc->relink = evtimer_new(gc->base, gc_relink_cb, gc);
	gc->sig_term = evsignal_new(gc->base, SIGTERM, gc_sig_cb, gc);
	gc->sig_int = evsignal_new(gc->base, SIGINT, gc_sig_cb, gc);
	gc->sig_hup = evsignal_new(gc->base, SIGHUP, gc_sig_cb, gc);
	{
		struct timeval one = { 1, 0 };
		event_add(gc->tick, &one);
	}
	evsignal_add(gc->sig_term, NULL);
	evsignal_add(gc->sig_int, NULL);
	evsignal_add(gc->sig_hup, NULL);
	gc_relink_cb(-1, 0, gc);
	gc_log(LOG_NOTICE, "gateconsole on https://%s for gatewayd at %s, %zu "
	    "people", listen_at, sock, users_count(gc->users));
	event_base_dispatch(gc->base);
	gc_log(LOG_NOTICE, "gateconsole stopping");
	rc = 0;
exit:
	if (gc->base != NULL) {
		struct gc_conn *c;
		struct gc_call *k;
		while ((c = TAILQ_FIRST(&gc->conns)) != NULL)
			gc_conn_free(c);
		while ((k = TAILQ_FIRST(&gc->calls)) != NULL) {
			k->done = 1;
			if (gc->watch == k)
				gc->watch = NULL;
			gc_call_free(k);
		}
		if (gc->lev)
			evconnlistener_free(gc->lev);
		if (gc->tick)
			event_free(gc->tick);
		if (gc->status_soon)
			event_free(gc->status_soon);
		if (gc->relink)
			event_free(gc->relink);
		if (gc->sig_term)
			event_free(gc->sig_term);
		if (gc->sig_int)
			event_free(gc->sig_int);
		if (gc->sig_hup)
			event_free(gc->sig_hup);
		event_base_free(gc->base);
	}
	for (size_t i = 0; i < GC_RING; i++)
		free(gc->ring[i]);
	for (size_t i = 0; i < 3; i++)
		free(gc->assets[i].body);
	free(gc->status);
	session_table_free(gc->sessions);
	throttle_free(gc->fails_name);
	throttle_free(gc->fails_addr);
	users_free(gc->users);
	mbedtls_pk_free(&gc->key);
	mbedtls_x509_crt_free(&gc->crt);
	mbedtls_ssl_config_free(&gc->tls);
	mbedtls_ctr_drbg_free(&gc->drbg);
	mbedtls_entropy_free(&gc->entropy);
	free(gc);
	free(conf_sock);
	return rc;
}
