/*
 * state.h — what the policy's guards need to know and the daemon alone
 * keeps: who is inside which zone (and since when), occupancy per zone,
 * and recent taps per gate (two-person, escort).
 *
 * Keyed by names, not policy indices, so it survives a policy reload.
 * Changed only by passages (a grant nobody used changes nothing), and
 * rebuilt from the journal at start, so kill -9 loses none of it.
 */
#ifndef GATEWAY_STATE_H
#define GATEWAY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

struct state;

struct state *state_new(void);
void	state_free(struct state *);

/* Someone moved from zone `from` to zone `to` (policy zone names; a name
 * the policy does not know is treated as a top-level zone). Zones that
 * contain `to` but not `from` are entered; those that contain `from` but
 * not `to` are left. `outside` is never tracked. */
void	state_passage(struct state *, const struct policy *, const char *cred,
	    const char *holder, const char *from, const char *to, int64_t at);
int	state_inside(const struct state *, const char *cred, const char *zone,
	    int64_t *since);
int64_t	state_occupancy(const struct state *, const char *zone);

/* A tap at a gate, for two-person and escort. */
void	state_recent_add(struct state *, const char *gate, const char *cred,
	    int64_t at, uint32_t flags);
/* The recent taps at gate within window_s of now, newest first, as
 * indices of pol (unknown credentials skipped). */
size_t	state_recent(const struct state *, const struct policy *,
	    const char *gate, int64_t now, int64_t window_s,
	    struct policy_recent *out, size_t max);

/* policy_state_ops over a state under one policy version. */
struct state_view {
	const struct state	*st;
	const struct policy	*pol;
};
extern const struct policy_state_ops state_ops;

/* Who is inside: zone NULL = every zone. Sorted by zone then holder. */
struct state_person {
	const char	*cred, *holder, *zone;
	int64_t		 since;
};
size_t	state_muster(const struct state *, const char *zone,
	    struct state_person **out);		/* malloc'd array */
/* Every zone with a non-zero count, sorted by name. */
struct state_zone_count {
	const char	*zone;
	int64_t		 count;
};
size_t	state_zones(const struct state *, struct state_zone_count **out);

/* Replay a journal directory: passages, recent taps, and the last mode.
 * 0 with counts, or -1 with why (damage is reported, not skipped). */
struct journal_record;

struct state_replay {
	uint64_t	records, passages, last_seq;
	uint8_t		last_hash[32];	/* of record last_seq */
	char		mode[32];	/* "" if no mode record */
	/* optional: also shown every record, in order (the daemon rebuilds
	 * its open alarms from the same single pass) */
	void		(*each)(void *ctx, const struct journal_record *);
	void		*each_ctx;
	/* optional: the state already holds records 1..after_seq (a loaded
	 * snapshot; mode is then its mode): replay only what follows, once
	 * journal_iter_resume found that record with exactly after_hash */
	uint64_t	after_seq;
	uint8_t		after_hash[32];
	/* optional: stop after record upto (0: at the end); for a journal
	 * another process is appending to */
	uint64_t	upto;
};
/* sr->each, each_ctx, after_seq, after_hash (and mode when resuming) are
 * read; the rest is filled in. 0; -1 with why (damage is reported, not
 * skipped); -2 when resuming: the journal does not hold record after_seq
 * with after_hash (why in err), and nothing was applied. */
int	state_replay(struct state *, const struct policy *, const char *dir,
	    struct state_replay *, char *err, size_t errlen);

/* One record as replay applies it (passage, decision's recent tap, mode
 * into mode[32] if not NULL): 1 if it was a passage. The daemon keeps a
 * replica of the state fed only durable records with it, for snapshots. */
int	state_apply(struct state *, const struct policy *,
	    const struct journal_record *, char mode[32]);

/* The state as bytes (the state section of a snapshot, format in
 * docs/journal-format.md), and back into an empty state: 0, or -1 (with
 * why for decode; the state then holds a part and should be freed). */
int	state_encode(const struct state *, uint8_t **out, size_t *len);
int	state_decode(struct state *, const uint8_t *, size_t, char *err,
	    size_t errlen);
struct state *state_clone(const struct state *);

#endif
