/*
 * http.h — the console's HTTP/1.1 request parser and the few encoders it
 * needs (JSON strings, flat JSON objects). Pure: no I/O, no allocation;
 * everything is bounded by the constants below and fuzzed
 * (tests/fuzz/fuzz_http.c).
 *
 * Trusts: nothing. The bytes come from a browser on the venue network,
 * after TLS but before any sign-in.
 */
#ifndef GATEWAY_HTTP_H
#define GATEWAY_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX		8192	/* request line + headers, with CRLFs */
#define HTTP_BODY_MAX		4096	/* the console's bodies are tiny JSON */
#define HTTP_HEADERS_MAX	40
#define HTTP_PATH_MAX		256

/* http_parse results besides a positive byte count */
#define HTTP_INCOMPLETE		0

struct http_header {
	const char	*name, *value;	/* NUL-terminated, inside req->buf */
};

struct http_request {
	char		 method[8];
	char		 path[HTTP_PATH_MAX];	/* without the query */
	char		 query[HTTP_PATH_MAX];
	int		 minor;			/* HTTP/1.minor */
	size_t		 nheaders;
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t		 content_length;
	const char	*body;			/* inside the caller's input */
	int		 keep_alive;
	char		 buf[HTTP_HEAD_MAX];	/* header names and values */
};

/*
 * Parse one request from in[0..len). Returns the number of bytes it takes
 * (head + body) when complete, HTTP_INCOMPLETE when more bytes may make it
 * complete, or -STATUS (-400, -413, -414, -431, -501, -505) when it never
 * will; the connection should answer that status and close. req->body
 * points into in. Only GET, HEAD and POST; no Transfer-Encoding; lines end
 * in CRLF.
 */
long	http_parse(const char *in, size_t len, struct http_request *req);
/* Case-insensitive header lookup; the first of that name, or NULL. */
const char *http_header(const struct http_request *, const char *name);
/* Number of headers of that name (duplicates of Cookie or Origin are
 * refused by the caller). */
size_t	http_header_count(const struct http_request *, const char *name);
/* A cookie's value from the Cookie header: 1 found, 0 not, -1 too long. */
int	http_cookie(const struct http_request *, const char *name, char *out,
	    size_t outlen);

/* "..." with JSON escapes (and <>& as \u00XX), NUL-terminated; returns
 * the length it needed: >= len means truncated, not to be used. */
size_t	http_json_str(char *buf, size_t len, const char *s);
/*
 * A value from a flat JSON object of string members, e.g.
 * {"gate":"front","reason":"porter"}. The whole body must be one such
 * object (whitespace allowed; no nesting, numbers or duplicates of the
 * key). 1 found (out holds it, UTF-8, no control bytes), 0 absent, -1
 * malformed or too long.
 */
int	http_json_get(const char *body, size_t len, const char *key, char *out,
	    size_t outlen);

#endif
