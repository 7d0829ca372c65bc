/*
 * throttle.h — a bounded table of failed sign-ins per key (a person's
 * name, or a source address), for the gate console. A key that fails
 * too often in a window is made to wait before it may try again, so
 * guessing passwords costs time as well as the hash's CPU, whether an
 * attacker tries many passwords for one name or one password for many
 * names from one address.
 *
 * The table has a fixed size: a flood of new keys can push old entries
 * out, but never one that is waiting while an entry that is not waiting
 * remains (see throttle_fail).
 *
 * Trusts: keys are plain strings, cut to THROTTLE_KEY_MAX - 1 bytes.
 */
#ifndef GATEWAY_THROTTLE_H
#define GATEWAY_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_KEY_MAX	48

struct sockaddr;
struct throttle;

/* max entries; failures allowed before a wait; the wait in seconds; a
 * key quiet for window_s seconds starts again from no failures. NULL if
 * out of memory or an argument is zero. */
struct throttle *throttle_new(size_t max, unsigned fails_max, int64_t lock_s,
	    int64_t window_s);
void	throttle_free(struct throttle *);
/* Seconds key must still wait before it may try (0: it may now). */
int64_t	throttle_wait(const struct throttle *, const char *key, int64_t now);
/* Count a failure; the seconds it must now wait (0 if none yet). */
int64_t	throttle_fail(struct throttle *, const char *key, int64_t now);
/* A success: forget key's failures. */
void	throttle_forget(struct throttle *, const char *key);
size_t	throttle_count(const struct throttle *);
/* The key for a peer address: IPv4 as such (also when mapped into IPv6),
 * IPv6 as its /64, since one host commonly holds a whole /64. -1 for any
 * other family. */
int	throttle_addr_key(const struct sockaddr *, char *buf, size_t len);

#endif
