/*
 * sync.h — ships the audit journal to the venue's central rsyslog over
 * RELP with mutual TLS (mbedTLS 2.28, TLS 1.2). Runs on its own thread and
 * its own libevent loop so that a TLS handshake or a slow server never
 * delays a gate decision; the daemon only reads its status.
 *
 * Delivery is at-least-once: a record counts as delivered only when the
 * server's "rsp 200" for it arrived; the last acknowledged sequence (a
 * contiguous prefix) is persisted beside the journal (sync.state, fsync'd,
 * atomic rename), and after any restart sending resumes right after it.
 * Nothing is dropped because the server is away: the journal is the
 * outbox.
 */
#ifndef GATEWAY_SYNC_H
#define GATEWAY_SYNC_H

#include <stddef.h>
#include <stdint.h>

struct conf_sync;
struct event_base;
struct journal;
struct journal_record;

/* Longest RFC 5424 line we send. By construction a record formats to
 * about 6.5 KB at most, under rsyslog's default maxMessageSize (8096),
 * which truncates longer ones and still acks them. */
#define SYNC_LINE_MAX	8000
#define SYNC_STATE_FILE	"sync.state"

struct sync_status {
	int		 connected;	/* session open, records flowing */
	char		 phase[16];	/* idle connect handshake open stream */
	char		 server[300];	/* "name:port" */
	uint64_t	 acked;		/* last acknowledged seq (contiguous) */
	uint64_t	 durable;	/* journal durable seq */
	uint64_t	 backlog;	/* durable - acked */
	uint64_t	 inflight;	/* sent, not yet acknowledged */
	uint64_t	 acked_total;	/* records acknowledged since start */
	uint64_t	 connects, failures;
	uint64_t	 lost;		/* deleted by retention before sent */
	int64_t		 since_us;	/* connected / disconnected since */
	int64_t		 last_ack_us;
	int64_t		 retry_at_us;	/* next attempt, when disconnected */
	char		 error[200];	/* last error in words ("" none) */
	int64_t		 error_us;
};

struct sync;

/* Check the configuration and the files it names (CA, certificate, key:
 * readable, parseable, key not accessible by group/others). The journal
 * may be NULL (offline: everything in the directory counts as durable).
 * NULL with the reason in err. */
struct sync *sync_new(const struct conf_sync *, const char *gateway_id,
	    const char *journal_dir, struct journal *, char *err,
	    size_t errlen);
/* Start the thread. 0 or -1 with err. */
int	sync_start(struct sync *, char *err, size_t errlen);
void	sync_status(struct sync *, struct sync_status *);
/* Ask the thread to finish: it keeps sending for up to grace_ms to
 * deliver what is durable, persists its position and exits. */
void	sync_stop(struct sync *, int grace_ms);
void	sync_free(struct sync *);

/*
 * The fed mode: the network process (gateway/netproc.c) cannot read the
 * journal; the parent sends it durable records and it hands them over
 * through a feed. The session runs on the caller's loop (no thread), the
 * CA, certificate and key are read once by sync_new_fed (before the
 * caller's sandbox) and kept until sync_free, which wipes the key, and
 * the server's name is resolved once there too. Nothing is written:
 * acknowledgements go to feed->acked and the caller persists them.
 */
struct sync_feed {
	void	*arg;
	/* The next record after the last one given: 1 with *r, 0 none for
	 * now (call sync_wake when there is). Seqs must increase; a gap is
	 * counted as records lost to retention. */
	int	(*next)(void *arg, struct journal_record *r);
	/* The server acknowledged every record up to seq (contiguous; only
	 * grows). Called once per batch of answers. */
	void	(*acked)(void *arg, uint64_t seq);
	/* sync_finish is over: the session is closed. */
	void	(*finished)(void *arg);
	/* Optional: every error as it happens (status shows only the last). */
	void	(*error)(void *arg, const char *text);
};

/* Check and load everything (as sync_new) and resolve the server. NULL
 * with err. A name that does not resolve is not an error here: it is
 * reported on every connection attempt. */
struct sync *sync_new_fed(const struct conf_sync *, const char *gateway_id,
	    struct event_base *, const struct sync_feed *, char *err,
	    size_t errlen);
/* Start connecting; records after acked come from the feed. 0 or -1. */
int	sync_begin(struct sync *, uint64_t acked, char *err, size_t errlen);
/* The feed has records again: send now rather than at the next tick. */
void	sync_wake(struct sync *);
/* Deliver records up to target for at most grace_ms, close, then call
 * feed->finished (from the loop). */
void	sync_finish(struct sync *, uint64_t target, int grace_ms);

/* One record as its RFC 5424 line, without line end. Returns the length
 * needed (snprintf-like). */
size_t	sync_format(const struct journal_record *, char *buf, size_t len);
/* A secret file: a regular file, owned by us or root, no access for group
 * or others (OpenSMTPD's check_file_secrecy). 0 or -1 with why. */
int	sync_check_secret(const char *path, char *err, size_t errlen);
/* The persisted position: 0 with *acked (0 when there is no file), or -1
 * with why (a damaged file is an error, never "start from scratch"). */
int	sync_state_load(const char *dir, uint64_t *acked, char *err,
	    size_t errlen);
int	sync_state_save(const char *dir, uint64_t acked, char *err,
	    size_t errlen);

#endif
