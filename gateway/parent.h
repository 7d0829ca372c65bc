/*
 * parent.h — gatewayd's privileged parent (gateway/parent.c): it opens the
 * journal, the devices, the control socket and the snapshot file, and
 * supervises the unprivileged children that do the rest: the engine
 * (policy, gates, control requests), the network process (central log
 * server) and one process per libnfc reader. See docs/processes.md.
 */
#ifndef GATEWAY_PARENT_H
#define GATEWAY_PARENT_H

#include <stdint.h>

/* Descriptors a child finds at start. */
#define PARENT_FD_CHAN	3	/* its msg channel to the parent */
#define PARENT_FD_RPC	4	/* engine: file requests (blocking) */
#define PARENT_FD_CTL	5	/* engine: the listening control socket */

struct parent_opts {
	const char	*conf_path;
	const char	*journal_dir;	/* --journal, or NULL: the conf's */
	const char	*socket_path;	/* --socket, or NULL: the conf's */
	int		 debug;		/* -d: foreground, log to stderr */
	int		 argc;		/* the command line, passed on to the */
	char		**argv;		/* children after "--role ROLE" */
};

/* Run the parent until SIGTERM/SIGINT: 0 after a clean stop, 1 if it
 * could not start (said on stderr/syslog). */
int	parent_main(const struct parent_opts *);

#endif
