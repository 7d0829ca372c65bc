/*
 * tz.h — civil time and time zones for the policy library, pure: the TZif
 * bytes (RFC 8536, versions 1-3, with the POSIX TZ footer for instants past
 * the last transition) are handed in by the caller, never read from disk.
 */
#ifndef POLICY_TZ_H
#define POLICY_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/* Parse TZif data; NULL with a reason in err on malformed input. */
struct tz	*tz_parse(const char *data, size_t len, char *err, size_t errlen);
struct tz	*tz_utc(void);			/* a zone with offset 0, "UTC" */
void		 tz_free(struct tz *);

/* Offset east of UTC in seconds at instant utc; *abbr (may be NULL) gets the
 * abbreviation ("GMT", "BST"), owned by the tz. */
int32_t		 tz_offset(const struct tz *, int64_t utc, const char **abbr);

/* Local wall-clock seconds (days_from_civil * 86400 + seconds of day) to UTC.
 * TZ_EXACT: one instant; TZ_GAP: that wall time does not exist (spring
 * forward) and *utc is the instant the gap ends; TZ_AMBIGUOUS: it happens
 * twice (fall back) and *utc is the first. */
enum { TZ_EXACT = 0, TZ_GAP = 1, TZ_AMBIGUOUS = 2 };
int		 tz_from_local(const struct tz *, int64_t local, int64_t *utc);

/* Proleptic Gregorian calendar; days since 1970-01-01. */
int64_t		 tz_days_from_civil(int64_t y, unsigned m, unsigned d);
void		 tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
unsigned	 tz_weekday(int64_t days);	/* 0 = Monday ... 6 = Sunday */

/* Strict parsers of exactly n bytes; 0 ok, -1 bad. */
int		 tz_parse_date(const char *s, size_t n, int32_t *days);	/* YYYY-MM-DD */
int		 tz_parse_hhmm(const char *s, size_t n, unsigned *minutes, int allow_24);
/* YYYY-MM-DD[(T| )HH:MM[:SS]][Z|±HH:MM]: *secs is local wall seconds, or
 * UTC when *absolute is set (a Z or offset was given). */
int		 tz_parse_datetime(const char *s, size_t n, int64_t *secs, int *absolute);
/* 30s 15m 2h 1d (a positive number, one unit, at most 366 days) */
int		 tz_parse_duration(const char *s, size_t n, uint32_t *secs);

#endif
