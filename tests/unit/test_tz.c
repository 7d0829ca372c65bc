/*
 * test_tz.c — time zones against the system's real TZif files and against
 * glibc's own reading of them (localtime_r), crafted and hostile TZif data,
 * POSIX footer rules, local-to-UTC gaps and overlaps, and the strict
 * date/time/duration parsers. The test does I/O; the library never does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "policy/tz.h"

#define ZONEINFO "/usr/share/zoneinfo/"

static char *
slurp(const char *name, size_t *len)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), ZONEINFO "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct tz *
load(const char *name)
{
	char err[128] = "", *buf;
	size_t len;
	struct tz *z;

	buf = slurp(name, &len);
	z = tz_parse(buf, len, err, sizeof(err));
	if (z == NULL)
		fail_msg("%s: %s", name, err);
	free(buf);
	return z;
}

/* zic -b slim output (data stops in the 1990s; the footer does the rest),
 * kept beside the fuzz seeds; tests run from the top of the tree */
static struct tz *
load_slim(const char *file)
{
	char path[256], err[128] = "", *buf;
	struct tz *z;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "tests/fuzz/seeds-tz/%s", file);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s: not found (run from the top of the tree)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 44);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	z = tz_parse(buf, (size_t)n, err, sizeof(err));
	if (z == NULL)
		fail_msg("%s: %s", path, err);
	free(buf);
	return z;
}

static int64_t
utc_of(int y, unsigned m, unsigned d, int hh, int mm, int ss)
{
	return tz_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

static void
assert_zone(const struct tz *z, int64_t t, int32_t off, const char *abbr)
{
	const char *a = NULL;
	int32_t got = tz_offset(z, t, &a);

	if (got != off || a == NULL || strcmp(a, abbr) != 0)
		fail_msg("at %lld: got %d %s, want %d %s", (long long)t,
		    (int)got, a ? a : "(null)", (int)off, abbr);
}

/* ---- calendar ---- */

static void
test_civil(void **state)
{
	int64_t y;
	unsigned m, d;

	(void)state;
	assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(tz_days_from_civil(2026, 3, 29), 20541);
	assert_int_equal(tz_weekday(0), 3);		/* Thursday */
	assert_int_equal(tz_weekday(-1), 2);
	assert_int_equal(tz_weekday(20541), 6);		/* a Sunday */
	for (int64_t day = -800000; day <= 800000; day += 97) {
		tz_civil_from_days(day, &y, &m, &d);
		assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
		assert_int_equal(tz_days_from_civil(y, m, d), day);
	}
	tz_civil_from_days(tz_days_from_civil(2028, 2, 29), &y, &m, &d);
	assert_int_equal(y, 2028);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
}

/* ---- real zones ---- */

static void
test_london(void **state)
{
	struct tz *z = load("Europe/London");
	int64_t spring = utc_of(2026, 3, 29, 1, 0, 0);
	int64_t autumn = utc_of(2026, 10, 25, 1, 0, 0);

	(void)state;
	assert_int_equal(spring, 1774746000);
	assert_zone(z, spring - 1, 0, "GMT");
	assert_zone(z, spring, 3600, "BST");
	assert_zone(z, autumn - 1, 3600, "BST");
	assert_zone(z, autumn, 0, "GMT");
	assert_zone(z, utc_of(2026, 7, 1, 12, 0, 0), 3600, "BST");
	/* 2090 lies past the file's data: the footer rule answers */
	assert_zone(z, utc_of(2090, 3, 26, 0, 59, 59), 0, "GMT");
	assert_zone(z, utc_of(2090, 3, 26, 1, 0, 0), 3600, "BST");
	assert_zone(z, utc_of(2090, 10, 29, 0, 59, 59), 3600, "BST");
	assert_zone(z, utc_of(2090, 10, 29, 1, 0, 0), 0, "GMT");
	/* past the precomputed span (2100): the rule evaluated directly */
	assert_zone(z, utc_of(2150, 3, 29, 0, 59, 59), 0, "GMT");
	assert_zone(z, utc_of(2150, 3, 29, 1, 0, 0), 3600, "BST");
	assert_zone(z, utc_of(2150, 7, 1, 0, 0, 0), 3600, "BST");
	/* 1968-71 British Standard Time: +1 all year */
	assert_zone(z, utc_of(1970, 1, 1, 0, 0, 0), 3600, "BST");
	/* extremes neither crash nor overflow */
	tz_offset(z, INT64_MIN, NULL);
	tz_offset(z, INT64_MAX, NULL);
	tz_free(z);
}

static void
test_new_york_sydney_kolkata_utc(void **state)
{
	struct tz *z;

	(void)state;
	z = load("America/New_York");
	assert_zone(z, utc_of(2026, 3, 8, 6, 59, 59), -5 * 3600, "EST");
	assert_zone(z, utc_of(2026, 3, 8, 7, 0, 0), -4 * 3600, "EDT");
	assert_zone(z, utc_of(2026, 11, 1, 5, 59, 59), -4 * 3600, "EDT");
	assert_zone(z, utc_of(2026, 11, 1, 6, 0, 0), -5 * 3600, "EST");
	assert_zone(z, utc_of(2090, 7, 4, 12, 0, 0), -4 * 3600, "EDT");
	assert_zone(z, utc_of(2090, 12, 25, 12, 0, 0), -5 * 3600, "EST");
	tz_free(z);

	/* southern hemisphere: summer time spans the new year */
	z = load("Australia/Sydney");
	assert_zone(z, utc_of(2026, 1, 15, 0, 0, 0), 11 * 3600, "AEDT");
	assert_zone(z, utc_of(2026, 4, 4, 15, 59, 59), 11 * 3600, "AEDT");
	assert_zone(z, utc_of(2026, 4, 4, 16, 0, 0), 10 * 3600, "AEST");
	assert_zone(z, utc_of(2026, 10, 3, 15, 59, 59), 10 * 3600, "AEST");
	assert_zone(z, utc_of(2026, 10, 3, 16, 0, 0), 11 * 3600, "AEDT");
	assert_zone(z, utc_of(2090, 1, 1, 0, 0, 0), 11 * 3600, "AEDT");
	assert_zone(z, utc_of(2090, 7, 1, 0, 0, 0), 10 * 3600, "AEST");
	assert_zone(z, utc_of(2200, 1, 1, 0, 0, 0), 11 * 3600, "AEDT");
	tz_free(z);

	z = load("Asia/Kolkata");
	assert_zone(z, utc_of(2026, 3, 29, 1, 0, 0), 19800, "IST");
	assert_zone(z, utc_of(2090, 1, 1, 0, 0, 0), 19800, "IST");
	assert_zone(z, utc_of(2500, 1, 1, 0, 0, 0), 19800, "IST");
	tz_free(z);

	z = load("UTC");
	assert_zone(z, 0, 0, "UTC");
	assert_zone(z, utc_of(2090, 6, 1, 0, 0, 0), 0, "UTC");
	tz_free(z);

	z = tz_utc();
	assert_non_null(z);
	assert_zone(z, utc_of(2026, 6, 1, 0, 0, 0), 0, "UTC");
	assert_zone(z, INT64_MIN, 0, "UTC");
	tz_free(z);
	tz_free(NULL);
}

/* glibc reading the same file (or the same POSIX string) is the oracle */
static void
cross_check(const struct tz *z, const char *tzenv, int64_t from, int64_t to,
    int64_t step)
{
	size_t n = 0, bad = 0;

	assert_int_equal(setenv("TZ", tzenv, 1), 0);
	tzset();
	for (int64_t t = from; t <= to; t += step, n++) {
		time_t tt = (time_t)t;
		struct tm tm;
		const char *a = NULL;
		int32_t off;

		assert_non_null(localtime_r(&tt, &tm));
		off = tz_offset(z, t, &a);
		if (off != tm.tm_gmtoff || strcmp(a, tm.tm_zone) != 0) {
			if (bad++ < 5)
				print_error("%s at %lld: ours %d %s, glibc "
				    "%ld %s\n", tzenv, (long long)t, (int)off,
				    a, tm.tm_gmtoff, tm.tm_zone);
		}
	}
	assert_true(n > 1000);
	assert_int_equal(bad, 0);
}

static void
test_against_glibc(void **state)
{
	static const char *const zones[] = {
		"Europe/London", "America/New_York", "Australia/Sydney",
		"Asia/Kolkata", "UTC", "Europe/Dublin", "America/Sao_Paulo",
		"Pacific/Apia", "America/Nuuk", "Africa/Casablanca",
		"Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
		"Asia/Tehran", "Europe/Moscow",
	};
	/* every 6 hours 1970..2060, plus a coarser sweep to 2099 */
	int64_t from = utc_of(1970, 1, 1, 0, 0, 0);
	int64_t to = utc_of(2060, 1, 1, 0, 0, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *z = load(zones[i]);
		char env[128];

		snprintf(env, sizeof(env), ":%s", zones[i]);
		cross_check(z, env, from, to, 6 * 3600);
		cross_check(z, env, to, utc_of(2099, 12, 31, 0, 0, 0),
		    6 * 3600 + 1777);
		/* and around each 2026 transition, minute by minute */
		cross_check(z, env, utc_of(2026, 1, 1, 0, 0, 0),
		    utc_of(2027, 1, 1, 0, 0, 0), 60 * 7);
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

/* ---- crafted TZif ---- */

struct tzb {
	char	*p;
	size_t	 n, cap;
};

static void
put(struct tzb *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void
put32(struct tzb *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };
	put(b, x, 4);
}

static void
put64(struct tzb *b, int64_t sv)
{
	uint64_t v = (uint64_t)sv;
	put32(b, (uint32_t)(v >> 32));
	put32(b, (uint32_t)v);
}

struct ttype {
	int32_t		off;
	unsigned char	isdst, abbr;
};

/* A v1 header+block (minimal in v2+) then, for v2+, the 64-bit data and
 * footer. */
static char *
make_tzif(char version, size_t nt, const int64_t *at, const unsigned char *idx,
    size_t ntypes, const struct ttype *types, const char *chars,
    size_t nchars, const char *footer, size_t *len)
{
	struct tzb b = { 0 };
	char zero[15] = { 0 };
	int wide_pass;

	for (wide_pass = 0; wide_pass < (version ? 2 : 1); wide_pass++) {
		int full = wide_pass || !version;
		put(&b, "TZif", 4);
		put(&b, &version, 1);
		put(&b, zero, 15);
		put32(&b, 0);			/* isutcnt */
		put32(&b, 0);			/* isstdcnt */
		put32(&b, 0);			/* leapcnt */
		put32(&b, full ? (uint32_t)nt : 0);
		put32(&b, full ? (uint32_t)ntypes : 1);
		put32(&b, full ? (uint32_t)nchars : 1);
		if (!full) {
			/* the slim v1 block zic writes */
			put32(&b, 0);
			put(&b, "\0\0\0", 2);
			put(&b, "\0", 1);
			continue;
		}
		for (size_t i = 0; i < nt; i++) {
			if (wide_pass)
				put64(&b, at[i]);
			else
				put32(&b, (uint32_t)(int32_t)at[i]);
		}
		put(&b, idx, nt);
		for (size_t i = 0; i < ntypes; i++) {
			put32(&b, (uint32_t)types[i].off);
			put(&b, &types[i].isdst, 1);
			put(&b, &types[i].abbr, 1);
		}
		put(&b, chars, nchars);
	}
	if (version) {
		put(&b, "\n", 1);
		put(&b, footer, strlen(footer));
		put(&b, "\n", 1);
	}
	*len = b.n;
	return b.p;
}

/* A zone made of a POSIX string alone (no transitions). */
static struct tz *
footer_zone(const char *footer, char *err, size_t errlen)
{
	static const struct ttype t0 = { 0, 0, 0 };
	size_t len;
	char *buf = make_tzif('3', 0, NULL, NULL, 1, &t0, "LMT", 4, footer, &len);
	struct tz *z = tz_parse(buf, len, err, errlen);

	free(buf);
	return z;
}

/* ---- local to UTC ---- */

static void
assert_local(const struct tz *z, int64_t local, int want, int64_t want_utc)
{
	int64_t got = 0;
	int r = tz_from_local(z, local, &got);

	if (r != want || got != want_utc)
		fail_msg("local %lld: got %d %lld, want %d %lld",
		    (long long)local, r, (long long)got, want,
		    (long long)want_utc);
}

static void
test_slim_against_glibc(void **state)
{
	static const char *const pairs[][2] = {
		{ "london-slim.tzif", ":Europe/London" },
		{ "new-york-slim.tzif", ":America/New_York" },
		{ "sydney-slim.tzif", ":Australia/Sydney" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct tz *z = load_slim(pairs[i][0]);
		/* glibc reads the fat system file: same answers expected */
		cross_check(z, pairs[i][1], utc_of(1970, 1, 1, 0, 0, 0),
		    utc_of(2100, 1, 1, 0, 0, 0), 6 * 3600 + 13);
		assert_zone(z, utc_of(2026, 3, 29, 1, 0, 0) - (i == 0),
		    i == 0 ? 0 : i == 1 ? -4 * 3600 : 11 * 3600,
		    i == 0 ? "GMT" : i == 1 ? "EDT" : "AEDT");
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void
test_footer_rules_against_glibc(void **state)
{
	static const char *const rules[] = {
		"GMT0BST,M3.5.0/1,M10.5.0",
		"EST5EDT,M3.2.0,M11.1.0",
		"AEST-10AEDT,M10.1.0,M4.1.0/3",
		"<+03>-3",
		"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",	/* v3: negative times */
		"IST-1GMT0,M10.5.0,M3.5.0/1",		/* negative DST (Dublin) */
		"CET-1CEST,J60/2,J300/3",		/* Julian, no Feb 29 */
		"XXX3YYY,59/2,300",			/* zero-based, counts Feb 29 */
		"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		"ABC-5:30DEF-6:45:15,M3.1.0/25,M10.5.6/26",	/* hours past 24 */
		"EST5EDT,M3.5.0/167,M11.1.0/-167",
		"NZST-12NZDT,M9.5.0,M4.1.0/3",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct tz *z = footer_zone(rules[i], err, sizeof(err));
		if (z == NULL)
			fail_msg("%s: %s", rules[i], err);
		cross_check(z, rules[i], utc_of(1980, 1, 1, 0, 0, 0),
		    utc_of(2040, 1, 1, 0, 0, 0), 6 * 3600 + 17);
		/* the rule evaluated directly after 2100 must agree too
		 * (glibc applies a POSIX string's rule to 1970 for any
		 * earlier year, so it is no oracle before 1970) */
		cross_check(z, rules[i], utc_of(2095, 1, 1, 0, 0, 0),
		    utc_of(2160, 1, 1, 0, 0, 0), 86400 * 3 + 11);
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();

	/* before 1900 a footer-only zone evaluates its rule directly:
	 * 31 March and 27 October 1850 were the last Sundays */
	struct tz *z = footer_zone("GMT0BST,M3.5.0/1,M10.5.0", err, sizeof(err));
	assert_non_null(z);
	assert_zone(z, utc_of(1850, 3, 31, 0, 59, 59), 0, "GMT");
	assert_zone(z, utc_of(1850, 3, 31, 1, 0, 0), 3600, "BST");
	assert_zone(z, utc_of(1850, 10, 27, 0, 59, 59), 3600, "BST");
	assert_zone(z, utc_of(1850, 10, 27, 1, 0, 0), 0, "GMT");
	assert_zone(z, utc_of(1899, 12, 31, 23, 59, 59), 0, "GMT");
	assert_zone(z, utc_of(1900, 1, 1, 0, 0, 0), 0, "GMT");
	assert_zone(z, utc_of(1900, 3, 25, 1, 0, 0), 3600, "BST");
	assert_local(z, utc_of(1850, 3, 31, 1, 30, 0), TZ_GAP,
	    utc_of(1850, 3, 31, 1, 0, 0));
	assert_local(z, utc_of(1850, 10, 27, 1, 30, 0), TZ_AMBIGUOUS,
	    utc_of(1850, 10, 27, 0, 30, 0));
	tz_free(z);

	/* DST without rules takes the POSIX default, M3.2.0,M11.1.0 (glibc
	 * would read its posixrules file instead, so no oracle here) */
	z = footer_zone("ABC5DEF", err, sizeof(err));
	assert_non_null(z);
	assert_zone(z, utc_of(2026, 3, 8, 6, 59, 59), -5 * 3600, "ABC");
	assert_zone(z, utc_of(2026, 3, 8, 7, 0, 0), -4 * 3600, "DEF");
	assert_zone(z, utc_of(2026, 11, 1, 5, 59, 59), -4 * 3600, "DEF");
	assert_zone(z, utc_of(2026, 11, 1, 6, 0, 0), -5 * 3600, "ABC");
	tz_free(z);
}

static void
test_footer_forms(void **state)
{
	static const char *const bad[] = {
		"", "GMT", "G0", "GMT+", "GMT0BST,", "GMT0BST,M3.5.0",
		"GMT0BST,M13.5.0,M10.5.0", "GMT0BST,M3.6.0,M10.5.0",
		"GMT0BST,M3.5.7,M10.5.0", "GMT0BST,J0,J100", "GMT0BST,366,1",
		"GMT0BST,M3.5.0/168,M10.5.0", "GMT25", "<+03-3", "<+0>-3",
		"<+03>-3x", "GMT0BST,M3.5.0,M10.5.0,", "GMT0BST,M3.5.0/1:60,M10.5.0",
		"GMT0 BST", "GMT0BST1:2:3:4,M3.5.0,M10.5.0",
	};
	char err[128];
	struct tz *z;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* an empty footer is allowed: it means "no rule" */
		if (bad[i][0] == '\0')
			continue;
		z = footer_zone(bad[i], err, sizeof(err));
		if (z != NULL)
			fail_msg("accepted footer \"%s\"", bad[i]);
		assert_true(strlen(err) > 0);
	}
	/* empty footer: type 0 holds forever */
	z = footer_zone("", err, sizeof(err));
	assert_non_null(z);
	assert_zone(z, utc_of(2090, 1, 1, 0, 0, 0), 0, "LMT");
	tz_free(z);

	/*
	 * DST periods that overlap the next year's (found by fuzz_tz): the
	 * latest edge decides, whichever year it belongs to, both in the
	 * precomputed span and when the rule is evaluated directly
	 */
	z = footer_zone("CET-1CST,J4,365/167", err, sizeof(err));
	assert_non_null(z);
	for (int y = 2096; y < 2106; y++) {
		int64_t t = utc_of(y, 1, 1, 0, 0, 0), u;
		int32_t off = tz_offset(z, t, NULL);
		assert_int_not_equal(tz_from_local(z, t + off, &u), TZ_GAP);
		assert_int_equal(tz_offset(z, utc_of(y, 1, 3, 0, 0, 0), NULL),
		    off);
	}
	tz_free(z);

	/* all-year DST (RFC 8536 3.3.1) */
	z = footer_zone("EST5EDT,0/0,J365/25", err, sizeof(err));
	assert_non_null(z);
	for (int y = 2020; y < 2120; y += 7) {
		assert_zone(z, utc_of(y, 1, 1, 5, 0, 0), -4 * 3600, "EDT");
		assert_zone(z, utc_of(y, 6, 1, 0, 0, 0), -4 * 3600, "EDT");
		assert_zone(z, utc_of(y, 12, 31, 23, 0, 0), -4 * 3600, "EDT");
	}
	tz_free(z);
}

static void
test_transitions_then_footer(void **state)
{
	/* v2 data ending in 2020, the rule carries on; v1 sees only 32 bits */
	static const struct ttype types[] = {
		{ 3600, 0, 0 }, { 7200, 1, 4 },
	};
	int64_t at[] = { utc_of(2019, 3, 31, 1, 0, 0),
	    utc_of(2019, 10, 27, 1, 0, 0), utc_of(2020, 3, 29, 1, 0, 0),
	    utc_of(2020, 10, 25, 1, 0, 0) };
	unsigned char idx[] = { 1, 0, 1, 0 };
	char err[128];
	size_t len;
	char *buf = make_tzif('2', 4, at, idx, 2, types, "CET\0CEST", 9,
	    "CET-1CEST,M3.5.0,M10.5.0/3", &len);
	struct tz *z = tz_parse(buf, len, err, sizeof(err));

	(void)state;
	assert_non_null(z);
	assert_zone(z, utc_of(2000, 1, 1, 0, 0, 0), 3600, "CET");
	assert_zone(z, utc_of(2019, 7, 1, 0, 0, 0), 7200, "CEST");
	assert_zone(z, utc_of(2021, 3, 28, 0, 59, 59), 3600, "CET");
	assert_zone(z, utc_of(2021, 3, 28, 1, 0, 0), 7200, "CEST");
	assert_zone(z, utc_of(2099, 10, 25, 0, 59, 59), 7200, "CEST");
	assert_zone(z, utc_of(2099, 10, 25, 1, 0, 0), 3600, "CET");
	assert_zone(z, utc_of(2100, 12, 31, 23, 59, 59), 3600, "CET");
	assert_zone(z, utc_of(2101, 3, 27, 1, 0, 0), 7200, "CEST");
	tz_free(z);
	free(buf);

	/* the same as a version 1 file: no footer, the last type stays */
	buf = make_tzif(0, 4, at, idx, 2, types, "CET\0CEST", 9, "", &len);
	z = tz_parse(buf, len, err, sizeof(err));
	assert_non_null(z);
	assert_zone(z, utc_of(2019, 7, 1, 0, 0, 0), 7200, "CEST");
	assert_zone(z, utc_of(2090, 7, 1, 0, 0, 0), 3600, "CET");
	tz_free(z);
	free(buf);
}

/* ---- hostile TZif ---- */

static void
expect_reject(const char *buf, size_t len, const char *what)
{
	char err[128] = "";
	struct tz *z = tz_parse(buf, len, err, sizeof(err));

	if (z != NULL)
		fail_msg("accepted: %s", what);
	assert_true(strlen(err) > 0);
}

static void
set32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static void
test_malformed(void **state)
{
	size_t len, v1;
	char *good = slurp("Europe/London", &len);
	char *buf;
	struct tz *z;
	static const struct ttype t0 = { 0, 0, 0 };
	static const struct ttype tbig = { 30 * 3600, 0, 0 };
	static const struct ttype tmin = { INT32_MIN, 0, 0 };
	static const struct ttype tidx = { 0, 0, 9 };
	static const struct ttype tdst = { 0, 2, 0 };
	int64_t at2[] = { 100, 100 }, at1[] = { 100 };
	unsigned char idx2[] = { 0, 0 }, idxbad[] = { 3 };

	(void)state;
	/* every strict prefix is truncated somewhere */
	for (size_t n = 0; n < len; n++) {
		buf = malloc(n ? n : 1);
		assert_non_null(buf);
		memcpy(buf, good, n);
		z = tz_parse(buf, n, NULL, 0);
		if (z != NULL)
			fail_msg("accepted a %zu-byte prefix of %zu", n, len);
		free(buf);
	}
	expect_reject(NULL, 0, "NULL");

	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, good, len);
	buf[0] = 'X';
	expect_reject(buf, len, "bad magic");
	memcpy(buf, good, len);
	buf[4] = '9';
	expect_reject(buf, len, "bad version");

	/* huge counts in each field of either header */
	v1 = 44;
	{
		uint32_t tc = (uint32_t)(good[32] & 0xff) << 24 |
		    (uint32_t)(good[33] & 0xff) << 16 |
		    (uint32_t)(good[34] & 0xff) << 8 | (uint32_t)(good[35] & 0xff);
		uint32_t ty = (uint32_t)(good[39] & 0xff);
		uint32_t ch = (uint32_t)(good[43] & 0xff);
		uint32_t is = (uint32_t)(good[27] & 0xff);
		uint32_t iu = (uint32_t)(good[23] & 0xff);
		uint32_t lp = (uint32_t)(good[31] & 0xff);
		v1 += tc * 5 + ty * 6 + ch + lp * 8 + is + iu;
	}
	for (int hdr = 0; hdr < 2; hdr++) {
		size_t base = hdr ? v1 : 0;
		assert_memory_equal(good + base, "TZif", 4);
		for (int field = 0; field < 6; field++) {
			static const uint32_t vals[] = { 0xffffffffu,
			    0x80000000u, 0x10000000u, 257, 0 };
			for (size_t k = 0; k < 5; k++) {
				memcpy(buf, good, len);
				set32(buf + base + 20 + 4 * field, vals[k]);
				z = tz_parse(buf, len, NULL, 0);
				/* zero isut/isstd/leap counts shift the data:
				 * reject or parse, but never misread */
				tz_free(z);
				if (vals[k] != 0)
					expect_reject(buf, len, "huge count");
			}
		}
	}
	free(buf);

	/* crafted: non-ascending, bad index, absurd offsets, bad abbr */
	buf = make_tzif('2', 2, at2, idx2, 1, &t0, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "equal transition times");
	free(buf);
	buf = make_tzif('2', 1, at1, idxbad, 1, &t0, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "type index out of range");
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 1, &tbig, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "30-hour offset");
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 1, &tmin, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "INT32_MIN offset");
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 1, &tidx, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "abbreviation index past chars");
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 1, &tdst, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "isdst 2");
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 0, NULL, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len, "no types");
	free(buf);
	/* footer missing its closing newline */
	buf = make_tzif('2', 0, NULL, NULL, 1, &t0, "UTC", 4, "UTC0", &len);
	expect_reject(buf, len - 1, "unterminated footer");
	/* abbreviations not NUL-terminated are still read safely */
	free(buf);
	buf = make_tzif('2', 0, NULL, NULL, 1, &t0, "UTCX", 4, "", &len);
	z = tz_parse(buf, len, NULL, 0);
	assert_non_null(z);
	assert_zone(z, 0, 0, "UTCX");
	tz_free(z);
	free(buf);
	free(good);
}

static void
test_from_local(void **state)
{
	struct tz *z;

	(void)state;
	z = load("Europe/London");
	assert_local(z, utc_of(2026, 6, 1, 12, 0, 0), TZ_EXACT,
	    utc_of(2026, 6, 1, 11, 0, 0));
	assert_local(z, utc_of(2026, 1, 1, 12, 0, 0), TZ_EXACT,
	    utc_of(2026, 1, 1, 12, 0, 0));
	/* 01:00-02:00 does not exist on 29 March: the gap ends at 01:00Z */
	assert_local(z, utc_of(2026, 3, 29, 1, 30, 0), TZ_GAP,
	    utc_of(2026, 3, 29, 1, 0, 0));
	assert_local(z, utc_of(2026, 3, 29, 1, 0, 0), TZ_GAP,
	    utc_of(2026, 3, 29, 1, 0, 0));
	assert_local(z, utc_of(2026, 3, 29, 0, 59, 59), TZ_EXACT,
	    utc_of(2026, 3, 29, 0, 59, 59));
	assert_local(z, utc_of(2026, 3, 29, 2, 0, 0), TZ_EXACT,
	    utc_of(2026, 3, 29, 1, 0, 0));
	/* 01:00-02:00 happens twice on 25 October: the first is BST */
	assert_local(z, utc_of(2026, 10, 25, 1, 30, 0), TZ_AMBIGUOUS,
	    utc_of(2026, 10, 25, 0, 30, 0));
	assert_local(z, utc_of(2026, 10, 25, 1, 0, 0), TZ_AMBIGUOUS,
	    utc_of(2026, 10, 25, 0, 0, 0));
	assert_local(z, utc_of(2026, 10, 25, 2, 0, 0), TZ_EXACT,
	    utc_of(2026, 10, 25, 2, 0, 0));
	/* footer years, precomputed and direct */
	assert_local(z, utc_of(2090, 3, 26, 1, 30, 0), TZ_GAP,
	    utc_of(2090, 3, 26, 1, 0, 0));
	assert_local(z, utc_of(2090, 10, 29, 1, 30, 0), TZ_AMBIGUOUS,
	    utc_of(2090, 10, 29, 0, 30, 0));
	assert_local(z, utc_of(2150, 3, 29, 1, 30, 0), TZ_GAP,
	    utc_of(2150, 3, 29, 1, 0, 0));
	assert_local(z, utc_of(2150, 7, 1, 12, 0, 0), TZ_EXACT,
	    utc_of(2150, 7, 1, 11, 0, 0));
	tz_free(z);

	z = load("America/New_York");
	assert_local(z, utc_of(2026, 3, 8, 2, 30, 0), TZ_GAP,
	    utc_of(2026, 3, 8, 7, 0, 0));
	assert_local(z, utc_of(2026, 11, 1, 1, 30, 0), TZ_AMBIGUOUS,
	    utc_of(2026, 11, 1, 5, 30, 0));
	assert_local(z, utc_of(2026, 7, 4, 9, 0, 0), TZ_EXACT,
	    utc_of(2026, 7, 4, 13, 0, 0));
	tz_free(z);

	z = load("Australia/Sydney");
	assert_local(z, utc_of(2026, 10, 4, 2, 30, 0), TZ_GAP,
	    utc_of(2026, 10, 3, 16, 0, 0));
	assert_local(z, utc_of(2026, 4, 5, 2, 30, 0), TZ_AMBIGUOUS,
	    utc_of(2026, 4, 4, 15, 30, 0));
	tz_free(z);

	z = load("Asia/Kolkata");
	assert_local(z, utc_of(2026, 3, 2, 10, 0, 0), TZ_EXACT,
	    utc_of(2026, 3, 2, 4, 30, 0));
	tz_free(z);

	z = tz_utc();
	assert_local(z, 12345, TZ_EXACT, 12345);
	tz_free(z);
}

/* Round trip: every instant maps back to itself (or to the first of an
 * ambiguous pair), across several zones and decades. */
static void
test_from_local_round_trip(void **state)
{
	static const char *const zones[] = { "Europe/London",
	    "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
	    "America/Nuuk" };

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *z = load(zones[i]);
		for (int64_t t = utc_of(2000, 1, 1, 0, 0, 0);
		    t < utc_of(2110, 1, 1, 0, 0, 0); t += 3 * 3600 + 1234) {
			int64_t local = t + tz_offset(z, t, NULL), back;
			int r = tz_from_local(z, local, &back);
			assert_int_not_equal(r, TZ_GAP);
			if (r == TZ_EXACT)
				assert_int_equal(back, t);
			else
				assert_true(back <= t &&
				    back + tz_offset(z, back, NULL) == local);
		}
		tz_free(z);
	}
}

/* ---- strict parsers ---- */

static int
pdate(const char *s, int32_t *d)
{
	return tz_parse_date(s, strlen(s), d);
}

static void
test_parse_date(void **state)
{
	int32_t d;

	(void)state;
	assert_int_equal(pdate("2026-03-02", &d), 0);
	assert_int_equal(d, tz_days_from_civil(2026, 3, 2));
	assert_int_equal(pdate("2028-02-29", &d), 0);
	assert_int_equal(d, tz_days_from_civil(2028, 2, 29));
	assert_int_equal(pdate("2000-02-29", &d), 0);
	assert_int_equal(pdate("1970-01-01", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(pdate("2026-12-31", &d), 0);
	assert_int_equal(pdate("2026-02-29", &d), -1);
	assert_int_equal(pdate("2100-02-29", &d), -1);
	assert_int_equal(pdate("2026-04-31", &d), -1);
	assert_int_equal(pdate("2026-13-01", &d), -1);
	assert_int_equal(pdate("2026-00-10", &d), -1);
	assert_int_equal(pdate("2026-01-00", &d), -1);
	assert_int_equal(pdate("2026-01-32", &d), -1);
	assert_int_equal(pdate("2026-1-01", &d), -1);
	assert_int_equal(pdate("2026/01/01", &d), -1);
	assert_int_equal(pdate("2026-01-01x", &d), -1);
	assert_int_equal(pdate("2026-01-0", &d), -1);
	assert_int_equal(pdate("+026-01-01", &d), -1);
	assert_int_equal(pdate("2026-0a-01", &d), -1);
	assert_int_equal(pdate("", &d), -1);
	/* exactly n bytes: what follows is not looked at */
	assert_int_equal(tz_parse_date("2026-01-01;", 10, &d), 0);
}

static void
test_parse_hhmm(void **state)
{
	unsigned m;

	(void)state;
	assert_int_equal(tz_parse_hhmm("07:30", 5, &m, 0), 0);
	assert_int_equal(m, 450);
	assert_int_equal(tz_parse_hhmm("00:00", 5, &m, 0), 0);
	assert_int_equal(m, 0);
	assert_int_equal(tz_parse_hhmm("23:59", 5, &m, 0), 0);
	assert_int_equal(m, 1439);
	assert_int_equal(tz_parse_hhmm("24:00", 5, &m, 1), 0);
	assert_int_equal(m, 1440);
	assert_int_equal(tz_parse_hhmm("24:00", 5, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("24:01", 5, &m, 1), -1);
	assert_int_equal(tz_parse_hhmm("25:00", 5, &m, 1), -1);
	assert_int_equal(tz_parse_hhmm("23:60", 5, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("7:30", 4, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("07:30 ", 6, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("07-30", 5, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("0a:30", 5, &m, 0), -1);
	assert_int_equal(tz_parse_hhmm("", 0, &m, 0), -1);
}

static int
pdt(const char *s, int64_t *v, int *abs)
{
	return tz_parse_datetime(s, strlen(s), v, abs);
}

static void
test_parse_datetime(void **state)
{
	int64_t v, day = tz_days_from_civil(2026, 3, 2) * 86400;
	int abs;

	(void)state;
	assert_int_equal(pdt("2026-03-02T10:00", &v, &abs), 0);
	assert_int_equal(v, day + 36000);
	assert_int_equal(abs, 0);
	assert_int_equal(pdt("2026-03-02 10:00:30", &v, &abs), 0);
	assert_int_equal(v, day + 36030);
	assert_int_equal(abs, 0);
	assert_int_equal(pdt("2026-03-02", &v, &abs), 0);
	assert_int_equal(v, day);
	assert_int_equal(pdt("2026-03-02T10:00Z", &v, &abs), 0);
	assert_int_equal(v, day + 36000);
	assert_int_equal(abs, 1);
	assert_int_equal(pdt("2026-03-02T10:00:59+05:30", &v, &abs), 0);
	assert_int_equal(v, day + 36059 - 19800);
	assert_int_equal(abs, 1);
	assert_int_equal(pdt("2026-03-02T00:30-01:00", &v, &abs), 0);
	assert_int_equal(v, day + 1800 + 3600);
	assert_int_equal(pdt("2026-03-02T00:30-00:00", &v, &abs), 0);
	assert_int_equal(v, day + 1800);

	static const char *const bad[] = {
		"2026-03-02T", "2026-03-02T10", "2026-03-02T10:0",
		"2026-03-02T10:00:", "2026-03-02T10:00:6", "2026-03-02T10:00:60",
		"2026-03-02T24:00", "2026-03-02T25:00", "2026-03-02Z",
		"2026-03-02T10:00+5:30", "2026-03-02T10:00+05", "2026-03-02T10:00+0530",
		"2026-03-02T10:00+24:00", "2026-03-02T10:00Zx", "2026-03-02t10:00",
		"2026-03-02T10:00z", "2026-03-02  10:00", "2026-02-29T10:00",
		"2026-03-02T10:00 ", "2026-03-02T10:00:00.5", "2026-03-02T10:00+05:60",
		"2026-03-02x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pdt(bad[i], &v, &abs) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static int
pdur(const char *s, uint32_t *v)
{
	return tz_parse_duration(s, strlen(s), v);
}

static void
test_parse_duration(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(pdur("30s", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(pdur("15m", &v), 0);
	assert_int_equal(v, 900);
	assert_int_equal(pdur("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(pdur("1d", &v), 0);
	assert_int_equal(v, 86400);
	assert_int_equal(pdur("366d", &v), 0);
	assert_int_equal(v, 366 * 86400);
	assert_int_equal(pdur("8784h", &v), 0);
	assert_int_equal(pdur("31622400s", &v), 0);
	assert_int_equal(pdur("007s", &v), 0);
	assert_int_equal(v, 7);

	static const char *const bad[] = {
		"0s", "00m", "367d", "8785h", "31622401s", "s", "10", "", "1.5h",
		"-1h", "+5s", "1h30m", "5S", "5 s", " 5s", "5sec", "5w",
		"99999999999d", "18446744073709551617s", "4294967296s",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pdur(bad[i], &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_london),
		cmocka_unit_test(test_new_york_sydney_kolkata_utc),
		cmocka_unit_test(test_against_glibc),
		cmocka_unit_test(test_slim_against_glibc),
		cmocka_unit_test(test_footer_rules_against_glibc),
		cmocka_unit_test(test_footer_forms),
		cmocka_unit_test(test_transitions_then_footer),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_from_local),
		cmocka_unit_test(test_from_local_round_trip),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_parse_hhmm),
		cmocka_unit_test(test_parse_datetime),
		cmocka_unit_test(test_parse_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
