/*
 * fuzz_http.c — the console's HTTP request parser and flat-JSON reader on
 * arbitrary bytes: never crash, never read past the input, and whatever
 * parses must be self-consistent (the byte count covers head and body,
 * the body lies inside the input, headers are NUL-terminated and clean).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_request req;
	const char *in = (const char *)data;
	char out[HTTP_BODY_MAX], cookie[80];
	long n;

	n = http_parse(in, size, &req);
	if (n > 0) {
		if ((size_t)n > size || req.content_length > HTTP_BODY_MAX ||
		    req.body < in || req.body + req.content_length != in + n)
			abort();
		if (req.nheaders > HTTP_HEADERS_MAX || req.path[0] != '/')
			abort();
		for (size_t i = 0; i < req.nheaders; i++)
			for (const char *p = req.headers[i].value; *p; p++)
				if ((unsigned char)*p < 0x20 && *p != '\t')
					abort();
		(void)http_cookie(&req, "__Host-gcsession", cookie,
		    sizeof(cookie));
		if (http_json_get(req.body, req.content_length, "gate", out,
		    sizeof(out)) == 1 && strlen(out) >= sizeof(out))
			abort();
	} else if (n != HTTP_INCOMPLETE && n != -400 && n != -413 &&
	    n != -414 && n != -431 && n != -501 && n != -505)
		abort();
	/* the JSON reader on the raw bytes too */
	if (http_json_get(in, size, "reason", out, sizeof(out)) == 1) {
		for (const char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	}
	return 0;
}
