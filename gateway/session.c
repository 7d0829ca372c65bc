/*
 * session.c — the console's session table (see session.h).
 *
 * Tokens are 32 bytes from getrandom(2), shown as hex. Lookups compare
 * every candidate in constant time, so response timing says nothing about
 * how much of a guessed token was right.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/session.h"

struct session_table {
	size_t		 max;
	int64_t		 idle_s, max_s;
	uint64_t	 next_id;
	struct session	*s;
};

struct session_table *
session_table_new(size_t max, int64_t idle_s, int64_t max_s)
{
	struct session_table *t;

	if (max == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->s = calloc(max, sizeof(*t->s))) == NULL) {
		free(t);
		return NULL;
	}
	t->max = max;
	t->idle_s = idle_s;
	t->max_s = max_s;
	return t;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	explicit_bzero(t->s, t->max * sizeof(*t->s));
	free(t->s);
	free(t);
}

static int
session_random_hex(char *out)
{
	unsigned char r[SESSION_TOKEN_LEN / 2];
	size_t got = 0;
	static const char hex[] = "0123456789abcdef";

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[SESSION_TOKEN_LEN] = '\0';
	explicit_bzero(r, sizeof(r));
	return 0;
}

static int
session_expired(const struct session_table *t, const struct session *s,
    int64_t now)
{
	return now - s->last >= t->idle_s || now - s->created >= t->max_s ||
	    now < s->created;	/* the clock went back: start again */
}

void
session_end(struct session *s)
{
	explicit_bzero(s, sizeof(*s));
}

struct session *
session_create(struct session_table *t, const char *user, unsigned roles,
    int64_t now)
{
	struct session *s = NULL;

	session_expire(t, now);
	for (size_t i = 0; i < t->max && s == NULL; i++)
		if (!t->s[i].used)
			s = &t->s[i];
	if (s == NULL) {
		/* full: the one idle longest goes */
		s = &t->s[0];
		for (size_t i = 1; i < t->max; i++)
			if (t->s[i].last < s->last)
				s = &t->s[i];
		session_end(s);
	}
	if (session_random_hex(s->token) == -1 ||
	    session_random_hex(s->csrf) == -1) {
		session_end(s);
		return NULL;
	}
	s->used = 1;
	strncpy(s->user, user, sizeof(s->user) - 1);
	s->roles = roles;
	s->created = s->last = now;
	s->id = ++t->next_id;
	return s;
}

/* 1 if a and b (b NUL-terminated, any length) are equal; the time taken
 * depends only on SESSION_TOKEN_LEN. */
static int
session_token_eq(const char *a, const char *b)
{
	unsigned char d = 0;
	size_t bl = strnlen(b, SESSION_TOKEN_LEN + 1);

	for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
		d |= (unsigned char)(a[i] ^ (i < bl ? b[i] : 0));
	return d == 0 && bl == SESSION_TOKEN_LEN;
}

struct session *
session_find(struct session_table *t, const char *token, int64_t now,
    int touch)
{
	struct session *hit = NULL;

	if (token == NULL)
		return NULL;
	for (size_t i = 0; i < t->max; i++)
		if (t->s[i].used && session_token_eq(t->s[i].token, token))
			hit = &t->s[i];
	if (hit == NULL)
		return NULL;
	if (session_expired(t, hit, now)) {
		session_end(hit);
		return NULL;
	}
	if (touch)
		hit->last = now;
	return hit;
}

int
session_csrf_ok(const struct session *s, const char *presented)
{
	return presented != NULL && session_token_eq(s->csrf, presented);
}

int64_t
session_remaining(const struct session_table *t, const struct session *s,
    int64_t now)
{
	int64_t idle = s->last + t->idle_s - now;
	int64_t abs = s->created + t->max_s - now;
	int64_t r = idle < abs ? idle : abs;

	return r > 0 ? r : 0;
}

size_t
session_expire(struct session_table *t, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < t->max; i++)
		if (t->s[i].used && session_expired(t, &t->s[i], now)) {
			session_end(&t->s[i]);
			n++;
		}
	return n;
}

size_t
session_count(const struct session_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->max; i++)
		n += t->s[i].used != 0;
	return n;
}
