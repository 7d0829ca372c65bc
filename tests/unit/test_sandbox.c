/*
 * test_sandbox.c — each role, entered in a forked child, can do what it
 * must and cannot do what it must not; the child's exit status and what
 * it wrote to a pipe (its stderr) are judged in the parent. Run as root
 * (CI and the dev VM are), so the chroot and the user drop are real; the
 * root is a fresh temporary directory, never /run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <syslog.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <nfc/nfc.h>

#include "gateway/sandbox.h"
#include "tests/unit/pn532emu.h"

static char	 tmpdir[64];		/* scratch: sockets, secrets, roots */
static char	 root[96];		/* the empty root the roles use */
static int	 is_root;
static uid_t	 nobody_uid = 65534;

/* ---------------------------------------------------------------- */
/* a sandboxed child */

struct kid {
	int	 status;
	char	 out[4096];	/* its stderr */
};

typedef int (*kid_fn)(void *);

/* What the child does before it enters (open what it needs): set by a
 * test for its next kid_run, then cleared. Non-zero: exit with it. */
static kid_fn	 kid_before;

/* In the child: stderr to the pipe, enter the role (opts may change the
 * root or user), run fn; its return is the exit code. 100: the sandbox
 * refused to start (err on the pipe). */
static void
kid_run(struct kid *k, enum sandbox_role role, const char *kroot,
    const char *user, kid_fn fn, void *arg)
{
	int p[2];
	pid_t pid;
	size_t n = 0;
	ssize_t r;

	memset(k, 0, sizeof(*k));
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct sandbox_opts o = { .role = role, .user = user,
		    .root = kroot != NULL ? kroot : root };
		char note[256], err[256];

		close(p[0]);
		if (dup2(p[1], STDERR_FILENO) == -1)
			_exit(101);
		close(p[1]);
		/* stdout as a daemon has it, not the test log's file: with a
		 * regular file there the sandbox keeps RLIMIT_FSIZE (a test of
		 * its own, test_fsize_log) */
		{
			int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
			if (dn == -1 || dup2(dn, STDOUT_FILENO) == -1)
				_exit(101);
			close(dn);
		}
		if (kid_before != NULL && (r = kid_before(arg)) != 0)
			_exit((int)r);
		if (sandbox_enter(&o, note, sizeof(note), err,
		    sizeof(err)) == -1) {
			dprintf(STDERR_FILENO, "enter: %s\n", err);
			_exit(100);
		}
		if (note[0] != '\0')
			dprintf(STDERR_FILENO, "note: %s\n", note);
		/* _exit: LeakSanitizer cannot run in here (sandbox.h) */
		_exit(fn != NULL ? fn(arg) : 0);
	}
	close(p[1]);
	kid_before = NULL;
	while (n < sizeof(k->out) - 1 &&
	    (r = read(p[0], k->out + n, sizeof(k->out) - 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		assert_true(r > 0);
		n += (size_t)r;
	}
	k->out[n] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &k->status, 0), pid);
}

static void
kid_ok(const struct kid *k)
{
	if (!WIFEXITED(k->status) || WEXITSTATUS(k->status) != 0)
		print_error("child status 0x%x, said:\n%s\n", k->status,
		    k->out);
	assert_true(WIFEXITED(k->status));
	assert_int_equal(WEXITSTATUS(k->status), 0);
}

/* Killed for syscall `name`: by SIGSYS, or with -DSANDBOX_DEBUG the
 * report line and exit 1. */
static void
kid_killed(const struct kid *k, const char *name)
{
#ifdef SANDBOX_DEBUG
	char want[96];

	/* a call made with every signal blocked (pthread_create's clone)
	 * cannot run the handler: the kernel kills as without it */
	if (WIFSIGNALED(k->status) && WTERMSIG(k->status) == SIGSYS)
		return;
	snprintf(want, sizeof(want), "refused syscall %s (", name);
	if (!WIFEXITED(k->status) || WEXITSTATUS(k->status) != 1 ||
	    strstr(k->out, want) == NULL)
		print_error("want \"%s\"; status 0x%x, said:\n%s\n", want,
		    k->status, k->out);
	assert_true(WIFEXITED(k->status));
	assert_int_equal(WEXITSTATUS(k->status), 1);
	assert_non_null(strstr(k->out, want));
#else
	(void)name;
	if (!WIFSIGNALED(k->status) || WTERMSIG(k->status) != SIGSYS)
		print_error("want SIGSYS; status 0x%x, said:\n%s\n",
		    k->status, k->out);
	assert_true(WIFSIGNALED(k->status));
	assert_int_equal(WTERMSIG(k->status), SIGSYS);
#endif
}

/* The sandbox refused to start, saying `what`. */
static void
kid_refused(const struct kid *k, const char *what)
{
	if (!WIFEXITED(k->status) || WEXITSTATUS(k->status) != 100 ||
	    strstr(k->out, what) == NULL)
		print_error("want refusal \"%s\"; status 0x%x, said:\n%s\n",
		    what, k->status, k->out);
	assert_true(WIFEXITED(k->status));
	assert_int_equal(WEXITSTATUS(k->status), 100);
	assert_non_null(strstr(k->out, what));
}

/* In a child: a failed check says which and exits non-zero. */
#define CHECK(c) do {							\
	if (!(c)) {							\
		dprintf(STDERR_FILENO, "check failed: %s (errno %s) "	\
		    "line %d\n", #c, strerror(errno), __LINE__);	\
		return 1;						\
	}								\
} while (0)

/* ---------------------------------------------------------------- */
/* children's bodies */

struct fds {
	int	 a, b;
	int	 port;
};

static int
do_files(void *arg)
{
	const struct fds *f = arg;
	struct stat st;
	struct rlimit rl;
	char cwd[64], buf[8];

	errno = 0;
	CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	CHECK(openat(AT_FDCWD, "/etc/passwd", O_RDONLY) == -1 &&
	    errno == EACCES);
	CHECK(stat("/etc/passwd", &st) == -1 && errno == EACCES);
	CHECK(access("/etc/passwd", R_OK) == -1 && errno == EACCES);
	CHECK(mkdir("/x", 0700) == -1 && errno == EACCES);
	CHECK(unlink("/x") == -1 && errno == EACCES);
	CHECK(open("/x", O_WRONLY | O_CREAT, 0600) == -1 && errno == EACCES);
	/* a descriptor from before still works: fstat, read, write */
	CHECK(fstat(f->a, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(read(f->a, buf, 4) == 4 && memcmp(buf, "root", 4) == 0);
	CHECK(fstat(f->b, &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(write(f->b, "ok", 2) == 2);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	    rl.rlim_max == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_max == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	if (is_root) {
		CHECK(strcmp(cwd, "/") == 0);
		CHECK(getuid() != 0 && geteuid() != 0 && getgid() != 0);
		CHECK(getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max == 0);
	}
	return 0;
}

static int
do_socket_inet(void *arg)
{
	(void)arg;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int
do_socket_unix(void *arg)
{
	(void)arg;
	(void)socket(AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

static int
do_socket_udp(void *arg)
{
	(void)arg;
	(void)socket(AF_INET, SOCK_DGRAM, 0);
	return 0;
}

static int
do_exec(void *arg)
{
	char *const argv[] = { (char *)"true", NULL };

	(void)arg;
	execv("/bin/true", argv);
	return 0;
}

static int
do_fork(void *arg)
{
	pid_t pid;

	(void)arg;
	if ((pid = fork()) == 0)
		_exit(0);
	return 0;	/* fork returned: not killed */
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int
do_thread(void *arg)
{
	pthread_t t;
	void *r = NULL;

	(void)arg;
	CHECK(pthread_create(&t, NULL, thread_main, (void *)1) == 0);
	CHECK(pthread_join(t, &r) == 0 && r == (void *)1);
	return 0;
}

static int
do_mmap_exec(void *arg)
{
	(void)arg;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int
do_mprotect_exec(void *arg)
{
	void *p;

	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 0xc3, 16);
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int
do_memory(void *arg)
{
	char *p, *q;
	size_t i;

	(void)arg;
	/* what the heap does under load: small, large, realloc, free */
	for (i = 0; i < 64; i++) {
		CHECK((p = malloc(1 + i * 4096)) != NULL);
		memset(p, 1, 1 + i * 4096);
		CHECK((q = realloc(p, 1 + i * 8192)) != NULL);
		free(q);
	}
	CHECK((p = malloc(8 << 20)) != NULL);
	memset(p, 2, 8 << 20);
	free(p);
	return 0;
}

#if defined(__x86_64__)
/* getpid (20 on i386) through the i386 entry: another architecture */
static int
do_foreign_arch(void *arg)
{
	long r = 20;

	(void)arg;
	__asm__ volatile ("int $0x80" : "+a"(r) : : "memory");
	return 0;
}

/* getpid through the x32 numbering */
static int
do_x32(void *arg)
{
	(void)arg;
	(void)syscall(0x40000000 | SYS_getpid);
	return 0;
}
#endif

static int
do_accept(void *arg)
{
	const struct fds *f = arg;
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	char c;
	int fd;

	CHECK((fd = accept4(f->a, NULL, NULL, SOCK_CLOEXEC)) != -1);
	CHECK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0);
	CHECK(read(fd, &c, 1) == 1 && c == 'x');
	CHECK(write(fd, "y", 1) == 1);
	close(fd);
	return 0;
}

static int
do_connect(void *arg)
{
	const struct fds *f = arg;
	struct sockaddr_in sin;
	int fd, one = 1;
	char c;

	errno = 0;
	CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	CHECK((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    IPPROTO_TCP)) != -1);
	CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(write(fd, "x", 1) == 1);
	CHECK(read(fd, &c, 1) == 1 && c == 'y');
	close(fd);
	/* the sync thread */
	return do_thread(NULL);
}

static int
do_tty(void *arg)
{
	const struct fds *f = arg;
	struct termios t;
	int n;

	CHECK(tcgetattr(f->a, &t) == 0);
	cfmakeraw(&t);
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	CHECK(tcsetattr(f->a, TCSANOW, &t) == 0);
	CHECK(tcsetattr(f->a, TCSADRAIN, &t) == 0);
	CHECK(tcflush(f->a, TCIFLUSH) == 0);
	CHECK(ioctl(f->a, FIONREAD, &n) == 0);
	return 0;
}

static int
do_tiocsti(void *arg)
{
	const struct fds *f = arg;
	char c = 'x';

	(void)ioctl(f->a, TIOCSTI, &c);
	return 0;
}

static int
do_probe(void *arg)
{
	(void)arg;
	sandbox_probe(SANDBOX_NET);
	return 0;
}

/* The engine as it runs: libevent (base made before), the listener
 * handed in, a client served through a bufferevent, a timer, localtime,
 * syslog (and syslogd lost: glibc's reconnect is refused softly). */
struct evkid {
	struct event_base	*base;
	int			 lfd;
	int			 served, ticked;
};

static int
ev_before(void *arg)
{
	struct evkid *e = arg;

	openlog("test_sandbox", LOG_NDELAY, LOG_USER);
	tzset();
	if ((e->base = event_base_new()) == NULL)
		return 90;
	return 0;
}

static void
ev_read_cb(struct bufferevent *bev, void *arg)
{
	struct evkid *e = arg;
	char c;

	if (bufferevent_read(bev, &c, 1) == 1 && c == 'x') {
		bufferevent_write(bev, "y", 1);
		e->served = 1;
	}
}

static void
ev_write_cb(struct bufferevent *bev, void *arg)
{
	struct evkid *e = arg;

	if (e->served)
		bufferevent_free(bev);
}

static void
ev_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct evkid *e = arg;
	struct bufferevent *bev;

	(void)lev;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(e->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, ev_read_cb, ev_write_cb, NULL, e);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
ev_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evkid *e = arg;

	(void)fd;
	(void)what;
	/* the loop ends at a tick after the client was served */
	if (++e->ticked > 0 && e->served)
		event_base_loopexit(e->base, NULL);
}

static int
do_libevent(void *arg)
{
	struct evkid *e = arg;
	struct evconnlistener *lev;
	struct event *tick;
	struct timeval tv = { 0, 1000 };
	time_t now = time(NULL);
	struct tm tm;

	CHECK(localtime_r(&now, &tm) != NULL);
	syslog(LOG_DEBUG, "test_sandbox: engine in its sandbox");
	closelog();
	syslog(LOG_DEBUG, "test_sandbox: after closelog");
	CHECK((lev = evconnlistener_new(e->base, ev_accept_cb, e,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, e->lfd)) !=
	    NULL);
	CHECK((tick = event_new(e->base, -1, EV_PERSIST, ev_tick_cb, e)) !=
	    NULL);
	CHECK(event_add(tick, &tv) == 0);
	CHECK(event_base_dispatch(e->base) == 0);
	CHECK(e->served && e->ticked > 0);
	event_free(tick);
	evconnlistener_free(lev);
	event_base_free(e->base);
	return 0;
}

/* The reader as it runs: libnfc opened before, the card polled inside. */
struct nfckid {
	const char	*conn;
	nfc_context	*ctx;
	nfc_device	*dev;
	uint8_t		 uid[10];
	size_t		 uid_len;
};

static int
nfc_before(void *arg)
{
	struct nfckid *n = arg;

	nfc_init(&n->ctx);
	if (n->ctx == NULL)
		return 91;
	if ((n->dev = nfc_open(n->ctx, n->conn)) == NULL)
		return 92;
	return 0;
}

static int
do_nfc(void *arg)
{
	static const nfc_modulation nm = { NMT_ISO14443A, NBR_106 };
	struct nfckid *n = arg;
	nfc_target t;
	int i, pass, r;

	CHECK(nfc_initiator_init(n->dev) >= 0);
	for (pass = 0; pass < 2; pass++) {	/* and again: still there */
		for (i = 0, r = 0; i < 50 && r <= 0; i++)
			r = nfc_initiator_select_passive_target(n->dev, nm,
			    NULL, 0, &t);
		CHECK(r > 0);
		CHECK(t.nti.nai.szUidLen == n->uid_len &&
		    memcmp(t.nti.nai.abtUid, n->uid, n->uid_len) == 0);
	}
	nfc_close(n->dev);
	nfc_exit(n->ctx);
	return 0;
}

/* ---------------------------------------------------------------- */
/* tests */

static void
test_engine_files(void **state)
{
	struct fds f;
	struct kid k;
	int p[2];
	char buf[4];

	(void)state;
	assert_int_equal(pipe(p), 0);
	f.a = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	assert_true(f.a != -1);
	f.b = p[1];
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_files, &f);
	close(p[1]);
	close(f.a);
	kid_ok(&k);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	close(p[0]);
	if (!is_root)
		assert_non_null(strstr(k.out, "not root"));
}

static void
test_engine_refusals(void **state)
{
	struct kid k;

	(void)state;
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_socket_inet, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_socket_unix, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_exec, NULL);
	kid_killed(&k, "execve");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_fork, NULL);
	kid_killed(&k, "clone");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_thread, NULL);
	kid_killed(&k, "clone");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_mmap_exec, NULL);
	kid_killed(&k, "mmap");
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_mprotect_exec, NULL);
	kid_killed(&k, "mprotect");
}

static void
test_memory(void **state)
{
	struct kid k;

	(void)state;
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_memory, NULL);
	kid_ok(&k);
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_memory, NULL);
	kid_ok(&k);
}

static void
test_foreign_arch(void **state)
{
#if defined(__x86_64__)
	struct kid k;

	(void)state;
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_foreign_arch, NULL);
#ifdef SANDBOX_DEBUG
	assert_non_null(strstr(k.out, "foreign arch"));
#else
	kid_killed(&k, "getpid");
#endif
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_x32, NULL);
	assert_true((WIFSIGNALED(k.status) && WTERMSIG(k.status) == SIGSYS) ||
	    (WIFEXITED(k.status) && WEXITSTATUS(k.status) == 1));
#else
	(void)state;
#endif
}

static void
test_engine_accept(void **state)
{
	struct sockaddr_un sun;
	struct fds f;
	struct kid k;
	pid_t pid;
	int lfd, st;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl", tmpdir);
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd != -1);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	/* the client, from a helper process: kid_run waits for the kid */
	if ((pid = fork()) == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		char c = 0;

		alarm(10);	/* the kid died: do not hang the run */
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 || write(fd, "x", 1) != 1 ||
		    read(fd, &c, 1) != 1 || c != 'y')
			_exit(1);
		_exit(0);
	}
	assert_true(pid != -1);
	f.a = lfd;
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_accept, &f);
	kid_ok(&k);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(lfd);
	unlink(sun.sun_path);
}

static void
test_engine_libevent(void **state)
{
	struct sockaddr_un sun;
	struct evkid e;
	struct kid k;
	pid_t pid;
	int st;

	(void)state;
	memset(&e, 0, sizeof(e));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ev", tmpdir);
	unlink(sun.sun_path);
	e.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(e.lfd != -1);
	assert_int_equal(bind(e.lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	assert_int_equal(listen(e.lfd, 4), 0);
	if ((pid = fork()) == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		char c = 0;

		alarm(10);	/* the kid died: do not hang the run */
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 || write(fd, "x", 1) != 1 ||
		    read(fd, &c, 1) != 1 || c != 'y')
			_exit(1);
		_exit(0);
	}
	assert_true(pid != -1);
	kid_before = ev_before;
	kid_run(&k, SANDBOX_ENGINE, NULL, NULL, do_libevent, &e);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	kid_ok(&k);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(e.lfd);
	unlink(sun.sun_path);
}

/* libnfc's pn532_uart (Debian's, unmodified) on an emulated PN532 */
static void
test_reader_libnfc(void **state)
{
	struct pn532emu_card c = {
		.uid = { 0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 },
		.uid_len = 7, .atqa = { 0x00, 0x44 }, .sak = 0x00,
	};
	struct pn532emu *emu;
	struct nfckid n;
	struct kid k;

	(void)state;
	assert_non_null(emu = pn532emu_start());
	pn532emu_set_card(emu, &c);
	memset(&n, 0, sizeof(n));
	n.conn = pn532emu_connstring(emu);
	memcpy(n.uid, c.uid, c.uid_len);
	n.uid_len = c.uid_len;
	kid_before = nfc_before;
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_nfc, &n);
	pn532emu_stop(emu);
	kid_ok(&k);
}

static void
test_net(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct fds f;
	struct kid k;
	pid_t pid;
	int lfd, st;

	(void)state;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	f.port = ntohs(sin.sin_port);
	/* the server side, in a helper */
	if ((pid = fork()) == 0) {
		int fd;
		char c = 0;

		alarm(10);	/* the kid died: do not hang the run */
		fd = accept(lfd, NULL, NULL);
		if (fd == -1 || read(fd, &c, 1) != 1 || c != 'x' ||
		    write(fd, "y", 1) != 1)
			_exit(1);
		_exit(0);
	}
	assert_true(pid != -1);
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_connect, &f);
	kid_ok(&k);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(lfd);

	kid_run(&k, SANDBOX_NET, NULL, NULL, do_socket_unix, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_socket_udp, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_fork, NULL);
	kid_killed(&k, "clone");
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_exec, NULL);
	kid_killed(&k, "execve");
}

static void
test_reader(void **state)
{
	struct fds f;
	struct kid k;
	int m;

	(void)state;
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(m != -1);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	f.a = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(f.a != -1);
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_tty, &f);
	kid_ok(&k);
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_tiocsti, &f);
	kid_killed(&k, "ioctl");
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_socket_inet, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_socket_unix, NULL);
	kid_killed(&k, "socket");
	kid_run(&k, SANDBOX_READER, NULL, NULL, do_exec, NULL);
	kid_killed(&k, "execve");
	close(f.a);
	close(m);
}

static void
test_probe(void **state)
{
	struct kid k;
	char want[256];

	(void)state;
	/* unset: nothing at all */
	unsetenv("GATEWAYD_SANDBOX_PROBE");
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_probe, NULL);
	kid_ok(&k);
	assert_null(strstr(k.out, "sandbox probe"));

	snprintf(want, sizeof(want), "open:/etc/passwd,create:%s/made,"
	    "bogus,socket-unix,open:/etc/hostname", tmpdir);
	setenv("GATEWAYD_SANDBOX_PROBE", want, 1);
	kid_run(&k, SANDBOX_NET, NULL, NULL, do_probe, NULL);
	unsetenv("GATEWAYD_SANDBOX_PROBE");
	kid_killed(&k, "socket");
	assert_non_null(strstr(k.out, "sandbox probe net open:/etc/passwd: "
	    "refused (Permission denied)\n"));
	snprintf(want, sizeof(want), "sandbox probe net create:%s/made: "
	    "refused (Permission denied)\n", tmpdir);
	assert_non_null(strstr(k.out, want));
	assert_non_null(strstr(k.out, "sandbox probe net bogus: unknown"));
	/* killed at socket-unix: the rest never ran */
	assert_null(strstr(k.out, "/etc/hostname"));
	snprintf(want, sizeof(want), "%s/made", tmpdir);
	assert_int_equal(access(want, F_OK), -1);
}

/* Outside any sandbox the same probes say allowed: the probe can tell. */
static void
test_probe_unsandboxed(void **state)
{
	char want[256], out[2048];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		snprintf(want, sizeof(want), "open:/etc/passwd,create:%s/made,"
		    "socket-inet,socket-unix,fork,exec", tmpdir);
		setenv("GATEWAYD_SANDBOX_PROBE", want, 1);
		sandbox_probe(SANDBOX_ENGINE);
		_exit(7);	/* exec let through: never here */
	}
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	assert_true(n > 0);
	out[n] = '\0';
	for (;;) {	/* several writes: read to the end */
		ssize_t m = read(p[0], out + n, sizeof(out) - 1 - (size_t)n);

		if (m <= 0)
			break;
		n += m;
		out[n] = '\0';
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);  /* /bin/true */
	assert_non_null(strstr(out, "engine open:/etc/passwd: allowed\n"));
	assert_non_null(strstr(out, "/made: allowed\n"));
	assert_non_null(strstr(out, "engine socket-inet: allowed"));
	assert_non_null(strstr(out, "engine socket-unix: allowed\n"));
	assert_non_null(strstr(out, "engine fork: allowed\n"));
	snprintf(want, sizeof(want), "%s/made", tmpdir);
	assert_int_equal(unlink(want), 0);
}

static void
write_file(const char *path, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "key\n", 4), 4);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
secret_refused(const char *path, const char *what)
{
	char err[256] = "";

	assert_int_equal(sandbox_check_secret(path, err, sizeof(err)), -1);
	if (strstr(err, what) == NULL || strstr(err, path) == NULL)
		print_error("want \"%s\" in \"%s\"\n", what, err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, what));
}

static void
test_secret(void **state)
{
	char path[128], link[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/key", tmpdir);
	write_file(path, 0600);
	assert_int_equal(sandbox_check_secret(path, err, sizeof(err)), 0);
	write_file(path, 0400);
	assert_int_equal(sandbox_check_secret(path, err, sizeof(err)), 0);
	write_file(path, 0640);
	secret_refused(path, "mode 0640: readable by group; chmod 600 it");
	write_file(path, 0604);
	secret_refused(path, "mode 0604: readable by others; chmod 600 it");
	write_file(path, 0644);
	secret_refused(path, "mode 0644: readable by group and others; "
	    "chmod 600 it");
	write_file(path, 0666);
	secret_refused(path, "mode 0666: readable and writable by group and "
	    "others");
	write_file(path, 0600);
	snprintf(link, sizeof(link), "%s/key-link", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	secret_refused(link, "symbolic link");
	unlink(link);
	secret_refused(tmpdir, "not a regular file (a directory)");
	snprintf(link, sizeof(link), "%s/none", tmpdir);
	secret_refused(link, "No such file");
	if (is_root) {
		assert_int_equal(chown(path, nobody_uid, nobody_uid), 0);
		secret_refused(path, "owned by uid 65534");
		secret_refused(path, "chown");
	}
	unlink(path);
}

static void
make_root(char *buf, size_t len, const char *name, mode_t mode, uid_t uid)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	rmdir(buf);
	assert_int_equal(mkdir(buf, 0700), 0);
	assert_int_equal(chown(buf, uid, 0), 0);
	assert_int_equal(chmod(buf, mode), 0);
}

static void
test_root_refused(void **state)
{
	char r[128], f[160];
	struct kid k;
	struct stat st;

	(void)state;
	if (!is_root) {	/* the chroot is skipped, so is its check */
		kid_run(&k, SANDBOX_ENGINE, "/nonexistent/x", NULL, NULL,
		    NULL);
		kid_ok(&k);
		assert_non_null(strstr(k.out, "not root"));
		return;
	}
	make_root(r, sizeof(r), "full", 0755, 0);
	snprintf(f, sizeof(f), "%s/file", r);
	write_file(f, 0600);
	kid_run(&k, SANDBOX_ENGINE, r, NULL, NULL, NULL);
	kid_refused(&k, "not empty (holds \"file\")");
	unlink(f);
	rmdir(r);

	make_root(r, sizeof(r), "ww", 0777, 0);
	kid_run(&k, SANDBOX_ENGINE, r, NULL, NULL, NULL);
	kid_refused(&k, "mode 0777: writable by others");
	rmdir(r);

	make_root(r, sizeof(r), "gw", 0775, 0);
	kid_run(&k, SANDBOX_ENGINE, r, NULL, NULL, NULL);
	kid_refused(&k, "writable by group");
	rmdir(r);

	make_root(r, sizeof(r), "nobodys", 0755, nobody_uid);
	kid_run(&k, SANDBOX_ENGINE, r, NULL, NULL, NULL);
	kid_refused(&k, "owned by uid 65534, not root");
	rmdir(r);

	snprintf(f, sizeof(f), "%s/plain", tmpdir);
	write_file(f, 0600);
	kid_run(&k, SANDBOX_ENGINE, f, NULL, NULL, NULL);
	kid_refused(&k, "Not a directory");
	unlink(f);

	snprintf(f, sizeof(f), "%s/rootlink", tmpdir);
	unlink(f);
	assert_int_equal(symlink(root, f), 0);
	kid_run(&k, SANDBOX_ENGINE, f, NULL, NULL, NULL);
	kid_refused(&k, "symbolic link");
	unlink(f);

	kid_run(&k, SANDBOX_ENGINE, "relative/root", NULL, NULL, NULL);
	kid_refused(&k, "not an absolute path");

	/* missing: created, root-owned 0755, and used */
	snprintf(r, sizeof(r), "%s/made/empty", tmpdir);
	kid_run(&k, SANDBOX_ENGINE, r, NULL, NULL, NULL);
	kid_ok(&k);
	assert_int_equal(stat(r, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	rmdir(r);
	snprintf(r, sizeof(r), "%s/made", tmpdir);
	rmdir(r);
}

static int
do_is_nobody(void *arg)
{
	uid_t r, e, s;
	gid_t g[4];

	(void)arg;
	CHECK(getresuid(&r, &e, &s) == 0 && r == nobody_uid &&
	    e == nobody_uid && s == nobody_uid);
	CHECK(getgroups(4, g) == 1 && g[0] == getgid());
	return 0;
}

static void
test_user(void **state)
{
	struct kid k;

	(void)state;
	if (!is_root) {
		kid_run(&k, SANDBOX_ENGINE, NULL, "no-such-user-x", NULL,
		    NULL);
		kid_ok(&k);	/* not root: no user change to fail */
		return;
	}
	kid_run(&k, SANDBOX_ENGINE, NULL, "no-such-user-x", NULL, NULL);
	kid_refused(&k, "user \"no-such-user-x\": no such user");
	kid_run(&k, SANDBOX_ENGINE, NULL, "root", NULL, NULL);
	kid_refused(&k, "not unprivileged");
	kid_run(&k, SANDBOX_ENGINE, NULL, "nobody", do_is_nobody, NULL);
	kid_ok(&k);
}

/* Started unprivileged: chroot and user skipped, said so, the filter
 * still on. The child drops to nobody itself first. */
static int
do_unpriv_files(void *arg)
{
	(void)arg;
	errno = 0;
	CHECK(open("/etc/passwd", O_RDONLY) == -1 && errno == EACCES);
	return 0;
}

static void
test_unprivileged(void **state)
{
	int p[2], st;
	char out[1024];
	ssize_t n;
	pid_t pid;

	(void)state;
	if (!is_root)
		return;	/* the whole run is the unprivileged case */
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		struct sandbox_opts o = { .role = SANDBOX_ENGINE,
		    .root = "/nonexistent" };
		char note[256], err[256];

		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (setgroups(0, NULL) == -1 ||
		    setresgid(nobody_uid, nobody_uid, nobody_uid) == -1 ||
		    setresuid(nobody_uid, nobody_uid, nobody_uid) == -1)
			_exit(99);
		if (sandbox_enter(&o, note, sizeof(note), err,
		    sizeof(err)) == -1) {
			dprintf(2, "enter: %s\n", err);
			_exit(100);
		}
		dprintf(2, "note: %s\n", note);
		_exit(do_unpriv_files(NULL));
	}
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		print_error("status 0x%x: %s\n", st, out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "note: not root (uid 65534): no chroot, "
	    "no change of user"));
}

/* stderr a regular file: RLIMIT_FSIZE is left (a log line must not be
 * SIGXFSZ), and the note says so */
static void
test_fsize_log(void **state)
{
	char path[128], buf[512] = "";
	int fd, st;
	pid_t pid;
	ssize_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	if ((pid = fork()) == 0) {
		struct sandbox_opts o = { .role = SANDBOX_READER,
		    .root = root };
		char note[256], err[256];

		dup2(fd, STDERR_FILENO);
		if (sandbox_enter(&o, note, sizeof(note), err,
		    sizeof(err)) == -1)
			_exit(100);
		dprintf(STDERR_FILENO, "note: %s\n", note);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "RLIMIT_FSIZE left as is"));
	close(fd);
	unlink(path);
}

static void
test_role_names(void **state)
{
	(void)state;
	assert_string_equal(sandbox_role_name(SANDBOX_ENGINE), "engine");
	assert_string_equal(sandbox_role_name(SANDBOX_NET), "net");
	assert_string_equal(sandbox_role_name(SANDBOX_READER), "nfc-reader");
}

static int
setup(void **state)
{
	struct passwd *pw;

	(void)state;
	is_root = geteuid() == 0;
	if ((pw = getpwnam("nobody")) != NULL)
		nobody_uid = pw->pw_uid;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sandbox.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	if (mkdir(root, 0755) == -1 || chmod(root, 0755) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmdir(root);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_names),
		cmocka_unit_test(test_engine_files),
		cmocka_unit_test(test_engine_refusals),
		cmocka_unit_test(test_engine_accept),
		cmocka_unit_test(test_engine_libevent),
		cmocka_unit_test(test_reader_libnfc),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_foreign_arch),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_probe_unsandboxed),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_root_refused),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_fsize_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
