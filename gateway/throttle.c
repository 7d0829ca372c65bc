/*
 * throttle.c — failed sign-ins per key in a fixed table (throttle.h).
 * A linear scan: the table is small (hundreds) and every lookup sits
 * next to a PBKDF2 that costs milliseconds.
 *
 * Trusts: nothing about keys beyond their being strings.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/throttle.h"

struct throttle_entry {
	char		 key[THROTTLE_KEY_MAX];
	unsigned	 fails;
	int64_t		 last;		/* latest failure */
	int64_t		 until;		/* may try again from then */
};

struct throttle {
	size_t			 max, n;
	unsigned		 fails_max;
	int64_t			 lock_s, window_s;
	struct throttle_entry	*v;
};

struct throttle *
throttle_new(size_t max, unsigned fails_max, int64_t lock_s, int64_t window_s)
{
	struct throttle *t;

	if (max == 0 || fails_max == 0 || lock_s <= 0 || window_s <= 0 ||
	    (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->v = calloc(max, sizeof(*t->v))) == NULL) {
		free(t);
		return NULL;
	}
	t->max = max;
	t->fails_max = fails_max;
	t->lock_s = lock_s;
	t->window_s = window_s;
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	free(t->v);
	free(t);
}

static struct throttle_entry *
throttle_find(const struct throttle *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strncmp(t->v[i].key, key, THROTTLE_KEY_MAX - 1) == 0)
			return &t->v[i];
	return NULL;
}

int64_t
throttle_wait(const struct throttle *t, const char *key, int64_t now)
{
	const struct throttle_entry *e = throttle_find(t, key);

	return e != NULL && e->until > now ? e->until - now : 0;
}

/*
 * The slot for a new key when the table is full. Prefer the entry that
 * is not waiting and failed longest ago: pushing it out forgets at most
 * fails_max - 1 failures. Only if every entry is waiting does the one
 * whose wait ends soonest go, so a flood of new keys cannot free a key
 * that was just made to wait while others would do.
 */
static struct throttle_entry *
throttle_victim(struct throttle *t, int64_t now)
{
	struct throttle_entry *idle = NULL, *soonest = NULL;

	for (size_t i = 0; i < t->n; i++) {
		struct throttle_entry *e = &t->v[i];
		if (e->until <= now) {
			if (idle == NULL || e->last < idle->last)
				idle = e;
		} else if (soonest == NULL || e->until < soonest->until)
			soonest = e;
	}
	return idle != NULL ? idle : soonest;
}

int64_t
throttle_fail(struct throttle *t, const char *key, int64_t now)
{
	struct throttle_entry *e = throttle_find(t, key);

	if (e == NULL) {
		e = t->n < t->max ? &t->v[t->n++] : throttle_victim(t, now);
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
	}
	/* quiet for a window, or a wait served: start counting afresh */
	if (now - e->last >= t->window_s || (e->until != 0 && now >= e->until)) {
		e->fails = 0;
		e->until = 0;
	}
	e->last = now;
	if (++e->fails >= t->fails_max)
		e->until = now + t->lock_s;
	return e->until > now ? e->until - now : 0;
}

void
throttle_forget(struct throttle *t, const char *key)
{
	struct throttle_entry *e = throttle_find(t, key);

	if (e == NULL)
		return;
	*e = t->v[--t->n];	/* keep the used entries packed */
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
}

size_t
throttle_count(const struct throttle *t)
{
	return t->n;
}

int
throttle_addr_key(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + 4];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)) == NULL)
			return -1;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		struct in6_addr a = s6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			if (inet_ntop(AF_INET, &a.s6_addr[12], host,
			    sizeof(host)) == NULL)
				return -1;
		} else {
			memset(&a.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &a, host, sizeof(host)) == NULL)
				return -1;
			if (strlen(host) + 3 < sizeof(host))
				strcat(host, "/64");
		}
	} else
		return -1;
	return snprintf(buf, len, "%s", host) >= (int)len ? -1 : 0;
}
