/*
 * ctl.h — the control protocol between gatectl and gatewayd, on a Unix
 * stream socket.
 *
 * Request: one line of at most CTL_LINE_MAX bytes including the final
 * "\n": words separated by spaces, a word with spaces or quotes written as
 * "..." with \" and \\ escapes. No control bytes, no NUL. At most
 * CTL_ARGS_MAX words. Anything else is answered with an error to that
 * client only; a line longer than the limit closes that connection.
 *
 * Response: lines, each starting with a tag word:
 *   data TEXT      part of the answer (zero or more)
 *   event TEXT     one live event (watch)
 *   ok [TEXT]      the request succeeded; the answer is complete
 *   err CODE TEXT  the request failed; CODE is EINVAL, EPERM, ENOENT,
 *                  E2BIG, EBUSY, EIO, EAGAIN
 * TEXT never contains a newline or control byte (replaced by spaces).
 *
 * Roles come from the peer's credentials (SO_PEERCRED), never from the
 * request: root is admin; admin may do everything; otherwise membership
 * of the Unix group gateway.conf names for staff / admin / auditor.
 *
 * Delegation (the web console, docs/console.md): a peer in the console
 * group (or root) may send "delegate NAME ROLE[,ROLE]" once, first on its
 * connection. From then on the connection holds exactly those roles and
 * its actor is "NAME via console uid U", so every later request goes
 * through the same role checks and journal fields as one from gatectl.
 */
#ifndef GATEWAY_CTL_H
#define GATEWAY_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_LINE_MAX	4096
#define CTL_ARGS_MAX	16
#define CTL_RESP_MAX	65536	/* longest response line a client accepts */

#define CTL_ROLE_STAFF		0x1
#define CTL_ROLE_ADMIN		0x2
#define CTL_ROLE_AUDITOR	0x4
#define CTL_ROLE_CONSOLE	0x8	/* may speak for a signed-in person */
#define CTL_ROLE_ANY		0x0	/* no role needed */

struct ctl_request {
	int	 argc;
	char	*argv[CTL_ARGS_MAX + 1];
	char	 buf[CTL_LINE_MAX + CTL_ARGS_MAX];
};

/* Parse one request line (without its "\n"). 0, or -1 with why in err. */
int	ctl_parse(const char *line, size_t len, struct ctl_request *,
	    char *err, size_t errlen);
/* Build a request line (with "\n") from words; -1 if it would not fit or
 * a word holds a control byte. */
int	ctl_format(int argc, char *const argv[], char *buf, size_t len);

/* The roles a command needs (CTL_ROLE_* any of which suffices), -1 for an
 * unknown command; *name gets the role to name in a denial. */
int	ctl_command_roles(const char *cmd, const char **name);
const char *ctl_roles_text(unsigned roles, char *buf, size_t len);

/* ---- server (gatewayd) ---- */
struct event_base;
struct ctl_server;
struct ctl_client;

#define CTL_DONE	0	/* the handler replied ok/err */
#define CTL_PENDING	1	/* it will reply later (by client id) */

struct ctl_handler {
	void	*ctx;
	/* Called with a parsed, role-checked request; reply with
	 * ctl_data/ctl_ok/ctl_err; return CTL_DONE or CTL_PENDING. */
	int	(*request)(void *ctx, struct ctl_client *,
		    const struct ctl_request *);
	/* The client went away (cancel anything pending for it). */
	void	(*gone)(void *ctx, struct ctl_client *);
};

/* Groups for staff / admin / auditor ("" = nobody); resolved per peer. */
struct ctl_server *ctl_listen(struct event_base *, const char *path,
	    const char *const groups[3], const struct ctl_handler *,
	    char *err, size_t errlen);
/* The same on a socket already bound and listening (ctl_bind: done by the
 * privileged parent; the engine serves it). path is only for messages. */
int	ctl_bind(const char *path, char *err, size_t errlen);
struct ctl_server *ctl_listen_fd(struct event_base *, int fd,
	    const char *path, const char *const groups[3],
	    const struct ctl_handler *, char *err, size_t errlen);
void	ctl_close(struct ctl_server *);
/* Give the client's connection away (to the journal's owner, for audit
 * export/verify), from inside the request handler, which then returns
 * CTL_PENDING: a new descriptor for it, and the client is forgotten here
 * without a word written. -1 if the descriptor cannot be duplicated (the
 * client is forgotten anyway). */
int	ctl_client_handoff(struct ctl_client *);
/* The Unix group whose members may delegate ("" = only root). */
void	ctl_set_console_group(struct ctl_server *, const char *group);
/* A client by id, or NULL if it has gone. */
struct ctl_client *ctl_client_find(struct ctl_server *, uint64_t id);
uint64_t ctl_client_id(const struct ctl_client *);
uid_t	ctl_client_uid(const struct ctl_client *);
unsigned ctl_client_roles(const struct ctl_client *);
/* "uid 1000 (alice)" for the journal's actor field. */
const char *ctl_client_actor(const struct ctl_client *);

void	ctl_data(struct ctl_client *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ctl_ok(struct ctl_client *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	ctl_err(struct ctl_client *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Subscribe the client to events (watch): 1 = JSON lines. The request
 * stays open until the client disconnects. */
void	ctl_watch(struct ctl_client *, int json);
/* Send one event to every watcher in the format it asked for. */
void	ctl_broadcast(struct ctl_server *, const char *human, const char *json);

/* Stream a long answer: fill is called whenever the client's output
 * buffer has drained; it writes some ctl_data lines and returns 1 while
 * there is more, 0 when it has finished (it then sent ok/err itself).
 * done(arg) is called exactly once at the end or when the client goes. */
void	ctl_stream(struct ctl_client *, int (*fill)(void *, struct ctl_client *),
	    void (*done)(void *), void *arg);

/* ---- client (gatectl) ---- */
struct ctl_conn {
	int	 fd;
	size_t	 off, n;		/* unread bytes are buf[off..n) */
	char	 buf[CTL_RESP_MAX + 1];
};

int	ctl_connect(struct ctl_conn *, const char *path, char *err,
	    size_t errlen);
int	ctl_send(struct ctl_conn *, int argc, char *const argv[]);
/* Next response line (NUL-terminated, without "\n") in *line: 1, 0 at end
 * of stream, -1 on error or an over-long line. */
int	ctl_read_line(struct ctl_conn *, char **line);
void	ctl_disconnect(struct ctl_conn *);

#endif
