/*
 * sandbox.h — how each of gatewayd's child processes gives up what it does
 * not need, in one fixed order (OpenSSH's sandbox-seccomp-filter.c and the
 * OpenBSD daemons are the models):
 *
 *   1. the caller has already opened everything it needs;
 *   2. hide the filesystem: chroot into an empty, root-owned directory;
 *   3. drop to the unprivileged user (groups, gid, uid; checked that there
 *      is no way back);
 *   4. PR_SET_NO_NEW_PRIVS;
 *   5. resource limits (no core files, no new files, no new processes);
 *   6. a seccomp filter (libseccomp) for the role, with the architecture
 *      checked: filesystem probes fail with EACCES, anything else outside
 *      the role's list kills the process.
 *
 * Any step that fails makes sandbox_enter fail, and the caller must exit:
 * a child never runs half-sandboxed. Steps 2 and 3 need root; started by
 * an unprivileged user (a developer's shell), they are skipped and said
 * so in *note, and steps 4-6 still apply.
 *
 * Built with -DSANDBOX_DEBUG, a refused call does not kill silently: the
 * process writes "sandbox: <role>: refused syscall <name> (<nr>)" to
 * stderr and exits, which is how a missing entry in a list is found
 * (`make SANDBOX_DEBUG=1` after `make clean`: objects do not depend on
 * the flag). A call made with every signal blocked (pthread_create's
 * clone) cannot run the handler and still dies of SIGSYS.
 *
 * What a role must do before entering, because inside there are no files:
 * tzset() (localtime reads /etc/localtime once), openlog(LOG_NDELAY) (if
 * syslogd goes away, glibc's reconnect is refused with EACCES: lines are
 * lost, the role lives), resolve names (net: getaddrinfo reads
 * /etc/hosts, nsswitch.conf, resolv.conf; a name cannot be resolved
 * inside), open its device (reader: a device lost cannot be reopened
 * inside; exit and be restarted), read its key.
 *
 * A sandboxed role leaves with _exit(), never exit(): LeakSanitizer runs
 * from exit() and needs ptrace and /proc, so under the sanitizers exit()
 * would die of SIGSYS. ASan and UBSan still report at run time, with
 * unsymbolized frames (module+offset: addr2line -e BINARY OFFSET).
 */
#ifndef GATEWAY_SANDBOX_H
#define GATEWAY_SANDBOX_H

#include <stddef.h>

enum sandbox_role {
	SANDBOX_ENGINE,		/* decides: no files, no network, no devices */
	SANDBOX_NET,		/* talks to the central server: connect, no files */
	SANDBOX_READER,		/* one libnfc reader: its device fd, no network */
};

struct sandbox_opts {
	enum sandbox_role role;
	const char	*user;	/* unprivileged user to become (as root) */
	const char	*root;	/* empty directory to chroot into (as root);
				   created root-owned 0755 if missing */
};

/* 0, or -1 with why in err: the caller exits at once. note (may be NULL)
 * receives what was skipped and why ("" when nothing was). */
int	 sandbox_enter(const struct sandbox_opts *, char *note, size_t notelen,
	    char *err, size_t errlen);
const char *sandbox_role_name(enum sandbox_role);

/*
 * Tests' window into a running role: when the environment variable
 * GATEWAYD_SANDBOX_PROBE is set (by whoever started the daemon, so it
 * grants nothing), the role tries each comma-separated action after
 * entering its sandbox and writes the outcome to stderr, one line each:
 *   "sandbox probe <role> <action>: allowed" | "...: refused (<why>)".
 * Actions: open:PATH (open a file or device for reading, e.g. a journal
 * segment or /dev/ttyS0), create:PATH (for writing), socket-inet (socket +
 * connect to 127.0.0.1:9), socket-unix, exec (/bin/true), fork,
 * garbage:FD (send a malformed message on descriptor FD: 3 is the role's
 * channel to the parent, which must end the process and carry on).
 * A probe the filter kills for ends the process with SIGSYS (the parent
 * logs it and restarts the child): that, too, is refused.
 */
void	 sandbox_probe(enum sandbox_role);

/* A secret file (keys): a regular file, owned by root or by us, no access
 * for group or others (OpenSMTPD's check_file_secrecy). 0, or -1 with why
 * in err naming the file and what is wrong. */
int	 sandbox_check_secret(const char *path, char *err, size_t errlen);

#endif
