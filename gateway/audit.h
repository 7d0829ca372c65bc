/*
 * audit.h — selecting journal records for auditors: the filter behind
 * `gatectl audit export`, shared by the daemon (online) and gatectl
 * (offline, on a copied journal directory).
 */
#ifndef GATEWAY_AUDIT_H
#define GATEWAY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct journal_record;

enum audit_format { AUDIT_CSV, AUDIT_JSONL };

struct audit_filter {
	int64_t		since_us, until_us;	/* 0: unbounded */
	char		gate[48], zone[48], badge[64];
	char		decision[8];		/* "grant", "deny" or "" */
	enum audit_format format;
};

/* Parse export options (argv after "export"); 0, or -1 with why. */
int	audit_parse_args(int argc, char *const argv[], struct audit_filter *,
	    const char **journal_dir, char *err, size_t errlen);
/* "2026-03-02", "2026-03-02T10:00[:SS]" (this machine's local time), with
 * a trailing "Z" or "+01:00" (absolute), or "@SECONDS". */
int	audit_parse_time(const char *, int64_t *us);
int	audit_match(const struct audit_filter *, const struct journal_record *);
/* One record as a line in the chosen format, without line end. */
size_t	audit_format(const struct audit_filter *, const struct journal_record *,
	    char *buf, size_t len);
/* The header line for CSV ("" for JSON lines). */
const char *audit_header(const struct audit_filter *, char *buf, size_t len);

#endif
