/*
 * fuzz_policy.c — libFuzzer harness for the policy loader: lexer, parser,
 * resolver, credentials CSV, checks, and then print, tests and one decision
 * on whatever loads. The input is split at the first "\n===\n": policy text
 * before, credentials CSV after (a fixed CSV when absent).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static char *tzdata;
static size_t tzlen;

struct fz {
	const char	*csv;
	size_t		 csvlen;
};

static int
fz_load(void *vctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	struct fz *f = vctx;
	const char *src = kind == POLICY_FILE_TZIF ? tzdata : f->csv;
	size_t n = kind == POLICY_FILE_TZIF ? tzlen : f->csvlen;

	(void)name;
	if (src == NULL) {
		snprintf(err, errlen, "absent");
		return -1;
	}
	*buf = malloc(n + 1);
	memcpy(*buf, src, n);
	(*buf)[n] = '\0';
	*len = n;
	return 0;
}

static int64_t
fz_occ(void *ctx, uint32_t z)
{
	(void)ctx;
	return z % 3;
}

static int
fz_inside(void *ctx, uint32_t c, uint32_t z, int64_t *since)
{
	(void)ctx;
	*since = 0;
	return (c + z) % 2;
}

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f = fopen("/usr/share/zoneinfo/Europe/London", "rb");

	(void)argc;
	(void)argv;
	if (f != NULL) {
		tzdata = malloc(1 << 16);
		tzlen = fread(tzdata, 1, 1 << 16, f);
		fclose(f);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char default_csv[] =
	    "id,holder,groups,valid_from,valid_until,class,pin\n"
	    "A-1,Ann,staff,2026-01-01,2027-01-01,secure,\n"
	    "B-2,Bob,visitors,,,legacy,\n";
	const char *text = (const char *)data, *sep;
	struct fz f = { default_csv, sizeof(default_csv) - 1 };
	struct policy_io io = { &f, fz_load };
	struct policy_diags d = { 0 };
	struct policy_state_ops ops = { fz_inside, fz_occ };
	struct policy *p;
	size_t plen = size;
	char *copy;

	sep = memmem(text, size, "\n===\n", 5);
	if (sep != NULL) {
		plen = (size_t)(sep - text);
		f.csv = sep + 5;
		f.csvlen = size - plen - 5;
	}
	/* exactly plen bytes, no terminator: the loader must respect len */
	copy = malloc(plen ? plen : 1);
	memcpy(copy, text, plen);
	p = policy_load("fuzz.pol", copy, plen, &io, &d);
	for (size_t i = 0; i < d.n; i++) {
		char buf[512];
		policy_diag_render(&d.v[i], buf, sizeof(buf));
	}
	if (p != NULL) {
		char *s = policy_print(p);
		struct policy_request rq = { 0 };
		struct policy_decision dec;
		char buf[256];
		free(s);
		policy_run_tests(p, NULL, NULL);
		for (uint32_t g = 0; g < policy_count(p, POLICY_COUNT_GATES) && g < 4; g++) {
			rq.gate = g;
			rq.cred = 0;
			rq.now = 1772445600;
			rq.mode = policy_mode_default(p);
			rq.dir = g & 1 ? POLICY_OUT : POLICY_IN;
			policy_decide(p, &rq, &ops, NULL, &dec);
			policy_explain(p, &rq, &dec, buf, sizeof(buf));
		}
		policy_free(p);
	}
	policy_diags_free(&d);
	free(copy);
	return 0;
}
