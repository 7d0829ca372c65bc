/*
 * relp.c — RELP frame builder and parser (see relp.h). Trusts nothing it
 * parses: every field is length-checked, numbers are bounded before they
 * are accumulated, and DATA is never read past the buffer.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/relp.h"

const char relp_open_offers[] = "relp_version=0\nrelp_software=gatewayd,1.0\n"
    "commands=syslog";

static void
relp_why(char *why, size_t whylen, const char *s)
{
	if (whylen)
		snprintf(why, whylen, "%s", s);
}

/* Digits at buf[*i..] up to 9 of them, ended by SP or LF. 1 ok, 0 need
 * more bytes, -1 malformed. */
static int
relp_number(const uint8_t *buf, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;
	size_t n = 0;

	while (*i < len && buf[*i] >= '0' && buf[*i] <= '9') {
		if (++n > 9)
			return -1;
		v = v * 10 + (uint32_t)(buf[*i] - '0');
		(*i)++;
	}
	if (*i == len)
		return n > 9 ? -1 : 0;
	if (n == 0)
		return -1;
	*out = v;
	return 1;
}

long
relp_parse(const uint8_t *buf, size_t len, size_t maxdata,
    struct relp_frame *f, char *why, size_t whylen)
{
	size_t i = 0, n = 0;
	int k;

	memset(f, 0, sizeof(*f));
	if ((k = relp_number(buf, len, &i, &f->txnr)) <= 0) {
		if (k < 0)
			relp_why(why, whylen, "bad transaction number");
		return k;
	}
	if (buf[i++] != ' ') {
		relp_why(why, whylen, "no space after transaction number");
		return -1;
	}
	while (i < len && ((buf[i] >= 'a' && buf[i] <= 'z') ||
	    (buf[i] >= 'A' && buf[i] <= 'Z'))) {
		if (n == RELP_CMD_MAX) {
			relp_why(why, whylen, "command longer than 32 letters");
			return -1;
		}
		f->cmd[n++] = (char)buf[i++];
	}
	if (i == len)
		return 0;
	if (n == 0 || buf[i++] != ' ') {
		relp_why(why, whylen, "bad command");
		return -1;
	}
	if ((k = relp_number(buf, len, &i, &f->datalen)) <= 0) {
		if (k < 0)
			relp_why(why, whylen, "bad data length");
		return k;
	}
	if (f->datalen > maxdata) {
		if (whylen)
			snprintf(why, whylen, "frame of %u bytes exceeds the "
			    "limit of %zu", f->datalen, maxdata);
		return -1;
	}
	if (f->datalen == 0) {
		/* "TXNR CMD 0" LF: the number must end in LF directly */
		if (buf[i] != '\n') {
			relp_why(why, whylen, "empty frame not ended by LF");
			return -1;
		}
		return (long)(i + 1);
	}
	if (buf[i++] != ' ') {
		relp_why(why, whylen, "no space before data");
		return -1;
	}
	if (len - i < (size_t)f->datalen + 1)
		return 0;
	f->data = buf + i;
	i += f->datalen;
	if (buf[i] != '\n') {
		relp_why(why, whylen, "frame not ended by LF");
		return -1;
	}
	return (long)(i + 1);
}

int
relp_rsp_code(const struct relp_frame *f)
{
	const uint8_t *d = f->data;

	if (f->datalen < 3)
		return -1;
	for (int i = 0; i < 3; i++)
		if (d[i] < '0' || d[i] > '9')
			return -1;
	if (f->datalen > 3 && d[3] != ' ' && d[3] != '\n')
		return -1;
	return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

/* Is the offer line [p, e) "name=..." with name, and (for want != NULL)
 * does its comma-separated value list contain want? */
static int
relp_offer_has(const uint8_t *p, const uint8_t *e, const char *name,
    const char *want)
{
	size_t nl = strlen(name);

	if ((size_t)(e - p) <= nl || memcmp(p, name, nl) != 0 || p[nl] != '=')
		return 0;
	p += nl + 1;
	while (p <= e) {
		const uint8_t *c = memchr(p, ',', (size_t)(e - p));
		if (c == NULL)
			c = e;
		if ((size_t)(c - p) == strlen(want) &&
		    memcmp(p, want, strlen(want)) == 0)
			return 1;
		p = c + 1;
	}
	return 0;
}

int
relp_open_ok(const struct relp_frame *f, char *why, size_t whylen)
{
	const uint8_t *p, *end;
	int code, version = 0, syslog = 0;

	if (strcmp(f->cmd, "rsp") != 0) {
		if (whylen)
			snprintf(why, whylen, "server answered open with "
			    "'%s'", f->cmd);
		return -1;
	}
	if ((code = relp_rsp_code(f)) != 200) {
		if (whylen)
			snprintf(why, whylen, "server refused the session: "
			    "%.*s", (int)(f->datalen > 80 ? 80 :
			    f->datalen), f->data ? (const char *)f->data : "");
		for (char *s = why; s && *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				*s = ' ';
		return -1;
	}
	p = f->data;
	end = f->data + f->datalen;
	while (p < end) {
		const uint8_t *e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (relp_offer_has(p, e, "relp_version", "0"))
			version = 1;
		if (relp_offer_has(p, e, "commands", "syslog"))
			syslog = 1;
		p = e + 1;
	}
	if (!version || !syslog) {
		relp_why(why, whylen, !version ? "server does not speak RELP "
		    "version 0" : "server does not offer the syslog command");
		return -1;
	}
	return 0;
}

size_t
relp_build(char *out, size_t outlen, uint32_t txnr, const char *cmd,
    const void *data, size_t len)
{
	int n;

	if (txnr == 0 || txnr > RELP_TXNR_MAX || len > RELP_TXNR_MAX ||
	    strlen(cmd) == 0 || strlen(cmd) > RELP_CMD_MAX)
		return 0;
	if (len == 0)
		n = snprintf(out, outlen, "%u %s 0\n", txnr, cmd);
	else
		n = snprintf(out, outlen, "%u %s %zu ", txnr, cmd, len);
	if (n < 0 || (size_t)n >= outlen || outlen - (size_t)n < len + 1)
		return 0;
	if (len == 0)
		return (size_t)n;
	memcpy(out + n, data, len);
	out[(size_t)n + len] = '\n';
	return (size_t)n + len + 1;
}
