/*
 * http.c — a strict, bounded HTTP/1.1 request parser and small JSON
 * helpers for the gate console (see http.h). It accepts what browsers
 * send and little else: a request that is odd (folded headers, bare LF,
 * chunked bodies, two Content-Lengths, control bytes) is refused rather
 * than guessed at, because two parsers that guess differently are how
 * request smuggling happens.
 *
 * Trusts: nothing; every index is checked against the lengths it was
 * given.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/http.h"

/* RFC 9110 token characters */
static int
http_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
http_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The end of the head ("\r\n\r\n" included), or 0 if not within max. */
static size_t
http_head_end(const char *in, size_t len)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

	for (size_t i = 3; i < lim; i++)
		if (in[i] == '\n' && in[i - 1] == '\r' && in[i - 2] == '\n' &&
		    in[i - 3] == '\r')
			return i + 1;
	return 0;
}

static long
http_request_line(struct http_request *req, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2, *target, *q;
	size_t ml;

	if (sp1 == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strchr(sp2 + 1, ' ') != NULL)
		return -400;
	ml = (size_t)(sp1 - line);
	if (ml == 0 || ml >= sizeof(req->method))
		return -501;
	for (size_t i = 0; i < ml; i++)
		if (line[i] < 'A' || line[i] > 'Z')
			return -400;
	memcpy(req->method, line, ml);
	req->method[ml] = '\0';
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
	    strcmp(req->method, "POST") != 0)
		return -501;
	target = sp1 + 1;
	*sp2 = '\0';
	if (target[0] != '/')
		return -400;
	for (char *p = target; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return -400;
	if ((q = strchr(target, '?')) != NULL)
		*q++ = '\0';
	if (strlen(target) >= sizeof(req->path) ||
	    (q != NULL && strlen(q) >= sizeof(req->query)))
		return -414;
	strcpy(req->path, target);
	strcpy(req->query, q != NULL ? q : "");
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0)
		return -400;
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		req->minor = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		req->minor = 0;
	else
		return -505;
	return 0;
}

static long
http_header_line(struct http_request *req, char *line)
{
	char *colon = strchr(line, ':'), *v, *end;

	if (line[0] == ' ' || line[0] == '\t')
		return -400;		/* obsolete line folding */
	if (colon == NULL || colon == line)
		return -400;
	for (char *p = line; p < colon; p++)
		if (!http_tchar((unsigned char)*p))
			return -400;
	if (req->nheaders == HTTP_HEADERS_MAX)
		return -431;
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	for (char *p = v; *p; p++)
		if (!http_vchar((unsigned char)*p))
			return -400;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	req->headers[req->nheaders].name = line;
	req->headers[req->nheaders].value = v;
	req->nheaders++;
	return 0;
}

long
http_parse(const char *in, size_t len, struct http_request *req)
{
	size_t hl = http_head_end(in, len), cl = 0;
	const char *h;
	char *line, *next;
	long rc;

	memset(req, 0, offsetof(struct http_request, buf));
	if (hl == 0) {
		/* a bare LF anywhere in what we have is never going to
		 * become a valid head */
		size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
		for (size_t i = 0; i < lim; i++)
			if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
				return -400;
		return len >= HTTP_HEAD_MAX ? -431 : HTTP_INCOMPLETE;
	}
	memcpy(req->buf, in, hl);
	req->buf[hl - 2] = '\0';	/* hl >= 4: ends "\r\n\r\n" */
	for (size_t i = 0; i + 2 < hl; i++) {
		if (req->buf[i] == '\0')
			return -400;
		if (req->buf[i] == '\n' && (i == 0 || req->buf[i - 1] != '\r'))
			return -400;	/* bare LF (found by fuzz_http at i == 0) */
		if (req->buf[i] == '\r' && req->buf[i + 1] != '\n')
			return -400;
	}
	line = req->buf;
	next = strstr(line, "\r\n");
	if (next == NULL)
		return -400;
	*next = '\0';
	if ((rc = http_request_line(req, line)) != 0)
		return rc;
	for (line = next + 2; *line; line = next + 2) {
		if ((next = strstr(line, "\r\n")) == NULL)
			return -400;
		*next = '\0';
		if ((rc = http_header_line(req, line)) != 0)
			return rc;
	}
	if (http_header_count(req, "Transfer-Encoding") > 0)
		return -501;
	if (http_header_count(req, "Content-Length") > 1 ||
	    http_header_count(req, "Host") != 1)
		return -400;
	if ((h = http_header(req, "Content-Length")) != NULL) {
		if (*h == '\0' || strlen(h) > 9 || strspn(h, "0123456789") !=
		    strlen(h))
			return strlen(h) > 9 && strspn(h, "0123456789") ==
			    strlen(h) ? -413 : -400;
		for (; *h; h++)
			cl = cl * 10 + (size_t)(*h - '0');
		if (cl > HTTP_BODY_MAX)
			return -413;
	}
	req->content_length = cl;
	h = http_header(req, "Connection");
	req->keep_alive = req->minor == 1 ? !(h && strcasecmp(h, "close") == 0) :
	    (h && strcasecmp(h, "keep-alive") == 0);
	if (len - hl < cl)
		return HTTP_INCOMPLETE;
	req->body = in + hl;
	return (long)(hl + cl);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

size_t
http_header_count(const struct http_request *req, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			n++;
	return n;
}

int
http_cookie(const struct http_request *req, const char *name, char *out,
    size_t outlen)
{
	size_t nl = strlen(name);

	/* every Cookie header, every "; "-separated pair in it */
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *p;
		if (strcasecmp(req->headers[i].name, "Cookie") != 0)
			continue;
		for (p = req->headers[i].value; *p; ) {
			size_t n = strcspn(p, ";");
			if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
				size_t vl = n - nl - 1;
				if (vl >= outlen)
					return -1;
				memcpy(out, p + nl + 1, vl);
				out[vl] = '\0';
				return 1;
			}
			p += n;
			while (*p == ';' || *p == ' ')
				p++;
		}
	}
	return 0;
}

size_t
http_json_str(char *buf, size_t len, const char *s)
{
	size_t o = 0;

#define PUT(ch) do { if (o + 1 < len) buf[o] = (ch); o++; } while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT((char)ch);
		} else if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' ||
		    ch == '&') {
			/* also <>&: the text may end up near HTML */
			char u[8];
			snprintf(u, sizeof(u), "\\u%04x", ch);
			for (char *p = u; *p; p++)
				PUT(*p);
		} else
			PUT((char)ch);
	}
	PUT('"');
#undef PUT
	/* truncated (o >= len): the caller sees it from the result */
	if (len > 0)
		buf[o < len ? o : len - 1] = '\0';
	return o;
}

static const char *
http_json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static int
http_hex4(const char *p, const char *end, unsigned *v)
{
	*v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* One JSON string at *pp into out (NULL: skip); -1 malformed or too long.
 * Control characters, even escaped, are refused: nothing the console
 * takes needs them and the daemon's protocol forbids them. */
static int
http_json_string(const char **pp, const char *end, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t o = 0;

	if (p >= end || *p != '"')
		return -1;
	p++;
	for (;;) {
		unsigned cp;
		unsigned char c;
		char enc[4];
		size_t el;

		if (p >= end)
			return -1;
		c = (unsigned char)*p++;
		if (c == '"')
			break;
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (c != '\\') {
			enc[0] = (char)c;
			el = 1;
		} else {
			if (p >= end)
				return -1;
			c = (unsigned char)*p++;
			switch (c) {
			case '"': case '\\': case '/':
				enc[0] = (char)c;
				el = 1;
				break;
			case 'u':
				if (http_hex4(p, end, &cp) == -1)
					return -1;
				p += 4;
				if (cp >= 0xd800 && cp <= 0xdfff)
					return -1;	/* no surrogates */
				if (cp < 0x20 || cp == 0x7f)
					return -1;
				if (cp < 0x80) {
					enc[0] = (char)cp;
					el = 1;
				} else if (cp < 0x800) {
					enc[0] = (char)(0xc0 | (cp >> 6));
					enc[1] = (char)(0x80 | (cp & 0x3f));
					el = 2;
				} else {
					enc[0] = (char)(0xe0 | (cp >> 12));
					enc[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
					enc[2] = (char)(0x80 | (cp & 0x3f));
					el = 3;
				}
				break;
			default:	/* \b \f \n \r \t: control bytes */
				return -1;
			}
		}
		if (out != NULL) {
			if (o + el >= outlen)
				return -1;
			memcpy(out + o, enc, el);
		}
		o += el;
	}
	if (out != NULL)
		out[o] = '\0';
	*pp = p;
	return 0;
}

int
http_json_get(const char *body, size_t len, const char *key, char *out,
    size_t outlen)
{
	const char *p = body, *end = body + len;
	char name[64], val[HTTP_BODY_MAX];
	int found = 0;

	if (outlen == 0)
		return -1;
	p = http_json_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	p = http_json_ws(p, end);
	if (p < end && *p == '}')
		return http_json_ws(p + 1, end) == end ? 0 : -1;
	for (;;) {
		p = http_json_ws(p, end);
		if (http_json_string(&p, end, name, sizeof(name)) == -1)
			return -1;
		p = http_json_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = http_json_ws(p, end);
		if (http_json_string(&p, end, val, sizeof(val)) == -1)
			return -1;
		if (strcmp(name, key) == 0) {
			if (found || strlen(val) >= outlen)
				return -1;
			strcpy(out, val);
			found = 1;
		}
		p = http_json_ws(p, end);
		if (p >= end)
			return -1;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p++ != '}')
			return -1;
		break;
	}
	if (http_json_ws(p, end) != end)
		return -1;
	return found;
}
