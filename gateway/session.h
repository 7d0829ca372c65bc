/*
 * session.h — signed-in people for the gate console: who, which roles,
 * an unguessable cookie token and a separate CSRF token, and expiry
 * (idle and absolute). A fixed table: the number of sessions is bounded,
 * and the oldest is evicted when it is full.
 *
 * Trusts: tokens presented by browsers are compared in constant time and
 * only ever looked up, never parsed.
 */
#ifndef GATEWAY_SESSION_H
#define GATEWAY_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_TOKEN_LEN	64	/* hex of 32 random bytes */
#define SESSION_USER_MAX	33

struct session {
	int		 used;
	char		 user[SESSION_USER_MAX];
	unsigned	 roles;			/* CTL_ROLE_* */
	char		 token[SESSION_TOKEN_LEN + 1];	/* the cookie */
	char		 csrf[SESSION_TOKEN_LEN + 1];	/* X-CSRF-Token */
	int64_t		 created, last;		/* seconds */
	uint64_t	 id;			/* for logs: never the token */
};

struct session_table;

/* max sessions; idle and absolute lifetimes in seconds */
struct session_table *session_table_new(size_t max, int64_t idle_s,
	    int64_t max_s);
void	session_table_free(struct session_table *);
/* A new session (evicting the least recently used if full), or NULL if
 * the system has no randomness to give. */
struct session *session_create(struct session_table *, const char *user,
	    unsigned roles, int64_t now);
/* The live session for a cookie token, touched (idle clock restarted
 * when touch is set); NULL if unknown or expired (an expired one is
 * wiped). */
struct session *session_find(struct session_table *, const char *token,
	    int64_t now, int touch);
/* Whether a presented CSRF token is this session's (constant time). */
int	session_csrf_ok(const struct session *, const char *presented);
/* Seconds until it expires (0 if it has). */
int64_t	session_remaining(const struct session_table *,
	    const struct session *, int64_t now);
void	session_end(struct session *);
/* Wipe every expired session; the number wiped. */
size_t	session_expire(struct session_table *, int64_t now);
size_t	session_count(const struct session_table *);

#endif
