/*
 * commit.h — group commit of journal records on the libevent loop. The loop
 * submits records with a callback; a writer thread writes and fsyncs them
 * in batches; callbacks then run on the loop thread, in submission order,
 * with status 0 (durable: the effect may now happen) or -errno (not
 * durable: the effect must not happen; fall back to the fail mode).
 */
#ifndef GATEWAY_COMMIT_H
#define GATEWAY_COMMIT_H

#include <stdint.h>

struct event_base;
struct journal;
struct journal_record;
struct commit;

typedef void (*commit_cb)(void *arg, const struct journal_record *rec,
	    int status);

struct commit *commit_new(struct event_base *, struct journal *);
/* The record is appended now (seq/hash assigned, visible in *rec after the
 * call); cb (may be NULL) runs once it is durable or failed. 0 or -1. */
int	 commit_submit(struct commit *, struct journal_record *rec,
	    commit_cb cb, void *arg);
/* fn sees every submitted record that became durable, once, in seq order,
 * on the loop thread, before its callback runs, including a record whose
 * callback was told "failed" and that a later retry made durable.
 * fn NULL: no more. */
typedef void (*commit_durable_fn)(void *arg, const struct journal_record *rec);
void	 commit_observe(struct commit *, commit_durable_fn fn, void *arg);
/* Block until everything submitted is durable (shutdown). */
int	 commit_drain(struct commit *);
void	 commit_free(struct commit *);

#endif
