/*
 * journal.h — the audit journal: append-only, hash-chained evidence of
 * everything the gateway did, in rotating segment files under one
 * directory. The lock opens only after the record that grants it is durable
 * (journal_sync returned 0 with that record in it).
 *
 * Owns: the files in the journal directory. Trusts: nothing it reads back;
 * a damaged tail is detected, cut, and the cut itself is journaled.
 */
#ifndef GATEWAY_JOURNAL_H
#define GATEWAY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

/* One record. Strings are NUL-terminated, truncated to fit; "" = absent. */
struct journal_record {
	uint64_t	seq;		/* assigned by journal_append, from 1 */
	int64_t		time_us;	/* UTC microseconds; 0: journal_append sets now */
	char		type[16];	/* start stop decision passage alarm alarm-clear
					   ack mode open reload sensor cut offline ... */
	char		gateway[32];	/* set by journal_append */
	char		gate[48];
	char		zone_from[48], zone_to[48];
	char		cred[64];	/* credential id / badge */
	char		holder[96];
	char		decision[8];	/* grant | deny | "" */
	char		reason[32];	/* stable reason code */
	char		rule[96];	/* "file:line" or "default deny" */
	char		mode[32];
	char		policy[65];	/* policy hash in force */
	char		actor[64];	/* who, for manual actions: "uid 1000 (alice)" */
	char		text[256];	/* staff's reason, alarm detail, words */
	uint32_t	flags;		/* POLICY_F_* for decisions */
	uint8_t		prev[32];	/* chain: hash of the previous record */
	uint8_t		hash[32];	/* SHA-256(prev || canonical body) */
};

struct journal_opts {
	uint64_t	segment_bytes;	/* rotate after this size (default 64 MiB) */
	uint64_t	retain_bytes;	/* delete oldest segments beyond (0 = keep all) */
	int64_t		retain_days;	/* delete segments older than (0 = keep all) */
};

struct journal;

/* Open (create) the journal in dir, recover: scan the last segment, cut a
 * torn or corrupt tail and append a "cut" record saying what was cut.
 * NULL with a reason in err on failure. */
struct journal *journal_open(const char *dir, const char *gateway_id,
	    const struct journal_opts *, char *err, size_t errlen);
/* Assign seq, time (if 0), gateway, prev and hash; buffer it. Not durable
 * until journal_sync. 0, or -1 when the buffer is full (sync first; errno
 * ENOBUFS) or while the last sync failed (errno = its error).
 * One appending thread and one syncing thread may use a journal at once. */
int	 journal_append(struct journal *, struct journal_record *);
/* Write and fsync everything buffered (group commit). 0, or -errno: then
 * nothing buffered is durable, the journal refuses further appends until a
 * sync succeeds, and the records stay buffered for a retry. */
int	 journal_sync(struct journal *);
uint64_t journal_last_seq(const struct journal *);	/* last appended */
uint64_t journal_durable_seq(const struct journal *);	/* last fsynced */
const uint8_t *journal_last_hash(const struct journal *);
int	 journal_failed(struct journal *);	/* -errno of failed sync, or 0 */
uint64_t journal_sync_count(const struct journal *);	/* batches written */
void	 journal_close(struct journal *);

/* The hash r would carry, from its fields and r->prev: checks a copy of a
 * record held elsewhere (the central server's, gateway/central.c). */
void	 journal_rehash(const struct journal_record *r, uint8_t out[32]);

/* Reading, online or offline on a copied directory. */
struct journal_iter;
struct journal_iter *journal_iter_open(const char *dir, uint64_t from_seq,
	    char *err, size_t errlen);
/* 1 = a record, 0 = end, -1 = damage (err says where and what). */
int	 journal_iter_next(struct journal_iter *, struct journal_record *,
	    char *err, size_t errlen);
void	 journal_iter_close(struct journal_iter *);
/* Resume after record `seq`, which must carry exactly `hash` (what a state
 * snapshot claims to be consistent with). Only the segment holding seq is
 * opened; the records before seq in it are checked for framing and CRC
 * only, record seq fully (body, hash, and against the segment's anchor if
 * it is the first). Iteration then yields seq+1 onwards with every check.
 * NULL with why: seq no longer retained, beyond the end, another hash,
 * damage on the way. */
struct journal_iter *journal_iter_resume(const char *dir, uint64_t seq,
	    const uint8_t hash[32], char *err, size_t errlen);

/* Walk every retained record: check framing, order and the hash chain.
 * 0 = intact (*count records); -1 = broken at *bad_seq, why in err. */
int	 journal_verify(const char *dir, uint64_t *count, uint64_t *bad_seq,
	    char *err, size_t errlen);
/* The same walk, with what an auditor needs to state: retention may have
 * deleted old segments, so the chain starts at anchor_seq from anchor. */
struct journal_summary {
	uint64_t	count;		/* intact records walked */
	uint64_t	first_seq, last_seq;	/* of those records */
	uint64_t	anchor_seq;	/* first seq of the oldest segment */
	uint8_t		anchor[32];	/* its prev hash (zeros from genesis) */
	uint8_t		last_hash[32];
	uint64_t	segments;
	uint64_t	bad_seq;	/* first bad seq when -1, else 0 */
};
int	 journal_verify_summary(const char *dir, struct journal_summary *,
	    char *err, size_t errlen);
/* The same, stopping after seq `upto` (a running daemon's durable seq). */
int	 journal_verify_upto(const char *dir, uint64_t upto,
	    struct journal_summary *, char *err, size_t errlen);

/* Export helpers: one record as a JSON object line / a CSV row (with
 * journal_csv_header first). Each ends with its line terminator ("\n" for
 * JSON, "\r\n" for CSV as RFC 4180 says; the header too). Return the
 * length needed (snprintf-like). */
size_t	 journal_format_json(const struct journal_record *, char *buf, size_t len);
size_t	 journal_format_csv(const struct journal_record *, char *buf, size_t len);
extern const char journal_csv_header[];

#endif
