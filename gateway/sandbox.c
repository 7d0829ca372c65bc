/*
 * sandbox.c — each child role gives up what it does not need (sandbox.h):
 * chroot into an empty root-owned directory, become an unprivileged user,
 * no_new_privs, rlimits, then a libseccomp filter for the role. Fails
 * closed: any step that does not do exactly what it should is an error,
 * and the caller exits.
 *
 * Trusts: the caller (it runs before the filter, as root); nothing read
 * from the filesystem except the user database and the chroot directory,
 * both checked. The filter is written as allowlists: what a role does not
 * list, it cannot do (filesystem probes fail with EACCES so that a stray
 * libc lookup degrades; everything else kills the process).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "gateway/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifdef SANDBOX_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define SANDBOX_ROOT_DEFAULT	"/run/gatewayd/empty"
#define SANDBOX_USER_DEFAULT	"gatewayd"
#define SANDBOX_USER_FALLBACK	"nobody"

const char *
sandbox_role_name(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_ENGINE:	return "engine";
	case SANDBOX_NET:	return "net";
	case SANDBOX_READER:	return "nfc-reader";
	}
	return "?";
}

static void __attribute__((format(printf, 3, 4)))
sandbox_say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Append to note, "; " between items. */
static void __attribute__((format(printf, 3, 4)))
sandbox_note(char *note, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (note == NULL || len == 0)
		return;
	n = strlen(note);
	if (n > 0 && n + 2 < len) {
		memcpy(note + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(note + n, len - n, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- */
/* step 2: the empty root */

/* Create what is missing of path, each directory root-owned 0755 (we are
 * root here). An existing component is left alone: it is checked below
 * only for the last one, which is what we chroot into. */
static int
sandbox_mkdirs(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf) || path[0] != '/') {
		sandbox_say(err, errlen, "sandbox: root \"%s\": not an "
		    "absolute path", path);
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == 0) {
			/* umask may have narrowed it; 0755 exactly */
			if (chmod(buf, 0755) == -1) {
				sandbox_say(err, errlen, "sandbox: chmod %s: "
				    "%s", buf, strerror(errno));
				return -1;
			}
		} else if (errno != EEXIST) {
			sandbox_say(err, errlen, "sandbox: mkdir %s: %s", buf,
			    strerror(errno));
			return -1;
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

/* Check the directory behind fd: root-owned, not writable by group or
 * others, empty. The fd is what we then chroot into, so what was checked
 * is what is used even if the path is renamed meanwhile. */
static int
sandbox_root_check(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int dfd, found = 0;

	if (fstat(fd, &st) == -1) {
		sandbox_say(err, errlen, "sandbox: root %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		sandbox_say(err, errlen, "sandbox: root %s: not a directory",
		    path);
		return -1;
	}
	if (st.st_uid != 0) {
		sandbox_say(err, errlen, "sandbox: root %s: owned by uid %u, "
		    "not root", path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		sandbox_say(err, errlen, "sandbox: root %s: mode 0%03o: "
		    "writable by %s", path, (unsigned)(st.st_mode & 07777),
		    (st.st_mode & S_IWOTH) ? "others" : "group");
		return -1;
	}
	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		sandbox_say(err, errlen, "sandbox: root %s: %s", path,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	}
	if (found)
		sandbox_say(err, errlen, "sandbox: root %s: not empty (holds "
		    "\"%s\")", path, de->d_name);
	closedir(d);
	return found ? -1 : 0;
}

static int
sandbox_chroot(const char *root, char *err, size_t errlen)
{
	int fd;

	if (sandbox_mkdirs(root, err, errlen) == -1)
		return -1;
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		int e = errno;
		struct stat st;

		sandbox_say(err, errlen, "sandbox: root %s: %s", root,
		    lstat(root, &st) == 0 && S_ISLNK(st.st_mode) ?
		    "a symbolic link: name the directory itself" :
		    strerror(e));
		return -1;
	}
	if (sandbox_root_check(fd, root, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (fchdir(fd) == -1 || chroot(".") == -1 || chdir("/") == -1) {
		sandbox_say(err, errlen, "sandbox: chroot %s: %s", root,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------- */
/* step 3: the user */

static int
sandbox_user_find(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	const char *name = user != NULL ? user : SANDBOX_USER_DEFAULT;
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL && user == NULL) {
		name = SANDBOX_USER_FALLBACK;
		errno = 0;
		pw = getpwnam(name);
	}
	if (pw == NULL) {
		sandbox_say(err, errlen, "sandbox: user \"%s\": %s", name,
		    errno != 0 ? strerror(errno) : "no such user");
		endpwent();
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		sandbox_say(err, errlen, "sandbox: user \"%s\" has uid %u gid "
		    "%u: not unprivileged", name, (unsigned)pw->pw_uid,
		    (unsigned)pw->pw_gid);
		endpwent();
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	endpwent();
	return 0;
}

static int
sandbox_user_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		sandbox_say(err, errlen, "sandbox: drop to uid %u gid %u: %s",
		    (unsigned)uid, (unsigned)gid, strerror(errno));
		return -1;
	}
	/* no way back: all three ids changed, and root is out of reach */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		sandbox_say(err, errlen, "sandbox: ids not all dropped to uid "
		    "%u gid %u", (unsigned)uid, (unsigned)gid);
		return -1;
	}
	if (setuid(0) != -1 || setgid(0) != -1) {
		sandbox_say(err, errlen, "sandbox: could become root again "
		    "after dropping to uid %u", (unsigned)uid);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* step 5: limits */

static int
sandbox_is_file(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int
sandbox_limits(int threads, char *note, size_t notelen, char *err,
    size_t errlen)
{
	const struct rlimit zero = { 0, 0 };

	/* the keys live in these processes: never in a core file, and
	 * no ptrace by another process of the same unprivileged user */
	if (setrlimit(RLIMIT_CORE, &zero) == -1) {
		sandbox_say(err, errlen, "sandbox: RLIMIT_CORE: %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		sandbox_say(err, errlen, "sandbox: PR_SET_DUMPABLE: %s",
		    strerror(errno));
		return -1;
	}
	/* no file grows. A stdout or stderr redirected to a log file would
	 * then die of SIGXFSZ at its first line (and a sanitizer report
	 * with it), so then the limit is left and said so */
	if (sandbox_is_file(STDOUT_FILENO) || sandbox_is_file(STDERR_FILENO))
		sandbox_note(note, notelen, "RLIMIT_FSIZE left as is: stdout "
		    "or stderr is a regular file");
	else if (setrlimit(RLIMIT_FSIZE, &zero) == -1) {
		sandbox_say(err, errlen, "sandbox: RLIMIT_FSIZE: %s",
		    strerror(errno));
		return -1;
	}
	/* RLIMIT_NPROC counts threads too, per user: a role with threads
	 * keeps it and relies on the filter (clone only with CLONE_THREAD) */
	if (!threads && setrlimit(RLIMIT_NPROC, &zero) == -1) {
		sandbox_say(err, errlen, "sandbox: RLIMIT_NPROC: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* step 6: the filter */

#ifdef SANDBOX_DEBUG
#define SANDBOX_NAMES	512
static const char *sandbox_dbg_names[SANDBOX_NAMES];
static const char *sandbox_dbg_role = "?";
static uint32_t sandbox_dbg_arch;

static size_t
sandbox_dbg_num(char *p, unsigned long v, int base)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = "0123456789abcdef"[v % (unsigned)base];
		v /= (unsigned)base;
	} while (v != 0 && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static size_t
sandbox_dbg_str(char *p, size_t room, const char *s)
{
	size_t n = strlen(s);

	if (n > room)
		n = room;
	memcpy(p, s, n);
	return n;
}

/* Async-signal-safe: only write and _exit, names resolved beforehand. */
static void
sandbox_dbg_sigsys(int sig, siginfo_t *si, void *ctx)
{
	char buf[256];
	size_t n = 0;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < SANDBOX_NAMES ?
	    sandbox_dbg_names[nr] : NULL;

	(void)sig;
	(void)ctx;
	n += sandbox_dbg_str(buf + n, 64, "sandbox: ");
	n += sandbox_dbg_str(buf + n, 32, sandbox_dbg_role);
	n += sandbox_dbg_str(buf + n, 32, ": refused syscall ");
	if (si->si_arch != sandbox_dbg_arch) {
		n += sandbox_dbg_str(buf + n, 32, "of a foreign arch 0x");
		n += sandbox_dbg_num(buf + n, si->si_arch, 16);
		n += sandbox_dbg_str(buf + n, 2, " ");
	} else
		n += sandbox_dbg_str(buf + n, 40, name != NULL ? name : "?");
	n += sandbox_dbg_str(buf + n, 2, " (");
	n += sandbox_dbg_num(buf + n, (unsigned long)(unsigned)nr, 10);
	n += sandbox_dbg_str(buf + n, 2, ")\n");
	(void)!write(STDERR_FILENO, buf, n);
	_exit(1);
}

static int
sandbox_dbg_arm(enum sandbox_role role, char *err, size_t errlen)
{
	struct sigaction sa;
	sigset_t set;
	int nr;

	sandbox_dbg_role = sandbox_role_name(role);
	sandbox_dbg_arch = seccomp_arch_native();
	for (nr = 0; nr < SANDBOX_NAMES; nr++)
		if (sandbox_dbg_names[nr] == NULL)
			/* kept for the life of the process, on purpose */
			sandbox_dbg_names[nr] =
			    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
			    nr);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_dbg_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) == -1 ||
	    sigprocmask(SIG_UNBLOCK, &set, NULL) == -1) {
		sandbox_say(err, errlen, "sandbox: SIGSYS handler: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}
#define SANDBOX_REFUSE	SCMP_ACT_TRAP
#else
#define SANDBOX_REFUSE	SCMP_ACT_KILL_PROCESS
#endif

#define SANDBOX_ALLOW	SCMP_ACT_ALLOW
#define SANDBOX_EACCES	SCMP_ACT_ERRNO(EACCES)

struct sandbox_bld {
	scmp_filter_ctx	 ctx;
	int		 rc;		/* first failure, negative errno */
	const char	*what;		/* its syscall */
};

/* Add one rule; the first failure is kept and ends the build. A syscall
 * that this architecture does not have (a pseudo number) has nothing to
 * allow or refuse: skipped. */
static void
sandbox_rule(struct sandbox_bld *b, uint32_t action, int nr, const char *name,
    unsigned n, const struct scmp_arg_cmp *cmp)
{
	int rc;

	if (b->rc != 0 || nr < 0)
		return;
	if ((rc = seccomp_rule_add_exact_array(b->ctx, action, nr, n, cmp)) !=
	    0) {
		b->rc = rc;
		b->what = name;
	}
}

/* argument comparisons with every field named (clang's
 * -Wmissing-field-initializers rejects libseccomp's SCMP_A0_64) */
#define SB_ARG(n, op, a)	((struct scmp_arg_cmp){ (n), (op), (a), 0 })
#define SB_ARG2(n, op, a, b)	((struct scmp_arg_cmp){ (n), (op), (a), (b) })

#define RULE(b, act, name) \
	sandbox_rule((b), (act), SCMP_SYS(name), #name, 0, NULL)
#define RULE_ARGS(b, act, name, ...) do {				\
	const struct scmp_arg_cmp c_[] = { __VA_ARGS__ };		\
	sandbox_rule((b), (act), SCMP_SYS(name), #name,			\
	    sizeof(c_) / sizeof(c_[0]), c_);				\
} while (0)

/* What every role does: compute, memory, time, signals, its inherited
 * descriptors (pipes, sockets, an event loop). */
static void
sandbox_rules_common(struct sandbox_bld *b)
{
	RULE(b, SANDBOX_ALLOW, read);
	RULE(b, SANDBOX_ALLOW, write);
	RULE(b, SANDBOX_ALLOW, readv);
	RULE(b, SANDBOX_ALLOW, writev);
	RULE(b, SANDBOX_ALLOW, close);
	RULE(b, SANDBOX_ALLOW, fstat);
	RULE(b, SANDBOX_ALLOW, lseek);
	RULE(b, SANDBOX_ALLOW, getcwd);	/* "/" after the chroot; tests use it */
	/* glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH): allowed for a
	 * real descriptor (0..INT_MAX, so never AT_FDCWD however encoded),
	 * a lookup by path is a filesystem probe (below). A non-empty path
	 * relative to a directory fd would still be looked up: the roles
	 * hold no directory fd, and the root is empty */
	RULE_ARGS(b, SANDBOX_ALLOW, newfstatat,
	    SB_ARG(0, SCMP_CMP_LE, (uint64_t)INT_MAX),
	    SB_ARG(3, SCMP_CMP_EQ, AT_EMPTY_PATH));
	/* memory: never executable (no code loaded after the sandbox) */
	RULE_ARGS(b, SANDBOX_ALLOW, mmap,
	    SB_ARG2(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	RULE_ARGS(b, SANDBOX_ALLOW, mprotect,
	    SB_ARG2(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	RULE(b, SANDBOX_ALLOW, munmap);
	RULE(b, SANDBOX_ALLOW, mremap);
	RULE(b, SANDBOX_ALLOW, brk);
	RULE(b, SANDBOX_ALLOW, madvise);
	RULE(b, SANDBOX_ALLOW, futex);
	/* time */
	RULE(b, SANDBOX_ALLOW, clock_gettime);
	RULE(b, SANDBOX_ALLOW, clock_getres);
	RULE(b, SANDBOX_ALLOW, clock_nanosleep);
	RULE(b, SANDBOX_ALLOW, nanosleep);
	RULE(b, SANDBOX_ALLOW, gettimeofday);
	/* who am I */
	RULE(b, SANDBOX_ALLOW, getpid);
	RULE(b, SANDBOX_ALLOW, gettid);
	RULE(b, SANDBOX_ALLOW, getuid);
	RULE(b, SANDBOX_ALLOW, geteuid);
	RULE(b, SANDBOX_ALLOW, getgid);
	RULE(b, SANDBOX_ALLOW, getegid);
	RULE(b, SANDBOX_ALLOW, getresuid);
	RULE(b, SANDBOX_ALLOW, getresgid);
	RULE(b, SANDBOX_ALLOW, getgroups);
	/* getrlimit: reading our own limits, never setting them */
	RULE_ARGS(b, SANDBOX_ALLOW, prlimit64, SB_ARG(0, SCMP_CMP_EQ, 0),
	    SB_ARG(2, SCMP_CMP_EQ, 0));
	/* signals; tgkill only to ourselves (abort) */
	RULE(b, SANDBOX_ALLOW, rt_sigaction);
	RULE(b, SANDBOX_ALLOW, rt_sigprocmask);
	RULE(b, SANDBOX_ALLOW, rt_sigreturn);
	RULE(b, SANDBOX_ALLOW, sigaltstack);
	RULE_ARGS(b, SANDBOX_ALLOW, tgkill,
	    SB_ARG(0, SCMP_CMP_EQ, (uint64_t)getpid()));
	RULE(b, SANDBOX_ALLOW, exit);
	RULE(b, SANDBOX_ALLOW, exit_group);
	RULE(b, SANDBOX_ALLOW, restart_syscall);
	RULE(b, SANDBOX_ALLOW, sched_yield);
	/* an event loop over inherited descriptors */
	RULE(b, SANDBOX_ALLOW, epoll_create1);
	RULE(b, SANDBOX_ALLOW, epoll_ctl);
	RULE(b, SANDBOX_ALLOW, epoll_wait);
	RULE(b, SANDBOX_ALLOW, epoll_pwait);
	RULE(b, SANDBOX_ALLOW, epoll_pwait2);
	RULE(b, SANDBOX_ALLOW, poll);
	RULE(b, SANDBOX_ALLOW, ppoll);
	RULE(b, SANDBOX_ALLOW, select);
	RULE(b, SANDBOX_ALLOW, pselect6);
	RULE(b, SANDBOX_ALLOW, eventfd2);
	RULE(b, SANDBOX_ALLOW, pipe2);
	RULE_ARGS(b, SANDBOX_ALLOW, fcntl, SB_ARG(1, SCMP_CMP_EQ, F_GETFL));
	RULE_ARGS(b, SANDBOX_ALLOW, fcntl, SB_ARG(1, SCMP_CMP_EQ, F_SETFL));
	RULE_ARGS(b, SANDBOX_ALLOW, fcntl, SB_ARG(1, SCMP_CMP_EQ, F_GETFD));
	RULE_ARGS(b, SANDBOX_ALLOW, fcntl, SB_ARG(1, SCMP_CMP_EQ, F_SETFD));
	/* msg.c duplicates a descriptor it passes on (the engine hands an
	 * auditor's connection to the parent) */
	RULE_ARGS(b, SANDBOX_ALLOW, fcntl, SB_ARG(1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC));
	RULE(b, SANDBOX_ALLOW, getrandom);
	/* glibc's qsort asks how much memory there is (sysconf
	 * _SC_PHYS_PAGES) before sorting a big array: muster does */
	RULE(b, SANDBOX_ALLOW, sysinfo);
	RULE(b, SANDBOX_ALLOW, recvmsg);
	RULE(b, SANDBOX_ALLOW, sendmsg);
	RULE(b, SANDBOX_ALLOW, recvfrom);
	RULE(b, SANDBOX_ALLOW, sendto);
	/* FIONREAD: libevent and libnfc size their reads with it; TCGETS is
	 * isatty(), which stdio asks of a character device (read-only) */
	RULE_ARGS(b, SANDBOX_ALLOW, ioctl, SB_ARG(1, SCMP_CMP_EQ, FIONREAD));
	RULE_ARGS(b, SANDBOX_ALLOW, ioctl, SB_ARG(1, SCMP_CMP_EQ, TCGETS));

	/* filesystem probes: refused softly, so that a library's stray
	 * lookup (a locale, a timezone, nsswitch) fails and goes on */
	RULE(b, SANDBOX_EACCES, open);
	RULE(b, SANDBOX_EACCES, openat);
	RULE(b, SANDBOX_EACCES, openat2);
	RULE(b, SANDBOX_EACCES, creat);
	RULE(b, SANDBOX_EACCES, stat);
	RULE(b, SANDBOX_EACCES, lstat);
	RULE_ARGS(b, SANDBOX_EACCES, newfstatat,
	    SB_ARG(0, SCMP_CMP_GT, (uint64_t)INT_MAX));
	RULE_ARGS(b, SANDBOX_EACCES, newfstatat,
	    SB_ARG(3, SCMP_CMP_NE, AT_EMPTY_PATH));
	RULE(b, SANDBOX_EACCES, statx);
	RULE(b, SANDBOX_EACCES, statfs);
	RULE(b, SANDBOX_EACCES, access);
	RULE(b, SANDBOX_EACCES, faccessat);
	RULE(b, SANDBOX_EACCES, faccessat2);
	RULE(b, SANDBOX_EACCES, readlink);
	RULE(b, SANDBOX_EACCES, readlinkat);
	RULE(b, SANDBOX_EACCES, mkdir);
	RULE(b, SANDBOX_EACCES, mkdirat);
	RULE(b, SANDBOX_EACCES, rmdir);
	RULE(b, SANDBOX_EACCES, unlink);
	RULE(b, SANDBOX_EACCES, unlinkat);
	RULE(b, SANDBOX_EACCES, rename);
	RULE(b, SANDBOX_EACCES, renameat);
	RULE(b, SANDBOX_EACCES, renameat2);
	RULE(b, SANDBOX_EACCES, link);
	RULE(b, SANDBOX_EACCES, linkat);
	RULE(b, SANDBOX_EACCES, symlink);
	RULE(b, SANDBOX_EACCES, symlinkat);
	RULE(b, SANDBOX_EACCES, chmod);
	RULE(b, SANDBOX_EACCES, fchmodat);
	RULE(b, SANDBOX_EACCES, chown);
	RULE(b, SANDBOX_EACCES, lchown);
	RULE(b, SANDBOX_EACCES, fchownat);
	RULE(b, SANDBOX_EACCES, truncate);
	RULE(b, SANDBOX_EACCES, utimensat);
	RULE(b, SANDBOX_EACCES, mknod);
	RULE(b, SANDBOX_EACCES, mknodat);
	RULE(b, SANDBOX_EACCES, chdir);
	RULE(b, SANDBOX_EACCES, fchdir);
	/* glibc's syslog() reconnects to /dev/log after a send fails
	 * (syslogd restarted, or never there): that socket is refused
	 * softly, the line is lost, and the role lives on instead of being
	 * killed for each line it logs while syslogd is away. Any other
	 * AF_UNIX socket kills */
	RULE_ARGS(b, SANDBOX_EACCES, socket, SB_ARG(0, SCMP_CMP_EQ, AF_UNIX),
	    SB_ARG(1, SCMP_CMP_EQ, SOCK_DGRAM | SOCK_CLOEXEC),
	    SB_ARG(2, SCMP_CMP_EQ, 0));
	/* glibc's pthread_create and posix_spawn try clone3 first; ENOSYS
	 * sends them to clone, whose flags the filter can see */
	RULE(b, SCMP_ACT_ERRNO(ENOSYS), clone3);
}

/* The engine: policy and gates; the control socket's listener is handed
 * to it (accept4), its clients speak over what it accepted. */
static void
sandbox_rules_engine(struct sandbox_bld *b)
{
	RULE(b, SANDBOX_ALLOW, accept4);
	/* libevent's evconnlistener_new(backlog -1) listens again on the
	 * handed socket; the engine cannot make a socket to listen on */
	RULE(b, SANDBOX_ALLOW, listen);
	RULE(b, SANDBOX_ALLOW, getsockopt);	/* SO_PEERCRED, SO_ERROR */
	RULE(b, SANDBOX_ALLOW, getsockname);
	RULE(b, SANDBOX_ALLOW, shutdown);
}

/* The network process: TCP to the central server (by address: there is
 * no resolver without files), TLS, a sync thread. */
static void
sandbox_rules_net(struct sandbox_bld *b)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const int protos[] = { 0, IPPROTO_TCP };
	size_t i, j;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		for (j = 0; j < sizeof(protos) / sizeof(protos[0]); j++)
			RULE_ARGS(b, SANDBOX_ALLOW, socket,
			    SB_ARG(0, SCMP_CMP_EQ, (uint64_t)fams[i]),
			    SB_ARG2(1, SCMP_CMP_MASKED_EQ,
			    ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC),
			    SOCK_STREAM),
			    SB_ARG(2, SCMP_CMP_EQ, (uint64_t)protos[j]));
	RULE(b, SANDBOX_ALLOW, connect);
	RULE(b, SANDBOX_ALLOW, getsockopt);
	RULE(b, SANDBOX_ALLOW, setsockopt);
	RULE(b, SANDBOX_ALLOW, getpeername);
	RULE(b, SANDBOX_ALLOW, getsockname);
	RULE(b, SANDBOX_ALLOW, shutdown);
	/* threads, never processes: the flags must carry CLONE_THREAD */
	RULE_ARGS(b, SANDBOX_ALLOW, clone,
	    SB_ARG2(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	RULE(b, SANDBOX_ALLOW, set_robust_list);
	RULE(b, SANDBOX_ALLOW, rseq);
	/* pthread_getattr_np (the sanitizers ask it of each new thread,
	 * by its tid): read-only */
	RULE(b, SANDBOX_ALLOW, sched_getaffinity);
}

/* One libnfc reader: its serial device, termios as libnfc 1.8's uart.c
 * drives it (strace of test_nfc: TCGETS, TCSETS, TCSETSW, TCFLSH,
 * FIONREAD; the first and last are in the common list), no network. */
static void
sandbox_rules_reader(struct sandbox_bld *b)
{
	RULE_ARGS(b, SANDBOX_ALLOW, ioctl, SB_ARG(1, SCMP_CMP_EQ, TCSETS));
	RULE_ARGS(b, SANDBOX_ALLOW, ioctl, SB_ARG(1, SCMP_CMP_EQ, TCSETSW));
	RULE_ARGS(b, SANDBOX_ALLOW, ioctl, SB_ARG(1, SCMP_CMP_EQ, TCFLSH));
}

static int
sandbox_role_threads(enum sandbox_role role)
{
	return role == SANDBOX_NET;
}

static int
sandbox_filter(enum sandbox_role role, char *err, size_t errlen)
{
	struct sandbox_bld b;
	int rc;

	memset(&b, 0, sizeof(b));
#ifdef SANDBOX_DEBUG
	if (sandbox_dbg_arm(role, err, errlen) == -1)
		return -1;
#endif
	if ((b.ctx = seccomp_init(SANDBOX_REFUSE)) == NULL) {
		sandbox_say(err, errlen, "sandbox: seccomp_init failed");
		return -1;
	}
	/* another architecture's syscall numbers (i386 through int 0x80,
	 * x32) mean other calls: refused before any rule is looked at.
	 * TSYNC: a thread already running gets the filter too */
	if ((rc = seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH,
	    SANDBOX_REFUSE)) != 0 ||
	    (rc = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		sandbox_say(err, errlen, "sandbox: seccomp attributes: %s",
		    strerror(-rc));
		seccomp_release(b.ctx);
		return -1;
	}
	sandbox_rules_common(&b);
	switch (role) {
	case SANDBOX_ENGINE:
		sandbox_rules_engine(&b);
		break;
	case SANDBOX_NET:
		sandbox_rules_net(&b);
		break;
	case SANDBOX_READER:
		sandbox_rules_reader(&b);
		break;
	}
	if (b.rc != 0) {
		sandbox_say(err, errlen, "sandbox: seccomp rule for %s: %s",
		    b.what, strerror(-b.rc));
		seccomp_release(b.ctx);
		return -1;
	}
	if ((rc = seccomp_load(b.ctx)) != 0) {
		sandbox_say(err, errlen, "sandbox: seccomp_load: %s",
		    strerror(-rc));
		seccomp_release(b.ctx);
		return -1;
	}
	seccomp_release(b.ctx);
	return 0;
}

/* ---------------------------------------------------------------- */

int
sandbox_enter(const struct sandbox_opts *o, char *note, size_t notelen,
    char *err, size_t errlen)
{
	const char *root = o->root != NULL ? o->root : SANDBOX_ROOT_DEFAULT;
	uid_t uid = 0;
	gid_t gid = 0;
	int privileged = geteuid() == 0;

	if (note != NULL && notelen > 0)
		note[0] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (o->role != SANDBOX_ENGINE && o->role != SANDBOX_NET &&
	    o->role != SANDBOX_READER) {
		sandbox_say(err, errlen, "sandbox: unknown role %d",
		    (int)o->role);
		return -1;
	}
#ifdef SANDBOX_ASAN
	/* let the sanitizer runtime read what it will need from /proc
	 * (its memory map) while it still can */
	__sanitizer_sandbox_on_notify(NULL);
#endif
	if (privileged) {
		/* the user database is a file: read before the chroot */
		if (sandbox_user_find(o->user, &uid, &gid, err, errlen) == -1)
			return -1;
		if (sandbox_chroot(root, err, errlen) == -1)
			return -1;
		if (sandbox_user_drop(uid, gid, err, errlen) == -1)
			return -1;
	} else
		sandbox_note(note, notelen, "not root (uid %u): no chroot, no "
		    "change of user", (unsigned)geteuid());
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		sandbox_say(err, errlen, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	if (sandbox_limits(sandbox_role_threads(o->role), note, notelen, err,
	    errlen) == -1)
		return -1;
	return sandbox_filter(o->role, err, errlen);
}

/* ---------------------------------------------------------------- */
/* probes */

static void __attribute__((format(printf, 3, 4)))
sandbox_probe_say(enum sandbox_role role, const char *action,
    const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line), "sandbox probe %s %s: ",
	    sandbox_role_name(role), action);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write: lines from several roles do not interleave */
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* The sandbox, not the world, said no: only these errors are refusals. */
static int
sandbox_refusal(int e)
{
	return e == EACCES || e == EPERM || e == ENOSYS;
}

static void
sandbox_probe_one(enum sandbox_role role, const char *action)
{
	int fd, e;

	if (strncmp(action, "open:", 5) == 0 ||
	    strncmp(action, "create:", 7) == 0) {
		int create = action[0] == 'c';
		const char *path = strchr(action, ':') + 1;

		fd = create ? open(path, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0600) :
		    open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd != -1) {
			close(fd);
			sandbox_probe_say(role, action, "allowed");
		} else if (sandbox_refusal(errno))
			sandbox_probe_say(role, action, "refused (%s)",
			    strerror(errno));
		else	/* the call went through; the world answered */
			sandbox_probe_say(role, action, "allowed (%s)",
			    strerror(errno));
	} else if (strcmp(action, "socket-inet") == 0) {
		struct sockaddr_in sin;

		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			sandbox_probe_say(role, action, "%s (socket: %s)",
			    sandbox_refusal(errno) ? "refused" : "allowed",
			    strerror(errno));
			return;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(9);	/* discard: refused or not */
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			sandbox_probe_say(role, action, "allowed");
		else {
			e = errno;
			sandbox_probe_say(role, action, "%s (connect: %s)",
			    sandbox_refusal(e) ? "refused" : "allowed",
			    strerror(e));
		}
		close(fd);
	} else if (strcmp(action, "socket-unix") == 0) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1)
			sandbox_probe_say(role, action, "%s (socket: %s)",
			    sandbox_refusal(errno) ? "refused" : "allowed",
			    strerror(errno));
		else {
			close(fd);
			sandbox_probe_say(role, action, "allowed");
		}
	} else if (strcmp(action, "exec") == 0) {
		static char *const argv[] = { (char *)"true", NULL };
		static char *const envp[] = { NULL };

		/* the filter judges at entry; if execve is let through, this
		 * process becomes /bin/true and the line never comes: a
		 * missing line is "allowed" too, for the test that asks */
		execve("/bin/true", argv, envp);
		e = errno;
		sandbox_probe_say(role, action, "%s (execve: %s)",
		    sandbox_refusal(e) ? "refused" : "allowed", strerror(e));
	} else if (strcmp(action, "fork") == 0) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid == -1) {
			e = errno;
			/* EAGAIN is RLIMIT_NPROC: the sandbox too */
			sandbox_probe_say(role, action, "%s (fork: %s)",
			    sandbox_refusal(e) || e == EAGAIN ? "refused" :
			    "allowed", strerror(e));
		} else {
			(void)waitpid(pid, NULL, 0);
			sandbox_probe_say(role, action, "allowed");
		}
	} else if (strncmp(action, "garbage:", 8) == 0) {
		/* a malformed message on the role's channel (garbage:3): the
		 * receiving parent must end this process and go on */
		static const char junk[3] = { 1, 2, 3 };
		ssize_t w = send(atoi(action + 8), junk, sizeof(junk),
		    MSG_NOSIGNAL);
		e = errno;
		if (w == (ssize_t)sizeof(junk))
			sandbox_probe_say(role, action, "sent");
		else
			sandbox_probe_say(role, action, "not sent (%s)",
			    strerror(e));
	} else
		sandbox_probe_say(role, action, "unknown probe (open:PATH, "
		    "create:PATH, socket-inet, socket-unix, exec, fork, "
		    "garbage:FD)");
}

void
sandbox_probe(enum sandbox_role role)
{
	const char *env = getenv("GATEWAYD_SANDBOX_PROBE");
	char buf[1024], *p, *save = NULL;

	if (env == NULL || *env == '\0')
		return;
	if (strlen(env) >= sizeof(buf)) {
		sandbox_probe_say(role, "*", "refused (GATEWAYD_SANDBOX_PROBE "
		    "longer than %zu bytes: not run)", sizeof(buf) - 1);
		return;
	}
	memcpy(buf, env, strlen(env) + 1);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		if (*p != '\0')
			sandbox_probe_one(role, p);
}

/* ---------------------------------------------------------------- */
/* secrets */

/* "readable", "readable and writable", ... for 3 rwx bits */
static void
sandbox_perm_words(unsigned bits, char *buf, size_t len)
{
	static const char *const words[] = { "readable", "writable",
	    "executable" };
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 3; i++) {
		if (!(bits & (4u >> i)))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
		    n > 0 ? " and " : "", words[i]);
		if (n >= len)
			break;
	}
}

int
sandbox_check_secret(const char *path, char *err, size_t errlen)
{
	struct stat st;
	unsigned grp, oth;
	char what[64];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (lstat(path, &st) == -1) {
		sandbox_say(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		sandbox_say(err, errlen, "%s: a symbolic link: a secret must "
		    "be named by its real path", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		sandbox_say(err, errlen, "%s: not a regular file (%s)", path,
		    S_ISDIR(st.st_mode) ? "a directory" :
		    S_ISCHR(st.st_mode) ? "a character device" :
		    S_ISBLK(st.st_mode) ? "a block device" :
		    S_ISFIFO(st.st_mode) ? "a fifo" :
		    S_ISSOCK(st.st_mode) ? "a socket" : "of an odd type");
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		sandbox_say(err, errlen, "%s: owned by uid %u: must be owned "
		    "by root%s; chown it", path, (unsigned)st.st_uid,
		    geteuid() == 0 ? "" : " or by the user gatewayd runs as");
		return -1;
	}
	grp = (st.st_mode >> 3) & 7;
	oth = st.st_mode & 7;
	if (grp != 0 || oth != 0) {
		sandbox_perm_words(grp | oth, what, sizeof(what));
		sandbox_say(err, errlen, "%s: mode 0%03o: %s by %s; chmod 600 "
		    "it", path, (unsigned)(st.st_mode & 0777), what,
		    grp != 0 && oth != 0 ? "group and others" :
		    grp != 0 ? "group" : "others");
		return -1;
	}
	return 0;
}
