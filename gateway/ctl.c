/*
 * ctl.c — the control socket: the request line parser (pure, fuzzed), the
 * per-client connection handling on the event loop (size limits, role
 * checks from SO_PEERCRED, one request at a time, watchers, streamed
 * answers), and the small blocking client gatectl uses.
 *
 * Trusts: nothing a client sends. Every line is bounded and parsed before
 * use; a client that misbehaves gets an error and, for an over-long line,
 * is disconnected; nobody else notices.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "gateway/ctl.h"

#define CTL_CLIENTS_MAX		64
#define CTL_WATCH_BACKLOG	(4u << 20)	/* a watcher this far behind is dropped */
#define CTL_STREAM_LOW		(64u << 10)

/* ---- parsing ---- */

static int
ctl_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

int
ctl_parse(const char *line, size_t len, struct ctl_request *req, char *err,
    size_t errlen)
{
	size_t i = 0, o = 0;

	memset(req, 0, sizeof(*req));
	if (len >= CTL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes",
		    CTL_LINE_MAX - 1);
		return -1;
	}
	for (size_t k = 0; k < len; k++)
		if (ctl_bad_byte((unsigned char)line[k])) {
			snprintf(err, errlen, "control byte 0x%02x at offset %zu",
			    (unsigned char)line[k], k);
			return -1;
		}
	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (req->argc == CTL_ARGS_MAX) {
			snprintf(err, errlen, "more than %d words", CTL_ARGS_MAX);
			return -1;
		}
		req->argv[req->argc++] = &req->buf[o];
		if (line[i] == '"') {
			size_t start = i++;
			for (;;) {
				if (i == len) {
					snprintf(err, errlen, "unterminated quote "
					    "at offset %zu", start);
					return -1;
				}
				if (line[i] == '"') {
					i++;
					break;
				}
				if (line[i] == '\\') {
					if (i + 1 == len || (line[i + 1] != '"' &&
					    line[i + 1] != '\\')) {
						snprintf(err, errlen, "bad escape "
						    "at offset %zu", i);
						return -1;
					}
					i++;
				}
				req->buf[o++] = line[i++];
			}
			if (i < len && line[i] != ' ' && line[i] != '\t') {
				snprintf(err, errlen, "text right after a closing "
				    "quote at offset %zu", i);
				return -1;
			}
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t') {
				if (line[i] == '"' || line[i] == '\\') {
					snprintf(err, errlen, "quote or backslash "
					    "inside a word at offset %zu", i);
					return -1;
				}
				req->buf[o++] = line[i++];
			}
		}
		req->buf[o++] = '\0';	/* o <= len + argc < sizeof(buf) */
	}
	if (req->argc == 0) {
		snprintf(err, errlen, "empty request");
		return -1;
	}
	req->argv[req->argc] = NULL;
	return 0;
}

int
ctl_format(int argc, char *const argv[], char *buf, size_t len)
{
	size_t o = 0;

	if (argc <= 0 || argc > CTL_ARGS_MAX)
		return -1;
	for (int a = 0; a < argc; a++) {
		const char *s = argv[a];
		int quote = *s == '\0' || strpbrk(s, " \t\"\\") != NULL;

		if (a > 0) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = ' ';
		}
		if (quote) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = '"';
		}
		for (; *s; s++) {
			if (ctl_bad_byte((unsigned char)*s))
				return -1;
			if (quote && (*s == '"' || *s == '\\')) {
				if (o + 1 >= len)
					return -1;
				buf[o++] = '\\';
			}
			if (o + 1 >= len)
				return -1;
			buf[o++] = *s;
		}
		if (quote) {
			if (o + 1 >= len)
				return -1;
			buf[o++] = '"';
		}
	}
	if (o + 2 > len || o + 1 > CTL_LINE_MAX)
		return -1;
	buf[o++] = '\n';
	buf[o] = '\0';
	return (int)o;
}

static const struct {
	const char	*cmd;
	int		 roles;
	const char	*name;
} ctl_commands[] = {
	{ "ping",	CTL_ROLE_ANY, "" },
	{ "status",	CTL_ROLE_STAFF | CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR, "staff" },
	{ "watch",	CTL_ROLE_STAFF | CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR, "staff" },
	{ "open",	CTL_ROLE_STAFF, "staff" },
	{ "ack",	CTL_ROLE_STAFF, "staff" },
	{ "reload",	CTL_ROLE_ADMIN, "admin" },
	{ "mode",	CTL_ROLE_ADMIN, "admin" },
	{ "muster",	CTL_ROLE_AUDITOR, "auditor" },
	{ "audit",	CTL_ROLE_AUDITOR, "auditor" },
	{ "sim",	CTL_ROLE_ADMIN, "admin" },
	{ "osdp",	CTL_ROLE_ADMIN, "admin" },
	{ "delegate",	CTL_ROLE_CONSOLE, "console" },
};

int
ctl_command_roles(const char *cmd, const char **name)
{
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]);
	    i++)
		if (strcmp(cmd, ctl_commands[i].cmd) == 0) {
			if (name != NULL)
				*name = ctl_commands[i].name;
			return ctl_commands[i].roles;
		}
	return -1;
}

const char *
ctl_roles_text(unsigned roles, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
	    roles & CTL_ROLE_STAFF ? "staff " : "",
	    roles & CTL_ROLE_ADMIN ? "admin " : "",
	    roles & CTL_ROLE_AUDITOR ? "auditor " : "",
	    roles & CTL_ROLE_CONSOLE ? "console " : "",
	    roles == 0 ? "none" : "");
	if (roles != 0 && len > 0)
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

/* ---- server ---- */

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct ctl_server	*srv;
	struct bufferevent	*bev;
	uint64_t		 id;
	uid_t			 uid;
	gid_t			 gid;
	unsigned		 roles;
	char			 actor[96];
	int			 delegated;	/* speaks for someone (delegate) */
	int			 busy;		/* a request is in progress */
	int			 closing;	/* close once flushed */
	int			 watching, watch_json;
	int			(*fill)(void *, struct ctl_client *);
	void			(*done)(void *);
	void			*stream_arg;
};

#define CTL_NAMES_MAX	4096
struct ctl_name {
	uid_t	uid;
	char	name[32];
};

struct ctl_server {
	struct event_base	*base;
	struct evconnlistener	*lev;
	char			 path[108];
	char			 groups[3][64];
	gid_t			 gids[3];	/* resolved once, at start */
	int			 have_gid[3];
	gid_t			 console_gid;	/* may delegate */
	int			 have_console_gid;
	struct ctl_handler	 h;
	struct ctl_name		*names;		/* uid -> name, read at start */
	size_t			 nnames;
	int			 owns_path;	/* unlink it at close */
	uint64_t		 next_id;
	size_t			 nclients;
	TAILQ_HEAD(, ctl_client) clients;
};

static void ctl_process(struct ctl_client *);

static void
ctl_vline(struct ctl_client *c, const char *tag, const char *fmt, va_list ap)
{
	char buf[CTL_RESP_MAX - 16];
	int n;

	if (c->closing)
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		buf[0] = '\0';
	/* one line per message, always: no newline can be smuggled in */
	for (char *p = buf; *p; p++)
		if (ctl_bad_byte((unsigned char)*p))
			*p = ' ';
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s%s%s\n", tag,
	    buf[0] ? " " : "", buf);
}

void
ctl_data(struct ctl_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vline(c, "data", fmt, ap);
	va_end(ap);
}

static void
ctl_finish(struct ctl_client *c)
{
	c->busy = 0;
	/* more requests may be waiting in the buffer: look at them from the
	 * loop, not from inside whoever is replying */
	if (!c->closing)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

void
ctl_ok(struct ctl_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vline(c, "ok", fmt, ap);
	va_end(ap);
	ctl_finish(c);
}

void
ctl_err(struct ctl_client *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	char buf[CTL_LINE_MAX];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		if (ctl_bad_byte((unsigned char)*p))
			*p = ' ';
	if (!c->closing)
		evbuffer_add_printf(bufferevent_get_output(c->bev), "err %s %s\n",
		    code, buf);
	ctl_finish(c);
}

void
ctl_watch(struct ctl_client *c, int json)
{
	c->watching = 1;
	c->watch_json = json;
	evbuffer_add_printf(bufferevent_get_output(c->bev), "data watching\n");
}

static void ctl_client_free(struct ctl_client *);

void
ctl_broadcast(struct ctl_server *srv, const char *human, const char *json)
{
	struct ctl_client *c;

	TAILQ_FOREACH(c, &srv->clients, entry) {
		struct evbuffer *out;
		const char *s;

		if (!c->watching || c->closing)
			continue;
		out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) > CTL_WATCH_BACKLOG) {
			/* a stalled watcher must not grow without bound */
			evbuffer_add_printf(out, "err EAGAIN watcher too slow, "
			    "events dropped; disconnecting\n");
			c->closing = 1;
			bufferevent_disable(c->bev, EV_READ);
			continue;
		}
		s = c->watch_json ? json : human;
		if (s == NULL)
			continue;
		evbuffer_add(out, "event ", 6);
		/* the caller's text is trusted to be one line; make sure */
		for (const char *p = s; *p; p++) {
			char ch = ctl_bad_byte((unsigned char)*p) ? ' ' : *p;
			evbuffer_add(out, &ch, 1);
		}
		evbuffer_add(out, "\n", 1);
	}
}

void
ctl_stream(struct ctl_client *c, int (*fill)(void *, struct ctl_client *),
    void (*done)(void *), void *arg)
{
	c->fill = fill;
	c->done = done;
	c->stream_arg = arg;
	/* the first chunk now; the rest each time the output drains */
	if (fill(arg, c) == 0) {
		c->fill = NULL;
		c->done = NULL;
		done(arg);
	}
}

static void
ctl_stream_end(struct ctl_client *c)
{
	void (*done)(void *) = c->done;

	c->fill = NULL;
	c->done = NULL;
	if (done != NULL)
		done(c->stream_arg);
}

static void
ctl_client_free(struct ctl_client *c)
{
	struct ctl_server *srv = c->srv;

	ctl_stream_end(c);
	if ((c->busy || c->watching) && srv->h.gone != NULL)
		srv->h.gone(srv->h.ctx, c);
	TAILQ_REMOVE(&srv->clients, c, entry);
	srv->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

/* Say why and hang up once the answer is out. */
static void
ctl_hangup(struct ctl_client *c, const char *code, const char *why)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (!c->closing)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "err %s %s\n", code, why);
	c->closing = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

/*
 * "delegate NAME ROLE[,ROLE]": the console has signed NAME in and speaks
 * for them. Once per connection, and never upwards from a delegated one:
 * the roles are replaced, not added, so the person gets exactly the
 * checks gatectl would apply to them, and the journal names them and the
 * console's uid.
 */
static void
ctl_delegate(struct ctl_client *c, const struct ctl_request *req)
{
	unsigned roles = 0;
	const char *p;
	char have[64];

	if (c->delegated) {
		ctl_err(c, "EPERM", "this connection already speaks for someone");
		return;
	}
	if (req->argc != 3 || req->argv[1][0] == '\0' ||
	    strlen(req->argv[1]) > 32 ||
	    strspn(req->argv[1], "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != strlen(req->argv[1])) {
		ctl_err(c, "EINVAL", "usage: delegate NAME ROLE[,ROLE] (NAME: "
		    "1-32 of A-Z a-z 0-9 . _ @ -)");
		return;
	}
	for (p = req->argv[2]; *p; ) {
		size_t n = strcspn(p, ",");
		if (n == 5 && strncmp(p, "staff", 5) == 0)
			roles |= CTL_ROLE_STAFF;
		else if (n == 5 && strncmp(p, "admin", 5) == 0)
			roles |= CTL_ROLE_ADMIN;
		else if (n == 7 && strncmp(p, "auditor", 7) == 0)
			roles |= CTL_ROLE_AUDITOR;
		else {
			ctl_err(c, "EINVAL", "unknown role '%.*s' (staff, admin, "
			    "auditor)", (int)(n > 32 ? 32 : n), p);
			return;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (roles == 0) {
		ctl_err(c, "EINVAL", "delegate needs at least one role");
		return;
	}
	c->delegated = 1;
	c->roles = roles;
	snprintf(c->actor, sizeof(c->actor), "%s via console uid %u",
	    req->argv[1], (unsigned)c->uid);
	ctl_ok(c, "speaking for %s roles=%s", req->argv[1],
	    ctl_roles_text(roles, have, sizeof(have)));
}

static void
ctl_handle_line(struct ctl_client *c, const char *line, size_t len)
{
	struct ctl_server *srv = c->srv;
	struct ctl_request req;
	char err[256], have[64];
	const char *rname;
	int need;

	if (ctl_parse(line, len, &req, err, sizeof(err)) == -1) {
		ctl_err(c, "EINVAL", "malformed request: %s", err);
		return;
	}
	if ((need = ctl_command_roles(req.argv[0], &rname)) == -1) {
		ctl_err(c, "EINVAL", "unknown command '%.64s'", req.argv[0]);
		return;
	}
	if (need != CTL_ROLE_ANY && !(c->roles & (unsigned)need) &&
	    !(c->roles & CTL_ROLE_ADMIN)) {
		ctl_err(c, "EPERM", "'%s' needs the %s role; uid %u has %s",
		    req.argv[0], rname, (unsigned)c->uid,
		    ctl_roles_text(c->roles, have, sizeof(have)));
		return;
	}
	if (strcmp(req.argv[0], "delegate") == 0) {
		ctl_delegate(c, &req);
		return;
	}
	if (strcmp(req.argv[0], "ping") == 0) {
		ctl_ok(c, "pong roles=%s",
		    ctl_roles_text(c->roles, have, sizeof(have)));
		return;
	}
	c->busy = 1;
	if (srv->h.request(srv->h.ctx, c, &req) == CTL_DONE && c->busy &&
	    !c->watching && c->fill == NULL) {
		/* a handler that forgot to answer must not wedge the client */
		ctl_err(c, "EIO", "no answer");
	}
}

static void
ctl_process(struct ctl_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char line[CTL_LINE_MAX];

	while (!c->busy && !c->closing && !c->watching && c->fill == NULL) {
		size_t eol_len = 0, avail = evbuffer_get_length(in);
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_LF);

		if (p.pos == -1) {
			if (avail >= CTL_LINE_MAX)
				ctl_hangup(c, "E2BIG", "request longer than "
				    "4095 bytes; closing");
			return;
		}
		if ((size_t)p.pos >= CTL_LINE_MAX) {
			ctl_hangup(c, "E2BIG", "request longer than 4095 bytes; "
			    "closing");
			return;
		}
		evbuffer_remove(in, line, (size_t)p.pos);
		evbuffer_drain(in, eol_len);
		ctl_handle_line(c, line, (size_t)p.pos);
	}
	if (c->watching)	/* input from a watcher means nothing */
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ctl_process(arg);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;
	struct evbuffer *out = bufferevent_get_output(bev);

	if (c->fill != NULL && !c->closing) {
		if (c->fill(c->stream_arg, c) == 0)
			ctl_stream_end(c);
		return;
	}
	if (c->closing && evbuffer_get_length(out) == 0)
		ctl_client_free(c);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		ctl_client_free(arg);
}

/*
 * Which roles the peer holds. Its groups come from the kernel with the
 * connection (SO_PEERGROUPS: the groups the process really runs with), and
 * the role groups' ids were resolved when the server started, so accepting
 * a client never waits on a directory service. Only the display name of the
 * uid is looked up (getpwuid), for the journal's "who".
 */
static unsigned
ctl_peer_roles(struct ctl_server *srv, int fd, uid_t uid, gid_t gid,
    char *actor, size_t alen)
{
	struct passwd *pw;
	gid_t groups[256];
	socklen_t glen = sizeof(groups) - sizeof(groups[0]);
	int ngroups = 1;
	unsigned roles = 0;
	static const unsigned bits[3] = { CTL_ROLE_STAFF, CTL_ROLE_ADMIN,
	    CTL_ROLE_AUDITOR };

	const char *nm = NULL;

	for (size_t i = 0; srv->names != NULL && i < srv->nnames; i++)
		if (srv->names[i].uid == uid) {
			nm = srv->names[i].name;
			break;
		}
	/* someone added since the start: only a process that may still
	 * read the files finds them */
	if (nm == NULL && srv->names == NULL && (pw = getpwuid(uid)) != NULL)
		nm = pw->pw_name;
	snprintf(actor, alen, "uid %u (%s)", (unsigned)uid, nm ? nm : "?");
	if (uid == 0)
		return CTL_ROLE_STAFF | CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR |
		    CTL_ROLE_CONSOLE;
	groups[0] = gid;
	/* more than 255 groups: the rest are not seen, and grant nothing */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups + 1, &glen) == 0)
		ngroups += (int)(glen / sizeof(groups[0]));
	for (int r = 0; r < 3; r++) {
		if (!srv->have_gid[r])
			continue;
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == srv->gids[r])
				roles |= bits[r];
	}
	for (int i = 0; srv->have_console_gid && i < ngroups; i++)
		if (groups[i] == srv->console_gid)
			roles |= CTL_ROLE_CONSOLE;
	return roles;
}

static void
ctl_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_server *srv = arg;
	struct ctl_client *c;
	struct ucred uc;
	socklen_t ulen = sizeof(uc);

	(void)lev;
	(void)sa;
	(void)salen;
	if (srv->nclients >= CTL_CLIENTS_MAX ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == -1 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		static const char busy[] = "err EBUSY too many clients\n";
		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	c->srv = srv;
	c->id = ++srv->next_id;
	c->uid = uc.uid;
	c->gid = uc.gid;
	c->roles = ctl_peer_roles(srv, fd, uc.uid, uc.gid, c->actor,
	    sizeof(c->actor));
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->clients, c, entry);
	srv->nclients++;
	bufferevent_setcb(c->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	/* stop reading from a client that sends faster than we answer */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * CTL_LINE_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, CTL_STREAM_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * The listening socket alone: the privileged parent binds it (a path in
 * the filesystem) and hands the descriptor to the engine, which serves it.
 */
int
ctl_bind(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)unlink(path);	/* a stale socket from a crashed run */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* everyone may connect; what they may do is decided per command */
	if (chmod(path, 0666) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* uid -> name for the journal's "who", read while the files are there:
 * a sandboxed engine cannot open /etc/passwd later. */
static void
ctl_names_load(struct ctl_server *srv)
{
	struct passwd *pw;

	setpwent();
	while ((pw = getpwent()) != NULL && srv->nnames < CTL_NAMES_MAX) {
		srv->names[srv->nnames].uid = pw->pw_uid;
		snprintf(srv->names[srv->nnames].name,
		    sizeof(srv->names[0].name), "%s", pw->pw_name);
		srv->nnames++;
	}
	endpwent();
}

struct ctl_server *
ctl_listen_fd(struct event_base *base, int fd, const char *path,
    const char *const groups[3], const struct ctl_handler *h, char *err,
    size_t errlen)
{
	struct ctl_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->base = base;
	srv->h = *h;
	snprintf(srv->path, sizeof(srv->path), "%s", path ? path : "");
	for (int r = 0; r < 3; r++) {
		snprintf(srv->groups[r], sizeof(srv->groups[r]), "%s",
		    groups[r] ? groups[r] : "");
		if (srv->groups[r][0] != '\0') {
			struct group *gr = getgrnam(srv->groups[r]);
			if (gr != NULL) {
				srv->gids[r] = gr->gr_gid;
				srv->have_gid[r] = 1;
			}
		}
	}
	if ((srv->names = calloc(CTL_NAMES_MAX, sizeof(*srv->names))) != NULL)
		ctl_names_load(srv);
	TAILQ_INIT(&srv->clients);
	srv->lev = evconnlistener_new(base, ctl_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->lev == NULL) {
		snprintf(err, errlen, "evconnlistener_new failed");
		free(srv->names);
		free(srv);
		return NULL;
	}
	return srv;
}

struct ctl_server *
ctl_listen(struct event_base *base, const char *path,
    const char *const groups[3], const struct ctl_handler *h, char *err,
    size_t errlen)
{
	struct ctl_server *srv;
	int fd;

	if ((fd = ctl_bind(path, err, errlen)) == -1)
		return NULL;
	if ((srv = ctl_listen_fd(base, fd, path, groups, h, err, errlen)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	srv->owns_path = 1;
	return srv;
}

void
ctl_set_console_group(struct ctl_server *srv, const char *group)
{
	struct group *gr;

	srv->have_console_gid = 0;
	if (group != NULL && group[0] != '\0' &&
	    (gr = getgrnam(group)) != NULL) {
		srv->console_gid = gr->gr_gid;
		srv->have_console_gid = 1;
	}
}

void
ctl_close(struct ctl_server *srv)
{
	struct ctl_client *c;

	if (srv == NULL)
		return;
	while ((c = TAILQ_FIRST(&srv->clients)) != NULL)
		ctl_client_free(c);
	evconnlistener_free(srv->lev);
	if (srv->owns_path)
		(void)unlink(srv->path);
	free(srv->names);
	free(srv);
}

int
ctl_client_handoff(struct ctl_client *c)
{
	int fd = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC, 3);
	struct evbuffer *in = bufferevent_get_input(c->bev);

	/* called from inside the request handler: the client is freed
	 * from the loop once the handler has returned (ctl_write_cb) */
	c->busy = 0;
	c->closing = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
	bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
	return fd;
}

struct ctl_client *
ctl_client_find(struct ctl_server *srv, uint64_t id)
{
	struct ctl_client *c;

	TAILQ_FOREACH(c, &srv->clients, entry)
		if (c->id == id)
			return c->closing ? NULL : c;
	return NULL;
}

uint64_t
ctl_client_id(const struct ctl_client *c)
{
	return c->id;
}

uid_t
ctl_client_uid(const struct ctl_client *c)
{
	return c->uid;
}

unsigned
ctl_client_roles(const struct ctl_client *c)
{
	return c->roles;
}

const char *
ctl_client_actor(const struct ctl_client *c)
{
	return c->actor;
}

/* ---- client ---- */

int
ctl_connect(struct ctl_conn *cc, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	cc->off = cc->n = 0;
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((cc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(cc->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "cannot reach gatewayd at %s: %s", path,
		    strerror(errno));
		close(cc->fd);
		cc->fd = -1;
		return -1;
	}
	return 0;
}

int
ctl_send(struct ctl_conn *cc, int argc, char *const argv[])
{
	char line[CTL_LINE_MAX + 2];
	int n = ctl_format(argc, argv, line, sizeof(line));
	size_t off = 0;

	if (n < 0) {
		errno = E2BIG;
		return -1;
	}
	while (off < (size_t)n) {
		ssize_t w = write(cc->fd, line + off, (size_t)n - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

int
ctl_read_line(struct ctl_conn *cc, char **line)
{
	for (;;) {
		char *nl = memchr(cc->buf + cc->off, '\n', cc->n - cc->off);
		ssize_t r;

		if (nl != NULL) {
			*nl = '\0';
			*line = cc->buf + cc->off;
			cc->off = (size_t)(nl - cc->buf) + 1;
			return 1;
		}
		if (cc->off > 0) {
			memmove(cc->buf, cc->buf + cc->off, cc->n - cc->off);
			cc->n -= cc->off;
			cc->off = 0;
		}
		if (cc->n >= CTL_RESP_MAX)
			return -1;
		r = read(cc->fd, cc->buf + cc->n, CTL_RESP_MAX - cc->n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return 0;
		cc->n += (size_t)r;
	}
}

void
ctl_disconnect(struct ctl_conn *cc)
{
	if (cc->fd != -1)
		close(cc->fd);
	cc->fd = -1;
}
