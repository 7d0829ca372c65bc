/*
 * fuzz_tz.c — libFuzzer harness for the TZif reader and the POSIX footer:
 * the input is parsed as TZif, then (wrapped in a minimal v3 file) as a
 * footer string, and every zone that parses is looked up at fixed and
 * input-derived instants, with the local-time mapping checked for
 * consistency. The strict date/time/duration parsers get the input too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_zone(const struct tz *z, const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {
		0, -1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1,
		1774746000, 1792890000,		/* London 2026 */
		3794173200,			/* 2090 */
		-2208988800,			/* 1900 */
		4133980800 - 1, 4133980800,	/* the end of 2100 */
		7258118400,			/* 2200 */
		-5000000000, (int64_t)1 << 50, -((int64_t)1 << 50),
		(int64_t)1 << 62, -((int64_t)1 << 62),
	};
	int64_t t, u;
	const char *abbr;
	int32_t off;
	int r;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + size / 8; i++) {
		if (i < sizeof(fixed) / sizeof(fixed[0]))
			t = fixed[i];
		else
			memcpy(&t, data + 8 * (i - sizeof(fixed) /
			    sizeof(fixed[0])), 8);
		abbr = NULL;
		off = tz_offset(z, t, &abbr);
		if (abbr == NULL || off < -26 * 3600 || off > 26 * 3600)
			__builtin_trap();
		(void)strlen(abbr);
		/* local time round trip, away from the int64 edges */
		if (t > INT64_MIN / 4 && t < INT64_MAX / 4) {
			r = tz_from_local(z, t, &u);
			if (r == TZ_EXACT || r == TZ_AMBIGUOUS) {
				if (u + tz_offset(z, u, NULL) != t)
					__builtin_trap();
			} else if (r != TZ_GAP)
				__builtin_trap();
			r = tz_from_local(z, t + off, &u);
			if (r == TZ_GAP)
				__builtin_trap();	/* t shows that wall time */
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	struct tz *z;

	z = tz_parse((const char *)data, size, err, sizeof(err));
	if (z != NULL) {
		check_zone(z, data, size < 256 ? size : 256);
		tz_free(z);
	} else if (err[0] == '\0')
		__builtin_trap();	/* every rejection has a reason */

	/* the input's first line as the footer of a v3 file with no data */
	if (size < 200) {
		static const uint8_t head[44] = {
			'T', 'Z', 'i', 'f', '3', [32] = 0, [39] = 1, [43] = 1,
		};
		uint8_t buf[2 * (44 + 7) + 2 + 200];
		size_t n = 0, fl = 0;

		while (fl < size && data[fl] != '\n')
			fl++;
		/* header, then 1 type (6 bytes) + 1 char, for v1 and for v2+ */
		memcpy(buf, head, 44);
		memset(buf + 44, 0, 7);
		memcpy(buf + 51, head, 44);
		memset(buf + 95, 0, 7);
		n = 102;
		buf[n++] = '\n';
		memcpy(buf + n, data, fl);
		n += fl;
		buf[n++] = '\n';
		z = tz_parse((const char *)buf, n, err, sizeof(err));
		if (z != NULL) {
			check_zone(z, data, size < 64 ? size : 64);
			tz_free(z);
		}
	}

	{
		int32_t days;
		unsigned mins;
		int64_t secs;
		int abs;
		uint32_t dur;
		size_t n = size < 64 ? size : 64;

		(void)tz_parse_date((const char *)data, n, &days);
		(void)tz_parse_hhmm((const char *)data, n, &mins, 1);
		if (tz_parse_datetime((const char *)data, n, &secs, &abs) == 0 &&
		    (abs != 0 && abs != 1))
			__builtin_trap();
		if (tz_parse_duration((const char *)data, n, &dur) == 0 &&
		    (dur == 0 || dur > 366 * 86400))
			__builtin_trap();
	}
	return 0;
}
