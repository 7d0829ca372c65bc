/*
 * test_throttle.c — failed sign-ins per key: the wait after too many
 * failures, its end, the quiet window, a success forgetting, the bounded
 * table under a flood of new keys (a waiting key is never pushed out
 * while a non-waiting one could be), and address keys (IPv4, mapped,
 * IPv6 /64).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "gateway/throttle.h"

static void
test_lock_and_expiry(void **st)
{
	struct throttle *t = throttle_new(8, 3, 60, 600);

	(void)st;
	assert_non_null(t);
	assert_int_equal(throttle_wait(t, "alice", 1000), 0);
	assert_int_equal(throttle_fail(t, "alice", 1000), 0);
	assert_int_equal(throttle_fail(t, "alice", 1001), 0);
	assert_int_equal(throttle_wait(t, "alice", 1001), 0);
	assert_int_equal(throttle_fail(t, "alice", 1002), 60);	/* third */
	assert_int_equal(throttle_wait(t, "alice", 1002), 60);
	assert_int_equal(throttle_wait(t, "alice", 1061), 1);
	assert_int_equal(throttle_wait(t, "bob", 1002), 0);	/* others free */
	assert_int_equal(throttle_wait(t, "alic", 1002), 0);	/* exact keys */
	assert_int_equal(throttle_wait(t, "alice", 1062), 0);	/* served */
	/* after a served wait the count starts again: one more is not a wait */
	assert_int_equal(throttle_fail(t, "alice", 1062), 0);
	assert_int_equal(throttle_fail(t, "alice", 1063), 0);
	assert_int_equal(throttle_fail(t, "alice", 1064), 60);
	throttle_free(t);
}

static void
test_window_and_forget(void **st)
{
	struct throttle *t = throttle_new(8, 3, 60, 600);

	(void)st;
	/* two failures, then quiet for the window: forgotten */
	throttle_fail(t, "10.0.0.7", 0);
	throttle_fail(t, "10.0.0.7", 100);
	assert_int_equal(throttle_fail(t, "10.0.0.7", 700), 0);
	assert_int_equal(throttle_fail(t, "10.0.0.7", 701), 0);
	assert_int_equal(throttle_fail(t, "10.0.0.7", 702), 60);
	/* a slow guesser inside the window is still counted */
	throttle_fail(t, "bob", 0);
	throttle_fail(t, "bob", 599);
	assert_int_equal(throttle_fail(t, "bob", 1198), 60);
	/* a success forgets */
	throttle_fail(t, "carol", 0);
	throttle_fail(t, "carol", 1);
	assert_int_equal(throttle_count(t), 3);
	throttle_forget(t, "carol");
	throttle_forget(t, "nobody");
	assert_int_equal(throttle_count(t), 2);
	assert_int_equal(throttle_fail(t, "carol", 2), 0);
	assert_int_equal(throttle_fail(t, "carol", 3), 0);
	/* the entries moved by the forget are intact */
	assert_int_equal(throttle_wait(t, "bob", 1198), 60);
	assert_int_equal(throttle_wait(t, "10.0.0.7", 702), 60);
	/* a key longer than the table holds is cut, consistently */
	char longkey[200];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (int i = 0; i < 3; i++)
		throttle_fail(t, longkey, 10);
	assert_int_equal(throttle_wait(t, longkey, 10), 60);
	assert_null(throttle_new(0, 3, 60, 600));
	assert_null(throttle_new(8, 0, 60, 600));
	throttle_free(t);
	throttle_free(NULL);
}

static void
test_bounded_flood(void **st)
{
	struct throttle *t = throttle_new(4, 2, 60, 600);
	char k[32];

	(void)st;
	/* the victim is made to wait ... */
	throttle_fail(t, "victim", 100);
	assert_int_equal(throttle_fail(t, "victim", 100), 60);
	/* ... then 1000 new keys, one failure each, fill and churn the table */
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "flood-%d", i);
		throttle_fail(t, k, 101 + i / 100);
	}
	assert_int_equal(throttle_count(t), 4);
	assert_true(throttle_wait(t, "victim", 110) > 0);	/* still waiting */
	/* the newest keys are held (a second failure makes flood-999 wait),
	 * the oldest went (flood-0 starts again from one failure) */
	assert_int_equal(throttle_fail(t, "flood-999", 110), 60);
	assert_int_equal(throttle_fail(t, "flood-0", 110), 0);
	assert_true(throttle_wait(t, "victim", 110) > 0);
	/* every entry waiting: the one whose wait ends soonest goes */
	struct throttle *u = throttle_new(2, 1, 60, 600);
	assert_int_equal(throttle_fail(u, "a", 10), 60);
	assert_int_equal(throttle_fail(u, "b", 20), 60);
	assert_int_equal(throttle_fail(u, "c", 30), 60);
	assert_int_equal(throttle_wait(u, "a", 30), 0);		/* pushed out */
	assert_int_equal(throttle_wait(u, "b", 30), 50);
	assert_int_equal(throttle_wait(u, "c", 30), 60);
	throttle_free(u);
	throttle_free(t);
}

static void
test_addr_key(void **st)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	char k[THROTTLE_KEY_MAX];

	(void)st;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(443);
	inet_pton(AF_INET, "192.0.2.33", &s4.sin_addr);
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s4, k, sizeof(k)), 0);
	assert_string_equal(k, "192.0.2.33");

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.33", &s6.sin6_addr);
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s6, k, sizeof(k)), 0);
	assert_string_equal(k, "192.0.2.33");	/* same host, same key */

	inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &s6.sin6_addr);
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s6, k, sizeof(k)), 0);
	assert_string_equal(k, "2001:db8:1:2::/64");
	inet_pton(AF_INET6, "2001:db8:1:2::1", &s6.sin6_addr);
	char k2[THROTTLE_KEY_MAX];
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s6, k2, sizeof(k2)), 0);
	assert_string_equal(k, k2);		/* one /64, one key */
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &s6.sin6_addr);
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s6, k, sizeof(k)), 0);
	assert_string_equal(k, "ffff:ffff:ffff:ffff::/64");
	assert_int_equal(throttle_addr_key((struct sockaddr *)&s6, k, 8), -1);

	struct sockaddr su = { .sa_family = AF_UNIX };
	assert_int_equal(throttle_addr_key(&su, k, sizeof(k)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_and_expiry),
		cmocka_unit_test(test_window_and_forget),
		cmocka_unit_test(test_bounded_flood),
		cmocka_unit_test(test_addr_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
