/*
 * netproc.h — the network process (role "net") and the parent's side of
 * its channel, the feeder.
 *
 * The net process holds the TLS client key and talks RELP/TLS to the
 * venue's central rsyslog (gateway/sync.c in its fed mode); sandboxed, it
 * cannot read the journal. The parent, the journal's only owner, feeds it
 * durable records and persists what the server acknowledged:
 *
 *   parent                                  net
 *   HELLO {durable, acked (sync.state)} ->
 *                                       <-  WANT {acked + 1}
 *   RECORD {rec} ... (seq increasing,   ->
 *     never past durable, at most a window beyond acked)
 *                                       <-  ACKED {seq}   (contiguous, grows)
 *                                       <-  STATUS {sync_status} ~1/s
 *   DURABLE {seq}, STOP {grace ms}      ->
 *                                       <-  ACKED, STOPPED
 *
 * Delivery stays at-least-once across a net process's death: the parent
 * persists only acknowledged positions, and a new process starts again
 * right after the persisted one (records in flight are sent again).
 *
 * Trusts: the parent trusts nothing from the net process; every message is
 * checked for size (msg_spec), strings for termination, acknowledgements
 * against what was sent. A net process that breaks a rule is reported
 * through bad() and its channel closed. It can lie only within the rules:
 * claim records up to what it was sent as delivered.
 */
#ifndef GATEWAY_NETPROC_H
#define GATEWAY_NETPROC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct msg_spec;
struct sync_status;

/* Records sent to the net process and not yet acknowledged, at most
 * (about 1.1 KB each); netfeed_window changes it. */
#define NETFEED_WINDOW	2048

/* ---- the parent's side ---- */

struct netfeed;

/* The feeder for the journal in journal_dir, on the parent's loop. The
 * position is loaded from sync.state (a damaged file is an error).
 * durable() returns the journal's durable seq; bad() is called (at most
 * once per attached channel, from the loop) when the net process broke the
 * message rules (why says how): the channel is already closed, and the
 * parent should kill the process and restart it. A channel closed by the
 * peer, or failing on send/receive, is not bad(): that is a death, which
 * the parent learns from SIGCHLD. NULL with err. */
struct netfeed *netfeed_new(struct event_base *, const char *journal_dir,
	    uint64_t (*durable)(void *), void *durable_arg,
	    void (*bad)(void *arg, const char *why), void *bad_arg,
	    char *err, size_t errlen);
/* A freshly spawned net process's channel (the parent's end): sends
 * HELLO. 0 (the feeder owns fd), or -1 (the caller still owns fd and
 * closes it). */
int	netfeed_attach(struct netfeed *, int fd);
/* The net process died: close its channel, persist the position. */
void	netfeed_detach(struct netfeed *);
/* The journal's durable seq advanced: send more if the window allows. */
void	netfeed_durable(struct netfeed *);
/* The last status the net process reported, with acked, durable, backlog
 * and lost from the parent's own view; connected 0 and phase "down" with
 * no net process attached. error is the most recent of the net process's
 * and the feeder's own (journal unreadable, position not saved, records
 * lost to retention). */
void	netfeed_status(struct netfeed *, struct sync_status *);
/* A clean stop: the net process delivers what is durable now for up to
 * grace_ms; returns when it says it stopped, or grace_ms + 1 s passed.
 * Blocks (runs the channel on a private loop, not the parent's). The
 * channel is closed afterwards, as by netfeed_detach. */
void	netfeed_stop(struct netfeed *, int grace_ms);
/* Persists the position; closes the channel. */
void	netfeed_free(struct netfeed *);
/* Records in flight beyond the acknowledged position (1..65536): at
 * least the session's window (sync window) to keep it full. */
void	netfeed_window(struct netfeed *, uint32_t records);

/* What the channel does with each datagram from the net process (check
 * against netfeed_specs, then handle), for tests and the fuzzer: 0, or -1
 * when it broke a rule (bad() was called; the channel is closed). */
int	netfeed_input(struct netfeed *, const void *dgram, size_t len);
extern const struct msg_spec netfeed_specs[];
extern const size_t netfeed_nspecs;

/* ---- the net process ---- */

/* Set by gatewayd's main before netproc_main: enters the net role's
 * sandbox (sandbox_enter + sandbox_probe). NULL: no sandbox (unit tests).
 * 0, or -1 with err (the process exits). */
extern int (*netproc_sandbox)(char *err, size_t errlen);

/* The net role, on the channel fd (PARENT_FD_CHAN): loads conf_path, the
 * CA, certificate and key, resolves the server, opens syslog (LOG_NDELAY;
 * stderr with debug), enters the sandbox, then ships what the parent
 * sends. Never returns: _exit(0) after a clean stop, 1 on failure (the
 * key wiped first). */
int	netproc_main(int fd, const char *conf_path, int debug)
	    __attribute__((noreturn));

#endif
