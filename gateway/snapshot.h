/*
 * snapshot.h — a cache of the daemon's rebuilt state (who is inside where,
 * occupancy, recent taps, the mode, the open alarms) as it stands after
 * journal record `seq`, so a restart replays only the records after it.
 *
 * It is not evidence: the journal is. A snapshot is used only if it is
 * whole (its own SHA-256), of this format, made under the policy now in
 * force, and the journal still holds record `seq` with exactly the hash
 * the snapshot names (journal_iter_resume); otherwise the daemon says why
 * and replays the whole journal. Format: docs/journal-format.md.
 */
#ifndef GATEWAY_SNAPSHOT_H
#define GATEWAY_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_FILE		"state.snap"	/* in the journal directory */
#define SNAPSHOT_VERSION	1

struct state;

struct snapshot_alarm {
	uint64_t	id;
	char		gate[48];
	char		name[32];
	char		detail[160];
	int64_t		at;
	int		active;
	unsigned	count;
};

struct snapshot {
	uint64_t		 seq;		/* state after records 1..seq */
	uint8_t			 hash[32];	/* record seq's hash */
	char			 policy[65];	/* hash of the policy it was built under */
	char			 mode[32];	/* last mode record's mode, "" none */
	int64_t			 written_us;	/* informational */
	uint64_t		 next_alarm;	/* last alarm id given */
	struct snapshot_alarm	*alarms;
	size_t			 nalarms;
	struct state		*st;
};

/* The file's bytes (the caller's state and alarms are only read), all
 * but the SHA-256 trailer, which snapshot_seal fills in (snapshot_write
 * does: the hash of megabytes is the writer thread's work, not the
 * loop's). */
int	snapshot_encode(const struct snapshot *, uint8_t **out, size_t *len);
void	snapshot_seal(uint8_t *buf, size_t len);
/* Read and check path (all but the journal check): 0 with *s filled
 * (s->st and s->alarms are new; snapshot_clear frees them), 1 when there
 * is no such file, -1 with why in err. max_alarms bounds the alarm list. */
int	snapshot_read(const char *path, size_t max_alarms, struct snapshot *s,
	    char *err, size_t errlen);
void	snapshot_clear(struct snapshot *);
/* Seal buf and replace path with it atomically: path.tmp, fsync, rename,
 * fsync of the directory. 0, or -1 with why. */
int	snapshot_write(const char *path, uint8_t *buf, size_t len,
	    char *err, size_t errlen);

/* A thread that writes them, so fsync never holds up the event loop. */
struct snapshot_writer;
struct snapshot_writer *snapshot_writer_new(const char *path);
/* Hand buf over (taken in every case): 0, or -1 while the previous one
 * is still being written (buf is freed). */
int	snapshot_writer_put(struct snapshot_writer *, uint8_t *buf, size_t len,
	    uint64_t seq);
int	snapshot_writer_busy(struct snapshot_writer *);
/* The outcome of the last write not yet reported: 1 with seq, how long
 * the write took and err ("" on success); 0 when there is nothing new. */
int	snapshot_writer_result(struct snapshot_writer *, uint64_t *seq,
	    int64_t *took_us, char *err, size_t errlen);
/* Wait for the write under way, if any (shutdown). */
void	snapshot_writer_wait(struct snapshot_writer *);
void	snapshot_writer_free(struct snapshot_writer *);

#endif
