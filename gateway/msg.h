/*
 * msg.h — messages between gatewayd's processes: the privileged parent
 * (gateway/parent.c), the engine (gateway/gatewayd.c in its engine role),
 * the network process (gateway/netproc.c). One message per datagram on an
 * AF_UNIX SOCK_SEQPACKET socketpair, so a message is never split or merged
 * with another.
 *
 * A message is a header (type, payload length) and a payload that is a
 * fixed-size struct for almost every type. The receiving channel is given
 * the table of types it accepts from that peer, with each type's exact
 * size (or bounds, for the few variable ones) and whether it may carry a
 * descriptor; a datagram that is short, truncated, of an unknown type, of
 * the wrong length or with an unexpected descriptor never reaches the
 * handler: the channel stops and says why, and its owner ends the sender.
 * String fields are checked for termination by the handler
 * (msg_str_ok) before use, and a failure there is treated the same way.
 *
 * Owns: the sockets it is given. Trusts: nothing it receives.
 */
#ifndef GATEWAY_MSG_H
#define GATEWAY_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_PAYLOAD_MAX	(56 * 1024)	/* under the socket buffer */

/* Types. Ranges by channel so that a type sent on the wrong channel is
 * never accepted by accident: 1xx engine<->parent, 2xx net<->parent. */
enum msg_type {
	/* parent -> engine */
	MSG_PE_HELLO = 100,	/* struct msg_pe_hello */
	MSG_PE_DEVICE,		/* struct msg_device: a checked driver event */
	MSG_PE_JDONE,		/* struct msg_jdone: an engine record's fate */
	MSG_PE_JRECORD,		/* struct msg_jrecord: a record the parent
				   journaled itself (restarts, ...) */
	MSG_PE_FILE,		/* file contents, chunked: msg_file_chunk */
	MSG_PE_SYNC,		/* struct msg_sync_status */
	MSG_PE_RELOAD,		/* no payload: SIGHUP */
	MSG_PE_STOP,		/* no payload: SIGTERM, put gates to rest */
	MSG_PE_ACTFAIL,		/* struct msg_actfail: an actuation failed */
	MSG_PE_AUDIT_DONE,	/* struct msg_audit_done */
	MSG_PE_JSTATE,		/* struct msg_seq: 0 the journal writes again */
	MSG_PE_DESCRIBE,	/* struct msg_describe: a lock, in words */

	/* engine -> parent */
	MSG_EP_READY = 150,	/* struct msg_ready: state rebuilt, taps welcome */
	MSG_EP_JOURNAL,		/* struct msg_jsubmit */
	MSG_EP_ACTUATE,		/* struct msg_actuate */
	MSG_EP_INJECT,		/* struct msg_inject (sim hardware) */
	MSG_EP_FILE_REQ,	/* struct msg_file_req */
	MSG_EP_SNAPSHOT,	/* msg_file_chunk: state snapshot bytes */
	MSG_EP_AUDIT,		/* struct msg_audit + the client's socket */
	MSG_EP_OSDP_KEY,	/* struct msg_osdp_key */
	MSG_EP_STOPPED,		/* no payload: gates at rest, exiting */

	/* parent -> net */
	MSG_PN_HELLO = 200,	/* struct msg_pn_hello */
	MSG_PN_RECORD,		/* struct msg_jrecord: a durable record */
	MSG_PN_DURABLE,		/* struct msg_seq: the journal's durable seq */
	MSG_PN_STOP,		/* struct msg_seq: grace in ms */
	/* net -> parent */
	MSG_NP_WANT = 250,	/* struct msg_seq: send records from seq */
	MSG_NP_ACKED,		/* struct msg_seq: contiguous acked, persist */
	MSG_NP_STATUS,		/* struct msg_sync_status */
	MSG_NP_STOPPED,		/* no payload */
};

struct msg_hdr {
	uint32_t	type;
	uint32_t	len;		/* payload bytes after the header */
};

/* What a channel accepts: exact size when min == max. */
struct msg_spec {
	uint32_t	type;
	uint32_t	min, max;
	int		fd;		/* 1: must carry one descriptor, 0: none */
};

struct event_base;
struct msg_chan;

/* One message, checked against the table; fd is -1 or the descriptor it
 * carried (the handler owns it). */
typedef void (*msg_fn)(void *arg, uint32_t type, const void *payload,
	    size_t len, int fd);
/* The channel is unusable (peer gone, or it broke the rules: why says
 * which); no more calls to msg_fn. Called once. */
typedef void (*msg_err_fn)(void *arg, const char *why);

struct msg_chan *msg_chan_new(struct event_base *, int fd,
	    const struct msg_spec *specs, size_t nspecs, msg_fn, msg_err_fn,
	    void *arg);
/* Queue a message (sent as soon as the socket takes it, in order). fd -1
 * for none; a passed fd is duplicated, the caller keeps its own. 0, or -1
 * if the channel is dead or its queue over the limit. */
int	 msg_send(struct msg_chan *, uint32_t type, const void *payload,
	    size_t len, int fd);
/* Block until the queue is empty or timeout_ms passed: 0 or -1. */
int	 msg_flush(struct msg_chan *, int timeout_ms);
size_t	 msg_queued(const struct msg_chan *);
int	 msg_chan_fd(const struct msg_chan *);
void	 msg_chan_free(struct msg_chan *);	/* closes the socket */

/* Without a loop (a role's start, before its loop runs): one message,
 * blocking up to timeout_ms (-1: forever), checked against the table.
 * Returns the type (payload in buf, *len its length, *fdp the descriptor
 * or -1), or -1 with why in err. */
int	 msg_recv_wait(int fd, const struct msg_spec *specs, size_t nspecs,
	    void *buf, size_t cap, size_t *len, int *fdp, int timeout_ms,
	    char *err, size_t errlen);
int	 msg_send_wait(int fd, uint32_t type, const void *payload, size_t len,
	    int passfd);

/* A string field: NUL-terminated within its size. 1 if so. */
int	 msg_str_ok(const char *field, size_t size);
/* Spec lookup, for tests and fuzzing: the spec of type, or NULL. */
const struct msg_spec *msg_spec_find(const struct msg_spec *, size_t,
	    uint32_t type);
/* Check one received datagram (header + payload, fd count) against a
 * table: 0, or -1 with why. The channel uses it; the fuzzer too. */
int	 msg_check(const struct msg_spec *, size_t, const void *dgram,
	    size_t len, int nfds, char *why, size_t whylen);

#endif
