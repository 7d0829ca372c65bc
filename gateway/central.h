/*
 * central.h — checking what the central server stored for one gateway:
 * the lines gatewayd's sync sent (RFC 5424, structured data
 * [gatewayd@32473 gw seq hash prev], JSON body) as rsyslog wrote them.
 * Each record's hash is recomputed from its JSON body (a truncated or
 * edited record fails), records are ordered by seq, duplicates (delivery
 * is at-least-once) are counted, gaps and chain breaks are reported.
 *
 * Trusts nothing in the file: every line is parsed with bounds.
 */
#ifndef GATEWAY_CENTRAL_H
#define GATEWAY_CENTRAL_H

#include <stddef.h>
#include <stdint.h>

struct journal_record;

struct central_report {
	uint64_t	 lines;		/* lines read */
	uint64_t	 records;	/* distinct records of the gateway */
	uint64_t	 duplicates;	/* identical repeats */
	uint64_t	 other;		/* lines of other gateways or not ours */
	uint64_t	 first, last;	/* seq range present */
	uint64_t	 gaps;		/* seqs missing inside the range */
	uint64_t	 bad;		/* records whose hash does not match */
	uint64_t	 conflicts;	/* same seq, different content */
	uint64_t	 breaks;	/* prev != hash of the previous seq */
	char		 first_problem[256];
};

/* Parse one stored line. 1 = a gatewayd record (r filled, hash as sent),
 * 0 = not one of ours, -1 = ours but malformed (why). */
int	central_parse_line(const char *line, size_t len,
	    struct journal_record *r, char *why, size_t whylen);
/* Check FILE for gateway gw (NULL: the only gateway in the file). 0 when
 * the records from `from` (0: from seq 1) are complete, intact and chained;
 * 1 when not (report says what); -1 when the file cannot be read. */
int	central_verify(const char *file, const char *gw, uint64_t from,
	    struct central_report *, char *err, size_t errlen);

#endif
