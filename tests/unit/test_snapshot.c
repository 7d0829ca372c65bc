/*
 * test_snapshot.c — state snapshots and the journal iterator that resumes
 * after one: journal_iter_resume yields exactly what a full walk yields
 * after any seq, across segment boundaries, without opening older
 * segments, and refuses a wrong hash, a seq past the end or no longer
 * retained; a snapshot read back plus the journal's tail gives the same
 * state as a full replay; a damaged, truncated, extended, foreign or
 * newer-format file, or one that names a record the journal does not hold,
 * is refused with a reason, and the full replay still gives that state.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/journal.h"
#include "gateway/snapshot.h"
#include "gateway/state.h"
#include "policy/policy.h"
#include "tests/unit/policy_fixture.h"

#define NREC	700

static const char pol_text[] =
    "venue \"T\" { timezone \"UTC\"; }\n"
    "credentials \"c.csv\";\n"
    "group staff;\n"
    "zone site;\n"
    "zone lab { in site; }\n"
    "zone bench { in lab; }\n"
    "gate front { from outside; to site; door; exit reader; }\n"
    "gate lab-door { from site; to lab; door; exit reader; }\n"
    "gate bench-gate { from outside; to bench; door; exit reader; }\n"
    "permit group staff into *;\n"
    "mode normal { default; }\n"
    "mode lockdown { }\n";
static const char creds[] =
    "id,holder,groups,valid_from,valid_until,class,pin,duress\n"
    "A-1,Ada,staff,,,secure,,\n"
    "A-2,Alan,staff,,,secure,,\n"
    "A-3,Grace,staff,,,secure,,\n"
    "A-4,Edsger,staff,,,secure,,\n"
    "A-5,Barbara,staff,,,secure,,\n";

static char dir[64];
static uint8_t hashes[NREC + 1][32];
static struct policy *pol;

static uint32_t rng = 12345;
static uint32_t
rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

/* A journal of NREC records in many small segments: taps, passages
 * through nested zones, mode changes, alarms. */
static void
make_journal(void)
{
	static const char *zones[] = { "outside", "site", "lab", "bench" };
	static const char *gates[] = { "front", "lab-door", "bench-gate" };
	struct journal_opts o = { .segment_bytes = 8192 };
	struct journal *j;
	struct journal_record r;
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/test_snapshot.XXXXXX");
	assert_non_null(mkdtemp(dir));
	j = journal_open(dir, "t", &o, err, sizeof(err));
	assert_non_null(j);
	for (int i = 1; i <= NREC; i++) {
		uint32_t k = rnd(10);
		memset(&r, 0, sizeof(r));
		r.time_us = (int64_t)(100000 + i) * 1000000;
		snprintf(r.gate, sizeof(r.gate), "%s", gates[rnd(3)]);
		snprintf(r.cred, sizeof(r.cred), "A-%u", 1 + rnd(5));
		snprintf(r.holder, sizeof(r.holder), "H %s", r.cred);
		if (k < 4) {
			snprintf(r.type, sizeof(r.type), "decision");
			snprintf(r.decision, sizeof(r.decision), rnd(4) ?
			    "grant" : "deny");
		} else if (k < 8) {
			snprintf(r.type, sizeof(r.type), "passage");
			snprintf(r.zone_from, sizeof(r.zone_from), "%s",
			    zones[rnd(4)]);
			snprintf(r.zone_to, sizeof(r.zone_to), "%s", zones[rnd(4)]);
		} else if (k == 8) {
			snprintf(r.type, sizeof(r.type), "mode");
			snprintf(r.mode, sizeof(r.mode), rnd(2) ? "lockdown" :
			    "normal");
		} else {
			snprintf(r.type, sizeof(r.type), "alarm");
			snprintf(r.text, sizeof(r.text), "forced: door opened");
		}
		assert_int_equal(journal_append(j, &r), 0);
		if (i % 7 == 0)		/* batches: segments rotate between */
			assert_int_equal(journal_sync(j), 0);
	}
	assert_int_equal(journal_sync(j), 0);
	journal_close(j);

	struct journal_iter *it = journal_iter_open(dir, 1, err, sizeof(err));
	int n = 0;
	assert_non_null(it);
	while (journal_iter_next(it, &r, err, sizeof(err)) == 1) {
		assert_int_equal(r.seq, ++n);
		memcpy(hashes[n], r.hash, 32);
	}
	journal_iter_close(it);
	assert_int_equal(n, NREC);
}

static int
setup(void **st)
{
	(void)st;
	pol = fixture_policy_load(pol_text, creds);
	make_journal();
	return 0;
}

static int
teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	policy_free(pol);
	return 0;
}

static int
nsegments(void)
{
	char cmd[160];
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.jnl$'", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* Everything a guard or a report can see of a state, in a fixed order. */
static char *
dump(const struct state *s, const char *mode)
{
	static const char *gates[] = { "front", "lab-door", "bench-gate" };
	struct state_person *v;
	struct state_zone_count *z;
	struct policy_recent rc[16];
	size_t n, len = 0, cap = 1 << 16;
	char *out = calloc(1, cap);

	assert_non_null(out);
#define OUT(...) do { len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__); \
	assert_true(len < cap); } while (0)
	OUT("mode %s\n", mode);
	n = state_muster(s, NULL, &v);
	for (size_t i = 0; i < n; i++)
		OUT("in %s %s %s %lld\n", v[i].zone, v[i].cred, v[i].holder,
		    (long long)v[i].since);
	free(v);
	n = state_zones(s, &z);
	for (size_t i = 0; i < n; i++)
		OUT("count %s %lld\n", z[i].zone, (long long)z[i].count);
	free(z);
	for (size_t g = 0; g < 3; g++) {
		n = state_recent(s, pol, gates[g], INT64_MAX / 2, INT64_MAX / 2,
		    rc, 16);
		for (size_t i = 0; i < n; i++)
			OUT("recent %s %u %lld %u\n", gates[g], rc[i].cred,
			    (long long)rc[i].at, rc[i].flags);
	}
#undef OUT
	return out;
}

/* The state after records 1..upto, the way the daemon's replica builds it. */
static struct state *
state_upto(uint64_t upto, char mode[32])
{
	struct state *s = state_new();
	struct journal_iter *it;
	struct journal_record r;
	char err[256];

	mode[0] = '\0';
	it = journal_iter_open(dir, 1, err, sizeof(err));
	assert_non_null(it);
	while (r.seq = 0, journal_iter_next(it, &r, err, sizeof(err)) == 1 &&
	    r.seq <= upto)
		(void)state_apply(s, pol, &r, mode);
	journal_iter_close(it);
	return s;
}

static char *
full_replay_dump(void)
{
	struct state *s = state_new();
	struct state_replay sr;
	char err[256], *d;

	memset(&sr, 0, sizeof(sr));
	assert_int_equal(state_replay(s, pol, dir, &sr, err, sizeof(err)), 0);
	assert_int_equal(sr.records, NREC);
	assert_int_equal(sr.last_seq, NREC);
	assert_memory_equal(sr.last_hash, hashes[NREC], 32);
	d = dump(s, sr.mode);
	state_free(s);
	return d;
}

/* ---- journal_iter_resume ---- */

static void
test_resume_every_seq(void **st)
{
	struct journal_iter *it;
	struct journal_record r;
	uint8_t bad[32];
	char err[256];

	(void)st;
	assert_true(nsegments() > 10);
	for (uint64_t seq = 1; seq <= NREC; seq++) {
		uint64_t want = seq + 1;
		it = journal_iter_resume(dir, seq, hashes[seq], err, sizeof(err));
		if (it == NULL)
			fail_msg("resume after %llu: %s", (unsigned long long)seq,
			    err);
		while (journal_iter_next(it, &r, err, sizeof(err)) == 1) {
			assert_int_equal(r.seq, want);
			assert_memory_equal(r.hash, hashes[want], 32);
			want++;
		}
		assert_int_equal(want, NREC + 1);
		journal_iter_close(it);

		memcpy(bad, hashes[seq], 32);
		bad[31] ^= 1;
		assert_null(journal_iter_resume(dir, seq, bad, err, sizeof(err)));
		assert_non_null(strstr(err, "has hash"));
	}
	assert_null(journal_iter_resume(dir, NREC + 1, hashes[NREC], err,
	    sizeof(err)));
	assert_non_null(strstr(err, "ends at seq 700"));
	assert_null(journal_iter_resume(dir, 0, hashes[1], err, sizeof(err)));
}

/* Older segments are never opened: damage there (which a full walk
 * reports) does not stop a resume past it, and a segment retention
 * deleted makes the seqs in it unavailable. */
static void
test_resume_older_segments(void **st)
{
	struct journal_iter *it;
	struct journal_record r;
	char err[256], path[128], aside[140];
	int k;

	(void)st;
	snprintf(path, sizeof(path), "%s/00000000000000000001.jnl", dir);
	snprintf(aside, sizeof(aside), "%s.aside", path);
	assert_int_equal(rename(path, aside), 0);
	assert_null(journal_iter_resume(dir, 3, hashes[3], err, sizeof(err)));
	assert_non_null(strstr(err, "no longer in the journal"));
	/* a segment in its place that is garbage */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a segment at all, and far too short", f);
	fclose(f);
	it = journal_iter_open(dir, 1, err, sizeof(err));
	assert_non_null(it);
	assert_int_equal(journal_iter_next(it, &r, err, sizeof(err)), -1);
	journal_iter_close(it);
	it = journal_iter_resume(dir, NREC - 50, hashes[NREC - 50], err,
	    sizeof(err));
	assert_non_null(it);
	while ((k = journal_iter_next(it, &r, err, sizeof(err))) == 1)
		;
	assert_int_equal(k, 0);
	assert_int_equal(r.seq, NREC);
	journal_iter_close(it);
	assert_int_equal(rename(aside, path), 0);
}

/* ---- snapshots ---- */

static void
write_snapshot(const char *path, uint64_t seq, const uint8_t *hash,
    const char *policy, uint8_t **bufp, size_t *lenp)
{
	struct snapshot s;
	struct snapshot_alarm al[2];
	char err[256];
	uint8_t *buf;
	size_t len;

	memset(&s, 0, sizeof(s));
	memset(al, 0, sizeof(al));
	al[0].id = 3;
	snprintf(al[0].gate, sizeof(al[0].gate), "front");
	snprintf(al[0].name, sizeof(al[0].name), "tailgating");
	snprintf(al[0].detail, sizeof(al[0].detail), "more passages than grants");
	al[0].at = 123456789;
	al[0].active = 1;
	al[0].count = 4;
	al[1].id = 7;
	snprintf(al[1].name, sizeof(al[1].name), "journal-failure");
	al[1].count = 1;
	s.seq = seq;
	memcpy(s.hash, hash, 32);
	snprintf(s.policy, sizeof(s.policy), "%s", policy);
	s.st = state_upto(seq, s.mode);
	s.next_alarm = 9;
	s.alarms = al;
	s.nalarms = 2;
	assert_int_equal(snapshot_encode(&s, &buf, &len), 0);
	state_free(s.st);
	assert_int_equal(snapshot_write(path, buf, len, err, sizeof(err)), 0);
	if (bufp != NULL) {
		*bufp = buf;
		*lenp = len;
	} else
		free(buf);
}

/* Load path and replay the tail as gatewayd does: the dump, or NULL with
 * why (-1 refused file, -2 not in the journal). */
static char *
load_and_replay(const char *path, int *why_rc, char *err, size_t errlen)
{
	struct snapshot s;
	struct state_replay sr;
	char *d;
	int k;

	k = snapshot_read(path, 512, &s, err, errlen);
	if (k != 0) {
		*why_rc = k;
		return NULL;
	}
	memset(&sr, 0, sizeof(sr));
	sr.after_seq = s.seq;
	memcpy(sr.after_hash, s.hash, 32);
	snprintf(sr.mode, sizeof(sr.mode), "%s", s.mode);
	k = state_replay(s.st, pol, dir, &sr, err, errlen);
	if (k != 0) {
		snapshot_clear(&s);
		*why_rc = k;
		return NULL;
	}
	assert_int_equal(sr.last_seq, NREC);
	assert_int_equal(sr.records, NREC - s.seq);
	d = dump(s.st, sr.mode);
	snapshot_clear(&s);
	*why_rc = 0;
	return d;
}

static void
test_snapshot_roundtrip(void **st)
{
	static const uint64_t at[] = { 1, 2, 77, 350, 699, NREC };
	char path[128], err[256], *want = full_replay_dump(), *got;
	struct snapshot s;
	int rc;

	(void)st;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_FILE);
	assert_int_equal(snapshot_read(path, 512, &s, err, sizeof(err)), 1);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		write_snapshot(path, at[i], hashes[at[i]], policy_hash(pol),
		    NULL, NULL);
		assert_int_equal(snapshot_read(path, 512, &s, err, sizeof(err)),
		    0);
		assert_int_equal(s.seq, at[i]);
		assert_memory_equal(s.hash, hashes[at[i]], 32);
		assert_string_equal(s.policy, policy_hash(pol));
		assert_int_equal(s.next_alarm, 9);
		assert_int_equal(s.nalarms, 2);
		assert_string_equal(s.alarms[0].name, "tailgating");
		assert_string_equal(s.alarms[0].gate, "front");
		assert_int_equal(s.alarms[0].count, 4);
		assert_int_equal(s.alarms[0].active, 1);
		assert_int_equal(s.alarms[0].at, 123456789);
		assert_string_equal(s.alarms[1].gate, "");
		assert_int_equal(s.alarms[1].active, 0);
		snapshot_clear(&s);
		got = load_and_replay(path, &rc, err, sizeof(err));
		if (got == NULL)
			fail_msg("snapshot at %llu: %s", (unsigned long long)at[i],
			    err);
		assert_string_equal(got, want);
		free(got);
	}
	/* a clone is the same state */
	char mode[32];
	struct state *a = state_upto(NREC, mode), *b = state_clone(a);
	char *da = dump(a, mode), *db = dump(b, mode);
	assert_string_equal(da, db);
	assert_string_equal(da, want);
	free(da);
	free(db);
	state_free(a);
	state_free(b);
	free(want);
	unlink(path);
}

static void
rewrite(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Every way a snapshot can be wrong is refused with a reason, and the
 * whole journal still gives the one true state. */
static void
test_snapshot_refused(void **st)
{
	char path[128], err[256], *want = full_replay_dump(), *got;
	uint8_t *buf, *b2, other[32];
	size_t len;
	int rc;

	(void)st;
	snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_FILE);
	write_snapshot(path, 400, hashes[400], policy_hash(pol), &buf, &len);
	b2 = malloc(len + 1);
	assert_non_null(b2);

	/* one flipped bit anywhere: header, state, alarms, checksum */
	for (size_t off = 0; off < len; off += (off < 300 ? 1 : 37)) {
		memcpy(b2, buf, len);
		b2[off] ^= 0x10;
		rewrite(path, b2, len);
		got = load_and_replay(path, &rc, err, sizeof(err));
		if (got != NULL)
			fail_msg("byte %zu flipped: accepted", off);
		assert_int_equal(rc, -1);
		assert_true(strlen(err) > 0);
	}
	memcpy(b2, buf, len);
	b2[len / 2] ^= 1;
	rewrite(path, b2, len);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_non_null(strstr(err, "SHA-256"));

	/* truncated anywhere, or extended */
	for (size_t n = 0; n < len; n += (n < 300 ? 1 : 29)) {
		rewrite(path, buf, n);
		assert_null(load_and_replay(path, &rc, err, sizeof(err)));
		assert_int_equal(rc, -1);
	}
	memcpy(b2, buf, len);
	b2[len] = 0;
	rewrite(path, b2, len + 1);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_non_null(strstr(err, "size"));

	/* another format version; not a snapshot at all */
	memcpy(b2, buf, len);
	b2[8] = 2;
	rewrite(path, b2, len);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_non_null(strstr(err, "version 2"));
	rewrite(path, (const uint8_t *)"GWJNLSG1 and so on", 18);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_non_null(strstr(err, "magic"));

	/* whole and well-formed, but not this journal's: another hash at
	 * its seq, a seq past the end (the journal was cut below it) */
	memcpy(other, hashes[400], 32);
	other[0] ^= 0xff;
	write_snapshot(path, 400, other, policy_hash(pol), NULL, NULL);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_int_equal(rc, -2);
	assert_non_null(strstr(err, "record 400 has hash"));
	write_snapshot(path, 400, hashes[401], policy_hash(pol), NULL, NULL);
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_int_equal(rc, -2);
	{
		/* a snapshot of seq NREC + 3 (its state: all of the journal) */
		struct snapshot s;
		memset(&s, 0, sizeof(s));
		s.seq = NREC + 3;
		s.st = state_upto(NREC, s.mode);
		free(b2);
		assert_int_equal(snapshot_encode(&s, &b2, &len), 0);
		snapshot_seal(b2, len);
		state_free(s.st);
		rewrite(path, b2, len);
	}
	assert_null(load_and_replay(path, &rc, err, sizeof(err)));
	assert_int_equal(rc, -2);
	assert_non_null(strstr(err, "ends at seq 700"));

	/* after all that: the full replay gives the state */
	got = full_replay_dump();
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(buf);
	free(b2);
	unlink(path);
}

/* The state section's decoder takes no length on trust. */
static void
test_state_decode_hostile(void **st)
{
	char mode[32], err[256];
	struct state *a = state_upto(NREC, mode), *b;
	uint8_t *buf;
	size_t len;

	(void)st;
	assert_int_equal(state_encode(a, &buf, &len), 0);
	for (size_t n = 0; n < len; n++) {
		b = state_new();
		assert_int_equal(state_decode(b, buf, n, err, sizeof(err)), -1);
		state_free(b);
	}
	for (size_t off = 0; off < len; off++) {
		uint8_t save = buf[off];
		buf[off] ^= 0xa5;
		b = state_new();
		(void)state_decode(b, buf, len, err, sizeof(err));
		state_free(b);
		buf[off] = save;
	}
	b = state_new();
	assert_int_equal(state_decode(b, buf, len, err, sizeof(err)), 0);
	/* only into an empty state */
	assert_int_equal(state_decode(b, buf, len, err, sizeof(err)), -1);
	state_free(b);
	free(buf);
	state_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_every_seq),
		cmocka_unit_test(test_resume_older_segments),
		cmocka_unit_test(test_snapshot_roundtrip),
		cmocka_unit_test(test_snapshot_refused),
		cmocka_unit_test(test_state_decode_hostile),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
