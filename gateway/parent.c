/*
 * parent.c — gatewayd's privileged parent. It does what needs privilege
 * and nothing that needs judgement:
 *
 *   - opens gateway.conf, the journal (the only writer: journal.c with
 *     commit.c's group commit), every device driver, the control socket
 *     and the state snapshot file;
 *   - re-executes its own binary for each unprivileged role and hands it
 *     its descriptors: the engine (policy, gates, control requests), the
 *     network process (central log server, when configured); the nfc
 *     driver does the same for each libnfc reader;
 *   - relays: device events to the engine, the engine's records to the
 *     journal and their fate back, the engine's commands to the devices,
 *     durable records to the network process;
 *   - supervises: a child that dies is journaled and restarted with
 *     backoff; while the engine is down every gate is in its configured
 *     fail mode, and a fire alarm unlocks every gate (life safety needs
 *     no policy); a child that dies again and again raises an alarm;
 *   - serves the auditors' export and verify from the journal, on a
 *     thread, on the connection the engine hands over.
 *
 * Owns: the journal, the devices, the children. Trusts: nothing a child
 * sends: every message is checked for type, exact size and terminated
 * strings (msg.c, and here for fields), every index against the conf; a
 * child that breaks a rule is killed and restarted, and the parent goes on.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "drivers/driver.h"
#include "drivers/nfc.h"
#include "drivers/osdp.h"
#include "gateway/audit.h"
#include "gateway/commit.h"
#include "gateway/conf.h"
#include "gateway/ctl.h"
#include "gateway/journal.h"
#include "gateway/msg.h"
#include "gateway/netproc.h"
#include "gateway/parent.h"
#include "gateway/policyio.h"
#include "gateway/proto.h"
#include "gateway/snapshot.h"

#define P_EVENTS		32
#define P_BACKOFF_MIN_MS	100
#define P_BACKOFF_MAX_MS	5000
#define P_STABLE_MS		10000	/* lived this long: backoff starts over */
#define P_FAILS_WINDOW_MS	60000
#define P_FAILS_ALARM		3	/* deaths in the window that raise an alarm */
#define P_AUDITS_MAX		4
#define P_SNAP_MAX		(1ull << 30)
#define P_FILE_MAX		(256u << 20)
#define ZONEINFO		"/usr/share/zoneinfo"

struct parent;

struct p_dev {
	struct parent		*p;
	uint32_t		 gate;
	uint32_t		 dev;		/* enum proto_dev */
	const struct driver	*drv;
	void			*ctx;
	struct event		*ev, *tick;
	int			 failed;
};

struct p_gate {
	const struct conf_gate	*cg;
	struct p_dev		 dev[PROTO_DEV_FIRE];	/* reader .. lock */
};

struct p_child {
	struct parent	*p;
	const char	*role;		/* "engine", "net" */
	pid_t		 pid;		/* 0: not running */
	uint64_t	 gen;		/* bumped at each start */
	struct msg_chan	*chan, *rpc;
	int		 up;		/* engine: said READY */
	unsigned	 backoff_ms;
	int64_t		 started_ms;
	int64_t		 fails[P_FAILS_ALARM];	/* recent deaths, ring */
	unsigned	 nfails;
	int		 alarmed;
	struct event	*restart;
	char		 why[160];	/* how the last one ended */
	char		 kill_why[160];	/* why we ended the running one */
	uint64_t	 restarts;
};

struct p_snap {
	uint8_t		*buf;
	uint64_t	 total, have, seq;
};

struct parent {
	const struct parent_opts *o;
	struct event_base	*base;
	struct gateway_conf	*conf;
	char			 exe[PATH_MAX];
	char			 jdir[CONF_PATH_MAX];
	char			 sock[CONF_PATH_MAX];
	char			 allow[3][PATH_MAX];	/* readable for the engine */
	struct journal		*j;
	struct commit		*commit;
	int			 ctl_fd;
	struct p_gate		*gates;
	size_t			 ngates;
	struct p_dev		 fire;
	int			 fire_on;
	struct p_child		 engine, net;
	struct netfeed		*nf;
	struct snapshot_writer	*snapw;
	struct p_snap		 snap;
	int64_t			 clock_offset_us;
	uint64_t		 max_failed_seq;	/* last record told "failed" */
	int			 jfail;
	struct event		*jfail_ev, *sync_ev, *sigchld, *sighup,
				*sigterm, *sigint;
	int			 stopping, engine_stopped;
	uint64_t		 dropped;	/* events while the engine was down */
	unsigned		 audits;	/* threads serving auditors */
	pthread_mutex_t		 mu;
};

static int p_debug;

static void
p_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
p_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (p_debug) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else
		vsyslog(prio, fmt, ap);
	va_end(ap);
}

static int64_t
p_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
p_now_us(const struct parent *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 +
	    p->clock_offset_us;
}

static void
p_copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- the journal ---- */

static void p_jstate(struct parent *, int status);
struct p_dev;
static void p_actuate_dev(struct p_dev *, enum driver_cmd_type);
static void p_describe(struct parent *, const struct p_dev *);

/* The parent's own records: durable ones go to the engine's watchers and
 * state too, in their place in seq order. */
static void
p_own_done(void *arg, const struct journal_record *r, int status)
{
	struct parent *p = arg;
	struct msg_jrecord m;

	if (status != 0) {
		if (r->seq > p->max_failed_seq)
			p->max_failed_seq = r->seq;
		p_jstate(p, status);
		return;
	}
	if (p->engine.chan != NULL) {
		memset(&m, 0, sizeof(m));
		m.rec = *r;
		(void)msg_send(p->engine.chan, MSG_PE_JRECORD, &m, sizeof(m), -1);
	}
}

static void
p_record(struct parent *p, const char *type, const char *gate,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
p_record(struct parent *p, const char *type, const char *gate,
    const char *fmt, ...)
{
	struct journal_record r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.time_us = p_now_us(p);
	p_copy(r.type, sizeof(r.type), type);
	p_copy(r.gate, sizeof(r.gate), gate);
	p_copy(r.actor, sizeof(r.actor), "gatewayd");
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	if (commit_submit(p->commit, &r, p_own_done, p) == -1)
		p_log(LOG_ERR, "journal: cannot submit a %s record (%s)", type,
		    r.text);
}

/* An engine record's fate, back to the engine that sent it (not to one
 * started since: its records are the journal's, its answers nobody's). */
struct p_jwait {
	struct parent	*p;
	uint64_t	 cookie, gen;
	int		 unlock;	/* a grant: open gate's lock when durable */
	uint32_t	 gate;
};

static void
p_engine_done(void *arg, const struct journal_record *r, int status)
{
	struct p_jwait *w = arg;
	struct parent *p = w->p;
	struct msg_jdone m;

	if (status != 0) {
		if (r->seq > p->max_failed_seq)
			p->max_failed_seq = r->seq;
		p_jstate(p, status);
	}
	/* durable, and the engine that asked is still there: the door */
	if (status == 0 && w->unlock && w->gen == p->engine.gen &&
	    p->engine.chan != NULL) {
		struct p_dev *d = &p->gates[w->gate].dev[PROTO_DEV_LOCK];
		p_actuate_dev(d, DRIVER_CMD_UNLOCK);
		p_describe(p, d);
	}
	if (w->gen == p->engine.gen && p->engine.chan != NULL) {
		memset(&m, 0, sizeof(m));
		m.cookie = w->cookie;
		m.status = status;
		m.rec = *r;
		(void)msg_send(p->engine.chan, MSG_PE_JDONE, &m, sizeof(m), -1);
	}
	free(w);
}

/* Every durable record, in seq order, before its callback: the network
 * process may ship more; a record whose callback already said "failed"
 * and that a retry wrote goes to the engine's state replica. */
static void
p_observe(void *arg, const struct journal_record *r)
{
	struct parent *p = arg;
	struct msg_jrecord m;

	if (r->seq <= p->max_failed_seq && p->engine.chan != NULL) {
		memset(&m, 0, sizeof(m));
		m.late = 1;
		m.rec = *r;
		(void)msg_send(p->engine.chan, MSG_PE_JRECORD, &m, sizeof(m), -1);
	}
	if (p->nf != NULL)
		netfeed_durable(p->nf);
}

static void
p_jfail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct parent *p = arg;
	struct msg_seq m = { 0 };

	(void)fd;
	(void)what;
	if (!p->jfail || journal_failed(p->j) != 0 ||
	    journal_durable_seq(p->j) != journal_last_seq(p->j))
		return;
	p->jfail = 0;
	event_del(p->jfail_ev);
	p_log(LOG_NOTICE, "journal writable again at seq %llu",
	    (unsigned long long)journal_durable_seq(p->j));
	if (p->engine.up)
		(void)msg_send(p->engine.chan, MSG_PE_JSTATE, &m, sizeof(m), -1);
}

/* The commit writer retries on its own; watch for the moment everything
 * is durable again and tell the engine. */
static void
p_jstate(struct parent *p, int status)
{
	struct timeval tv = { 0, 250000 };

	if (status == 0 || p->jfail)
		return;
	p->jfail = 1;
	p_log(LOG_ERR, "journal %s: %s: records are kept and retried", p->jdir,
	    strerror(-status));
	event_add(p->jfail_ev, &tv);
}

/* ---- devices ---- */

static void
p_actuate_dev(struct p_dev *d, enum driver_cmd_type type)
{
	struct driver_cmd cmd = { .type = type };

	if (d->drv != NULL && d->drv->actuate != NULL)
		(void)d->drv->actuate(d->ctx, &cmd);
}

/* While the engine is down (or stopped): every lock as gateway.conf says
 * a gate without its controller must be. */
static void
p_gates_rest(struct parent *p)
{
	for (size_t i = 0; i < p->ngates; i++)
		p_actuate_dev(&p->gates[i].dev[PROTO_DEV_LOCK],
		    p->gates[i].cg->fail == CONF_FAIL_SAFE || p->fire_on ?
		    DRIVER_CMD_UNLOCK : DRIVER_CMD_LOCK);
}

static void
p_send_device(struct parent *p, const struct p_dev *d, int failed,
    const struct driver_event *ev)
{
	struct msg_device m;

	memset(&m, 0, sizeof(m));
	m.gate = d->gate;
	m.dev = d->dev;
	m.failed = (uint32_t)failed;
	if (ev != NULL)
		m.ev = *ev;
	(void)msg_send(p->engine.chan, MSG_PE_DEVICE, &m, sizeof(m), -1);
}

/* The fire panel with nobody to decide: life safety needs no policy. */
static void
p_fire_alone(struct parent *p, int on)
{
	if (on == p->fire_on)
		return;
	p->fire_on = on;
	p_gates_rest(p);
	p_record(p, on ? "alarm" : "alarm-clear", "", "fire-alarm: fire-alarm "
	    "input %s while the engine is down: %s", on ? "on" : "off", on ?
	    "every gate unlocked" : "gates back in their fail modes");
}

static void
p_dev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct p_dev *d = arg;
	struct parent *p = d->p;
	struct driver_event evs[P_EVENTS];
	int n;

	(void)fd;
	(void)what;
	n = d->drv->on_ready(d->ctx, evs, P_EVENTS);
	if (n < 0) {
		if (!d->failed) {
			d->failed = 1;
			if (d->ev != NULL)
				event_del(d->ev);
			p_log(LOG_ERR, "%s %s: device failed", d->dev ==
			    PROTO_DEV_FIRE ? "input" : p->gates[d->gate].cg->name,
			    d->drv->name);
			if (p->engine.chan != NULL)
				p_send_device(p, d, 1, NULL);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		if (driver_event_check(&evs[i]) == -1) {
			p_log(LOG_WARNING, "driver %s: malformed event dropped",
			    d->drv->name);
			continue;
		}
		if (d->dev == PROTO_DEV_FIRE && evs[i].type == DRIVER_EV_INPUT &&
		    evs[i].input == DRIVER_IN_FIRE_ALARM) {
			if (!p->engine.up)
				p_fire_alone(p, evs[i].value != 0);
			p->fire_on = evs[i].value != 0;
		}
		/* a starting engine gets what changed meanwhile (sensors,
		 * notices, readers coming and going) but no taps: a door must
		 * not open seconds after its badge left */
		if (p->engine.up || (p->engine.chan != NULL &&
		    evs[i].type != DRIVER_EV_TAP))
			p_send_device(p, d, 0, &evs[i]);
		else if (evs[i].type == DRIVER_EV_TAP && p->dropped++ % 100 == 0)
			p_log(LOG_WARNING, "engine down: tap at %s not decided "
			    "(%llu so far)", p->gates[d->gate].cg->name,
			    (unsigned long long)p->dropped);
	}
}

static int
p_dev_open(struct parent *p, struct p_dev *d, uint32_t gate, uint32_t dev,
    const struct conf_hw *hw, unsigned kind, const char *owner)
{
	char err[256];
	int fd;

	memset(d, 0, sizeof(*d));
	d->p = p;
	d->gate = gate;
	d->dev = dev;
	if (!hw->set)
		return 0;
	d->drv = driver_find(hw->driver);	/* checked by conf_parse */
	if (d->drv == NULL || d->drv->open(&d->ctx, kind, hw->args, err,
	    sizeof(err)) == -1) {
		p_log(LOG_ERR, "%s: cannot open %s: %s", owner, hw->driver,
		    d->drv ? err : "no such driver");
		d->drv = NULL;
		return -1;
	}
	if (kind != DRIVER_OUTPUT && (fd = d->drv->fd(d->ctx)) != -1) {
		d->ev = event_new(p->base, fd, EV_READ | EV_PERSIST, p_dev_cb, d);
		if (d->ev == NULL || event_add(d->ev, NULL) == -1)
			return -1;
	}
	if (kind != DRIVER_OUTPUT && d->drv->tick_ms > 0) {
		struct timeval tv = { d->drv->tick_ms / 1000,
		    (suseconds_t)(d->drv->tick_ms % 1000) * 1000 };
		d->tick = event_new(p->base, -1, EV_PERSIST, p_dev_cb, d);
		if (d->tick == NULL || event_add(d->tick, &tv) == -1)
			return -1;
	}
	return 0;
}

static void
p_dev_close(struct p_dev *d)
{
	if (d->ev)
		event_free(d->ev);
	if (d->tick)
		event_free(d->tick);
	if (d->drv != NULL && d->ctx != NULL)
		d->drv->close(d->ctx);
	memset(d, 0, sizeof(*d));
}

/* The lock as its driver sees it, for the engine's status. */
static void
p_describe(struct parent *p, const struct p_dev *d)
{
	struct msg_describe m;

	if (p->engine.chan == NULL || d->drv == NULL ||
	    d->drv->describe == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.gate = d->gate;
	m.dev = d->dev;
	d->drv->describe(d->ctx, m.text, sizeof(m.text));
	m.text[sizeof(m.text) - 1] = '\0';
	(void)msg_send(p->engine.chan, MSG_PE_DESCRIBE, &m, sizeof(m), -1);
}

static struct p_dev *
p_dev_at(struct parent *p, uint32_t gate, uint32_t dev)
{
	if (dev == PROTO_DEV_FIRE)
		return p->fire.drv ? &p->fire : NULL;
	if (gate >= p->ngates || dev >= PROTO_DEV_FIRE)
		return NULL;
	return p->gates[gate].dev[dev].drv ? &p->gates[gate].dev[dev] : NULL;
}

/* ---- auditors ---- */

struct p_audit {
	struct parent		*p;
	int			 fd;
	int			 verify;
	uint64_t		 upto;
	char			 dir[CONF_PATH_MAX];
	int			 argc;
	char			 argv[16][128];
};

/* One response line, as ctl.c writes them: no control bytes inside. */
static int
p_audit_line(int fd, const char *tag, const char *text)
{
	char line[8192];
	size_t n = (size_t)snprintf(line, sizeof(line) - 1, "%s%s%s", tag,
	    text[0] ? " " : "", text);

	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	line[n++] = '\n';
	for (size_t off = 0; off < n; ) {
		ssize_t w = write(fd, line + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static void *
p_audit_thread(void *arg)
{
	struct p_audit *a = arg;
	char err[512], text[4096];

	if (a->verify) {
		struct journal_summary s;
		if (journal_verify_upto(a->dir, a->upto, &s, err,
		    sizeof(err)) == 0) {
			snprintf(text, sizeof(text), "journal intact: %llu "
			    "records (seq %llu to %llu)",
			    (unsigned long long)s.count,
			    (unsigned long long)s.first_seq,
			    (unsigned long long)s.last_seq);
			(void)p_audit_line(a->fd, "ok", text);
		} else {
			snprintf(text, sizeof(text), "EIO journal broken at seq "
			    "%llu: %s", (unsigned long long)s.bad_seq, err);
			(void)p_audit_line(a->fd, "err", text);
		}
	} else {
		struct audit_filter f;
		struct journal_iter *it = NULL;
		struct journal_record r;
		char *argv[17], hdr[512];
		uint64_t sent = 0;
		int rc;

		for (int i = 0; i < a->argc; i++)
			argv[i] = a->argv[i];
		argv[a->argc] = NULL;
		if (audit_parse_args(a->argc, argv, &f, NULL, err,
		    sizeof(err)) == -1) {
			snprintf(text, sizeof(text), "EINVAL %s", err);
			(void)p_audit_line(a->fd, "err", text);
		} else if ((it = journal_iter_open(a->dir, 1, err,
		    sizeof(err))) == NULL) {
			snprintf(text, sizeof(text), "EIO %s", err);
			(void)p_audit_line(a->fd, "err", text);
		} else {
			int ok = 1;
			if (audit_header(&f, hdr, sizeof(hdr))[0])
				ok = p_audit_line(a->fd, "data", hdr) == 0;
			while (ok && (rc = journal_iter_next(it, &r, err,
			    sizeof(err))) == 1 && r.seq <= a->upto) {
				if (!audit_match(&f, &r))
					continue;
				audit_format(&f, &r, text, sizeof(text));
				ok = p_audit_line(a->fd, "data", text) == 0;
				sent++;
			}
			if (ok && rc == -1) {
				snprintf(text, sizeof(text), "EIO journal "
				    "damaged: %s", err);
				(void)p_audit_line(a->fd, "err", text);
			} else if (ok) {
				snprintf(text, sizeof(text), "%llu records",
				    (unsigned long long)sent);
				(void)p_audit_line(a->fd, "ok", text);
			}
		}
		journal_iter_close(it);
	}
	close(a->fd);
	pthread_mutex_lock(&a->p->mu);
	a->p->audits--;
	pthread_mutex_unlock(&a->p->mu);
	free(a);
	return NULL;
}

static void
p_audit_start(struct parent *p, const struct msg_audit *m, int fd)
{
	struct p_audit *a;
	pthread_attr_t at;
	pthread_t t;
	int fl;

	pthread_mutex_lock(&p->mu);
	if (p->audits >= P_AUDITS_MAX) {
		pthread_mutex_unlock(&p->mu);
		(void)p_audit_line(fd, "err", "EBUSY too many audits under way; "
		    "try again");
		close(fd);
		return;
	}
	p->audits++;
	pthread_mutex_unlock(&p->mu);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	a->p = p;
	a->fd = fd;
	a->verify = m->verify != 0;
	/* durable only: what an auditor gets is what the disk holds */
	a->upto = journal_durable_seq(p->j);
	p_copy(a->dir, sizeof(a->dir), p->jdir);
	a->argc = (int)m->argc;
	for (int i = 0; i < a->argc; i++)
		memcpy(a->argv[i], m->argv[i], sizeof(a->argv[i]));
	/* the thread writes at the auditor's pace */
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, p_audit_thread, a) == 0) {
		pthread_attr_destroy(&at);
		return;
	}
	pthread_attr_destroy(&at);
	free(a);
fail:
	(void)p_audit_line(fd, "err", "EAGAIN cannot start; try again");
	close(fd);
	pthread_mutex_lock(&p->mu);
	p->audits--;
	pthread_mutex_unlock(&p->mu);
}

/* ---- files for the engine (a reload after its sandbox) ---- */

static int
p_file_allowed(const struct parent *p, const char *path, char *real)
{
	if (realpath(path, real) == NULL)
		return -errno;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(p->allow[i]);
		if (n > 0 && strncmp(real, p->allow[i], n) == 0 &&
		    (real[n] == '/' || (n > 0 && p->allow[i][n - 1] == '/')))
			return 0;
	}
	return -EACCES;
}

static void
p_file_answer(struct parent *p, struct msg_chan *c, const struct msg_file_req *q)
{
	struct msg_file_chunk *m = calloc(1, sizeof(*m) + PROTO_CHUNK_MAX);
	char real[PATH_MAX], err[256];
	char *buf = NULL;
	size_t len = 0, off = 0;
	int rc;

	if (m == NULL)
		return;
	m->id = q->id;
	if ((rc = p_file_allowed(p, q->path, real)) != 0) {
		m->status = rc;
		snprintf(m->why, sizeof(m->why), "%.120s: %s", q->path, rc ==
		    -EACCES ? "outside the policy's and the conf's directories "
		    "and the time zone database" : strerror(-rc));
		(void)msg_send(c, MSG_PE_FILE, m, sizeof(*m), -1);
		free(m);
		return;
	}
	if (policyio_read(real, q->max < P_FILE_MAX ? q->max : P_FILE_MAX, &buf,
	    &len, err, sizeof(err)) != 0) {
		m->status = -EIO;
		p_copy(m->why, sizeof(m->why), err);
		(void)msg_send(c, MSG_PE_FILE, m, sizeof(*m), -1);
		free(m);
		return;
	}
	do {
		size_t n = len - off > PROTO_CHUNK_MAX ? PROTO_CHUNK_MAX :
		    len - off;
		memset(m, 0, sizeof(*m));
		m->id = q->id;
		m->total = len;
		m->off = off;
		m->n = (uint32_t)n;
		memcpy(m + 1, buf + off, n);
		if (msg_send(c, MSG_PE_FILE, m, sizeof(*m) + n, -1) == -1)
			break;
		off += n;
	} while (off < len);
	free(buf);
	free(m);
}

/* ---- children ---- */

static void p_child_start(struct parent *, struct p_child *);

static void
p_child_kill(struct p_child *c, const char *why)
{
	if (c->pid <= 0)
		return;
	p_log(LOG_ERR, "%s (pid %d): %s: ended", c->role, (int)c->pid, why);
	if (c->kill_why[0] == '\0')
		snprintf(c->kill_why, sizeof(c->kill_why), "ended by the "
		    "parent: %s", why);
	kill(c->pid, SIGKILL);
}

static void
p_engine_msg(void *arg, uint32_t type, const void *payload, size_t len,
    int fd)
{
	struct p_child *c = arg;
	struct parent *p = c->p;

	switch (type) {
	case MSG_EP_JOURNAL: {
		const struct msg_jsubmit *m = payload;
		struct journal_record r = m->rec;
		struct p_jwait *w;
		if (!msg_str_ok(r.type, sizeof(r.type)) ||
		    !msg_str_ok(r.gate, sizeof(r.gate)) ||
		    !msg_str_ok(r.zone_from, sizeof(r.zone_from)) ||
		    !msg_str_ok(r.zone_to, sizeof(r.zone_to)) ||
		    !msg_str_ok(r.cred, sizeof(r.cred)) ||
		    !msg_str_ok(r.holder, sizeof(r.holder)) ||
		    !msg_str_ok(r.decision, sizeof(r.decision)) ||
		    !msg_str_ok(r.reason, sizeof(r.reason)) ||
		    !msg_str_ok(r.rule, sizeof(r.rule)) ||
		    !msg_str_ok(r.mode, sizeof(r.mode)) ||
		    !msg_str_ok(r.policy, sizeof(r.policy)) ||
		    !msg_str_ok(r.actor, sizeof(r.actor)) ||
		    !msg_str_ok(r.text, sizeof(r.text)) || r.type[0] == '\0') {
			p_child_kill(c, "a journal record with an unterminated "
			    "or empty field");
			return;
		}
		/* the journal sets these itself */
		r.seq = 0;
		memset(r.gateway, 0, sizeof(r.gateway));
		if ((w = malloc(sizeof(*w))) == NULL) {
			p_child_kill(c, "out of memory");
			return;
		}
		w->p = p;
		w->cookie = m->cookie;
		w->gen = c->gen;
		w->unlock = 0;
		w->gate = 0;
		if (m->unlock) {
			/* only a grant at that very gate opens its lock */
			if (m->gate >= p->ngates ||
			    p->gates[m->gate].dev[PROTO_DEV_LOCK].drv == NULL ||
			    strcmp(r.type, "decision") != 0 ||
			    strcmp(r.decision, "grant") != 0 ||
			    strcmp(r.gate, p->gates[m->gate].cg->name) != 0) {
				free(w);
				p_child_kill(c, "an unlock with a record that is "
				    "not a grant at that gate");
				return;
			}
			w->unlock = 1;
			w->gate = m->gate;
		}
		if (commit_submit(p->commit, &r, p_engine_done, w) == -1) {
			struct msg_jdone d;
			free(w);
			memset(&d, 0, sizeof(d));
			d.cookie = m->cookie;
			d.status = -EIO;
			d.rec = r;
			(void)msg_send(c->chan, MSG_PE_JDONE, &d, sizeof(d), -1);
		}
		break;
	}
	case MSG_EP_ACTUATE: {
		const struct msg_actuate *m = payload;
		struct p_dev *d = p_dev_at(p, m->gate, m->dev);
		int rc;
		if (d == NULL || m->cmd.type < DRIVER_CMD_LOCK ||
		    m->cmd.type > DRIVER_CMD_DENY || d->drv->actuate == NULL) {
			p_child_kill(c, "a command for a device that is not "
			    "there");
			return;
		}
		rc = d->drv->actuate(d->ctx, &m->cmd);
		if (m->dev == PROTO_DEV_LOCK)
			p_describe(p, d);
		if (rc < 0) {
			struct msg_actfail f;
			memset(&f, 0, sizeof(f));
			f.gate = m->gate;
			f.dev = m->dev;
			f.rc = rc;
			snprintf(f.text, sizeof(f.text), "%s did not accept %s",
			    d->drv->name, m->cmd.type == DRIVER_CMD_UNLOCK ?
			    "unlock" : m->cmd.type == DRIVER_CMD_LOCK ? "lock" :
			    "feedback");
			(void)msg_send(c->chan, MSG_PE_ACTFAIL, &f, sizeof(f), -1);
		}
		break;
	}
	case MSG_EP_INJECT: {
		const struct msg_inject *m = payload;
		struct p_dev *d = p_dev_at(p, m->gate, m->dev);
		struct msg_actfail f;
		if (d == NULL || driver_event_check(&m->ev) == -1) {
			p_child_kill(c, "an injection for a device that is not "
			    "there, or malformed");
			return;
		}
		memset(&f, 0, sizeof(f));
		f.gate = m->gate;
		f.dev = m->dev;
		f.tag = m->ev.tag;
		if (d->drv->inject == NULL) {
			f.rc = -EINVAL;
			snprintf(f.text, sizeof(f.text), "that hardware is not "
			    "simulated here");
		} else if (d->drv->inject(d->ctx, &m->ev) == -1) {
			f.rc = -EAGAIN;
			snprintf(f.text, sizeof(f.text), "simulated device busy; "
			    "try again");
		} else
			break;
		(void)msg_send(c->chan, MSG_PE_ACTFAIL, &f, sizeof(f), -1);
		break;
	}
	case MSG_EP_OSDP_KEY: {
		const struct msg_osdp_key *m = payload;
		struct msg_actfail f;
		char err[256];
		if (!msg_str_ok(m->bus, sizeof(m->bus)) || m->addr > 126) {
			p_child_kill(c, "a malformed key installation request");
			return;
		}
		if (osdp_key_install(m->bus, m->addr, m->tag, err,
		    sizeof(err)) == -1) {
			memset(&f, 0, sizeof(f));
			f.tag = m->tag;
			f.rc = -EINVAL;
			p_copy(f.text, sizeof(f.text), err);
			(void)msg_send(c->chan, MSG_PE_ACTFAIL, &f, sizeof(f), -1);
		}
		break;
	}
	case MSG_EP_SNAPSHOT: {
		const struct msg_file_chunk *m = payload;
		struct p_snap *s = &p->snap;
		if (len != sizeof(*m) + m->n || m->total > P_SNAP_MAX ||
		    (m->off == 0 && m->total == 0)) {
			p_child_kill(c, "a malformed snapshot chunk");
			return;
		}
		if (m->off == 0) {
			free(s->buf);
			memset(s, 0, sizeof(*s));
			if ((s->buf = malloc(m->total)) == NULL)
				return;
			s->total = m->total;
			s->seq = m->seq;
		}
		if (s->buf == NULL || m->off != s->have || m->total != s->total ||
		    m->seq != s->seq || m->n > s->total - s->have) {
			p_child_kill(c, "snapshot chunks out of order");
			return;
		}
		memcpy(s->buf + s->have, m + 1, m->n);
		s->have += m->n;
		if (s->have == s->total) {
			uint64_t seq;
			int64_t us;
			char err[256];
			/* the decoder checks it all at the next start */
			if (snapshot_writer_put(p->snapw, s->buf, s->total,
			    s->seq) == -1)
				p_log(LOG_WARNING, "state snapshot at seq %llu "
				    "skipped: the previous one is still being "
				    "written", (unsigned long long)s->seq);
			s->buf = NULL;
			if (snapshot_writer_result(p->snapw, &seq, &us, err,
			    sizeof(err)) && err[0])
				p_log(LOG_WARNING, "state snapshot at seq %llu "
				    "not written: %s", (unsigned long long)seq,
				    err);
		}
		break;
	}
	case MSG_EP_AUDIT: {
		const struct msg_audit *m = payload;
		if (m->argc > 16) {
			close(fd);
			p_child_kill(c, "a malformed audit request");
			return;
		}
		for (uint32_t i = 0; i < m->argc; i++)
			if (!msg_str_ok(m->argv[i], sizeof(m->argv[i]))) {
				close(fd);
				p_child_kill(c, "a malformed audit request");
				return;
			}
		p_audit_start(p, m, fd);
		return;
	}
	case MSG_EP_READY: {
		const struct msg_ready *m = payload;
		c->up = 1;
		p->clock_offset_us = m->clock_offset_us;
		/* what happened while it was away, as the devices stand now */
		if (p->fire_on && p->fire.drv != NULL) {
			struct driver_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.type = DRIVER_EV_INPUT;
			ev.input = DRIVER_IN_FIRE_ALARM;
			ev.value = 1;
			p_send_device(p, &p->fire, 0, &ev);
		}
		for (size_t i = 0; i < p->ngates; i++)
			for (int k = 0; k < PROTO_DEV_FIRE; k++)
				if (p->gates[i].dev[k].failed)
					p_send_device(p, &p->gates[i].dev[k], 1,
					    NULL);
		if (p->fire.failed)
			p_send_device(p, &p->fire, 1, NULL);
		break;
	}
	case MSG_EP_STOPPED:
		p->engine_stopped = 1;
		if (p->stopping)
			event_base_loopbreak(p->base);
		break;
	}
	if (fd != -1)
		close(fd);
}

static void
p_engine_rpc(void *arg, uint32_t type, const void *payload, size_t len,
    int fd)
{
	struct p_child *c = arg;
	struct parent *p = c->p;
	const struct msg_file_req *q = payload;

	(void)len;
	if (fd != -1)
		close(fd);
	if (type != MSG_EP_FILE_REQ)
		return;
	if (!msg_str_ok(q->path, sizeof(q->path))) {
		p_child_kill(&p->engine, "an unterminated file name");
		return;
	}
	p_file_answer(p, p->engine.rpc, q);
}

static void
p_chan_err(void *arg, const char *why)
{
	struct p_child *c = arg;

	/* a child that died shows here first (closed, reset, broken pipe),
	 * and SIGCHLD tells the rest; anything else broke the rules */
	if (strcmp(why, "the peer closed the channel") != 0 &&
	    strncmp(why, "send: ", 6) != 0 && strncmp(why, "receive: ", 9) != 0)
		p_child_kill(c, why);
}

static void
p_netfeed_bad(void *arg, const char *why)
{
	struct parent *p = arg;

	p_child_kill(&p->net, why);
}

static uint64_t
p_durable(void *arg)
{
	struct parent *p = arg;

	return journal_durable_seq(p->j);
}

static const struct msg_spec p_from_engine[] = {
	{ MSG_EP_READY, sizeof(struct msg_ready), sizeof(struct msg_ready), 0 },
	{ MSG_EP_JOURNAL, sizeof(struct msg_jsubmit), sizeof(struct msg_jsubmit), 0 },
	{ MSG_EP_ACTUATE, sizeof(struct msg_actuate), sizeof(struct msg_actuate), 0 },
	{ MSG_EP_INJECT, sizeof(struct msg_inject), sizeof(struct msg_inject), 0 },
	{ MSG_EP_SNAPSHOT, sizeof(struct msg_file_chunk),
	    sizeof(struct msg_file_chunk) + PROTO_CHUNK_MAX, 0 },
	{ MSG_EP_AUDIT, sizeof(struct msg_audit), sizeof(struct msg_audit), 1 },
	{ MSG_EP_OSDP_KEY, sizeof(struct msg_osdp_key), sizeof(struct msg_osdp_key), 0 },
	{ MSG_EP_STOPPED, 0, 0, 0 },
};
static const struct msg_spec p_from_engine_rpc[] = {
	{ MSG_EP_FILE_REQ, sizeof(struct msg_file_req), sizeof(struct msg_file_req), 0 },
};

/* fork + exec of our own binary as ROLE, with the descriptors it needs at
 * fixed numbers and nothing else open. */
static pid_t
p_spawn(struct parent *p, const char *role, const int *fds, int nfds)
{
	char **argv = calloc((size_t)p->o->argc + 3, sizeof(*argv));
	pid_t pid;

	if (argv == NULL)
		return -1;
	argv[0] = p->o->argv[0];
	argv[1] = (char *)"--role";
	argv[2] = (char *)role;
	for (int i = 1; i < p->o->argc; i++)
		argv[i + 2] = p->o->argv[i];
	if ((pid = fork()) == -1) {
		free(argv);
		return -1;
	}
	if (pid == 0) {
		/* dup to high numbers first, so none overwrites another */
		int tmp[3];
		for (int i = 0; i < nfds; i++)
			if ((tmp[i] = fcntl(fds[i], F_DUPFD, 100)) == -1)
				_exit(127);
		for (int i = 0; i < nfds; i++)
			if (dup2(tmp[i], PARENT_FD_CHAN + i) == -1)
				_exit(127);
		closefrom(PARENT_FD_CHAN + nfds);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		/* the image we run, even if an upgrade replaced the file on
		 * disk: parent and children always speak the same messages */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "gatewayd: cannot run %s as %s: %s\n", p->exe,
		    role, strerror(errno));
		_exit(127);
	}
	free(argv);
	return pid;
}

static void
p_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct p_child *c = arg;

	(void)fd;
	(void)what;
	if (!c->p->stopping)
		p_child_start(c->p, c);
}

static void
p_child_start(struct parent *p, struct p_child *c)
{
	int chan[2] = { -1, -1 }, rpc[2] = { -1, -1 };
	int fds[3];
	pid_t pid;

	if (c == &p->engine && journal_durable_seq(p->j) !=
	    journal_last_seq(p->j)) {
		/* the engine replays the journal up to its durable end, and
		 * everything after comes as messages: wait (without blocking:
		 * the journal may be failing, and the fire panel must still be
		 * heard) until what is in flight is on disk */
		struct timeval tv = { 0, 50000 };
		event_add(c->restart, &tv);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) == -1 ||
	    (c == &p->engine && socketpair(AF_UNIX, SOCK_SEQPACKET |
	    SOCK_CLOEXEC, 0, rpc) == -1)) {
		p_log(LOG_ERR, "%s: socketpair: %s", c->role, strerror(errno));
		goto retry;
	}
	fds[0] = chan[1];
	fds[1] = rpc[1];
	fds[2] = p->ctl_fd;
	if ((pid = p_spawn(p, c->role, fds, c == &p->engine ? 3 : 1)) == -1) {
		p_log(LOG_ERR, "%s: fork: %s", c->role, strerror(errno));
		goto retry;
	}
	close(chan[1]);
	if (rpc[1] != -1)
		close(rpc[1]);
	(void)fcntl(chan[0], F_SETFL, O_NONBLOCK);
	c->pid = pid;
	c->gen++;
	c->up = 0;
	c->started_ms = p_mono_ms();
	if (c == &p->engine) {
		struct msg_pe_hello h;
		(void)fcntl(rpc[0], F_SETFL, O_NONBLOCK);
		c->chan = msg_chan_new(p->base, chan[0], p_from_engine,
		    sizeof(p_from_engine) / sizeof(p_from_engine[0]),
		    p_engine_msg, p_chan_err, c);
		c->rpc = msg_chan_new(p->base, rpc[0], p_from_engine_rpc, 1,
		    p_engine_rpc, p_chan_err, c);
		if (c->chan == NULL || c->rpc == NULL) {
			p_child_kill(c, "no channel");
			return;
		}
		memset(&h, 0, sizeof(h));
		h.durable_seq = journal_durable_seq(p->j);
		h.restarts = c->restarts;
		h.clock_offset_us = p->clock_offset_us;
		p_copy(h.why, sizeof(h.why), c->why);
		(void)msg_send(c->chan, MSG_PE_HELLO, &h, sizeof(h), -1);
	} else if (netfeed_attach(p->nf, chan[0]) == -1) {
		close(chan[0]);
		p_child_kill(c, "no channel");
	}
	return;
retry:
	for (int i = 0; i < 2; i++) {
		if (chan[i] != -1)
			close(chan[i]);
		if (rpc[i] != -1)
			close(rpc[i]);
	}
	{
		struct timeval tv = { P_BACKOFF_MAX_MS / 1000, 0 };
		event_add(c->restart, &tv);
	}
}

static void
p_child_died(struct parent *p, struct p_child *c, int st)
{
	int64_t now = p_mono_ms();
	char how[96];
	unsigned recent = 0;

	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "killed by signal %d (%s%s)",
		    WTERMSIG(st), strsignal(WTERMSIG(st)), WTERMSIG(st) ==
		    SIGSYS ? ": its sandbox refused a system call" : "");
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(st));
	c->pid = 0;
	c->up = 0;
	if (c == &p->engine) {
		msg_chan_free(c->chan);
		msg_chan_free(c->rpc);
		c->chan = c->rpc = NULL;
		free(p->snap.buf);
		memset(&p->snap, 0, sizeof(p->snap));
	} else
		netfeed_detach(p->nf);
	if (p->stopping) {
		if (c == &p->engine)
			event_base_loopbreak(p->base);
		return;
	}
	if (c == &p->engine)
		p_gates_rest(p);
	if (now - c->started_ms >= P_STABLE_MS)
		c->backoff_ms = P_BACKOFF_MIN_MS;
	c->fails[c->nfails++ % P_FAILS_ALARM] = now;
	for (unsigned i = 0; i < P_FAILS_ALARM && i < c->nfails; i++)
		if (now - c->fails[i] <= P_FAILS_WINDOW_MS)
			recent++;
	if (c->kill_why[0] != '\0')
		memcpy(c->why, c->kill_why, sizeof(c->why));
	else
		snprintf(c->why, sizeof(c->why), "%s", how);
	c->kill_why[0] = '\0';
	p_log(LOG_ERR, "%s %s; restarting in %u ms%s", c->role, c->why,
	    c->backoff_ms, c == &p->engine ? "; every gate in its fail mode "
	    "meanwhile" : "");
	p_record(p, "restart", "", "%s %s; restarting in %u ms%s", c->role,
	    c->why, c->backoff_ms, c == &p->engine ? "; gates in their fail "
	    "modes meanwhile" : "");
	if (recent >= P_FAILS_ALARM && !c->alarmed) {
		c->alarmed = 1;
		p_record(p, "alarm", "", "process-failing: the %s process died "
		    "%u times within %d s (last: %s)%s", c->role, recent,
		    P_FAILS_WINDOW_MS / 1000, c->why, c == &p->engine ?
		    "; gates stay in their fail modes while it is down" : "");
	} else if (recent < P_FAILS_ALARM)
		c->alarmed = 0;
	c->restarts++;
	{
		struct timeval tv = { c->backoff_ms / 1000,
		    (suseconds_t)(c->backoff_ms % 1000) * 1000 };
		event_add(c->restart, &tv);
	}
	c->backoff_ms = c->backoff_ms * 2 > P_BACKOFF_MAX_MS ?
	    P_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void
p_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct parent *p = arg;
	struct p_child *cs[2] = { &p->engine, &p->net };
	int st;

	(void)sig;
	(void)what;
	/* only ours: the nfc driver reaps its reader processes itself */
	for (int i = 0; i < 2; i++)
		if (cs[i]->pid > 0 && waitpid(cs[i]->pid, &st, WNOHANG) ==
		    cs[i]->pid)
			p_child_died(p, cs[i], st);
}

static void
p_sig_cb(evutil_socket_t sig, short what, void *arg)
{
	struct parent *p = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (p->engine.up)
			(void)msg_send(p->engine.chan, MSG_PE_RELOAD, NULL, 0, -1);
		else
			p_log(LOG_WARNING, "SIGHUP: no engine running to reload");
		return;
	}
	p_log(LOG_NOTICE, "signal %d: stopping", (int)sig);
	p->stopping = 1;
	event_base_loopbreak(p->base);
}

static void
p_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct parent *p = arg;
	struct msg_sync_status m;

	(void)fd;
	(void)what;
	if (!p->engine.up)
		return;
	memset(&m, 0, sizeof(m));
	netfeed_status(p->nf, &m.st);
	(void)msg_send(p->engine.chan, MSG_PE_SYNC, &m, sizeof(m), -1);
}

/* The directory of path, resolved, with a trailing slash. */
static void
p_dir_of(const char *path, char *out, size_t len)
{
	char tmp[PATH_MAX], real[PATH_MAX];

	out[0] = '\0';
	p_copy(tmp, sizeof(tmp), path);
	if (realpath(dirname(tmp), real) != NULL &&
	    strlen(real) + 2 <= len) {
		memcpy(out, real, strlen(real) + 1);
		if (strcmp(real, "/") != 0)
			strcat(out, "/");
	}
}

static int
p_setup(struct parent *p)
{
	char err[1024];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1)) <= 0) {
		fprintf(stderr, "gatewayd: cannot find my own binary: %s\n",
		    strerror(errno));
		return -1;
	}
	p->exe[n] = '\0';
	if ((p->conf = conf_load(p->o->conf_path, stderr, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "gatewayd: %s\n", err);
		return -1;
	}
	p_copy(p->jdir, sizeof(p->jdir), p->o->journal_dir ?
	    p->o->journal_dir : p->conf->journal);
	p_copy(p->sock, sizeof(p->sock), p->o->socket_path ?
	    p->o->socket_path : p->conf->socket);
	p_dir_of(p->conf->policy, p->allow[0], sizeof(p->allow[0]));
	p_dir_of(p->o->conf_path, p->allow[1], sizeof(p->allow[1]));
	snprintf(p->allow[2], sizeof(p->allow[2]), "%s/", ZONEINFO);
	if (!p_debug)
		openlog("gatewayd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);

	/* the evidence first: nothing starts without a journal */
	struct journal_opts jo = { p->conf->segment_bytes,
	    p->conf->retain_bytes, p->conf->retain_days };
	if ((p->j = journal_open(p->jdir, p->conf->id, &jo, err,
	    sizeof(err))) == NULL) {
		p_log(LOG_ERR, "journal %s: %s", p->jdir, err);
		return -1;
	}
	if ((p->base = event_base_new()) == NULL ||
	    (p->commit = commit_new(p->base, p->j)) == NULL) {
		p_log(LOG_ERR, "cannot set up the event loop");
		return -1;
	}
	commit_observe(p->commit, p_observe, p);
	snprintf(err, sizeof(err), "%s/%s", p->jdir, SNAPSHOT_FILE);
	if ((p->snapw = snapshot_writer_new(err)) == NULL) {
		p_log(LOG_ERR, "cannot start the snapshot writer");
		return -1;
	}
	p->jfail_ev = event_new(p->base, -1, EV_PERSIST, p_jfail_cb, p);
	nfc_set_exec("/proc/self/exe");	/* same image, see p_spawn */
	for (size_t i = 0; i < p->conf->nosdp; i++) {
		const struct conf_osdp_bus *ob = &p->conf->osdp[i];
		struct osdp_bus_conf bc;
		memset(&bc, 0, sizeof(bc));
		p_copy(bc.name, sizeof(bc.name), ob->name);
		p_copy(bc.device, sizeof(bc.device), ob->device);
		p_copy(bc.keys, sizeof(bc.keys), ob->keys);
		bc.baud = ob->baud;
		bc.secure = ob->secure;
		bc.poll_ms = ob->poll_ms;
		if (osdp_bus_add(&bc, err, sizeof(err)) == -1) {
			p_log(LOG_ERR, "%s", err);
			return -1;
		}
	}
	p->ngates = p->conf->ngates;
	if ((p->gates = calloc(p->ngates ? p->ngates : 1,
	    sizeof(*p->gates))) == NULL)
		return -1;
	for (size_t i = 0; i < p->ngates; i++) {
		struct p_gate *g = &p->gates[i];
		const struct conf_hw *hw[PROTO_DEV_FIRE];
		static const unsigned kinds[PROTO_DEV_FIRE] = { DRIVER_READER,
		    DRIVER_READER, DRIVER_SENSOR, DRIVER_OUTPUT };
		g->cg = &p->conf->gates[i];
		hw[PROTO_DEV_READER] = &g->cg->reader;
		hw[PROTO_DEV_EXIT_READER] = &g->cg->exit_reader;
		hw[PROTO_DEV_SENSORS] = &g->cg->sensors;
		hw[PROTO_DEV_LOCK] = &g->cg->lock;
		for (uint32_t k = 0; k < PROTO_DEV_FIRE; k++)
			if (p_dev_open(p, &g->dev[k], (uint32_t)i, k, hw[k],
			    kinds[k], g->cg->name) == -1) {
				p_log(LOG_ERR, "gate %s: hardware setup failed",
				    g->cg->name);
				return -1;
			}
	}
	if (p_dev_open(p, &p->fire, 0, PROTO_DEV_FIRE, &p->conf->fire_alarm,
	    DRIVER_INPUT, "input") == -1)
		return -1;
	/* until the engine decides otherwise */
	p_gates_rest(p);
	if ((p->ctl_fd = ctl_bind(p->sock, err, sizeof(err))) == -1) {
		p_log(LOG_ERR, "control socket: %s", err);
		return -1;
	}
	p->engine.p = p->net.p = p;
	p->engine.role = "engine";
	p->net.role = "net";
	p->engine.backoff_ms = p->net.backoff_ms = P_BACKOFF_MIN_MS;
	p->engine.restart = evtimer_new(p->base, p_restart_cb, &p->engine);
	p->net.restart = evtimer_new(p->base, p_restart_cb, &p->net);
	if (p->conf->sync.set) {
		struct timeval sec = { 1, 0 };
		if ((p->nf = netfeed_new(p->base, p->jdir, p_durable, p,
		    p_netfeed_bad, p, err, sizeof(err))) == NULL) {
			p_log(LOG_ERR, "sync: %s", err);
			return -1;
		}
		p->sync_ev = event_new(p->base, -1, EV_PERSIST, p_sync_cb, p);
		event_add(p->sync_ev, &sec);
	}
	p->sigchld = evsignal_new(p->base, SIGCHLD, p_sigchld_cb, p);
	p->sighup = evsignal_new(p->base, SIGHUP, p_sig_cb, p);
	p->sigterm = evsignal_new(p->base, SIGTERM, p_sig_cb, p);
	p->sigint = evsignal_new(p->base, SIGINT, p_sig_cb, p);
	evsignal_add(p->sigchld, NULL);
	evsignal_add(p->sighup, NULL);
	evsignal_add(p->sigterm, NULL);
	evsignal_add(p->sigint, NULL);
	return 0;
}

/* Stop: the engine journals its stop and its last snapshot, then every
 * gate is put where gateway.conf says a gate without its controller
 * belongs; the network process gets a moment to deliver. */
static int
p_stop(struct parent *p)
{
	int rc = 0;

	if (p->engine.up) {
		struct timeval tv = { 10, 0 };
		(void)msg_send(p->engine.chan, MSG_PE_STOP, NULL, 0, -1);
		event_base_loopexit(p->base, &tv);
		event_base_dispatch(p->base);	/* until STOPPED or it died */
		if (!p->engine_stopped)
			p_log(LOG_ERR, "engine did not stop in time");
	}
	if (p->engine.pid > 0) {
		int st;
		struct timeval tv = { 2, 0 };
		/* it exits by itself after STOPPED */
		event_base_loopexit(p->base, &tv);
		for (int i = 0; i < 200 && waitpid(p->engine.pid, &st, WNOHANG) ==
		    0; i++)
			usleep(10000);
		if (waitpid(p->engine.pid, &st, WNOHANG) == 0) {
			kill(p->engine.pid, SIGKILL);
			(void)waitpid(p->engine.pid, &st, 0);
		}
		p->engine.pid = 0;
	}
	if (!p->engine_stopped)
		p_record(p, "stop", "", "gatewayd stopping on signal (engine "
		    "down)");
	p_gates_rest(p);
	if (commit_drain(p->commit) != 0)
		rc = 1;
	if (p->nf != NULL) {
		netfeed_stop(p->nf, 2000);
		if (p->net.pid > 0) {
			int st;
			kill(p->net.pid, SIGKILL);
			(void)waitpid(p->net.pid, &st, 0);
			p->net.pid = 0;
		}
	}
	snapshot_writer_wait(p->snapw);
	{
		uint64_t seq;
		int64_t us;
		char err[256];
		if (snapshot_writer_result(p->snapw, &seq, &us, err,
		    sizeof(err)) && err[0])
			p_log(LOG_WARNING, "state snapshot at seq %llu not "
			    "written: %s", (unsigned long long)seq, err);
	}
	p_log(LOG_NOTICE, "stopped at journal seq %llu; gates left in their "
	    "fail modes", (unsigned long long)journal_durable_seq(p->j));
	return rc;
}

int
parent_main(const struct parent_opts *o)
{
	struct parent *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL)
		return 1;
	p->o = o;
	p_debug = o->debug;
	p->ctl_fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	if (p_setup(p) == -1)
		return 1;
	p_child_start(p, &p->engine);
	if (p->nf != NULL)
		p_child_start(p, &p->net);
	while (!p->stopping)
		if (event_base_dispatch(p->base) == 1 && !p->stopping)
			break;	/* nothing left to watch: cannot happen */
	rc = p_stop(p);

	if (p->nf != NULL)
		netfeed_free(p->nf);
	for (size_t i = 0; i < p->ngates; i++)
		for (int k = 0; k < PROTO_DEV_FIRE; k++)
			p_dev_close(&p->gates[i].dev[k]);
	p_dev_close(&p->fire);
	osdp_bus_close_all();
	msg_chan_free(p->engine.chan);
	msg_chan_free(p->engine.rpc);
	event_free(p->engine.restart);
	event_free(p->net.restart);
	event_free(p->sigchld);
	event_free(p->sighup);
	event_free(p->sigterm);
	event_free(p->sigint);
	event_free(p->jfail_ev);
	if (p->sync_ev != NULL)
		event_free(p->sync_ev);
	snapshot_writer_free(p->snapw);
	free(p->snap.buf);
	commit_free(p->commit);
	journal_close(p->j);
	if (p->ctl_fd != -1)
		close(p->ctl_fd);
	(void)unlink(p->sock);
	event_base_free(p->base);
	conf_free(p->conf);
	free(p->gates);
	free(p);
	return rc;
}
