/*
 * test_delegate.c — "delegate NAME ROLES" on a real control server: who
 * may send it (root, or a peer carrying the console group, primary or
 * supplementary; nobody else), that it replaces the connection's roles
 * (a delegated staff member cannot `mode`, and has lost the console role
 * itself), that it is allowed once per connection, the actor the journal
 * gets, and its argument checks.
 *
 * Peers with other credentials are made by a child that drops to them,
 * connects, and hands the connected socket back (SCM_RIGHTS): the kernel
 * records the credentials at connect, so the server sees the child's.
 * That needs root (CI runs as root); run as anyone else, the same checks
 * run with this process's own uid and primary group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/ctl.h"

struct fixture {
	struct event_base	*base;
	struct ctl_server	*srv;
	char			 path[80];
};

/* The daemon's side, reduced: "open" answers with who asked, and as
 * what; anything else that passed the role check is answered "ok
 * allowed", so a refusal can only come from ctl.c's checks. */
static int
on_request(void *ctx, struct ctl_client *c, const struct ctl_request *r)
{
	char roles[64];

	(void)ctx;
	if (strcmp(r->argv[0], "open") == 0)
		ctl_ok(c, "actor=%s roles=%s", ctl_client_actor(c),
		    ctl_roles_text(ctl_client_roles(c), roles, sizeof(roles)));
	else
		ctl_ok(c, "allowed");
	return CTL_DONE;
}

static int
setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *groups[3] = { "", "", "" };
	struct ctl_handler h = { .ctx = NULL, .request = on_request };
	char err[256];

	assert_non_null(f);
	f->base = event_base_new();
	snprintf(f->path, sizeof(f->path), "/tmp/test_delegate.%d.sock",
	    (int)getpid());
	f->srv = ctl_listen(f->base, f->path, groups, &h, err, sizeof(err));
	assert_non_null(f->srv);
	*st = f;
	return 0;
}

static int
teardown(void **st)
{
	struct fixture *f = *st;

	ctl_close(f->srv);
	event_base_free(f->base);
	free(f);
	return 0;
}

static int
connect_path(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A connection whose peer credentials are uid/gid/groups: made by a
 * child that takes them and passes the socket back. Only as root;
 * otherwise (uid == getuid()) a plain connection.
 */
static int
connect_as(struct fixture *f, uid_t uid, gid_t gid, const gid_t *groups,
    size_t ngroups)
{
	int sv[2], fd = -1, status;
	pid_t pid;

	if (getuid() != 0) {
		assert_int_equal(uid, getuid());
		return connect_path(f->path);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char c = 'x';
		union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
		    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		int s;

		close(sv[0]);
		if (setgroups(ngroups, groups) == -1 || setgid(gid) == -1 ||
		    setuid(uid) == -1 || (s = connect_path(f->path)) == -1)
			_exit(1);
		memset(&u, 0, sizeof(u));
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&u.h), &s, sizeof(int));
		_exit(sendmsg(sv[1], &m, 0) == 1 ? 0 : 1);
	}
	close(sv[1]);
	/* the server accepts while the child waits for nothing: the
	 * connection sits in the listen backlog until the loop runs */
	{
		char c;
		union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
		    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		if (recvmsg(sv[0], &m, 0) == 1 && CMSG_FIRSTHDR(&m) != NULL)
			memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	}
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(fd >= 0);
	return fd;
}

/* Send one request; run the loop until its final line; that line. */
static const char *
say(struct fixture *f, int fd, const char *req)
{
	static char buf[4096];
	size_t n = 0;

	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	assert_int_equal(write(fd, "\n", 1), 1);
	for (int i = 0; i < 400; i++) {
		struct timeval tv = { 0, 5000 };
		ssize_t r;
		char *eol;

		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);
		if (r > 0)
			n += (size_t)r;
		buf[n] = '\0';
		if ((eol = strchr(buf, '\n')) != NULL &&
		    (strncmp(buf, "ok", 2) == 0 || strncmp(buf, "err", 3) == 0)) {
			*eol = '\0';
			return buf;
		}
	}
	fail_msg("no answer to '%s' (have '%s')", req, buf);
	return NULL;
}

static void
expect(struct fixture *f, int fd, const char *req, const char *want)
{
	const char *got = say(f, fd, req);

	if (strcmp(got, want) != 0)
		fail_msg("'%s': got '%s', want '%s'", req, got, want);
}

/* A group this process may hand a child (root) or already has (else). */
static const char *
some_group(gid_t *gid)
{
	static char name[64];
	struct group *gr;

	if (getuid() != 0)
		gr = getgrgid(getgid());
	else if ((gr = getgrnam("daemon")) == NULL)
		gr = getgrnam("nogroup");
	assert_non_null(gr);
	snprintf(name, sizeof(name), "%s", gr->gr_name);
	*gid = gr->gr_gid;
	return name;
}

/* The privileged peer: root itself, or (not root) us with our group as
 * the console group. Roles replaced, once, actor, argument checks. */
static void
test_delegate_replaces_roles(void **st)
{
	struct fixture *f = *st;
	char want[256];
	unsigned u = (unsigned)getuid();
	gid_t gid;
	int a, b;

	if (u != 0)
		ctl_set_console_group(f->srv, some_group(&gid));
	a = connect_path(f->path);
	assert_true(a >= 0);
	if (u == 0)
		expect(f, a, "ping", "ok pong roles=staff admin auditor console");
	else
		expect(f, a, "ping", "ok pong roles=console");

	/* bad arguments leave the connection as it was */
	expect(f, a, "delegate", "err EINVAL usage: delegate NAME ROLE[,ROLE] "
	    "(NAME: 1-32 of A-Z a-z 0-9 . _ @ -)");
	expect(f, a, "delegate \"al ice\" staff", "err EINVAL usage: delegate "
	    "NAME ROLE[,ROLE] (NAME: 1-32 of A-Z a-z 0-9 . _ @ -)");
	expect(f, a, "delegate abcdefghijklmnopqrstuvwxyz0123456 staff",
	    "err EINVAL usage: delegate NAME ROLE[,ROLE] (NAME: 1-32 of A-Z "
	    "a-z 0-9 . _ @ -)");
	expect(f, a, "delegate alice root", "err EINVAL unknown role 'root' "
	    "(staff, admin, auditor)");
	expect(f, a, "delegate alice console", "err EINVAL unknown role "
	    "'console' (staff, admin, auditor)");
	expect(f, a, "delegate alice \"\"", "err EINVAL delegate needs at "
	    "least one role");
	expect(f, a, "delegate alice staff extra", "err EINVAL usage: "
	    "delegate NAME ROLE[,ROLE] (NAME: 1-32 of A-Z a-z 0-9 . _ @ -)");

	/* staff: exactly staff from now on */
	expect(f, a, "delegate alice staff", "ok speaking for alice roles=staff");
	expect(f, a, "ping", "ok pong roles=staff");
	snprintf(want, sizeof(want), "err EPERM 'mode' needs the admin role; "
	    "uid %u has staff", u);
	expect(f, a, "mode lockdown --reason x", want);
	snprintf(want, sizeof(want), "err EPERM 'sim' needs the admin role; "
	    "uid %u has staff", u);
	expect(f, a, "sim tap front A-1", want);
	snprintf(want, sizeof(want), "err EPERM 'muster' needs the auditor "
	    "role; uid %u has staff", u);
	expect(f, a, "muster", want);
	snprintf(want, sizeof(want), "ok actor=alice via console uid %u "
	    "roles=staff", u);
	expect(f, a, "open front --reason x", want);
	/* and no way back up: the console role went with the rest */
	snprintf(want, sizeof(want), "err EPERM 'delegate' needs the console "
	    "role; uid %u has staff", u);
	expect(f, a, "delegate root admin", want);
	expect(f, a, "ping", "ok pong roles=staff");

	/* admin passes every role check, so only the once-per-connection
	 * rule stops a second delegate */
	b = connect_path(f->path);
	assert_true(b >= 0);
	expect(f, b, "delegate sam admin,auditor",
	    "ok speaking for sam roles=admin auditor");
	expect(f, b, "mode lockdown --reason drill", "ok allowed");
	expect(f, b, "delegate eve staff", "err EPERM this connection already "
	    "speaks for someone");
	snprintf(want, sizeof(want), "ok actor=sam via console uid %u "
	    "roles=admin auditor", u);
	expect(f, b, "open front --reason x", want);
	close(a);
	close(b);
}

/* A peer neither root nor in the console group is refused, whatever it
 * asks for; with the group (primary or supplementary) it may delegate. */
static void
test_delegate_who_may(void **st)
{
	struct fixture *f = *st;
	char want[256];
	uid_t uid = getuid() == 0 ? 65534 : getuid();
	gid_t cgid, nogid = getuid() == 0 ? 65534 : getgid();
	const char *cname = some_group(&cgid);
	int a;

	/* no console group configured: only root may */
	ctl_set_console_group(f->srv, "");
	a = connect_as(f, uid, nogid, NULL, 0);
	snprintf(want, sizeof(want), "err EPERM 'delegate' needs the console "
	    "role; uid %u has none", (unsigned)uid);
	expect(f, a, "delegate alice staff", want);
	expect(f, a, "delegate alice admin", want);
	expect(f, a, "ping", "ok pong roles=none");
	close(a);

	/* a group that does not exist grants nothing */
	ctl_set_console_group(f->srv, "no-such-group-xyzzy");
	a = connect_as(f, uid, nogid, NULL, 0);
	expect(f, a, "delegate alice staff", want);
	close(a);

	/* the console group as a supplementary group (as root), or as our
	 * own primary group (otherwise) */
	ctl_set_console_group(f->srv, cname);
	a = connect_as(f, uid, nogid, &cgid, 1);
	expect(f, a, "ping", "ok pong roles=console");
	expect(f, a, "delegate alice staff", "ok speaking for alice roles=staff");
	snprintf(want, sizeof(want), "ok actor=alice via console uid %u "
	    "roles=staff", (unsigned)uid);
	expect(f, a, "open front --reason x", want);
	close(a);
	if (getuid() == 0) {
		/* as the primary group, no supplementary ones */
		a = connect_as(f, uid, cgid, NULL, 0);
		expect(f, a, "delegate bob auditor",
		    "ok speaking for bob roles=auditor");
		close(a);
		/* another group only: refused */
		a = connect_as(f, uid, nogid, &nogid, 1);
		snprintf(want, sizeof(want), "err EPERM 'delegate' needs the "
		    "console role; uid %u has none", (unsigned)uid);
		expect(f, a, "delegate alice staff", want);
		close(a);
	}
	/* the console role alone is for delegating, nothing else */
	a = connect_as(f, uid, nogid, &cgid, 1);
	snprintf(want, sizeof(want), "err EPERM 'status' needs the staff role; "
	    "uid %u has console", (unsigned)uid);
	expect(f, a, "status", want);
	close(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delegate_replaces_roles,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delegate_who_may, setup,
		    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
