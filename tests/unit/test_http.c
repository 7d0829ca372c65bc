/*
 * test_http.c — the console's HTTP parser on what browsers send and on
 * what attackers send; cookies; the flat JSON reader and the JSON string
 * writer; sessions (expiry, eviction, constant-time lookups) and CSRF
 * tokens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/ctl.h"
#include "gateway/http.h"
#include "gateway/session.h"
#include "gateway/users.h"

static struct http_request req;

static long
parse(const char *s)
{
	return http_parse(s, strlen(s), &req);
}

static void
test_browser_get(void **state)
{
	const char *s = "GET /api/events?x=1 HTTP/1.1\r\nHost: gate:8443\r\n"
	    "Cookie: a=b; __Host-gcsession=abc123; c=d\r\n"
	    "Accept: text/event-stream\r\n\r\n";
	char v[80];

	(void)state;
	assert_int_equal(parse(s), (long)strlen(s));
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/api/events");
	assert_string_equal(req.query, "x=1");
	assert_int_equal(req.minor, 1);
	assert_true(req.keep_alive);
	assert_string_equal(http_header(&req, "host"), "gate:8443");
	assert_int_equal(http_cookie(&req, "__Host-gcsession", v, sizeof(v)), 1);
	assert_string_equal(v, "abc123");
	assert_int_equal(http_cookie(&req, "c", v, sizeof(v)), 1);
	assert_string_equal(v, "d");
	assert_int_equal(http_cookie(&req, "zz", v, sizeof(v)), 0);
	assert_int_equal(http_cookie(&req, "__Host-gcsession", v, 4), -1);
}

static void
test_post_body(void **state)
{
	const char *s = "POST /api/open HTTP/1.1\r\nHost: h\r\nContent-Length: 5"
	    "\r\nConnection: close\r\n\r\nhelloNEXT";

	(void)state;
	assert_int_equal(parse(s), (long)strlen(s) - 4);
	assert_int_equal(req.content_length, 5);
	assert_memory_equal(req.body, "hello", 5);
	assert_false(req.keep_alive);
	/* every prefix is incomplete, never an error */
	for (size_t n = 0; n < strlen(s) - 4; n++)
		assert_int_equal(http_parse(s, n, &req), HTTP_INCOMPLETE);
}

static void
test_hostile(void **state)
{
	char big[HTTP_HEAD_MAX + 100];

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n"), -501);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx"), -400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "4097\r\n\r\n"), -413);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "99999999999\r\n\r\n"), -413);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "-1\r\n\r\n"), -400);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "1 2\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"),
	    -400);
	assert_int_equal(parse("GET / HTTP/1.1\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"),
	    -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n"),
	    -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n"), -400);	/* no Host */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	    -400);
	assert_int_equal(parse("PUT / HTTP/1.1\r\nHost: h\r\n\r\n"), -501);
	assert_int_equal(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), -505);
	assert_int_equal(parse("GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	assert_int_equal(parse("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), -400);
	/* a head that never ends */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(http_parse(big, sizeof(big), &req), -431);
	/* a long path */
	{
		char p[600];
		snprintf(p, sizeof(p), "GET /%0400d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
		assert_int_equal(parse(p), -414);
	}
	/* too many headers */
	{
		char h[4000] = "GET / HTTP/1.1\r\nHost: h\r\n";
		for (int i = 0; i < HTTP_HEADERS_MAX; i++)
			strcat(h, "X: y\r\n");
		strcat(h, "\r\n");
		assert_int_equal(parse(h), -431);
	}
	/* NUL inside the head */
	{
		static const char n[] = "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n";
		assert_int_equal(http_parse(n, sizeof(n) - 1, &req), -400);
	}
}

static void
test_json_get(void **state)
{
	char v[64];
	const char *b = " { \"gate\" : \"front\", \"reason\":\"porter \\\"A\\\" \\u00e9\\/\"}\n";

	(void)state;
	assert_int_equal(http_json_get(b, strlen(b), "gate", v, sizeof(v)), 1);
	assert_string_equal(v, "front");
	assert_int_equal(http_json_get(b, strlen(b), "reason", v, sizeof(v)), 1);
	assert_string_equal(v, "porter \"A\" \xc3\xa9/");
	assert_int_equal(http_json_get(b, strlen(b), "nope", v, sizeof(v)), 0);
	assert_int_equal(http_json_get("{}", 2, "a", v, sizeof(v)), 0);
	/* malformed or unwelcome: all -1 */
	static const char *bad[] = {
		"", "{", "{\"a\":\"b\"", "{\"a\":1}", "{\"a\":\"b\",}", "[\"a\"]",
		"{\"a\":\"b\"} x", "{\"a\":\"b\\n\"}", "{\"a\":\"\\u0000\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":{\"b\":\"c\"}}", "{\"a\":\"b\",\"a\":\"c\"}",
		"{\"a\":\"\x01\"}", "{a:\"b\"}", "{\"a\":\"\\x\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_json_get(bad[i], strlen(bad[i]), "a", v,
		    sizeof(v)), -1);
	/* too long for out */
	assert_int_equal(http_json_get("{\"a\":\"abcdef\"}", 14, "a", v, 4), -1);
}

static void
test_json_str(void **state)
{
	char b[64];

	(void)state;
	assert_int_equal(http_json_str(b, sizeof(b), "a\"b\\c\n<x>&"), 34);
	assert_string_equal(b, "\"a\\\"b\\\\c\\u000a\\u003cx\\u003e\\u0026\"");
	assert_true(http_json_str(b, 5, "abcdefgh") >= 5);	/* truncated */
	assert_int_equal(strlen(b), 4);
}

static void
test_sessions(void **state)
{
	struct session_table *t = session_table_new(2, 60, 600);
	struct session *a, *b, *c, *f;
	char tok[SESSION_TOKEN_LEN + 1], wrong[SESSION_TOKEN_LEN + 1];

	(void)state;
	assert_non_null(t);
	a = session_create(t, "alice", CTL_ROLE_STAFF, 1000);
	assert_non_null(a);
	assert_int_equal(strlen(a->token), SESSION_TOKEN_LEN);
	assert_string_not_equal(a->token, a->csrf);
	strcpy(tok, a->token);
	assert_ptr_equal(session_find(t, tok, 1010, 1), a);
	/* a token one character off, a prefix, a longer one: nothing */
	strcpy(wrong, tok);
	wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
	assert_null(session_find(t, wrong, 1010, 1));
	wrong[10] = '\0';
	assert_null(session_find(t, wrong, 1010, 1));
	assert_null(session_find(t, "", 1010, 1));
	assert_null(session_find(t, NULL, 1010, 1));
	/* CSRF: the session's own token only */
	assert_true(session_csrf_ok(a, a->csrf));
	assert_false(session_csrf_ok(a, a->token));
	assert_false(session_csrf_ok(a, ""));
	assert_false(session_csrf_ok(a, NULL));
	/* idle expiry: touched at 1010, gone at 1070 */
	assert_int_equal(session_remaining(t, a, 1020), 50);
	assert_non_null(session_find(t, tok, 1069, 0));
	assert_null(session_find(t, tok, 1070, 1));
	assert_int_equal(session_count(t), 0);	/* wiped when found expired */
	/* absolute expiry, however busy */
	a = session_create(t, "alice", CTL_ROLE_STAFF, 2000);
	strcpy(tok, a->token);
	for (int64_t now = 2000; now < 2600; now += 30)
		assert_non_null(session_find(t, tok, now, 1));
	assert_null(session_find(t, tok, 2600, 1));
	/* full table: the least recently used goes */
	a = session_create(t, "a", CTL_ROLE_STAFF, 3000);
	b = session_create(t, "b", CTL_ROLE_STAFF, 3001);
	strcpy(tok, a->token);
	assert_non_null(session_find(t, tok, 3002, 1));	/* a is fresher now */
	c = session_create(t, "c", CTL_ROLE_ADMIN, 3003);
	assert_non_null(c);
	assert_int_equal(session_count(t), 2);
	f = session_find(t, tok, 3004, 0);
	assert_non_null(f);
	assert_string_equal(f->user, "a");
	(void)b;
	/* the clock going back ends sessions rather than extending them */
	assert_null(session_find(t, tok, 100, 0));
	/* end wipes */
	session_end(c);
	assert_int_equal(session_count(t), 0);
	assert_int_equal(session_expire(t, 99999), 0);
	session_table_free(t);
}

static void
test_users(void **state)
{
	char h[200], text[600], err[200];
	struct users *u;
	unsigned roles = 0;

	(void)state;
	assert_int_equal(users_hash("s3cret pass", USERS_ITER_MIN, h, sizeof(h)), 0);
	snprintf(text, sizeof(text), "# people\nalice staff %s\n\nsam "
	    "supervisor,auditor %s  # shift lead\n", h, h);
	u = users_parse("u", text, strlen(text), err, sizeof(err));
	assert_non_null(u);
	assert_int_equal(users_count(u), 2);
	assert_int_equal(users_check(u, "alice", "s3cret pass", &roles), 1);
	assert_int_equal(roles, CTL_ROLE_STAFF);
	assert_int_equal(users_check(u, "sam", "s3cret pass", &roles), 1);
	assert_int_equal(roles, CTL_ROLE_ADMIN | CTL_ROLE_AUDITOR);
	assert_int_equal(users_check(u, "alice", "s3cret pas", &roles), 0);
	assert_int_equal(users_check(u, "bob", "s3cret pass", &roles), 0);
	users_free(u);
	/* bad files name the line */
	snprintf(text, sizeof(text), "alice staff %s\nalice staff %s\n", h, h);
	assert_null(users_parse("u", text, strlen(text), err, sizeof(err)));
	assert_string_equal(err, "u:2: alice listed twice");
	snprintf(text, sizeof(text), "alice janitor %s\n", h);
	assert_null(users_parse("u", text, strlen(text), err, sizeof(err)));
	assert_non_null(strstr(err, "u:1: bad roles"));
	assert_null(users_parse("u", "alice staff plain\n", 18, err, sizeof(err)));
	assert_non_null(strstr(err, "bad hash"));
	assert_null(users_parse("u", "al/ice staff x\n", 15, err, sizeof(err)));
	assert_int_equal(users_hash("x", 10, h, sizeof(h)), -1);	/* too few */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_browser_get),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_json_get),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_users),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
