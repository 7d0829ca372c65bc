/*
 * audit.c — option parsing, time parsing and record matching for audit
 * exports. Pure: no I/O.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/audit.h"
#include "gateway/journal.h"

int
audit_parse_time(const char *s, int64_t *us)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, oh, om;
	const char *rest;
	time_t t;

	if (s[0] == '@') {
		char *end;
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end != '\0')
			return -1;
		*us = (int64_t)v * 1000000;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	rest = s + n;
	if (*rest == 'T') {
		int m = 0;
		if (sscanf(rest, "T%2d:%2d%n", &h, &mi, &m) != 2 || m != 6)
			return -1;
		rest += m;
		if (*rest == ':') {
			if (sscanf(rest, ":%2d%n", &sec, &m) != 1 || m != 3)
				return -1;
			rest += m;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (*rest == '\0') {
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			return -1;
	} else {
		t = timegm(&tm);
		if (strcmp(rest, "Z") != 0) {
			if ((rest[0] != '+' && rest[0] != '-') ||
			    sscanf(rest + 1, "%2d:%2d", &oh, &om) != 2 ||
			    strlen(rest) != 6 || oh > 23 || om > 59)
				return -1;
			t -= (rest[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		}
	}
	*us = (int64_t)t * 1000000;
	return 0;
}

static int
audit_copy(char *dst, size_t len, const char *v, const char *opt, char *err,
    size_t errlen)
{
	if (strlen(v) >= len) {
		snprintf(err, errlen, "%s value too long", opt);
		return -1;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

int
audit_parse_args(int argc, char *const argv[], struct audit_filter *f,
    const char **journal_dir, char *err, size_t errlen)
{
	int have_format = 0;

	memset(f, 0, sizeof(*f));
	if (journal_dir != NULL)
		*journal_dir = NULL;
	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v;

		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s: missing value (or unknown "
			    "option)", o);
			return -1;
		}
		v = argv[++i];
		if (strcmp(o, "--since") == 0 || strcmp(o, "--until") == 0) {
			int64_t t;
			if (audit_parse_time(v, &t) == -1) {
				snprintf(err, errlen, "%s: '%s' is not a time "
				    "(2026-03-02T10:00, with Z or +01:00 for "
				    "absolute, or @SECONDS)", o, v);
				return -1;
			}
			if (o[2] == 's')
				f->since_us = t;
			else
				f->until_us = t;
		} else if (strcmp(o, "--gate") == 0) {
			if (audit_copy(f->gate, sizeof(f->gate), v, o, err,
			    errlen) == -1)
				return -1;
		} else if (strcmp(o, "--zone") == 0) {
			if (audit_copy(f->zone, sizeof(f->zone), v, o, err,
			    errlen) == -1)
				return -1;
		} else if (strcmp(o, "--badge") == 0) {
			if (audit_copy(f->badge, sizeof(f->badge), v, o, err,
			    errlen) == -1)
				return -1;
		} else if (strcmp(o, "--decision") == 0) {
			if (strcmp(v, "grant") != 0 && strcmp(v, "deny") != 0) {
				snprintf(err, errlen, "--decision is grant or "
				    "deny, not '%s'", v);
				return -1;
			}
			snprintf(f->decision, sizeof(f->decision), "%s", v);
		} else if (strcmp(o, "--format") == 0) {
			if (strcmp(v, "csv") == 0)
				f->format = AUDIT_CSV;
			else if (strcmp(v, "jsonl") == 0)
				f->format = AUDIT_JSONL;
			else {
				snprintf(err, errlen, "--format is csv or jsonl, "
				    "not '%s'", v);
				return -1;
			}
			have_format = 1;
		} else if (strcmp(o, "--journal") == 0 && journal_dir != NULL) {
			*journal_dir = v;
		} else {
			snprintf(err, errlen, "unknown option '%s'", o);
			return -1;
		}
	}
	if (!have_format) {
		snprintf(err, errlen, "--format csv|jsonl is required");
		return -1;
	}
	return 0;
}

int
audit_match(const struct audit_filter *f, const struct journal_record *r)
{
	if (f->since_us && r->time_us < f->since_us)
		return 0;
	if (f->until_us && r->time_us >= f->until_us)
		return 0;
	if (f->gate[0] && strcmp(f->gate, r->gate) != 0)
		return 0;
	if (f->zone[0] && strcmp(f->zone, r->zone_from) != 0 &&
	    strcmp(f->zone, r->zone_to) != 0)
		return 0;
	if (f->badge[0] && strcmp(f->badge, r->cred) != 0)
		return 0;
	if (f->decision[0] && strcmp(f->decision, r->decision) != 0)
		return 0;
	return 1;
}

size_t
audit_format(const struct audit_filter *f, const struct journal_record *r,
    char *buf, size_t len)
{
	size_t n = f->format == AUDIT_CSV ? journal_format_csv(r, buf, len) :
	    journal_format_json(r, buf, len);

	if (n >= len)
		return n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n;
}

const char *
audit_header(const struct audit_filter *f, char *buf, size_t len)
{
	size_t n;

	if (f->format != AUDIT_CSV || len == 0) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "%s", journal_csv_header);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}
