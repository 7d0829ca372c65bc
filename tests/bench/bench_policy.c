/*
 * bench_policy.c — the policy library at venue scale: a generated venue of
 * 100,000 credentials, 500 zones nested three levels, 1,000 gates, 2,000
 * rules (group, credential and everyone permits and forbids, schedules,
 * holidays, four modes, every kind of guard), written as policy text and
 * CSV into a fresh directory under /tmp and loaded through policy_load.
 *
 * Measures load + check time, decisions per second on one core over a few
 * million random requests, p50 / p99 / max decision latency (individually
 * timed on a sample, clock overhead subtracted), resident memory before and
 * after load, and the time to diff the venue against a slightly edited copy.
 */
#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"

#define NCREDS		100000
#define NZONES		500
#define NGATES		1000
#define NRULES		2000
#define NGROUPS		200
#define NSCHEDS		20
#define NREQ		65536		/* request ring */
#define NDECIDE		4000000
#define NSAMPLE		400000

/* ---- a small deterministic generator ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t
rndn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

struct sbuf {
	char	*s;
	size_t	 n, cap;
};

static void sb(struct sbuf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < b->cap - b->n)
			break;
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		if ((b->s = realloc(b->s, b->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	b->n += (size_t)k;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this process: what the load costs, whatever else runs */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* ---- the venue ---- */

static uint32_t
zone_parent(uint32_t z)
{
	if (z < 10)
		return UINT32_MAX;		/* buildings */
	if (z < 100)
		return z % 10;			/* floors */
	return 10 + z % 90;			/* rooms */
}

static void
gen_policy(struct sbuf *t, int variant)
{
	static const char *const days[] = { "mon-fri", "sat", "sun", "mon-sun",
	    "tue-thu", "fri-mon" };

	sb(t, "venue \"Bench Arena\" { timezone \"Europe/London\"; }\n");
	sb(t, "credentials \"creds.csv\";\nresponders grp0;\n");
	for (int g = 0; g < NGROUPS; g++)
		sb(t, "group grp%d;\n", g);
	sb(t, "holidays bank { 2026-01-01; 2026-04-03; 2026-04-06; 2026-05-04; "
	    "2026-12-25; 2026-12-26; }\n");
	for (int s = 0; s < NSCHEDS; s++) {
		unsigned a = 5 * 60 + rndn(8) * 60, b = a + 4 * 60 + rndn(10) * 60;
		if (b > 1440)
			b = 1440;
		sb(t, "schedule s%d { %s %02u:%02u-%02u:%02u; %s 08:00-12:00;%s }\n", s,
		    days[s % 6], a / 60, a % 60, b / 60, b % 60,
		    s % 2 ? "sat" : "sun", s % 3 == 0 ? " except bank;" : "");
	}
	for (uint32_t z = 0; z < NZONES; z++) {
		uint32_t par = zone_parent(z);
		sb(t, "zone z%u {", z);
		if (par != UINT32_MAX)
			sb(t, " in z%u;", par);
		if (z >= 100) {
			switch (z % 13) {
			case 1: sb(t, " antipassback hard;"); break;
			case 2: sb(t, " antipassback soft;"); break;
			case 3: sb(t, " antipassback timed 15m;"); break;
			case 4: sb(t, " capacity %u hard;", 20 + z % 50); break;
			case 5: sb(t, " capacity %u soft;", 20 + z % 50); break;
			case 6: if (z % 5 == 0) sb(t, " two-person 30s;"); break;
			case 7: if (z % 5 == 0) sb(t, " escort grp%u by grp%u within 20s;",
			    1 + z % 50, 51 + z % 50); break;
			case 8: if (z % 3 == 0) sb(t, " require pin;"); break;
			}
		}
		sb(t, " }\n");
	}
	for (uint32_t g = 0; g < NGATES; g++) {
		uint32_t z = g % NZONES, par = zone_parent(z);
		if (par == UINT32_MAX)
			sb(t, "gate d%u { from outside; to z%u; exit reader; }\n", g, z);
		else
			sb(t, "gate d%u { from z%u; to z%u; exit reader; }\n", g, par, z);
	}
	sb(t, "permit group grp0 into *;\n");
	for (int r = 1; r < NRULES; r++) {
		uint32_t k = rndn(100), z = rndn(NZONES), s = rndn(NSCHEDS + 5);
		char when[32] = "";
		if (s < NSCHEDS)
			snprintf(when, sizeof(when), " during s%u", s);
		if (variant && r % 97 == 0) {
			/* the edited copy: some rules reach one zone further */
			z = zone_parent(z) == UINT32_MAX ? z : zone_parent(z);
		}
		if (k < 55)
			sb(t, "permit group grp%u into z%u%s;\n", 1 + rndn(NGROUPS - 1), z, when);
		else if (k < 75)
			sb(t, "permit credential C%06u into z%u%s;\n", rndn(NCREDS), z, when);
		else if (k < 80)
			sb(t, "permit group grp%u into z%u%s require pin;\n",
			    1 + rndn(NGROUPS - 1), z, when);
		else if (k < 83)
			sb(t, "permit everyone into z%u%s require secure;\n", z, when);
		else if (k < 97)
			sb(t, "forbid group grp%u into z%u%s;\n", 1 + rndn(NGROUPS - 1), z, when);
		else
			sb(t, "forbid everyone into z%u%s unless group grp0;\n", z, when);
	}
	sb(t, "mode normal { default; }\n");
	sb(t, "mode lockdown { forbid everyone into * unless group grp0; lock perimeter; }\n");
	sb(t, "mode evacuate { unlock egress; antipassback off; }\n");
	sb(t, "mode event { permit group grp7 into z3; permit group grp8 into z4 during s1; }\n");
}

static void
gen_csv(struct sbuf *c)
{
	sb(c, "id,holder,groups,valid_from,valid_until,class,pin,duress\n");
	for (uint32_t i = 0; i < NCREDS; i++) {
		uint32_t ng = 1 + rndn(3);
		sb(c, "C%06u,Person %u,", i, i);
		for (uint32_t g = 0; g < ng; g++)
			sb(c, "%sgrp%u", g ? ";" : "", i % 1000 == 0 ? 0 : 1 + rndn(NGROUPS - 1));
		switch (i % 10) {
		case 0: sb(c, ",2026-01-01,2027-12-31"); break;
		case 1: sb(c, ",,2026-06-30"); break;
		default: sb(c, ",,"); break;
		}
		sb(c, ",%s", i % 3 == 0 ? "secure" : "legacy");
		if (i % 10 == 5) {
			uint8_t salt[8];
			char h[160];
			for (int k = 0; k < 8; k++)
				salt[k] = (uint8_t)rnd();
			policy_pin_hash(salt, sizeof(salt), "1234", h, sizeof(h));
			sb(c, ",%s,\n", h);
		} else
			sb(c, ",,\n");
	}
}

/* ---- loading through files ---- */

struct dirio {
	const char	*dir;
};

static int
read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*buf = malloc((size_t)n + 1);
	if (*buf == NULL || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*buf);
		return -1;
	}
	(*buf)[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return 0;
}

static int
dirio_load(void *ctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	const struct dirio *d = ctx;
	char path[1024];

	if (kind == POLICY_FILE_CREDENTIALS)
		snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	else
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (read_all(path, buf, len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
write_file(const char *dir, const char *name, const struct sbuf *b)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(b->s, 1, b->n, f) != b->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static struct policy *
load_file(const char *dir, const char *name, size_t *nwarn)
{
	struct dirio d = { dir };
	struct policy_io io = { &d, dirio_load };
	struct policy_diags dg;
	struct policy *p;
	char path[1024], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_all(path, &text, &len) != 0) {
		perror(path);
		exit(1);
	}
	memset(&dg, 0, sizeof(dg));
	p = policy_load(name, text, len, &io, &dg);
	if (p == NULL) {
		size_t shown = 0;
		for (size_t i = 0; i < dg.n && shown < 10; i++)
			if (dg.v[i].sev == POLICY_ERROR) {
				char b[2048];
				policy_diag_render(&dg.v[i], b, sizeof(b));
				fputs(b, stderr);
				shown++;
			}
		fprintf(stderr, "bench_policy: the generated venue did not load "
		    "(%zu errors)\n", dg.errors);
		exit(1);
	}
	*nwarn = dg.warnings;
	policy_diags_free(&dg);
	free(text);
	return p;
}

/* ---- a cheap, allocation-free state ---- */

static int
st_inside(void *ctx, uint32_t cred, uint32_t zone, int64_t *since)
{
	uint64_t h = (cred * 0x9e3779b97f4a7c15ULL) ^ (zone * 0xc2b2ae3d27d4eb4fULL);

	(void)ctx;
	*since = 1772445600 - (int64_t)(h % 7200);
	return (h >> 32) % 8 == 0;
}

static int64_t
st_occ(void *ctx, uint32_t zone)
{
	(void)ctx;
	return zone % 60;
}

static const struct policy_state_ops st_ops = { st_inside, st_occ };

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	char tmpl[] = "/tmp/bench_policy.XXXXXX", *dir;
	struct sbuf text = { 0 }, text2 = { 0 }, csv = { 0 };
	struct policy_request *rq;
	struct policy_recent recent[2];
	struct policy *p, *p2;
	size_t nwarn = 0, nwarn2 = 0, grants = 0;
	double c0, c_load, t0, t_load, t_run, t_diff, overhead, *lat;
	long rss0, rss1, rss2;
	size_t heap0, heap1;
	uint32_t nmodes, dflt;
	uint64_t reasons[POLICY_R__COUNT] = { 0 };
	char *diff;

	if ((dir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	gen_csv(&csv);
	rng = 42;
	gen_policy(&text, 0);
	rng = 42;
	gen_policy(&text2, 1);
	write_file(dir, "venue.pol", &text);
	write_file(dir, "venue2.pol", &text2);
	write_file(dir, "creds.csv", &csv);
	free(csv.s);

	rss0 = rss_kb();
	heap0 = mallinfo2().uordblks;
	t0 = now_s();
	c0 = cpu_s();
	p = load_file(dir, "venue.pol", &nwarn);
	t_load = now_s() - t0;
	c_load = cpu_s() - c0;
	rss1 = rss_kb();
	/* what the policy holds, apart from heap the loader freed but glibc
	 * kept: live bytes, and resident after handing free pages back */
	heap1 = mallinfo2().uordblks;
	malloc_trim(0);
	rss2 = rss_kb();

	/* requests: random gate, badge (1% unknown), a week of times, mostly
	 * the default mode, a fifth exits, some PINs, some recent taps */
	nmodes = (uint32_t)policy_count(p, POLICY_COUNT_MODES);
	dflt = policy_mode_default(p);
	if ((rq = calloc(NREQ, sizeof(*rq))) == NULL)
		return 1;
	recent[0] = (struct policy_recent){ 17, 1772445600 - 5, POLICY_RECENT_AUTHORISED };
	recent[1] = (struct policy_recent){ 99, 1772445600 - 50, POLICY_RECENT_AUTHORISED };
	for (size_t i = 0; i < NREQ; i++) {
		rq[i].gate = rndn(NGATES);
		rq[i].cred = rndn(100) == 0 ? POLICY_NONE : rndn(NCREDS);
		rq[i].dir = rndn(5) == 0 ? POLICY_OUT : POLICY_IN;
		/* an honest reader proves the issued class (every third badge is
		 * secure); one tap in fifty is a secure card read bare */
		rq[i].cls = rq[i].cred % 3 == 0 && rndn(50) != 0 ?
		    POLICY_CLASS_SECURE : POLICY_CLASS_LEGACY;
		rq[i].now = 1772445600 + (int64_t)rndn(7 * 86400);	/* 2026-03-02.. */
		rq[i].mode = rndn(10) == 0 ? rndn(nmodes) : dflt;
		rq[i].pin = rndn(20) == 0 ? "1234" : NULL;
		if (rndn(4) == 0) {
			rq[i].recent = recent;
			rq[i].nrecent = 2;
		}
	}
	/* warm up, then throughput on one core */
	for (size_t i = 0; i < NREQ; i++) {
		struct policy_decision d;
		policy_decide(p, &rq[i], &st_ops, NULL, &d);
		reasons[d.reason]++;
		grants += d.effect == POLICY_GRANT;
	}
	t0 = now_s();
	for (size_t i = 0; i < NDECIDE; i++) {
		struct policy_decision d;
		policy_decide(p, &rq[i & (NREQ - 1)], &st_ops, NULL, &d);
		__asm__ volatile("" : : "r"(&d) : "memory");
	}
	t_run = now_s() - t0;

	/* latency: each decision timed alone, less the cost of the clock */
	if ((lat = malloc(NSAMPLE * sizeof(*lat))) == NULL)
		return 1;
	{
		struct timespec a, b;
		double sum = 0;
		for (int i = 0; i < 100000; i++) {
			clock_gettime(CLOCK_MONOTONIC, &a);
			clock_gettime(CLOCK_MONOTONIC, &b);
			sum += (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
		}
		overhead = sum / 100000;
		for (size_t i = 0; i < NSAMPLE; i++) {
			struct policy_decision d;
			const struct policy_request *r = &rq[(i * 7919) & (NREQ - 1)];
			clock_gettime(CLOCK_MONOTONIC, &a);
			policy_decide(p, r, &st_ops, NULL, &d);
			clock_gettime(CLOCK_MONOTONIC, &b);
			lat[i] = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec) -
			    overhead;
		}
		qsort(lat, NSAMPLE, sizeof(*lat), cmp_double);
	}

	/* diff against an edited copy */
	p2 = load_file(dir, "venue2.pol", &nwarn2);
	t0 = now_s();
	diff = policy_diff(p, p2);
	t_diff = now_s() - t0;

	printf("\npolicy benchmark: %zu credentials, %zu zones, %zu gates, %zu rules, "
	    "%u modes (%zu warnings)\n", policy_count(p, POLICY_COUNT_CREDENTIALS),
	    policy_count(p, POLICY_COUNT_ZONES), policy_count(p, POLICY_COUNT_GATES),
	    policy_count(p, POLICY_COUNT_RULES), nmodes, nwarn);
	printf("  policy text %zu KB, credentials CSV in %s\n", text.n / 1024, dir);
	printf("  %-34s %14s %14s\n", "measure", "result", "target");
	printf("  %-34s %11.1f ms %11s ms\n", "load + check (policy_load)", t_load * 1e3, "<= 300");
	printf("  %-34s %11.1f ms %11s\n", "  of which CPU time of this process", c_load * 1e3, "");
	printf("  %-34s %12.0f/s %12s/s\n", "decisions, one core", NDECIDE / t_run, ">= 1000000");
	printf("  %-34s %11.0f ns %14s\n", "decision latency p50", lat[NSAMPLE / 2], "");
	printf("  %-34s %11.0f ns %11s ns\n", "decision latency p99", lat[NSAMPLE * 99 / 100], "<= 5000");
	printf("  %-34s %11.0f ns %14s\n", "decision latency p99.9", lat[NSAMPLE * 999 / 1000], "");
	printf("  %-34s %11.0f ns %14s\n", "decision latency max", lat[NSAMPLE - 1], "");
	printf("  %-34s %11.1f MB %14s\n", "resident before load", rss0 / 1024.0, "");
	printf("  %-34s %11.1f MB %11s MB\n", "resident after load", rss1 / 1024.0, "<= 64");
	printf("  %-34s %11.1f MB %14s\n", "resident after load, malloc_trim", rss2 / 1024.0, "");
	printf("  %-34s %11.1f MB %14s\n", "live heap of the loaded policy",
	    (double)(heap1 - heap0) / (1024.0 * 1024.0), "");
	printf("  %-34s %11.1f ms %14s\n", "diff vs edited copy (policy_diff)", t_diff * 1e3, "");
	printf("  (clock overhead %.0f ns subtracted; %zu of %d warm-up requests granted)\n",
	    overhead, grants, NREQ);
	printf("  reasons in the warm-up set:");
	for (int r = 0; r < POLICY_R__COUNT; r++)
		if (reasons[r])
			printf(" %s %llu", policy_reason_code((enum policy_reason)r),
			    (unsigned long long)reasons[r]);
	{
		size_t nlines = 0;
		const char *nl = diff ? strchr(diff, '\n') : NULL;
		for (const char *q = diff; q && *q; q++)
			nlines += *q == '\n';
		printf("\n  diff: %zu lines; first: %.*s\n", nlines,
		    nl ? (int)(nl - diff) : 0, nl ? diff : "");
	}
	free(diff);
	policy_free(p2);
	policy_free(p);
	free(lat);
	free(rq);
	free(text.s);
	free(text2.s);
	{
		char path[1024];
		snprintf(path, sizeof(path), "%s/venue.pol", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/venue2.pol", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/creds.csv", dir);
		unlink(path);
		rmdir(dir);
	}
	return 0;
}
