/*
 * gatewayd.c — the gateway daemon: one libevent loop that turns badge taps
 * and sensor events into decisions, journal records and lock commands.
 *
 * The rule it lives by: the lock opens only in the callback that says the
 * record granting it is durable. A journal failure puts every gate in its
 * configured fail mode and raises an alarm; nothing is actuated without a
 * record. Life safety (the fire-alarm input) is the one exception: it
 * unlocks egress gates at once, and the record follows.
 *
 * Owns: the loop, the drivers' instances, the gates, the policy in force
 * (swapped whole on reload), the guard state, the alarm list.
 * Trusts: gateway.conf and the policy only after they loaded cleanly;
 * driver events only after driver_event_check; control requests only as
 * ctl.c hands them over (parsed and role-checked).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
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
#include "gateway/gate.h"
#include "gateway/journal.h"
#include "gateway/msg.h"
#include "gateway/netproc.h"
#include "gateway/parent.h"
#include "gateway/proto.h"
#include "gateway/sandbox.h"
#include "gateway/policyio.h"
#include "gateway/snapshot.h"
#include "gateway/state.h"
#include "gateway/sync.h"
#include "policy/policy.h"

#define GW_ALARMS_MAX	512
#define GW_WAITS_MAX	256
#define GW_RECENT_S	600	/* longest two-person / escort window kept */
#define GW_EVENTS	32	/* per on_ready call */
#define GW_FLOOD_CHUNK	256
#define GW_FLOOD_WINDOW	8192	/* taps of a flood in flight at once: the
				   parent's channel is not an unbounded queue */
#define GW_SNAP_EVERY	50000	/* durable records between state snapshots */

struct gw;
struct gw_gate;

struct gw_dev {
	struct gw		*gw;
	struct gw_gate		*gg;		/* NULL for site inputs */
	const struct driver	*drv;
	void			*ctx;
	struct event		*ev, *tick;
	unsigned		 kind;
	int			 offline;
};

struct gw_gate {
	struct gw		*gw;
	const struct conf_gate	*cg;
	uint32_t		 pgate;		/* index in the policy in force */
	struct policy_gate_info	 info;
	char			 from[48], to[48];	/* zone names */
	struct gate		*g;
	struct gw_dev		 reader, exit_reader, sensors, lock;
	int			 passage_out;	/* direction the sensor saw */
	unsigned		 unlock_pending;	/* grants the parent will open */
	int			 unlocked_by_parent;	/* it just did */
	char			 lock_text[160];	/* the parent's word on the lock */
};

struct gw_alarm {
	uint64_t	id;
	char		gate[48];
	char		name[32];
	char		detail[160];
	int64_t		at;
	int		active;
	unsigned	count;
};

/* A record sent to the parent, waiting for its fate (in order). */
struct gw_pend {
	struct gw_pend	*next;
	uint64_t	 cookie;
	commit_cb	 cb;
	void		*arg;
};

/* Someone waiting on the control socket for an injected event. */
struct gw_wait {
	uint32_t	tag;
	uint64_t	client;
};

struct gw {
	struct event_base	*base;
	struct gateway_conf	*conf;
	const char		*conf_path;
	char			 journal_dir[CONF_PATH_MAX];
	char			 socket_path[CONF_PATH_MAX];
	struct policy		*pol;
	uint32_t		 mode;
	int64_t			 policy_since;
	struct msg_chan		*pc;		/* to the parent */
	int			 rpc_fd;	/* file requests, blocking */
	struct gw_pend		*pend, *pend_tail;	/* awaiting jdone */
	uint64_t		 next_cookie;
	uint64_t		 npend;
	uint64_t		 durable_seq;	/* last durable record seen */
	uint64_t		 start_seq;	/* replayed up to (hello) */
	uint32_t		 next_file;
	struct state		*st;
	struct ctl_server	*ctl;
	struct gw_gate		*gates;
	size_t			 ngates;
	struct gw_dev		 fire;
	int			 fire_on;
	int			 jfail;
	int64_t			 jfail_since;
	int			 jfail_err;
	uint64_t		 jfail_taps;	/* decisions not acted upon */
	int			 reloading;
	struct gw_alarm		 alarms[GW_ALARMS_MAX];
	size_t			 nalarms;
	uint64_t		 next_alarm;
	struct gw_wait		 waits[GW_WAITS_MAX];
	size_t			 nwaits;
	uint32_t		 next_tag;
	struct event		*sig_hup, *sig_term, *sig_int;
	int			 stopping;
	struct gw_replica	*rep;		/* snapshot source, NULL = none */
	uint64_t		 snap_every;
	struct sync_status	 sync_st;	/* from the network process */
	int			 have_sync;
	struct event		*sync_ev;	/* watches it: log, alarms */
	char			 sync_err[200];
	uint64_t		 sync_lost;
	int			 sync_backlog;	/* alarm raised */
};

static int gw_debug;
/* --sim-clock: a fixed offset for demonstrations and tests with
 * simulated hardware (a match day on any day); said in the start record */
static int64_t gw_clock_offset_us;

static void
gw_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
gw_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (gw_debug) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else
		vsyslog(prio, fmt, ap);
	va_end(ap);
}

static int64_t
gw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 +
	    gw_clock_offset_us;
}

static void
gw_copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* snprintf that truncates quietly: record fields are bounded on purpose */
static void
gw_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
gw_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- lines people read ---- */

static void
gw_time(const struct gw *gw, int64_t us, char *buf, size_t len)
{
	if (gw->pol == NULL || policy_format_time(gw->pol, us / 1000000, buf,
	    len) == 0)
		gw_fmt(buf, len, "@%lld", (long long)(us / 1000000));
}

/* One readable line for `gatectl watch` from a journal record. */
static void
gw_line(const struct gw *gw, const struct journal_record *r, char *buf,
    size_t len)
{
	char t[64], who[192] = "";

	gw_time(gw, r->time_us, t, sizeof(t));
	if (r->cred[0])
		snprintf(who, sizeof(who), " %s%s%s%s", r->cred,
		    r->holder[0] ? " (" : "", r->holder,
		    r->holder[0] ? ")" : "");
	if (strcmp(r->type, "decision") == 0)
		gw_fmt(buf, len, "%s %-14s%s %s: %s%s%s%s", t, r->gate, who,
		    strcmp(r->decision, "grant") == 0 ? "GRANT" : "DENY",
		    r->text, strstr(r->text, r->rule) ? "" : " [",
		    strstr(r->text, r->rule) ? "" : r->rule,
		    strstr(r->text, r->rule) ? "" : "]");
	else if (strcmp(r->type, "passage") == 0)
		gw_fmt(buf, len, "%s %-14s%s passed %s -> %s", t, r->gate,
		    who[0] ? who : " (nobody entitled)", r->zone_from,
		    r->zone_to);
	else
		gw_fmt(buf, len, "%s %-14s %s%s%s%s%s%s%s", t,
		    r->gate[0] ? r->gate : "-",
		    strcmp(r->type, "alarm") == 0 ? "ALARM " : "",
		    strcmp(r->type, "alarm") == 0 ? "" : r->type,
		    strcmp(r->type, "alarm") == 0 ? "" : " ",
		    r->text, who, r->actor[0] ? " by " : "", r->actor);
}

static void
gw_broadcast(struct gw *gw, const struct journal_record *r)
{
	char human[1024], json[4096];

	gw_line(gw, r, human, sizeof(human));
	if (journal_format_json(r, json, sizeof(json)) >= sizeof(json))
		snprintf(json, sizeof(json), "{\"seq\":%llu,\"truncated\":true}",
		    (unsigned long long)r->seq);
	for (size_t n = strlen(json); n > 0 && (json[n - 1] == '\n' ||
	    json[n - 1] == '\r'); n--)
		json[n - 1] = '\0';
	ctl_broadcast(gw->ctl, human, json);
}

/* ---- journal ---- */

static void gw_journal_state(struct gw *, int status);

static void
gw_rec_init(struct gw *gw, struct journal_record *r, const char *type,
    const char *gate)
{
	memset(r, 0, sizeof(*r));
	r->time_us = gw_now_us();
	gw_copy(r->type, sizeof(r->type), type);
	gw_copy(r->gate, sizeof(r->gate), gate);
	if (gw->pol != NULL) {
		gw_copy(r->mode, sizeof(r->mode), policy_mode_name(gw->pol,
		    gw->mode));
		gw_copy(r->policy, sizeof(r->policy), policy_hash(gw->pol));
	}
}

/* A record whose only effect is to be seen: watchers, and fail mode. */
static void
gw_plain_done(void *arg, const struct journal_record *r, int status)
{
	struct gw *gw = arg;

	gw_journal_state(gw, status);
	if (status == 0)
		gw_broadcast(gw, r);
}

/*
 * The journal belongs to the parent: a record goes there, and its fate
 * (durable, or failed) comes back in a jdone, in submission order. The
 * callback then runs exactly as commit_submit's would.
 */
static int
gw_commit_unlock(struct gw *gw, struct journal_record *r, commit_cb cb,
    void *arg, int unlock, size_t gate)
{
	struct msg_jsubmit m;
	struct gw_pend *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->cookie = ++gw->next_cookie;
	p->cb = cb;
	p->arg = arg;
	memset(&m, 0, sizeof(m));
	m.cookie = p->cookie;
	m.unlock = (uint32_t)unlock;
	m.gate = (uint32_t)gate;
	m.rec = *r;
	if (msg_send(gw->pc, MSG_EP_JOURNAL, &m, sizeof(m), -1) == -1) {
		free(p);
		return -1;
	}
	if (gw->pend_tail != NULL)
		gw->pend_tail->next = p;
	else
		gw->pend = p;
	gw->pend_tail = p;
	gw->npend++;
	return 0;
}

static int
gw_commit(struct gw *gw, struct journal_record *r, commit_cb cb, void *arg)
{
	return gw_commit_unlock(gw, r, cb, arg, 0, 0);
}

/* Hardware belongs to the parent too: a command to one of a gate's
 * devices. 0 sent, -1 the parent is unreachable. */
static int
gw_actuate(struct gw *gw, size_t gate, unsigned dev,
    const struct driver_cmd *cmd)
{
	struct msg_actuate m;

	memset(&m, 0, sizeof(m));
	m.gate = (uint32_t)gate;
	m.dev = dev;
	m.cmd = *cmd;
	return msg_send(gw->pc, MSG_EP_ACTUATE, &m, sizeof(m), -1) == -1 ?
	    -1 : 0;
}

static int
gw_submit(struct gw *gw, struct journal_record *r, commit_cb cb, void *arg)
{
	if (gw_commit(gw, r, cb ? cb : gw_plain_done, cb ? arg : gw) == -1) {
		gw_log(LOG_ERR, "journal: cannot submit a %s record", r->type);
		gw_journal_state(gw, -EIO);
		return -1;
	}
	return 0;
}

/* ---- alarms ---- */

/* Alarms about a lasting condition (they clear by themselves), as
 * opposed to events (tailgating, forced, tamper, duress) that only an
 * acknowledgement closes. */
static int
gw_alarm_condition(const char *name)
{
	return strcmp(name, "held-open") == 0 ||
	    strcmp(name, "reader-offline") == 0 ||
	    strcmp(name, "lock-fault") == 0 ||
	    strcmp(name, "journal-failure") == 0 ||
	    strcmp(name, "fire-alarm") == 0 ||
	    strcmp(name, "input-offline") == 0 ||
	    strcmp(name, "sync-backlog") == 0;
}

static struct gw_alarm *
gw_alarm_find(struct gw *gw, const char *gate, const char *name)
{
	for (size_t i = 0; i < gw->nalarms; i++)
		if (strcmp(gw->alarms[i].gate, gate) == 0 &&
		    strcmp(gw->alarms[i].name, name) == 0)
			return &gw->alarms[i];
	return NULL;
}

static void
gw_alarm(struct gw *gw, const char *gate, const char *name, int raised,
    const char *detail)
{
	struct gw_alarm *a = gw_alarm_find(gw, gate, name);
	struct journal_record r;

	if (raised) {
		if (a == NULL && gw->nalarms < GW_ALARMS_MAX) {
			a = &gw->alarms[gw->nalarms++];
			memset(a, 0, sizeof(*a));
			a->id = ++gw->next_alarm;
			gw_copy(a->gate, sizeof(a->gate), gate);
			gw_copy(a->name, sizeof(a->name), name);
		}
		if (a != NULL) {
			a->active = 1;
			a->count++;
			a->at = gw_now_us();
			gw_copy(a->detail, sizeof(a->detail), detail);
		}
		gw_log(LOG_WARNING, "alarm %s at %s: %s", name, gate[0] ? gate :
		    "gateway", detail);
	} else {
		if (a == NULL || !a->active)
			return;
		a->active = 0;
	}
	gw_rec_init(gw, &r, raised ? "alarm" : "alarm-clear", gate);
	gw_fmt(r.text, sizeof(r.text), "%s: %s", name, detail);
	if (raised && strcmp(name, "journal-failure") == 0) {
		/* nowhere durable to say it yet: the log and the watchers;
		 * the clearing record tells the whole story */
		r.time_us = gw_now_us();
		gw_broadcast(gw, &r);
		return;
	}
	gw_submit(gw, &r, NULL, NULL);
}

/* Journal outcome: failure puts every gate in its fail mode, once. */
static void
gw_journal_state(struct gw *gw, int status)
{
	if (status < 0 && !gw->jfail) {
		gw->jfail = 1;
		gw->jfail_since = gw_now_us();
		gw->jfail_err = -status;
		gw->jfail_taps = 0;
		for (size_t i = 0; i < gw->ngates; i++)
			gate_fail(gw->gates[i].g, 1);
		/* the parent retries on its own and says (MSG_PE_JSTATE) once
		 * everything is durable again */
		gw_alarm(gw, "", "journal-failure", 1, strerror(-status));
	} else if (status == 0 && gw->jfail) {
		char t[64], detail[160];
		gw->jfail = 0;
		for (size_t i = 0; i < gw->ngates; i++)
			gate_fail(gw->gates[i].g, 0);
		gw_time(gw, gw->jfail_since, t, sizeof(t));
		/* records kept in memory during the outage were written on
		 * recovery: say that their effects never happened */
		gw_fmt(detail, sizeof(detail), "journal failed at %s (%s); %llu "
		    "decision(s) meanwhile were written late and NOT acted upon",
		    t, strerror(gw->jfail_err),
		    (unsigned long long)gw->jfail_taps);
		gw_alarm(gw, "", "journal-failure", 0, detail);
		gw_log(LOG_NOTICE, "journal writable again: %s", detail);
	}
}

/* ---- waiting clients (sim injections) ---- */

static uint32_t
gw_wait_add(struct gw *gw, struct ctl_client *c)
{
	if (gw->nwaits == GW_WAITS_MAX)
		return 0;
	if (++gw->next_tag == 0)
		gw->next_tag = 1;
	gw->waits[gw->nwaits].tag = gw->next_tag;
	gw->waits[gw->nwaits].client = ctl_client_id(c);
	gw->nwaits++;
	return gw->next_tag;
}

/* The client waiting for tag (and forget the wait), or NULL. */
static struct ctl_client *
gw_wait_take(struct gw *gw, uint32_t tag)
{
	if (tag == 0)
		return NULL;
	for (size_t i = 0; i < gw->nwaits; i++)
		if (gw->waits[i].tag == tag) {
			uint64_t id = gw->waits[i].client;
			gw->waits[i] = gw->waits[--gw->nwaits];
			return ctl_client_find(gw->ctl, id);
		}
	return NULL;
}

/* ---- the tap path ---- */

struct gw_tap {
	struct gw		*gw;
	size_t			 gate;		/* index in gw->gates */
	uint32_t		 tag;
	int			 grant;
	int			 unlock;	/* the parent opens on durability */
	uint32_t		 flags;
	struct gate_credit	 credit;
	struct gw_flood		*flood;
};

struct gw_flood {
	struct gw	*gw;
	size_t		 gate;
	char		 badge[64];
	uint64_t	 client;
	unsigned	 n, submitted, done, failed;
	int64_t		 t0;
	struct event	*ev;
};

static void gw_flood_step(struct gw_flood *);
static int gw_hook_lock(void *, struct gate *, int);

static void
gw_flood_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gw_flood_step(arg);
}

static void
gw_tap_done(void *arg, const struct journal_record *r, int status)
{
	struct gw_tap *t = arg;
	struct gw *gw = t->gw;
	struct gw_gate *gg = &gw->gates[t->gate];
	struct ctl_client *c = gw_wait_take(gw, t->tag);

	gate_deciding(gg->g, -1);
	gg->unlock_pending -= (unsigned)t->unlock;
	if (status != 0)
		t->unlock = 0;	/* not durable: the parent did not open */
	gw_journal_state(gw, status);
	t->credit.seq = r->seq;
	if (t->flood == NULL) {
		/* the person at the gate sees and hears it (LED, buzzer) */
		int exit_ = t->credit.dir == POLICY_OUT &&
		    gg->exit_reader.drv != NULL;
		struct gw_dev *rd = exit_ ? &gg->exit_reader : &gg->reader;
		struct driver_cmd fb = { .type = status == 0 && t->grant ?
		    DRIVER_CMD_GRANT : DRIVER_CMD_DENY };
		if (rd->drv != NULL && rd->drv->actuate != NULL &&
		    rd->drv != &driver_sim)
			gw_actuate(gw, t->gate, exit_ ? PROTO_DEV_EXIT_READER :
			    PROTO_DEV_READER, &fb);
	}
	if (status != 0) {
		gw->jfail_taps++;
		gw_log(LOG_ERR, "tap at %s: journal failed (%s): not actuated",
		    gg->cg->name, strerror(-status));
		if (c != NULL)
			ctl_err(c, "EIO", "journal failed (%s): decision not "
			    "recorded, gate %s stays in its fail mode",
			    strerror(-status), gg->cg->name);
	} else {
		/* durable: only now may the lock open (and if asked, the
		 * parent has just opened it, before telling us) */
		int opened;

		gg->unlocked_by_parent = t->unlock;
		opened = t->grant ? gate_grant(gg->g, &t->credit) : -1;
		if (gg->unlocked_by_parent) {
			/* the gate did not want it open after all (fail-locked,
			 * or held some other way): say where it stands */
			gg->unlocked_by_parent = 0;
			if (!gate_unlocked(gg->g))
				(void)gw_hook_lock(gg, gg->g, 0);
		}

		gw_broadcast(gw, r);
		if (t->flags & POLICY_F_SILENT_ALARM)
			gw_alarm(gw, gg->cg->name, "duress", 1, r->cred);
		if (t->flags & POLICY_F_ALARM_APB)
			gw_alarm(gw, gg->cg->name, "apb-soft", 1, r->cred);
		if (t->flags & POLICY_F_ALARM_CAPACITY)
			gw_alarm(gw, gg->cg->name, "capacity-soft", 1, r->zone_to);
		if (c != NULL) {
			char line[1024];
			gw_line(gw, r, line, sizeof(line));
			ctl_data(c, "%s", line);
			ctl_ok(c, "%s %s seq=%llu%s", r->decision, r->reason,
			    (unsigned long long)r->seq,
			    t->grant && opened == -1 ? " (gate fail-locked)" :
			    t->grant ? " unlocked" : "");
		}
	}
	if (t->flood != NULL) {
		struct gw_flood *f = t->flood;
		f->done++;
		if (status != 0)
			f->failed++;
		if (f->done == f->n)
			gw_flood_step(f);
		else if (f->submitted < f->n &&
		    f->submitted - f->done == GW_FLOOD_WINDOW / 2)
			event_active(f->ev, 0, 0);	/* room for more */
	}
	free(t);
}

/* Decide one tap with the policy in force and journal it; the door opens
 * in gw_tap_done. The whole decision happens here, on the loop thread, so
 * a reload can never split it between two versions. */
static void
gw_tap(struct gw *gw, size_t gi, const struct driver_event *ev,
    struct gw_flood *flood)
{
	struct gw_gate *gg = &gw->gates[gi];
	struct policy_recent recent[16];
	struct policy_request rq;
	struct policy_decision d;
	struct state_view view = { gw->st, gw->pol };
	struct journal_record r;
	struct gw_tap *t;
	char id[2 * DRIVER_ID_MAX + 1], pin[DRIVER_PIN_MAX + 1];
	const char *holder;
	int64_t now = (ev->time_us ? ev->time_us : gw_now_us()) / 1000000;

	if (driver_event_id(ev, id, sizeof(id)) == -1)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.gate = gg->pgate;
	rq.dir = ev->reader ? POLICY_OUT : POLICY_IN;
	rq.cred = policy_cred_find(gw->pol, id);
	rq.cls = ev->cls == 2 ? POLICY_CLASS_FAILED : ev->cls ?
	    POLICY_CLASS_SECURE : POLICY_CLASS_LEGACY;
	rq.issue = ev->issue;
	rq.now = now;
	rq.mode = gw->mode;
	if (ev->pin_len > 0) {
		memcpy(pin, ev->pin, ev->pin_len);
		pin[ev->pin_len] = '\0';
		rq.pin = pin;
	}
	rq.nrecent = state_recent(gw->st, gw->pol, gg->cg->name, now,
	    GW_RECENT_S, recent, 16);
	rq.recent = recent;
	policy_decide(gw->pol, &rq, &state_ops, &view, &d);

	gw_rec_init(gw, &r, "decision", gg->cg->name);
	r.time_us = ev->time_us ? ev->time_us : gw_now_us();
	gw_copy(r.zone_from, sizeof(r.zone_from), rq.dir == POLICY_IN ?
	    gg->from : gg->to);
	gw_copy(r.zone_to, sizeof(r.zone_to), rq.dir == POLICY_IN ?
	    gg->to : gg->from);
	gw_copy(r.cred, sizeof(r.cred), id);
	holder = rq.cred != POLICY_NONE ? policy_cred_holder(gw->pol, rq.cred) :
	    "";
	gw_copy(r.holder, sizeof(r.holder), holder);
	gw_copy(r.decision, sizeof(r.decision), d.effect == POLICY_GRANT ?
	    "grant" : "deny");
	gw_copy(r.reason, sizeof(r.reason), policy_reason_code(d.reason));
	policy_decision_where(&d, r.rule, sizeof(r.rule));
	policy_explain(gw->pol, &rq, &d, r.text, sizeof(r.text));
	r.flags = d.flags;

	/* the next tap here must see this one (two-person, escort) */
	state_recent_add(gw->st, gg->cg->name, id, now,
	    d.effect == POLICY_GRANT || (d.flags & POLICY_F_PENDING) ?
	    POLICY_RECENT_AUTHORISED : 0);

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		gw_log(LOG_ERR, "out of memory deciding a tap");
		return;
	}
	t->gw = gw;
	t->gate = gi;
	t->tag = ev->tag;
	t->grant = d.effect == POLICY_GRANT;
	t->flags = d.flags;
	t->flood = flood;
	t->credit.kind = GATE_CREDIT_GRANT;
	t->credit.dir = (uint8_t)rq.dir;
	gw_copy(t->credit.cred, sizeof(t->credit.cred), id);
	gw_copy(t->credit.holder, sizeof(t->credit.holder), holder);
	/* the usual case, a grant at a locked gate that works: the parent
	 * opens the lock as soon as the record is durable, one message
	 * sooner than our answer would; we then only follow (gw_hook_lock) */
	t->unlock = t->grant && !gw->jfail && !gate_failed(gg->g) &&
	    !gate_unlocked(gg->g) && gg->unlock_pending == 0 &&
	    gg->lock.drv != NULL;
	gg->unlock_pending += (unsigned)t->unlock;
	gate_deciding(gg->g, 1);
	if (gw_commit_unlock(gw, &r, gw_tap_done, t, t->unlock, gi) == -1) {
		gg->unlock_pending -= (unsigned)t->unlock;
		struct ctl_client *c = gw_wait_take(gw, t->tag);
		gate_deciding(gg->g, -1);
		gw_journal_state(gw, -EIO);
		if (c != NULL)
			ctl_err(c, "EIO", "journal refused the record: gate "
			    "stays in its fail mode");
		if (flood != NULL) {
			flood->done++;
			flood->failed++;
			if (flood->done == flood->n)	/* answer from the loop */
				event_active(flood->ev, 0, 0);
		}
		free(t);
		return;
	}
}

/* ---- gate hooks ---- */

static int
gw_hook_lock(void *ctx, struct gate *g, int unlocked)
{
	struct gw_gate *gg = ctx;
	struct driver_cmd cmd = { .type = unlocked ? DRIVER_CMD_UNLOCK :
	    DRIVER_CMD_LOCK };

	(void)g;
	if (gg->lock.drv == NULL)
		return -1;
	if (unlocked && gg->unlocked_by_parent) {
		gg->unlocked_by_parent = 0;	/* already done, on durability */
		return 0;
	}
	/* the parent drives the lock; a refusal comes back as actfail */
	return gw_actuate(gg->gw, (size_t)(gg - gg->gw->gates),
	    PROTO_DEV_LOCK, &cmd);
}

static void
gw_hook_alarm(void *ctx, struct gate *g, enum gate_alarm a, int raised,
    const char *detail)
{
	struct gw_gate *gg = ctx;

	(void)g;
	gw_alarm(gg->gw, gg->cg->name, gate_alarm_name(a), raised, detail);
}

static void
gw_hook_passage(void *ctx, struct gate *g, const struct gate_credit *c)
{
	struct gw_gate *gg = ctx;
	struct gw *gw = gg->gw;
	struct journal_record r;
	int out = c != NULL ? c->dir == POLICY_OUT : gg->passage_out;

	(void)g;
	gw_rec_init(gw, &r, "passage", gg->cg->name);
	gw_copy(r.zone_from, sizeof(r.zone_from), out ? gg->to : gg->from);
	gw_copy(r.zone_to, sizeof(r.zone_to), out ? gg->from : gg->to);
	if (c != NULL && c->kind == GATE_CREDIT_GRANT) {
		gw_copy(r.cred, sizeof(r.cred), c->cred);
		gw_copy(r.holder, sizeof(r.holder), c->holder);
		gw_fmt(r.text, sizeof(r.text), "passage on grant seq %llu",
		    (unsigned long long)c->seq);
		/* the guards see it at once: the person is through */
		state_passage(gw->st, gw->pol, c->cred, c->holder, r.zone_from,
		    r.zone_to, r.time_us / 1000000);
	} else if (c != NULL)
		gw_fmt(r.text, sizeof(r.text), "%s",
		    c->kind == GATE_CREDIT_REX ? "request-to-exit" : "manual opening");
	else
		gw_fmt(r.text, sizeof(r.text), "passage with no grant");
	gw_submit(gw, &r, NULL, NULL);
}

/* ---- devices ---- */

static void
gw_sensor_name(enum driver_sensor s, char *buf, size_t len)
{
	static const char *const n[] = { "?", "door-open", "door-closed",
	    "passage", "rex", "tamper" };

	gw_copy(buf, len, (unsigned)s <= DRIVER_TAMPER ? n[s] : "?");
}

static void gw_fire(struct gw *, int on);

/* Events of one device, as the parent read them from its driver (failed:
 * the driver stopped working; the events are then unused). */
static void
gw_dev_event(struct gw_dev *dv, int failed, const struct driver_event *evs,
    int n)
{
	struct gw *gw = dv->gw;

	if (failed) {
		if (!dv->offline) {
			dv->offline = 1;
			if (dv->gg != NULL)
				gate_offline(dv->gg->g, 1);
			else
				gw_alarm(gw, "", "input-offline", 1, dv->drv->name);
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct driver_event *ev = &evs[i];
		struct ctl_client *c;
		char sn[16];

		if (driver_event_check(ev) == -1) {
			gw_log(LOG_WARNING, "driver %s: malformed event dropped",
			    dv->drv->name);
			if ((c = gw_wait_take(gw, ev->tag)) != NULL)
				ctl_err(c, "EINVAL", "malformed event dropped");
			continue;
		}
		switch (ev->type) {
		case DRIVER_EV_TAP:
			if (dv->gg != NULL) {
				/* the conf says which side a reader is on */
				struct driver_event tap = *ev;
				if (dv == &dv->gg->exit_reader)
					tap.reader = 1;
				gw_tap(gw, (size_t)(dv->gg - gw->gates), &tap,
				    NULL);
			}
			break;
		case DRIVER_EV_ALARM: {
			/* the device is refused or attacked (osdp) */
			char an[32];
			memcpy(an, ev->id, ev->id_len);
			an[ev->id_len] = '\0';
			gw_alarm(gw, dv->gg ? dv->gg->cg->name : "", an,
			    ev->value, ev->text);
			break;
		}
		case DRIVER_EV_SENSOR:
			if (dv->gg != NULL) {
				/* a directional beam says which way (reader 1:
				 * outwards); the grant says it when there is one */
				dv->gg->passage_out = ev->reader == 1;
				gate_sensor(dv->gg->g, ev->sensor);
			}
			if ((c = gw_wait_take(gw, ev->tag)) != NULL) {
				gw_sensor_name(ev->sensor, sn, sizeof(sn));
				ctl_ok(c, "%s %s: gate %s", dv->gg ?
				    dv->gg->cg->name : "-", sn, dv->gg ?
				    gate_state_name(gate_state(dv->gg->g)) : "");
			}
			break;
		case DRIVER_EV_INPUT:
			if (ev->input == DRIVER_IN_FIRE_ALARM)
				gw_fire(gw, ev->value);
			if ((c = gw_wait_take(gw, ev->tag)) != NULL)
				ctl_ok(c, "fire-alarm %s", ev->value ? "on" : "off");
			break;
		case DRIVER_EV_OFFLINE:
		case DRIVER_EV_ONLINE:
			if (dv->gg != NULL)
				gate_offline(dv->gg->g,
				    ev->type == DRIVER_EV_OFFLINE);
			if ((c = gw_wait_take(gw, ev->tag)) != NULL)
				ctl_ok(c, "reader %s", ev->type ==
				    DRIVER_EV_OFFLINE ? "offline" : "online");
			break;
		case DRIVER_EV_NOTICE:
			/* the driver says it once; the log says whose it is */
			gw_log(LOG_NOTICE, "%s %s: %s", dv->gg ?
			    dv->gg->cg->name : "input", dv->drv->name,
			    ev->text);
			if ((c = gw_wait_take(gw, ev->tag)) != NULL) {
				struct journal_record dr;
				/* a request's outcome is evidence too */
				gw_rec_init(gw, &dr, "device", dv->gg ?
				    dv->gg->cg->name : "");
				gw_copy(dr.actor, sizeof(dr.actor),
				    ctl_client_actor(c));
				gw_fmt(dr.text, sizeof(dr.text), "%s", ev->text);
				gw_submit(gw, &dr, NULL, NULL);
				if (ev->value)
					ctl_err(c, "EIO", "%s", ev->text);
				else
					ctl_ok(c, "%s", ev->text);
			}
			break;
		}
	}
}

/* The engine's picture of a device: which driver the parent runs for it
 * (what it can do: simulated injection, feedback), never the device. */
static int
gw_dev_open(struct gw *gw, struct gw_gate *gg, struct gw_dev *dv,
    const struct conf_hw *hw, unsigned kind)
{
	memset(dv, 0, sizeof(*dv));
	dv->gw = gw;
	dv->gg = gg;
	dv->kind = kind;
	if (!hw->set)
		return 0;
	dv->drv = driver_find(hw->driver);	/* checked by conf_parse */
	return dv->drv != NULL ? 0 : -1;
}

/* ---- policy-dependent gate setup ---- */

static void
gw_gate_bind(struct gw *gw, struct gw_gate *gg)
{
	struct gate_params p;

	gg->pgate = policy_gate_find(gw->pol, gg->cg->policy_gate);
	policy_gate_info(gw->pol, gg->pgate, &gg->info);
	gw_copy(gg->from, sizeof(gg->from), policy_zone_name(gw->pol,
	    gg->info.from));
	gw_copy(gg->to, sizeof(gg->to), policy_zone_name(gw->pol,
	    gg->info.to));
	memset(&p, 0, sizeof(p));
	p.unlock_ms = gg->info.unlock_s * 1000;
	p.held_open_ms = gg->info.held_open_s * 1000;
	p.fail_safe = gg->cg->fail == CONF_FAIL_SAFE;
	/* the way out of the venue, or marked as an escape route */
	p.egress = gg->info.egress_free || gg->info.from == 0 ||
	    gg->info.to == 0;
	if (gg->g != NULL)
		gate_set_params(gg->g, &p);
	else {
		struct gate_hooks h = { .ctx = gg, .lock = gw_hook_lock,
		    .alarm = gw_hook_alarm, .passage = gw_hook_passage };
		gg->g = gate_new(gw->base, gg->cg->name, &p, &h);
	}
}

/* Hardware follows the mode in force: held unlocked where it says so. */
static void
gw_mode_apply(struct gw *gw)
{
	for (size_t i = 0; i < gw->ngates; i++) {
		struct gw_gate *gg = &gw->gates[i];
		unsigned bits = policy_mode_gate(gw->pol, gw->mode, gg->pgate);
		gate_hold(gg->g, GATE_HOLD_MODE, (bits & (POLICY_GATE_UNLOCK_ENTRY |
		    POLICY_GATE_UNLOCK_EXIT)) != 0);
	}
}

static void
gw_fire(struct gw *gw, int on)
{
	on = on != 0;
	if (on == gw->fire_on)
		return;
	gw->fire_on = on;
	/* life safety first: unlock now, the record follows */
	for (size_t i = 0; i < gw->ngates; i++) {
		struct gw_gate *gg = &gw->gates[i];
		if (gg->info.egress_free || gg->info.from == 0 || gg->info.to == 0)
			gate_hold(gg->g, GATE_HOLD_FIRE, on);
	}
	gw_alarm(gw, "", "fire-alarm", on, on ? "fire-alarm input on: egress "
	    "gates unlocked" : "fire-alarm input off: egress gates relocked");
}

/*
 * Check a policy against gateway.conf: every gate maps to a policy gate.
 * Problems become diagnostics at the conf's position.
 */
static void
gw_check_mapping(const struct gateway_conf *conf, const struct policy *pol,
    struct policy_diags *d)
{
	size_t ng = policy_count(pol, POLICY_COUNT_GATES);
	const char **names = calloc(ng + 1, sizeof(*names));

	for (size_t i = 0; i < ng && names != NULL; i++)
		names[i] = policy_gate_name(pol, (uint32_t)i);
	for (size_t i = 0; i < conf->ngates; i++) {
		const struct conf_gate *g = &conf->gates[i];
		const char *s;

		if (policy_gate_find(pol, g->policy_gate) != POLICY_NONE)
			continue;
		s = names ? policy_suggest(g->policy_gate, names, ng) : NULL;
		policy_diag_add(d, POLICY_ERROR, "C010", conf->file,
		    g->policy_loc.line, g->policy_loc.col, NULL,
		    "gate %s: the policy has no gate '%s'%s%s%s", g->name,
		    g->policy_gate, s ? "; did you mean '" : "", s ? s : "",
		    s ? "'?" : "");
	}
	free(names);
}

struct gw_testrun {
	FILE		*out;
	size_t		 failed;
	char		 first[512];
	const struct policy *pol;
};

static void
gw_test_cb(void *ctx, const struct policy_test_result *tr)
{
	struct gw_testrun *t = ctx;
	char where[128];

	if (tr->passed)
		return;
	policy_decision_where(&tr->got, where, sizeof(where));
	if (t->failed++ == 0)
		gw_fmt(t->first, sizeof(t->first), "%s:%u: test \"%s\" failed: "
		    "got %s %s (%s)", tr->file, tr->line, tr->name,
		    tr->got.effect == POLICY_GRANT ? "grant" : "deny",
		    policy_reason_code(tr->got.reason), where);
	if (t->out != NULL)
		fprintf(t->out, "%s:%u: error[T001]: test \"%s\" failed: expected "
		    "%s%s%s, got %s %s (decided by %s)\n", tr->file, tr->line,
		    tr->name, tr->want_effect == POLICY_GRANT ? "grant" : "deny",
		    tr->want_reason >= 0 ? " " : "", tr->want_reason >= 0 ?
		    policy_reason_code((enum policy_reason)tr->want_reason) : "",
		    tr->got.effect == POLICY_GRANT ? "grant" : "deny",
		    policy_reason_code(tr->got.reason), where);
}

/* Load, check and test a policy for this conf; NULL with why in err (and
 * every diagnostic to out if given). */
static struct policy *
gw_policy_load(const struct gateway_conf *conf, FILE *out, char *err,
    size_t errlen, size_t *ntests)
{
	struct policy_diags d;
	struct policy *pol;
	struct gw_testrun tr;

	memset(&d, 0, sizeof(d));
	pol = policyio_load(conf->policy, &d);
	if (pol != NULL)
		gw_check_mapping(conf, pol, &d);
	if (out != NULL)
		policyio_print_diags(out, &d);
	if (pol == NULL || d.errors > 0) {
		char first[1024] = "";
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].sev == POLICY_ERROR) {
				policy_diag_render(&d.v[i], first, sizeof(first));
				first[strcspn(first, "\n")] = '\0';
				break;
			}
		gw_fmt(err, errlen, "%zu error(s); first: %s", d.errors, first);
		policy_diags_free(&d);
		policy_free(pol);
		return NULL;
	}
	policy_diags_free(&d);
	memset(&tr, 0, sizeof(tr));
	tr.out = out;
	tr.pol = pol;
	if (policy_run_tests(pol, gw_test_cb, &tr) > 0 || tr.failed > 0) {
		gw_fmt(err, errlen, "%zu policy test(s) failed; first: %s",
		    tr.failed, tr.first);
		policy_free(pol);
		return NULL;
	}
	if (ntests != NULL)
		*ntests = policy_count(pol, POLICY_COUNT_TESTS);
	return pol;
}

/* ---- reload ---- */

struct gw_reload {
	struct gw	*gw;
	struct policy	*pol, *old;
	uint32_t	 mode, old_mode;
	uint64_t	 client;
	char		*diff;
};

static void
gw_reload_done(void *arg, const struct journal_record *r, int status)
{
	struct gw_reload *rl = arg;
	struct gw *gw = rl->gw;
	struct ctl_client *c = rl->client ? ctl_client_find(gw->ctl,
	    rl->client) : NULL;

	gw->reloading = 0;
	gw_journal_state(gw, status);
	if (status != 0) {
		/* back to the old version: nothing decided by the new one can
		 * have become durable, since it was journaled after this */
		gw->pol = rl->old;
		gw->mode = rl->old_mode;
		for (size_t i = 0; i < gw->ngates; i++)
			gw_gate_bind(gw, &gw->gates[i]);
		gw_mode_apply(gw);
		gw_log(LOG_ERR, "reload not recorded (%s): back to policy %.12s",
		    strerror(-status), policy_hash(gw->pol));
		if (c != NULL)
			ctl_err(c, "EIO", "reload could not be journaled (%s); "
			    "policy %.12s stays in force", strerror(-status),
			    policy_hash(gw->pol));
		policy_free(rl->pol);
	} else {
		policy_free(rl->old);
		gw_broadcast(gw, r);
		gw_log(LOG_NOTICE, "reload accepted: policy %.12s", r->policy);
		if (c != NULL) {
			char *p = rl->diff, *nl;
			while (p != NULL && *p) {
				nl = strchr(p, '\n');
				if (nl)
					*nl = '\0';
				ctl_data(c, "%s", p);
				p = nl ? nl + 1 : NULL;
			}
			ctl_ok(c, "%s", r->text);
		}
	}
	free(rl->diff);
	free(rl);
}

/* Load, check, test; journal and swap only if all passed. Returns 0 if
 * a swap is under way (reply follows), -1 with why. */
static int
gw_reload(struct gw *gw, struct ctl_client *c, const char *actor, char *err,
    size_t errlen)
{
	struct gw_reload *rl;
	struct journal_record r;
	struct policy *pol;
	const char *mname;
	char summary[160];
	size_t ntests = 0;

	if (gw->reloading) {
		gw_fmt(err, errlen, "a reload is already under way");
		return -1;
	}
	if ((pol = gw_policy_load(gw->conf, NULL, err, errlen, &ntests)) ==
	    NULL)
		return -1;
	mname = policy_mode_name(gw->pol, gw->mode);
	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		policy_free(pol);
		gw_fmt(err, errlen, "out of memory");
		return -1;
	}
	rl->gw = gw;
	rl->pol = pol;
	rl->mode = policy_mode_find(pol, mname);
	if (rl->mode == POLICY_NONE) {
		/* the mode in force is gone: it would silently change */
		gw_fmt(err, errlen, "the new policy has no mode '%s', which is "
		    "in force; switch mode first", mname);
		policy_free(pol);
		free(rl);
		return -1;
	}
	rl->client = c ? ctl_client_id(c) : 0;
	rl->diff = policy_diff(gw->pol, pol);
	policyio_summary(pol, summary, sizeof(summary));
	gw_rec_init(gw, &r, "reload", "");
	gw_copy(r.policy, sizeof(r.policy), policy_hash(pol));
	gw_copy(r.actor, sizeof(r.actor), actor);
	gw_fmt(r.text, sizeof(r.text), "accepted policy %.12s (was %.12s): "
	    "%s; %zu tests passed", policy_hash(pol), policy_hash(gw->pol),
	    summary, ntests);
	gw->reloading = 1;
	if (gw_commit(gw, &r, gw_reload_done, rl) == -1) {
		gw->reloading = 0;
		free(rl->diff);
		free(rl);
		policy_free(pol);
		gw_fmt(err, errlen, "journal refused the reload record");
		return -1;
	}
	/*
	 * The swap, now, between two taps: every decision journaled after
	 * the reload record is the new version's, every one before it the
	 * old one's. A decision opens a door only once durable, and records
	 * become durable in order, so nothing the new version decides takes
	 * effect before the reload record is on disk.
	 */
	rl->old = gw->pol;
	rl->old_mode = gw->mode;
	gw->pol = pol;
	gw->mode = rl->mode;
	gw->policy_since = gw_now_us();
	for (size_t i = 0; i < gw->ngates; i++)
		gw_gate_bind(gw, &gw->gates[i]);
	gw_mode_apply(gw);
	return 0;
}

/* ---- control commands ---- */

static struct gw_gate *
gw_gate_by_name(struct gw *gw, const char *name)
{
	for (size_t i = 0; i < gw->ngates; i++)
		if (strcmp(gw->gates[i].cg->name, name) == 0)
			return &gw->gates[i];
	return NULL;
}

static void
gw_no_gate(struct gw *gw, struct ctl_client *c, const char *name)
{
	const char *names[256];
	size_t n = 0;
	const char *s;

	for (size_t i = 0; i < gw->ngates && n < 256; i++)
		names[n++] = gw->gates[i].cg->name;
	s = policy_suggest(name, names, n);
	ctl_err(c, "ENOENT", "no gate '%.48s'%s%s%s", name,
	    s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
}

/* "--reason TEXT" among argv[from..]; NULL if absent. */
static const char *
gw_opt(const struct ctl_request *rq, int from, const char *name)
{
	for (int i = from; i + 1 < rq->argc; i++)
		if (strcmp(rq->argv[i], name) == 0)
			return rq->argv[i + 1];
	return NULL;
}

static int
gw_flag(const struct ctl_request *rq, int from, const char *name)
{
	for (int i = from; i < rq->argc; i++)
		if (strcmp(rq->argv[i], name) == 0)
			return 1;
	return 0;
}

static size_t
gw_json_str(char *buf, size_t len, const char *s)
{
	size_t o = 0;

#define PUT(ch) do { if (o + 1 < len) buf[o] = (ch); o++; } while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT((char)ch);
		} else if (ch < 0x20) {
			char u[8];
			snprintf(u, sizeof(u), "\\u%04x", ch);
			for (char *p = u; *p; p++)
				PUT(*p);
		} else
			PUT((char)ch);
	}
	PUT('"');
#undef PUT
	if (len > 0)
		buf[o < len ? o : len - 1] = '\0';
	return o;
}

/* ---- central sync: watched once a second from the loop ---- */

static void
gw_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw *gw = arg;
	struct sync_status st;
	uint64_t limit = gw->conf->sync.backlog_alarm ?
	    gw->conf->sync.backlog_alarm : 10000;
	char d[256];

	(void)fd;
	(void)what;
	if (!gw->have_sync)
		return;
	st = gw->sync_st;
	if (strcmp(st.error, gw->sync_err) != 0) {
		gw_copy(gw->sync_err, sizeof(gw->sync_err), st.error);
		if (st.error[0])
			gw_log(LOG_WARNING, "sync %s: %s", st.server, st.error);
	}
	if (!gw->sync_backlog && st.backlog >= limit) {
		gw->sync_backlog = 1;
		gw_fmt(d, sizeof(d), "%llu records not yet at %s (alarm at "
		    "%llu)%s%s", (unsigned long long)st.backlog, st.server,
		    (unsigned long long)limit, st.error[0] ? ": " : "", st.error);
		gw_alarm(gw, "", "sync-backlog", 1, d);
	} else if (gw->sync_backlog && st.backlog < limit / 2) {
		gw->sync_backlog = 0;
		gw_fmt(d, sizeof(d), "backlog down to %llu",
		    (unsigned long long)st.backlog);
		gw_alarm(gw, "", "sync-backlog", 0, d);
	}
	if (st.lost > gw->sync_lost) {
		gw_fmt(d, sizeof(d), "%llu records deleted by retention before "
		    "they reached %s", (unsigned long long)(st.lost -
		    gw->sync_lost), st.server);
		gw->sync_lost = st.lost;
		gw_alarm(gw, "", "sync-loss", 1, d);
	}
}

/* What the network process last said (through the parent). */
static void
gw_sync_get(struct gw *gw, struct sync_status *st)
{
	if (gw->have_sync) {
		*st = gw->sync_st;
		return;
	}
	memset(st, 0, sizeof(*st));
	gw_copy(st->phase, sizeof(st->phase), "starting");
	gw_copy(st->server, sizeof(st->server), gw->conf->sync.server);
}

static void
gw_sync_status_text(struct gw *gw, struct ctl_client *c)
{
	struct sync_status st;
	char t[64];

	if (!gw->conf->sync.set) {
		ctl_data(c, "sync: not configured");
		return;
	}
	gw_sync_get(gw, &st);
	ctl_data(c, "sync %s: %s, acked seq %llu, backlog %llu, in flight "
	    "%llu, %llu sent since start", st.server, st.connected ?
	    "connected" : st.phase, (unsigned long long)st.acked,
	    (unsigned long long)st.backlog, (unsigned long long)st.inflight,
	    (unsigned long long)st.acked_total);
	if (st.error[0]) {
		gw_time(gw, st.error_us, t, sizeof(t));
		ctl_data(c, "  last error (%s): %s", t, st.error);
	}
}

static void
gw_sync_status_json(struct gw *gw, struct ctl_client *c)
{
	struct sync_status st;
	char srv[400], e[420];

	if (!gw->conf->sync.set) {
		ctl_data(c, ",\"sync\":null");
		return;
	}
	gw_sync_get(gw, &st);
	gw_json_str(srv, sizeof(srv), st.server);
	gw_json_str(e, sizeof(e), st.error);
	ctl_data(c, ",\"sync\":{\"server\":%s,\"connected\":%s,\"phase\":"
	    "\"%s\",\"acked\":%llu,\"durable\":%llu,\"backlog\":%llu,"
	    "\"inflight\":%llu,\"sent\":%llu,\"lost\":%llu,\"error\":%s}",
	    srv, st.connected ? "true" : "false", st.phase,
	    (unsigned long long)st.acked, (unsigned long long)st.durable,
	    (unsigned long long)st.backlog, (unsigned long long)st.inflight,
	    (unsigned long long)st.acked_total, (unsigned long long)st.lost, e);
}

static void
gw_cmd_status(struct gw *gw, struct ctl_client *c, int json)
{
	struct state_zone_count *zs;
	size_t nz = state_zones(gw->st, &zs);
	char t[64], a[200], b[200], dev[160];

	if (!json) {
		gw_time(gw, gw->policy_since, t, sizeof(t));
		ctl_data(c, "gateway %s  venue \"%s\"  mode %s%s%s", gw->conf->id,
		    policy_venue(gw->pol), policy_mode_name(gw->pol, gw->mode),
		    gw->fire_on ? "  FIRE ALARM" : "",
		    gw->jfail ? "  JOURNAL FAILED (fail mode)" : "");
		ctl_data(c, "policy %.16s (since %s)", policy_hash(gw->pol), t);
		ctl_data(c, "journal seq %llu (durable %llu) in %s",
		    (unsigned long long)(gw->durable_seq + gw->npend),
		    (unsigned long long)gw->durable_seq, gw->journal_dir);
		gw_sync_status_text(gw, c);
		ctl_data(c, "gates:");
		for (size_t i = 0; i < gw->ngates; i++) {
			struct gw_gate *gg = &gw->gates[i];
			/* the device is the parent's: what it last said */
			gw_copy(dev, sizeof(dev), gg->lock_text[0] ?
			    gg->lock_text : gg->lock.drv ? gg->lock.drv->name :
			    "no lock");
			ctl_data(c, "  %-16s %-13s door %-6s %s -> %s  fail-%s  [%s]",
			    gg->cg->name, gate_state_name(gate_state(gg->g)),
			    gate_door_open(gg->g) ? "open" : "closed", gg->from,
			    gg->to, gg->cg->fail == CONF_FAIL_SAFE ? "safe" :
			    "secure", dev);
		}
		ctl_data(c, "occupancy:");
		if (nz == 0)
			ctl_data(c, "  (nobody inside)");
		for (size_t i = 0; i < nz; i++) {
			uint32_t zi = policy_zone_find(gw->pol, zs[i].zone);
			uint32_t cap = zi != POLICY_NONE ?
			    policy_zone_capacity(gw->pol, zi) : 0;
			if (cap)
				ctl_data(c, "  %-16s %lld / %u", zs[i].zone,
				    (long long)zs[i].count, cap);
			else
				ctl_data(c, "  %-16s %lld", zs[i].zone,
				    (long long)zs[i].count);
		}
		ctl_data(c, "alarms:");
		if (gw->nalarms == 0)
			ctl_data(c, "  (none)");
		for (size_t i = 0; i < gw->nalarms; i++) {
			struct gw_alarm *al = &gw->alarms[i];
			gw_time(gw, al->at, t, sizeof(t));
			ctl_data(c, "  #%llu %s/%s %s x%u at %s: %s",
			    (unsigned long long)al->id, al->gate[0] ? al->gate :
			    "gateway", al->name, al->active ? "ACTIVE" :
			    "cleared, not acknowledged", al->count, t, al->detail);
		}
		ctl_ok(c, "%zu gates, %zu alarms", gw->ngates, gw->nalarms);
		free(zs);
		return;
	}
	/* JSON: one object, split across data lines only at safe points */
	gw_json_str(a, sizeof(a), gw->conf->id);
	gw_json_str(b, sizeof(b), policy_venue(gw->pol));
	ctl_data(c, "{\"gateway\":%s,\"venue\":%s,\"mode\":\"%s\",\"fire_alarm\":%s,"
	    "\"journal_failed\":%s,\"policy\":\"%s\",\"journal_seq\":%llu,"
	    "\"journal_durable\":%llu,\"gates\":[", a, b,
	    policy_mode_name(gw->pol, gw->mode), gw->fire_on ? "true" : "false",
	    gw->jfail ? "true" : "false", policy_hash(gw->pol),
	    (unsigned long long)(gw->durable_seq + gw->npend),
	    (unsigned long long)gw->durable_seq);
	for (size_t i = 0; i < gw->ngates; i++) {
		struct gw_gate *gg = &gw->gates[i];
		ctl_data(c, "%s{\"name\":\"%s\",\"state\":\"%s\",\"door\":\"%s\","
		    "\"lock\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"fail\":\"%s\"}",
		    i ? "," : "", gg->cg->name, gate_state_name(gate_state(gg->g)),
		    gate_door_open(gg->g) ? "open" : "closed",
		    gate_unlocked(gg->g) ? "unlocked" : "locked", gg->from,
		    gg->to, gg->cg->fail == CONF_FAIL_SAFE ? "safe" : "secure");
	}
	ctl_data(c, "]");
	gw_sync_status_json(gw, c);
	ctl_data(c, ",\"occupancy\":{");
	for (size_t i = 0; i < nz; i++)
		ctl_data(c, "%s\"%s\":%lld", i ? "," : "", zs[i].zone,
		    (long long)zs[i].count);
	/* every zone with a limit, so a screen can show "3 / 10" and "0 / 10" */
	ctl_data(c, "},\"capacity\":{");
	for (uint32_t z = 0, k = 0; z < policy_count(gw->pol,
	    POLICY_COUNT_ZONES); z++)
		if (policy_zone_capacity(gw->pol, z) != 0)
			ctl_data(c, "%s\"%s\":%u", k++ ? "," : "",
			    policy_zone_name(gw->pol, z),
			    policy_zone_capacity(gw->pol, z));
	ctl_data(c, "},\"modes\":[");
	for (uint32_t m = 0; m < policy_count(gw->pol, POLICY_COUNT_MODES); m++)
		ctl_data(c, "%s\"%s\"", m ? "," : "",
		    policy_mode_name(gw->pol, m));
	ctl_data(c, "],\"alarms\":[");
	for (size_t i = 0; i < gw->nalarms; i++) {
		struct gw_alarm *al = &gw->alarms[i];
		gw_json_str(a, sizeof(a), al->detail);
		gw_time(gw, al->at, t, sizeof(t));
		ctl_data(c, "%s{\"id\":%llu,\"gate\":\"%s\",\"name\":\"%s\","
		    "\"active\":%s,\"count\":%u,\"at\":\"%s\",\"detail\":%s}",
		    i ? "," : "", (unsigned long long)al->id, al->gate, al->name,
		    al->active ? "true" : "false", al->count, t, a);
	}
	ctl_data(c, "]}");
	ctl_ok(c, "%s", "");
	free(zs);
}

static void
gw_cmd_muster(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	const char *zone = NULL, *fmt = "text";
	struct state_person *v;
	size_t n;
	char t[64], h[256], cr[160];

	for (int i = 1; i < rq->argc; i++) {
		if (strcmp(rq->argv[i], "--format") == 0 && i + 1 < rq->argc)
			fmt = rq->argv[++i];
		else if (rq->argv[i][0] != '-' && zone == NULL)
			zone = rq->argv[i];
		else {
			ctl_err(c, "EINVAL", "usage: muster [ZONE] [--format "
			    "csv|jsonl]");
			return;
		}
	}
	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "csv") != 0 &&
	    strcmp(fmt, "jsonl") != 0) {
		ctl_err(c, "EINVAL", "--format is csv or jsonl");
		return;
	}
	if (zone != NULL && policy_zone_find(gw->pol, zone) == POLICY_NONE) {
		ctl_err(c, "ENOENT", "no zone '%.48s' in the policy", zone);
		return;
	}
	n = state_muster(gw->st, zone, &v);
	if (strcmp(fmt, "csv") == 0)
		ctl_data(c, "zone,badge,holder,since");
	for (size_t i = 0; i < n; i++) {
		gw_time(gw, v[i].since * 1000000, t, sizeof(t));
		if (strcmp(fmt, "csv") == 0) {
			/* RFC 4180: quote fields that need it */
			int q = strpbrk(v[i].holder, ",\"") != NULL;
			char esc[200];
			size_t o = 0;
			for (const char *p = v[i].holder; *p && o + 2 < sizeof(esc);
			    p++) {
				if (*p == '"')
					esc[o++] = '"';
				esc[o++] = *p;
			}
			esc[o] = '\0';
			ctl_data(c, "%s,%s,%s%s%s,%s", v[i].zone, v[i].cred,
			    q ? "\"" : "", esc, q ? "\"" : "", t);
		} else if (strcmp(fmt, "jsonl") == 0) {
			gw_json_str(h, sizeof(h), v[i].holder);
			gw_json_str(cr, sizeof(cr), v[i].cred);
			ctl_data(c, "{\"zone\":\"%s\",\"badge\":%s,\"holder\":%s,"
			    "\"since\":\"%s\",\"since_unix\":%lld}", v[i].zone, cr,
			    h, t, (long long)v[i].since);
		} else
			ctl_data(c, "%-14s %-12s %-28s since %s", v[i].zone,
			    v[i].cred, v[i].holder, t);
	}
	free(v);
	ctl_ok(c, "%zu inside%s%s", n, zone ? " " : "", zone ? zone : "");
}

/*
 * Open alarms survive a restart: the journal holds every raise, clear and
 * acknowledgement, so replaying it rebuilds the list staff must act on.
 * Event alarms (forced, tailgating, tamper, duress...) stay open until
 * acknowledged; condition alarms come back inactive, because the gateway
 * re-reads its inputs at start and raises them again if they persist.
 */
static struct gw_alarm *
gw_alarm_find_in(struct gw_alarm *v, size_t n, const char *gate,
    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].gate, gate) == 0 && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* One record onto an alarm list (the daemon's at start, or the snapshot
 * replica's: see struct gw_replica). */
static void
gw_alarm_apply(struct gw_alarm *v, size_t *n, uint64_t *next,
    const struct journal_record *r)
{
	char gate[48], name[32];
	struct gw_alarm *a;
	const char *colon, *slash, *sp;

	if (strcmp(r->type, "alarm") == 0 || strcmp(r->type, "alarm-clear") == 0) {
		if ((colon = strstr(r->text, ": ")) == NULL)
			return;
		gw_fmt(name, sizeof(name), "%.*s", (int)(colon - r->text), r->text);
		a = gw_alarm_find_in(v, *n, r->gate, name);
		if (r->type[5] == '-') {
			if (a != NULL)
				a->active = 0;
			return;
		}
		if (a == NULL) {
			if (*n >= GW_ALARMS_MAX)
				return;
			a = &v[(*n)++];
			memset(a, 0, sizeof(*a));
			a->id = ++*next;
			gw_copy(a->gate, sizeof(a->gate), r->gate);
			gw_copy(a->name, sizeof(a->name), name);
		}
		a->active = !gw_alarm_condition(name);
		a->count++;
		a->at = r->time_us;
		gw_copy(a->detail, sizeof(a->detail), colon + 2);
		return;
	}
	if (strcmp(r->type, "ack") != 0)
		return;
	/* "#ID GATE/NAME[ (condition still present)]": ids restart, names do not */
	if ((sp = strchr(r->text, ' ')) == NULL || (slash = strchr(sp, '/')) == NULL)
		return;
	gw_fmt(gate, sizeof(gate), "%.*s", (int)(slash - sp - 1), sp + 1);
	gw_fmt(name, sizeof(name), "%.*s", (int)strcspn(slash + 1, " "), slash + 1);
	a = gw_alarm_find_in(v, *n, strcmp(gate, "gateway") == 0 ? "" : gate,
	    name);
	if (a != NULL)
		*a = v[--*n];
}

static void
gw_alarm_replay(void *ctx, const struct journal_record *r)
{
	struct gw *gw = ctx;

	gw_alarm_apply(gw->alarms, &gw->nalarms, &gw->next_alarm, r);
}

/*
 * State snapshots (gateway/snapshot.h) let a restart replay only the tail
 * of the journal. A snapshot must be exactly what a replay of records
 * 1..seq gives, so it is taken from a replica fed only durable records, in
 * seq order (commit_observe), with the replay's own rules (state_apply,
 * gw_alarm_apply). The live state cannot serve, not even at a quiescent
 * point: the guards see a tap and a passage before their records are
 * durable, a record whose sync failed may still be written by a retry,
 * and the live alarm list keeps conditions active and numbers alarms as
 * they were raised, which a replay does not. The price is a second copy of
 * the state in memory and one state_apply per durable record; encoding
 * happens on the loop (milliseconds), write and fsync on the writer thread.
 */
struct gw_replica {
	struct state		*st;
	struct gw_alarm		 alarms[GW_ALARMS_MAX];
	size_t			 nalarms;
	uint64_t		 next_alarm;
	char			 mode[32];	/* last mode record's */
	uint64_t		 seq;		/* applied records 1..seq */
	uint8_t			 hash[32];	/* record seq's */
	uint64_t		 snap_seq;	/* last snapshot handed over */
	int			 broken;
};

/* The snapshot file is the parent's to write: the bytes go there in
 * chunks, and it writes them on its writer thread (or says why not). */
static int
gw_snap_send(struct gw *gw, const uint8_t *buf, size_t len, uint64_t seq)
{
	struct msg_file_chunk *m = malloc(sizeof(*m) + PROTO_CHUNK_MAX);
	size_t off = 0;
	int rc = 0;

	if (m == NULL)
		return -1;
	do {
		size_t n = len - off > PROTO_CHUNK_MAX ? PROTO_CHUNK_MAX :
		    len - off;
		memset(m, 0, sizeof(*m));
		m->total = len;
		m->off = off;
		m->seq = seq;
		m->n = (uint32_t)n;
		memcpy(m + 1, buf + off, n);
		if (msg_send(gw->pc, MSG_EP_SNAPSHOT, m, sizeof(*m) + n, -1) ==
		    -1) {
			rc = -1;
			break;
		}
		off += n;
	} while (off < len);
	free(m);
	return rc;
}

/* Encode the replica and hand it to the parent. */
static void
gw_snap_take(struct gw *gw)
{
	struct gw_replica *rp = gw->rep;
	struct snapshot s;
	struct snapshot_alarm *al;
	uint8_t *buf;
	size_t len;
	int64_t t0 = gw_now_us();

	if (rp->broken || rp->seq == rp->snap_seq)
		return;
	memset(&s, 0, sizeof(s));
	if ((al = calloc(rp->nalarms + 1, sizeof(*al))) == NULL)
		return;
	s.seq = rp->seq;
	memcpy(s.hash, rp->hash, 32);
	gw_copy(s.policy, sizeof(s.policy), policy_hash(gw->pol));
	gw_copy(s.mode, sizeof(s.mode), rp->mode);
	s.next_alarm = rp->next_alarm;
	for (size_t i = 0; i < rp->nalarms; i++) {
		const struct gw_alarm *a = &rp->alarms[i];
		al[i].id = a->id;
		gw_copy(al[i].gate, sizeof(al[i].gate), a->gate);
		gw_copy(al[i].name, sizeof(al[i].name), a->name);
		gw_copy(al[i].detail, sizeof(al[i].detail), a->detail);
		al[i].at = a->at;
		al[i].active = a->active;
		al[i].count = a->count;
	}
	s.alarms = al;
	s.nalarms = rp->nalarms;
	s.st = rp->st;
	if (snapshot_encode(&s, &buf, &len) == -1) {
		gw_log(LOG_WARNING, "state snapshot at seq %llu: out of memory",
		    (unsigned long long)rp->seq);
		free(al);
		return;
	}
	free(al);
	if (gw_snap_send(gw, buf, len, rp->seq) == 0)
		rp->snap_seq = rp->seq;
	free(buf);
	if (gw_debug)
		gw_log(LOG_DEBUG, "state snapshot at seq %llu: %zu bytes encoded "
		    "in %lld us on the loop", (unsigned long long)rp->seq, len,
		    (long long)(gw_now_us() - t0));
}

static void
gw_replica_on_durable(void *arg, const struct journal_record *r)
{
	struct gw *gw = arg;
	struct gw_replica *rp = gw->rep;

	if (rp->broken)
		return;
	if (r->seq != rp->seq + 1) {
		/* a record missed: the replica is no longer "records 1..seq" */
		rp->broken = 1;
		gw_log(LOG_WARNING, "state snapshots stopped: seq %llu follows "
		    "%llu (a restart replays the whole journal)",
		    (unsigned long long)r->seq, (unsigned long long)rp->seq);
		return;
	}
	(void)state_apply(rp->st, gw->pol, r, rp->mode);
	gw_alarm_apply(rp->alarms, &rp->nalarms, &rp->next_alarm, r);
	rp->seq = r->seq;
	memcpy(rp->hash, r->hash, 32);
	if (gw->snap_every > 0 && rp->seq - rp->snap_seq >= gw->snap_every)
		gw_snap_take(gw);
}

/*
 * At start: the state after the snapshot's records, if the snapshot is
 * whole, of this format and policy, and the journal still holds its last
 * record with its hash; else the whole journal, and why. -1 only when the
 * journal itself cannot be read (as without snapshots).
 */
static int
gw_state_rebuild(struct gw *gw, struct state_replay *sr, char *err,
    size_t errlen)
{
	struct snapshot s;
	char why[512];
	int k;

	memset(&s, 0, sizeof(s));
	gw_fmt(why, sizeof(why), "%s/%s", gw->journal_dir, SNAPSHOT_FILE);
	k = gw->snap_every > 0 ? snapshot_read(why, GW_ALARMS_MAX, &s, why,
	    sizeof(why)) : 1;
	if (k == 0 && strcmp(s.policy, policy_hash(gw->pol)) != 0) {
		gw_fmt(why, sizeof(why), "it was made under policy %.12s, policy "
		    "%.12s is in force (zones may have moved)", s.policy,
		    policy_hash(gw->pol));
		snapshot_clear(&s);
		k = -1;
	}
	if (k == 0) {
		state_free(gw->st);
		gw->st = s.st;
		s.st = NULL;
		for (size_t i = 0; i < s.nalarms; i++) {
			struct gw_alarm *a = &gw->alarms[i];
			memset(a, 0, sizeof(*a));
			a->id = s.alarms[i].id;
			gw_copy(a->gate, sizeof(a->gate), s.alarms[i].gate);
			gw_copy(a->name, sizeof(a->name), s.alarms[i].name);
			gw_copy(a->detail, sizeof(a->detail), s.alarms[i].detail);
			a->at = s.alarms[i].at;
			a->active = s.alarms[i].active;
			a->count = s.alarms[i].count;
		}
		gw->nalarms = s.nalarms;
		gw->next_alarm = s.next_alarm;
		sr->after_seq = s.seq;
		memcpy(sr->after_hash, s.hash, 32);
		gw_copy(sr->mode, sizeof(sr->mode), s.mode);
		snapshot_clear(&s);
		k = state_replay(gw->st, gw->pol, gw->journal_dir, sr, why,
		    sizeof(why));
		if (k != -2)
			return k == 0 ? 0 : (gw_copy(err, errlen, why), -1);
		/* what the snapshot says is not in the journal: forget it */
		gw_log(LOG_WARNING, "state snapshot not used: it claims record "
		    "%llu, but %s; replaying the whole journal",
		    (unsigned long long)sr->after_seq, why);
		state_free(gw->st);
		if ((gw->st = state_new()) == NULL) {
			gw_copy(err, errlen, "out of memory");
			return -1;
		}
		gw->nalarms = 0;
		gw->next_alarm = 0;
		sr->after_seq = 0;
	} else if (k == -1)
		gw_log(LOG_WARNING, "state snapshot %s/%s not used: %s; "
		    "replaying the whole journal", gw->journal_dir,
		    SNAPSHOT_FILE, why);
	return state_replay(gw->st, gw->pol, gw->journal_dir, sr, err,
	    errlen) == 0 ? 0 : -1;
}

/* The replica starts as the state just rebuilt, which came from durable
 * records only (journal_open synced everything it found). */
static void
gw_replica_start(struct gw *gw, const struct state_replay *sr)
{
	struct gw_replica *rp;

	if (gw->snap_every == 0)
		return;
	if (sr->last_seq != gw->start_seq) {
		gw_log(LOG_WARNING, "state snapshots off: replay ended at seq %llu, "
		    "the journal at %llu", (unsigned long long)sr->last_seq,
		    (unsigned long long)gw->start_seq);
		return;
	}
	if ((rp = calloc(1, sizeof(*rp))) == NULL ||
	    (rp->st = state_clone(gw->st)) == NULL) {
		gw_log(LOG_WARNING, "state snapshots off: out of memory");
		free(rp);
		return;
	}
	memcpy(rp->alarms, gw->alarms, gw->nalarms * sizeof(gw->alarms[0]));
	rp->nalarms = gw->nalarms;
	rp->next_alarm = gw->next_alarm;
	gw_copy(rp->mode, sizeof(rp->mode), sr->mode);
	rp->seq = sr->last_seq;
	memcpy(rp->hash, sr->last_hash, 32);
	/* what was loaded needs no new file; a long replay does */
	rp->snap_seq = sr->records < gw->snap_every ? rp->seq : 0;
	/* fed from here on by every durable record the parent reports, in
	 * seq order (gw_parent_msg) */
	gw->rep = rp;
	if (rp->snap_seq != rp->seq)
		gw_snap_take(gw);
}

/* Clean stop: everything is durable and observed; save it all. */
static void
gw_replica_stop(struct gw *gw)
{
	if (gw->rep == NULL)
		return;
	/* anything journaled from here on is left to the next start's
	 * replay of the tail */
	gw_snap_take(gw);
	state_free(gw->rep->st);
	free(gw->rep);
	gw->rep = NULL;
}

/* Manual changes: journal first (with who and why), act in the callback. */
struct gw_change {
	struct gw	*gw;
	uint64_t	 client;
	int		 kind;		/* 'o' open, 'm' mode, 'a' ack */
	size_t		 gate;
	uint32_t	 mode;
	uint64_t	 alarm;
};

static void
gw_change_done(void *arg, const struct journal_record *r, int status)
{
	struct gw_change *ch = arg;
	struct gw *gw = ch->gw;
	struct ctl_client *c = ctl_client_find(gw->ctl, ch->client);

	gw_journal_state(gw, status);
	if (status != 0) {
		if (c != NULL)
			ctl_err(c, "EIO", "not journaled (%s): nothing changed",
			    strerror(-status));
		free(ch);
		return;
	}
	gw_broadcast(gw, r);
	switch (ch->kind) {
	case 'o': {
		struct gate_credit cr;
		memset(&cr, 0, sizeof(cr));
		cr.kind = GATE_CREDIT_MANUAL;
		cr.seq = r->seq;
		if (gate_grant(gw->gates[ch->gate].g, &cr) == -1) {
			if (c != NULL)
				ctl_err(c, "EIO", "gate %s is fail-locked",
				    r->gate);
		} else if (c != NULL)
			ctl_ok(c, "%s unlocked once (seq %llu)", r->gate,
			    (unsigned long long)r->seq);
		break;
	}
	case 'm':
		/* by name: a reload may have renumbered the modes meanwhile */
		if ((ch->mode = policy_mode_find(gw->pol, r->mode)) ==
		    POLICY_NONE) {
			if (c != NULL)
				ctl_err(c, "ENOENT", "mode %s vanished in a reload",
				    r->mode);
			break;
		}
		gw->mode = ch->mode;
		gw_mode_apply(gw);
		gw_log(LOG_NOTICE, "mode %s (%s)", r->mode, r->actor);
		if (c != NULL)
			ctl_ok(c, "mode %s (seq %llu)", r->mode,
			    (unsigned long long)r->seq);
		break;
	case 'a':
		for (size_t i = 0; i < gw->nalarms; i++)
			if (gw->alarms[i].id == ch->alarm) {
				gw->alarms[i] = gw->alarms[--gw->nalarms];
				break;
			}
		if (c != NULL)
			ctl_ok(c, "acknowledged %s", r->text);
		break;
	}
	free(ch);
}

static int
gw_change(struct gw *gw, struct ctl_client *c, struct journal_record *r,
    struct gw_change *proto)
{
	struct gw_change *ch = malloc(sizeof(*ch));

	if (ch == NULL) {
		ctl_err(c, "EIO", "out of memory");
		return CTL_DONE;
	}
	*ch = *proto;
	ch->gw = gw;
	ch->client = ctl_client_id(c);
	gw_copy(r->actor, sizeof(r->actor), ctl_client_actor(c));
	if (gw_commit(gw, r, gw_change_done, ch) == -1) {
		free(ch);
		gw_journal_state(gw, -EIO);
		ctl_err(c, "EIO", "journal refused the record: nothing changed");
		return CTL_DONE;
	}
	return CTL_PENDING;
}

static int
gw_cmd_open(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	struct gw_gate *gg;
	const char *reason;
	struct journal_record r;
	struct gw_change ch;

	if (rq->argc < 2 || (reason = gw_opt(rq, 2, "--reason")) == NULL ||
	    reason[0] == '\0') {
		ctl_err(c, "EINVAL", "usage: open GATE --reason TEXT");
		return CTL_DONE;
	}
	if ((gg = gw_gate_by_name(gw, rq->argv[1])) == NULL) {
		gw_no_gate(gw, c, rq->argv[1]);
		return CTL_DONE;
	}
	gw_rec_init(gw, &r, "open", gg->cg->name);
	gw_copy(r.text, sizeof(r.text), reason);
	memset(&ch, 0, sizeof(ch));
	ch.kind = 'o';
	ch.gate = (size_t)(gg - gw->gates);
	return gw_change(gw, c, &r, &ch);
}

static int
gw_cmd_mode(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	const char *reason;
	struct journal_record r;
	struct gw_change ch;
	uint32_t m;

	if (rq->argc < 2 || rq->argv[1][0] == '-' ||
	    (reason = gw_opt(rq, 2, "--reason")) == NULL || reason[0] == '\0') {
		ctl_err(c, "EINVAL", "usage: mode NAME --reason TEXT");
		return CTL_DONE;
	}
	if ((m = policy_mode_find(gw->pol, rq->argv[1])) == POLICY_NONE) {
		size_t nm = policy_count(gw->pol, POLICY_COUNT_MODES);
		const char *names[64], *s;
		for (size_t i = 0; i < nm && i < 64; i++)
			names[i] = policy_mode_name(gw->pol, (uint32_t)i);
		s = policy_suggest(rq->argv[1], names, nm < 64 ? nm : 64);
		ctl_err(c, "ENOENT", "no mode '%.32s' in the policy%s%s%s",
		    rq->argv[1], s ? "; did you mean '" : "", s ? s : "",
		    s ? "'?" : "");
		return CTL_DONE;
	}
	gw_rec_init(gw, &r, "mode", "");
	gw_copy(r.mode, sizeof(r.mode), rq->argv[1]);	/* the new mode */
	gw_fmt(r.text, sizeof(r.text), "%s -> %s: %s",
	    policy_mode_name(gw->pol, gw->mode), rq->argv[1], reason);
	memset(&ch, 0, sizeof(ch));
	ch.kind = 'm';
	ch.mode = m;
	return gw_change(gw, c, &r, &ch);
}

static int
gw_cmd_ack(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	struct gw_alarm *al = NULL;
	struct journal_record r;
	struct gw_change ch;
	const char *arg;
	char *end;

	if (rq->argc != 2) {
		ctl_err(c, "EINVAL", "usage: ack ALARM (the #number, or "
		    "GATE/NAME as status shows)");
		return CTL_DONE;
	}
	arg = rq->argv[1][0] == '#' ? rq->argv[1] + 1 : rq->argv[1];
	unsigned long long id = strtoull(arg, &end, 10);
	for (size_t i = 0; i < gw->nalarms; i++) {
		struct gw_alarm *a = &gw->alarms[i];
		char gn[96];
		snprintf(gn, sizeof(gn), "%s/%s", a->gate[0] ? a->gate :
		    "gateway", a->name);
		if ((*end == '\0' && end != arg && a->id == id) ||
		    strcmp(gn, rq->argv[1]) == 0)
			al = a;
	}
	if (al == NULL) {
		ctl_err(c, "ENOENT", "no open alarm '%.64s' (see gatectl status)",
		    rq->argv[1]);
		return CTL_DONE;
	}
	gw_rec_init(gw, &r, "ack", al->gate);
	gw_fmt(r.text, sizeof(r.text), "#%llu %s/%s%s",
	    (unsigned long long)al->id, al->gate[0] ? al->gate : "gateway",
	    al->name, al->active && gw_alarm_condition(al->name) ?
	    " (condition still present)" : "");
	memset(&ch, 0, sizeof(ch));
	ch.kind = 'a';
	ch.alarm = al->id;
	return gw_change(gw, c, &r, &ch);
}

/* sim tap GATE BADGE [--pin PIN] [--exit] [--class legacy|secure] */
/* Which gate and device a gw_dev is, for messages to the parent. */
static void
gw_dev_where(struct gw *gw, const struct gw_dev *dv, uint32_t *gate,
    uint32_t *dev)
{
	*gate = 0;
	*dev = PROTO_DEV_FIRE;
	if (dv->gg == NULL)
		return;
	*gate = (uint32_t)(dv->gg - gw->gates);
	*dev = dv == &dv->gg->reader ? PROTO_DEV_READER :
	    dv == &dv->gg->exit_reader ? PROTO_DEV_EXIT_READER :
	    dv == &dv->gg->sensors ? PROTO_DEV_SENSORS : PROTO_DEV_LOCK;
}

/* A simulated device is the parent's too: the event goes there and comes
 * back through the driver like a real one (a refusal as actfail). */
static int
gw_inject(struct gw *gw, const struct gw_dev *dv, const struct driver_event *ev)
{
	struct msg_inject m;

	memset(&m, 0, sizeof(m));
	gw_dev_where(gw, dv, &m.gate, &m.dev);
	m.ev = *ev;
	return msg_send(gw->pc, MSG_EP_INJECT, &m, sizeof(m), -1) == -1 ? -1 : 0;
}

static int
gw_cmd_sim(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	struct driver_event ev;
	struct gw_gate *gg = NULL;
	struct gw_dev *dv;
	const char *sub = rq->argc > 1 ? rq->argv[1] : "";

	memset(&ev, 0, sizeof(ev));
	if (strcmp(sub, "input") == 0) {
		if (rq->argc != 4 || strcmp(rq->argv[2], "fire-alarm") != 0 ||
		    (strcmp(rq->argv[3], "on") != 0 &&
		    strcmp(rq->argv[3], "off") != 0)) {
			ctl_err(c, "EINVAL", "usage: sim input fire-alarm on|off");
			return CTL_DONE;
		}
		if (gw->fire.drv == NULL || gw->fire.drv->inject == NULL) {
			ctl_err(c, "ENOENT", "no simulated fire-alarm input in "
			    "gateway.conf");
			return CTL_DONE;
		}
		ev.type = DRIVER_EV_INPUT;
		ev.input = DRIVER_IN_FIRE_ALARM;
		ev.value = strcmp(rq->argv[3], "on") == 0;
		dv = &gw->fire;
	} else if (strcmp(sub, "tap") == 0 || strcmp(sub, "sensor") == 0 ||
	    strcmp(sub, "flood") == 0) {
		if (rq->argc < 4) {
			ctl_err(c, "EINVAL", "usage: sim tap GATE BADGE [--pin "
			    "PIN] [--exit] [--class legacy|secure] | sim sensor "
			    "GATE door-open|door-closed|passage|rex|tamper|"
			    "offline|online");
			return CTL_DONE;
		}
		if ((gg = gw_gate_by_name(gw, rq->argv[2])) == NULL) {
			gw_no_gate(gw, c, rq->argv[2]);
			return CTL_DONE;
		}
		if (strcmp(sub, "flood") == 0) {
			/* sim flood GATE BADGE N: N taps at once (benchmark) */
			struct gw_flood *f;
			char *end;
			unsigned long n = rq->argc == 5 ?
			    strtoul(rq->argv[4], &end, 10) : 0;
			if (rq->argc != 5 || *end != '\0' || n == 0 ||
			    n > 1000000 || strlen(rq->argv[3]) > DRIVER_ID_MAX) {
				ctl_err(c, "EINVAL", "usage: sim flood GATE BADGE "
				    "N (1..1000000)");
				return CTL_DONE;
			}
			if ((f = calloc(1, sizeof(*f))) == NULL) {
				ctl_err(c, "EIO", "out of memory");
				return CTL_DONE;
			}
			f->gw = gw;
			f->gate = (size_t)(gg - gw->gates);
			gw_copy(f->badge, sizeof(f->badge), rq->argv[3]);
			f->client = ctl_client_id(c);
			f->n = (unsigned)n;
			f->t0 = gw_now_us();
			f->ev = event_new(gw->base, -1, 0, gw_flood_cb, f);
			gw_flood_step(f);
			return CTL_PENDING;
		}
		if (strcmp(sub, "tap") == 0) {
			const char *pin = gw_opt(rq, 4, "--pin");
			const char *cls = gw_opt(rq, 4, "--class");
			size_t idlen = strlen(rq->argv[3]);
			int exit_ = gw_flag(rq, 4, "--exit");
			ev.type = DRIVER_EV_TAP;
			ev.id_format = DRIVER_ID_TEXT;
			if (idlen == 0 || idlen > DRIVER_ID_MAX) {
				ctl_err(c, "EINVAL", "badge id must be 1..%d "
				    "bytes", DRIVER_ID_MAX);
				return CTL_DONE;
			}
			memcpy(ev.id, rq->argv[3], idlen);
			ev.id_len = (uint8_t)idlen;
			if (pin != NULL) {
				if (strlen(pin) > DRIVER_PIN_MAX) {
					ctl_err(c, "EINVAL", "PIN too long");
					return CTL_DONE;
				}
				memcpy(ev.pin, pin, strlen(pin));
				ev.pin_len = (uint8_t)strlen(pin);
			}
			ev.cls = 1;	/* the sim reader proves a secure card */
			if (cls != NULL) {
				if (strcmp(cls, "legacy") != 0 &&
				    strcmp(cls, "secure") != 0) {
					ctl_err(c, "EINVAL", "--class is legacy "
					    "or secure");
					return CTL_DONE;
				}
				ev.cls = strcmp(cls, "secure") == 0;
			}
			ev.reader = (uint8_t)exit_;
			dv = exit_ && gg->exit_reader.drv ? &gg->exit_reader :
			    &gg->reader;
			if (exit_ && gg->exit_reader.drv == NULL &&
			    !gg->info.exit_reader) {
				ctl_err(c, "EINVAL", "gate %s has no exit reader",
				    gg->cg->name);
				return CTL_DONE;
			}
		} else {
			static const char *const names[] = { "door-open",
			    "door-closed", "passage", "rex", "tamper" };
			int s = -1;
			for (int i = 0; i < 5; i++)
				if (strcmp(rq->argv[3], names[i]) == 0)
					s = i + 1;
			if (strcmp(rq->argv[3], "passage-out") == 0) {
				s = DRIVER_PASSAGE;
				ev.reader = 1;
			}
			if (strcmp(rq->argv[3], "offline") == 0 ||
			    strcmp(rq->argv[3], "online") == 0) {
				ev.type = rq->argv[3][1] == 'f' ?
				    DRIVER_EV_OFFLINE : DRIVER_EV_ONLINE;
				dv = &gg->reader;
			} else if (s == -1) {
				ctl_err(c, "EINVAL", "sensor is door-open, "
				    "door-closed, passage, passage-out, rex, "
				    "tamper, offline or online");
				return CTL_DONE;
			} else {
				ev.type = DRIVER_EV_SENSOR;
				ev.sensor = (uint8_t)s;
				dv = &gg->sensors;
			}
		}
	} else {
		ctl_err(c, "EINVAL", "usage: sim tap|sensor|input|flood ...");
		return CTL_DONE;
	}
	if (dv->drv == NULL || dv->drv->inject == NULL) {
		ctl_err(c, "ENOENT", "that hardware is not simulated here");
		return CTL_DONE;
	}
	if (dv->offline && ev.type != DRIVER_EV_ONLINE) {
		ctl_err(c, "EIO", "device offline");
		return CTL_DONE;
	}
	ev.time_us = gw_now_us();
	if ((ev.tag = gw_wait_add(gw, c)) == 0) {
		ctl_err(c, "EBUSY", "too many injections waiting");
		return CTL_DONE;
	}
	if (gw_inject(gw, dv, &ev) == -1) {
		(void)gw_wait_take(gw, ev.tag);
		ctl_err(c, "EAGAIN", "simulated device busy; try again");
		return CTL_DONE;
	}
	return CTL_PENDING;
}

static void
gw_flood_step(struct gw_flood *f)
{
	struct gw *gw = f->gw;
	struct driver_event ev;
	struct ctl_client *c;

	if (f->done == f->n) {
		int64_t us = gw_now_us() - f->t0;
		if ((c = ctl_client_find(gw->ctl, f->client)) != NULL)
			ctl_ok(c, "%u taps durable in %lld us: %.0f events/s%s",
			    f->n, (long long)us, us > 0 ? f->n * 1e6 / us : 0.0,
			    f->failed ? " (some failed)" : "");
		event_free(f->ev);
		free(f);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = DRIVER_EV_TAP;
	ev.id_format = DRIVER_ID_TEXT;
	ev.id_len = (uint8_t)strlen(f->badge);
	memcpy(ev.id, f->badge, ev.id_len);
	ev.cls = 1;
	for (unsigned i = 0; i < GW_FLOOD_CHUNK && f->submitted < f->n &&
	    f->submitted - f->done < GW_FLOOD_WINDOW; i++) {
		f->submitted++;
		ev.time_us = gw_now_us();
		gw_tap(gw, f->gate, &ev, f);
	}
	/* more next loop turn, or when half the window is answered */
	if (f->submitted < f->n && f->submitted - f->done < GW_FLOOD_WINDOW)
		event_active(f->ev, 0, 0);
}

/*
 * The journal is the parent's: an auditor's export or verification runs
 * there, on a thread, over the client's own connection (an online verify
 * of ten million records takes tens of seconds, and no tap may wait). The
 * engine has parsed the request and checked the role; it hands over the
 * connection and forgets it.
 */
static int
gw_cmd_audit(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	struct msg_audit m;
	struct audit_filter f;
	char err[512];
	int fd;

	memset(&m, 0, sizeof(m));
	if (rq->argc >= 2 && strcmp(rq->argv[1], "verify") == 0)
		m.verify = 1;
	else if (rq->argc >= 2 && strcmp(rq->argv[1], "export") == 0) {
		if (audit_parse_args(rq->argc - 2, rq->argv + 2, &f, NULL, err,
		    sizeof(err)) == -1) {
			ctl_err(c, "EINVAL", "%s", err);
			return CTL_DONE;
		}
		for (int i = 2; i < rq->argc; i++) {
			if (strlen(rq->argv[i]) >= sizeof(m.argv[0])) {
				ctl_err(c, "EINVAL", "argument too long: %.40s...",
				    rq->argv[i]);
				return CTL_DONE;
			}
			gw_copy(m.argv[m.argc++], sizeof(m.argv[0]), rq->argv[i]);
		}
	} else {
		ctl_err(c, "EINVAL", "usage: audit export ... | audit verify");
		return CTL_DONE;
	}
	if ((fd = ctl_client_handoff(c)) == -1)
		return CTL_PENDING;
	if (msg_send(gw->pc, MSG_EP_AUDIT, &m, sizeof(m), fd) == -1)
		gw_log(LOG_WARNING, "audit request lost: the parent is "
		    "unreachable");
	close(fd);
	return CTL_PENDING;
}

/* osdp key-install BUS ADDR --reason TEXT: journaled first (who, why),
 * then armed; the outcome comes back from the driver as a NOTICE with the
 * request's tag and is journaled too. */
struct gw_osdp_key {
	struct gw	*gw;
	uint64_t	 client;
	char		 bus[OSDP_BUS_NAME_MAX];
	unsigned	 addr;
};

static void
gw_osdp_key_done(void *arg, const struct journal_record *r, int status)
{
	struct gw_osdp_key *k = arg;
	struct gw *gw = k->gw;
	struct ctl_client *c = ctl_client_find(gw->ctl, k->client);
	uint32_t tag;

	gw_journal_state(gw, status);
	if (status != 0) {
		if (c != NULL)
			ctl_err(c, "EIO", "not journaled (%s): nothing done",
			    strerror(-status));
	} else if (c == NULL) {
		/* nobody to answer: do not arm what nobody watches */
	} else if ((tag = gw_wait_add(gw, c)) == 0) {
		ctl_err(c, "EBUSY", "too many requests waiting");
	} else {
		/* the bus is the parent's: a refusal comes back as actfail
		 * with this tag, the outcome as a device notice */
		struct msg_osdp_key m;
		memset(&m, 0, sizeof(m));
		m.tag = tag;
		m.addr = k->addr;
		gw_copy(m.bus, sizeof(m.bus), k->bus);
		if (msg_send(gw->pc, MSG_EP_OSDP_KEY, &m, sizeof(m), -1) == -1) {
			(void)gw_wait_take(gw, tag);
			ctl_err(c, "EIO", "the parent is unreachable");
		} else {
			gw_broadcast(gw, r);
			gw_log(LOG_NOTICE, "osdp %s:%u: key installation armed "
			    "by %s", k->bus, k->addr, r->actor);
		}
	}
	free(k);
}

static int
gw_cmd_osdp(struct gw *gw, struct ctl_client *c, const struct ctl_request *rq)
{
	struct gw_osdp_key *k;
	struct journal_record r;
	const char *reason;
	char *end;
	unsigned long addr;

	if (rq->argc < 4 || strcmp(rq->argv[1], "key-install") != 0 ||
	    (reason = gw_opt(rq, 4, "--reason")) == NULL || reason[0] == '\0') {
		ctl_err(c, "EINVAL", "usage: osdp key-install BUS ADDR --reason "
		    "TEXT (the device must be in install mode)");
		return CTL_DONE;
	}
	addr = strtoul(rq->argv[3], &end, 10);
	if (*end != '\0' || end == rq->argv[3] || addr > 126 ||
	    strlen(rq->argv[2]) >= OSDP_BUS_NAME_MAX) {
		ctl_err(c, "EINVAL", "osdp key-install: bad bus or address");
		return CTL_DONE;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		ctl_err(c, "EIO", "out of memory");
		return CTL_DONE;
	}
	k->gw = gw;
	k->client = ctl_client_id(c);
	gw_copy(k->bus, sizeof(k->bus), rq->argv[2]);
	k->addr = (unsigned)addr;
	gw_rec_init(gw, &r, "osdp-key", "");
	gw_copy(r.actor, sizeof(r.actor), ctl_client_actor(c));
	gw_fmt(r.text, sizeof(r.text), "key installation on osdp %s:%lu armed: "
	    "%s", k->bus, addr, reason);
	if (gw_commit(gw, &r, gw_osdp_key_done, k) == -1) {
		free(k);
		gw_journal_state(gw, -EIO);
		ctl_err(c, "EIO", "journal refused the record: nothing done");
		return CTL_DONE;
	}
	return CTL_PENDING;
}

static int
gw_request(void *ctx, struct ctl_client *c, const struct ctl_request *rq)
{
	struct gw *gw = ctx;
	const char *cmd = rq->argv[0];
	char err[1024];

	if (strcmp(cmd, "status") == 0) {
		gw_cmd_status(gw, c, gw_flag(rq, 1, "--json"));
	} else if (strcmp(cmd, "watch") == 0) {
		ctl_watch(c, gw_flag(rq, 1, "--json"));
		return CTL_PENDING;
	} else if (strcmp(cmd, "open") == 0) {
		return gw_cmd_open(gw, c, rq);
	} else if (strcmp(cmd, "ack") == 0) {
		return gw_cmd_ack(gw, c, rq);
	} else if (strcmp(cmd, "mode") == 0) {
		return gw_cmd_mode(gw, c, rq);
	} else if (strcmp(cmd, "reload") == 0) {
		if (gw_reload(gw, c, ctl_client_actor(c), err, sizeof(err)) == 0)
			return CTL_PENDING;
		gw_log(LOG_WARNING, "reload rejected: %s; policy %.12s stays in "
		    "force", err, policy_hash(gw->pol));
		ctl_err(c, "EINVAL", "reload rejected: %s; policy %.12s stays in "
		    "force", err, policy_hash(gw->pol));
	} else if (strcmp(cmd, "muster") == 0) {
		gw_cmd_muster(gw, c, rq);
	} else if (strcmp(cmd, "audit") == 0) {
		return gw_cmd_audit(gw, c, rq);
	} else if (strcmp(cmd, "sim") == 0) {
		return gw_cmd_sim(gw, c, rq);
	} else if (strcmp(cmd, "osdp") == 0) {
		return gw_cmd_osdp(gw, c, rq);
	} else
		ctl_err(c, "EINVAL", "unknown command");
	return CTL_DONE;
}

static void
gw_client_gone(void *ctx, struct ctl_client *c)
{
	struct gw *gw = ctx;
	uint64_t id = ctl_client_id(c);

	/* forget its waits; the events themselves still happen */
	for (size_t i = 0; i < gw->nwaits; )
		if (gw->waits[i].client == id)
			gw->waits[i] = gw->waits[--gw->nwaits];
		else
			i++;
}

/* ---- the link to the parent ---- */

/* The parent runs this binary again as one of its roles (internal: not
 * for people; gatewayd(8) says so). */
#define GW_ROLE_FLAG	"--role"

static const struct msg_spec gw_from_parent[] = {
	{ MSG_PE_DEVICE, sizeof(struct msg_device), sizeof(struct msg_device), 0 },
	{ MSG_PE_JDONE, sizeof(struct msg_jdone), sizeof(struct msg_jdone), 0 },
	{ MSG_PE_JRECORD, sizeof(struct msg_jrecord), sizeof(struct msg_jrecord), 0 },
	{ MSG_PE_SYNC, sizeof(struct msg_sync_status), sizeof(struct msg_sync_status), 0 },
	{ MSG_PE_RELOAD, 0, 0, 0 },
	{ MSG_PE_STOP, 0, 0, 0 },
	{ MSG_PE_ACTFAIL, sizeof(struct msg_actfail), sizeof(struct msg_actfail), 0 },
	{ MSG_PE_JSTATE, sizeof(struct msg_seq), sizeof(struct msg_seq), 0 },
	{ MSG_PE_DESCRIBE, sizeof(struct msg_describe), sizeof(struct msg_describe), 0 },
};
static const struct msg_spec gw_hello_spec[] = {
	{ MSG_PE_HELLO, sizeof(struct msg_pe_hello), sizeof(struct msg_pe_hello), 0 },
};
static const struct msg_spec gw_file_spec[] = {
	{ MSG_PE_FILE, sizeof(struct msg_file_chunk),
	    sizeof(struct msg_file_chunk) + PROTO_CHUNK_MAX, 0 },
};

/* A record as the parent hands it back: every string terminated. */
static int
gw_rec_ok(const struct journal_record *r)
{
	return msg_str_ok(r->type, sizeof(r->type)) &&
	    msg_str_ok(r->gateway, sizeof(r->gateway)) &&
	    msg_str_ok(r->gate, sizeof(r->gate)) &&
	    msg_str_ok(r->zone_from, sizeof(r->zone_from)) &&
	    msg_str_ok(r->zone_to, sizeof(r->zone_to)) &&
	    msg_str_ok(r->cred, sizeof(r->cred)) &&
	    msg_str_ok(r->holder, sizeof(r->holder)) &&
	    msg_str_ok(r->decision, sizeof(r->decision)) &&
	    msg_str_ok(r->reason, sizeof(r->reason)) &&
	    msg_str_ok(r->rule, sizeof(r->rule)) &&
	    msg_str_ok(r->mode, sizeof(r->mode)) &&
	    msg_str_ok(r->policy, sizeof(r->policy)) &&
	    msg_str_ok(r->actor, sizeof(r->actor)) &&
	    msg_str_ok(r->text, sizeof(r->text));
}

/* The parent broke the rules or went away: nothing sensible is left to
 * do (the parent restarts a new engine if it is still there). */
static void __attribute__((noreturn))
gw_parent_lost(const char *why)
{
	gw_log(LOG_ERR, "engine: parent channel: %s; exiting", why);
	_exit(1);
}

static void
gw_parent_err(void *arg, const char *why)
{
	(void)arg;
	gw_parent_lost(why);
}

static struct gw_dev *
gw_dev_at(struct gw *gw, uint32_t gate, uint32_t dev)
{
	struct gw_gate *gg;

	if (dev == PROTO_DEV_FIRE)
		return &gw->fire;
	if (gate >= gw->ngates || dev >= PROTO_DEV__COUNT)
		return NULL;
	gg = &gw->gates[gate];
	return dev == PROTO_DEV_READER ? &gg->reader :
	    dev == PROTO_DEV_EXIT_READER ? &gg->exit_reader :
	    dev == PROTO_DEV_SENSORS ? &gg->sensors : &gg->lock;
}

static void
gw_parent_msg(void *arg, uint32_t type, const void *payload, size_t len,
    int fd)
{
	struct gw *gw = arg;
	char err[1024];

	(void)len;
	if (fd != -1)
		close(fd);
	switch (type) {
	case MSG_PE_JDONE: {
		const struct msg_jdone *m = payload;
		struct gw_pend *p = gw->pend;
		struct journal_record r = m->rec;

		if (p == NULL || p->cookie != m->cookie || !gw_rec_ok(&r))
			gw_parent_lost("a journal answer out of order");
		if ((gw->pend = p->next) == NULL)
			gw->pend_tail = NULL;
		gw->npend--;
		if (m->status == 0) {
			if (r.seq > gw->durable_seq)
				gw->durable_seq = r.seq;
			if (gw->rep != NULL)
				gw_replica_on_durable(gw, &r);
		}
		p->cb(p->arg, &r, m->status);
		free(p);
		break;
	}
	case MSG_PE_JRECORD: {
		const struct msg_jrecord *m = payload;
		struct journal_record r = m->rec;

		if (!gw_rec_ok(&r))
			gw_parent_lost("an unterminated record");
		if (r.seq > gw->durable_seq)
			gw->durable_seq = r.seq;
		if (gw->rep != NULL)
			gw_replica_on_durable(gw, &r);
		if (!m->late) {
			/* the parent's own: restarts, failures of children */
			gw_alarm_apply(gw->alarms, &gw->nalarms, &gw->next_alarm,
			    &r);
			gw_broadcast(gw, &r);
		}
		break;
	}
	case MSG_PE_DEVICE: {
		const struct msg_device *m = payload;
		struct gw_dev *dv = gw_dev_at(gw, m->gate, m->dev);

		if (dv == NULL || dv->drv == NULL)
			gw_parent_lost("an event for a device that is not there");
		gw_dev_event(dv, m->failed != 0, &m->ev, 1);
		break;
	}
	case MSG_PE_ACTFAIL: {
		const struct msg_actfail *m = payload;
		struct ctl_client *c;

		if (!msg_str_ok(m->text, sizeof(m->text)))
			gw_parent_lost("an unterminated failure text");
		if (m->tag != 0) {
			if ((c = gw_wait_take(gw, m->tag)) != NULL)
				ctl_err(c, m->rc == -EAGAIN ? "EAGAIN" : "EINVAL",
				    "%s", m->text);
		} else if (m->dev == PROTO_DEV_LOCK && m->gate < gw->ngates)
			gw_alarm(gw, gw->gates[m->gate].cg->name, "lock-fault", 1,
			    m->text);
		else
			gw_log(LOG_WARNING, "device command failed: %s", m->text);
		break;
	}
	case MSG_PE_SYNC: {
		const struct msg_sync_status *m = payload;

		if (!msg_str_ok(m->st.phase, sizeof(m->st.phase)) ||
		    !msg_str_ok(m->st.server, sizeof(m->st.server)) ||
		    !msg_str_ok(m->st.error, sizeof(m->st.error)))
			gw_parent_lost("an unterminated sync status");
		gw->sync_st = m->st;
		gw->have_sync = 1;
		break;
	}
	case MSG_PE_DESCRIBE: {
		const struct msg_describe *m = payload;

		if (!msg_str_ok(m->text, sizeof(m->text)))
			gw_parent_lost("an unterminated description");
		if (m->gate < gw->ngates)
			gw_copy(gw->gates[m->gate].lock_text,
			    sizeof(gw->gates[m->gate].lock_text), m->text);
		break;
	}
	case MSG_PE_JSTATE: {
		const struct msg_seq *m = payload;

		if (m->seq == 0)
			gw_journal_state(gw, 0);
		break;
	}
	case MSG_PE_RELOAD:
		if (gw_reload(gw, NULL, "SIGHUP", err, sizeof(err)) == -1)
			gw_log(LOG_WARNING, "reload (SIGHUP) rejected: %s; "
			    "policy %.12s stays in force", err,
			    policy_hash(gw->pol));
		break;
	case MSG_PE_STOP:
		gw->stopping = 1;
		event_base_loopbreak(gw->base);
		break;
	}
}

/*
 * Files after the sandbox (a reload): asked of the parent, which answers
 * only for the policy's and the conf's directories and the time zone
 * database. One request at a time, on a channel of its own, so the
 * answer never mixes with the traffic of taps.
 */
static int gw_rpc_fd = -1;
static uint32_t gw_rpc_id;

static int
gw_rpc_read(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct msg_file_req q;
	struct msg_file_chunk *m;
	char *b = NULL;
	uint64_t got = 0, total = 0;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if (strlen(path) >= sizeof(q.path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.id = ++gw_rpc_id;
	q.max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	gw_copy(q.path, sizeof(q.path), path);
	if ((m = malloc(sizeof(*m) + PROTO_CHUNK_MAX)) == NULL ||
	    msg_send_wait(gw_rpc_fd, MSG_EP_FILE_REQ, &q, sizeof(q), -1) == -1) {
		snprintf(err, errlen, "%s: cannot ask the parent", path);
		free(m);
		return -1;
	}
	for (;;) {
		size_t n;
		int fd;

		if (msg_recv_wait(gw_rpc_fd, gw_file_spec, 1, m, sizeof(*m) +
		    PROTO_CHUNK_MAX, &n, &fd, 60000, err, errlen) == -1)
			break;
		if (m->id != q.id || !msg_str_ok(m->why, sizeof(m->why)) ||
		    n != sizeof(*m) + m->n) {
			snprintf(err, errlen, "%s: a garbled answer", path);
			break;
		}
		if (m->status != 0) {
			snprintf(err, errlen, "%s", m->why);
			break;
		}
		if (b == NULL) {
			total = m->total;
			if (total > max || (b = malloc(total + 1)) == NULL) {
				snprintf(err, errlen, "%s: larger than %zu bytes",
				    path, max);
				break;
			}
		}
		if (m->off != got || m->total != total || m->n > total - got) {
			snprintf(err, errlen, "%s: a garbled answer", path);
			break;
		}
		memcpy(b + got, m + 1, m->n);
		got += m->n;
		if (got == total) {
			b[got] = '\0';
			*buf = b;
			*len = (size_t)got;
			b = NULL;
			rc = 0;
			break;
		}
	}
	free(b);
	free(m);
	return rc;
}

static int
gw_engine_sandbox(void)
{
	struct sandbox_opts so = { SANDBOX_ENGINE, NULL, NULL };
	char note[256] = "", err[256];

	if (sandbox_enter(&so, note, sizeof(note), err, sizeof(err)) == -1) {
		gw_log(LOG_ERR, "engine: sandbox: %s", err);
		return -1;
	}
	if (note[0])
		gw_log(LOG_WARNING, "engine: sandbox: %s", note);
	sandbox_probe(SANDBOX_ENGINE);
	policyio_set_reader(gw_rpc_read);
	return 0;
}

static int
gw_reader_sandbox(char *err, size_t errlen)
{
	struct sandbox_opts so = { SANDBOX_READER, NULL, NULL };
	char note[256] = "";

	if (sandbox_enter(&so, note, sizeof(note), err, errlen) == -1)
		return -1;
	sandbox_probe(SANDBOX_READER);
	return 0;
}

static int
gw_net_sandbox(char *err, size_t errlen)
{
	struct sandbox_opts so = { SANDBOX_NET, NULL, NULL };
	char note[256] = "";

	if (sandbox_enter(&so, note, sizeof(note), err, errlen) == -1)
		return -1;
	sandbox_probe(SANDBOX_NET);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: gatewayd -c CONF [-d] [--journal DIR] "
	    "[--socket PATH] [--sim-clock TIME]\n"
	    "                [--snapshot-every N]\n"
	    "       gatewayd -n -c CONF\n");
	exit(2);
}

static struct gateway_conf *
gw_conf_load(const char *path)
{
	struct gateway_conf *conf;
	char err[512];

	if ((conf = conf_load(path, stderr, err, sizeof(err))) == NULL)
		fprintf(stderr, "gatewayd: %s\n", err);
	return conf;
}

struct gw_args {
	const char		*conf_path, *jdir, *sock, *clk;
	int			 check;
	unsigned long long	 snap_every;
};

static void
gw_args_parse(int argc, char **argv, struct gw_args *a)
{
	static const struct option longopts[] = {
		{ "journal", required_argument, NULL, 'J' },
		{ "socket", required_argument, NULL, 'S' },
		{ "sim-clock", required_argument, NULL, 'K' },
		{ "snapshot-every", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->snap_every = GW_SNAP_EVERY;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:dn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->conf_path = optarg; break;
		case 'd': gw_debug = 1; break;
		case 'n': a->check = 1; break;
		case 'J': a->jdir = optarg; break;
		case 'S': a->sock = optarg; break;
		case 'K': a->clk = optarg; break;
		case 'P':	/* 0: no snapshots, every start replays it all */
			errno = 0;
			a->snap_every = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-')
				usage();
			break;
		default: usage();
		}
	}
	if (a->conf_path == NULL || optind != argc)
		usage();
}

/* gatewayd -n: the configuration, the policy and its tests, the sync
 * certificates; in this one process, which never starts anything. */
static int
gw_check(const struct gw_args *a)
{
	struct gateway_conf *conf;
	struct policy *pol;
	char err[1024], summary[256];
	size_t ntests = 0;
	int rc = 0;

	if ((conf = gw_conf_load(a->conf_path)) == NULL) {
		fprintf(stderr, "gatewayd: %s: configuration has errors\n",
		    a->conf_path);
		return 1;
	}
	if ((pol = gw_policy_load(conf, stderr, err, sizeof(err), &ntests)) ==
	    NULL) {
		fprintf(stderr, "gatewayd: %s: %s\n", conf->policy, err);
		printf("configuration %s: FAILED\n", a->conf_path);
		conf_free(conf);
		return 1;
	}
	policyio_summary(pol, summary, sizeof(summary));
	for (int r = 0; r < CONF_ROLE__COUNT; r++)
		if (conf->role_group[r][0] &&
		    getgrnam(conf->role_group[r]) == NULL)
			fprintf(stderr, "%s:%u:%u: warning[C020]: role %s: "
			    "no Unix group '%s' on this system\n",
			    a->conf_path, conf->role_loc[r].line,
			    conf->role_loc[r].col,
			    conf_role_name((enum conf_role)r),
			    conf->role_group[r]);
	printf("configuration %s: ok\n", a->conf_path);
	printf("gateway %s: %zu gates, journal %s, socket %s\n", conf->id,
	    conf->ngates, conf->journal, conf->socket);
	printf("policy %s: %s; all %zu tests passed; hash %.16s\n",
	    conf->policy, summary, ntests, policy_hash(pol));
	if (conf->sync.set) {
		struct sync *sy = sync_new(&conf->sync, conf->id, a->jdir ?
		    a->jdir : conf->journal, NULL, err, sizeof(err));
		if (sy == NULL) {
			fprintf(stderr, "gatewayd: sync: %s\n", err);
			printf("configuration %s: FAILED\n", a->conf_path);
			rc = 1;
		} else {
			sync_free(sy);
			printf("sync: %s, certificates and key ok\n",
			    conf->sync.server);
		}
	}
	policy_free(pol);
	conf_free(conf);
	return rc;
}

/*
 * The engine: everything that decides. It reads what it needs while it
 * still may (conf, policy, the journal to rebuild its state), then enters
 * its sandbox: from there on it has its channels to the parent and the
 * listening control socket, and nothing else.
 */
static int
gw_engine(int argc, char **argv)
{
	struct gw_args a;
	struct gw *gw;
	struct msg_pe_hello hello;
	struct msg_ready ready;
	char err[1024], summary[256];
	size_t ntests = 0, n;
	int fd;

	gw_args_parse(argc, argv, &a);
	/* the parent handles signals and tells us; a terminal's ^C goes
	 * to the whole group */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (!gw_debug)
		openlog("gatewayd/engine", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (msg_recv_wait(PARENT_FD_CHAN, gw_hello_spec, 1, &hello,
	    sizeof(hello), &n, &fd, 30000, err, sizeof(err)) == -1 ||
	    !msg_str_ok(hello.why, sizeof(hello.why))) {
		gw_log(LOG_ERR, "engine: no word from the parent: %s", err);
		_exit(1);
	}
	if ((gw = calloc(1, sizeof(*gw))) == NULL)
		_exit(1);
	gw->conf_path = a.conf_path;
	gw->snap_every = a.snap_every;
	gw->rpc_fd = gw_rpc_fd = PARENT_FD_RPC;
	gw->start_seq = gw->durable_seq = hello.durable_seq;
	if ((gw->conf = gw_conf_load(a.conf_path)) == NULL)
		_exit(1);
	gw->pol = gw_policy_load(gw->conf, stderr, err, sizeof(err), &ntests);
	if (gw->pol == NULL) {
		gw_log(LOG_ERR, "engine: %s: %s", gw->conf->policy, err);
		_exit(1);
	}
	if (a.clk != NULL && hello.restarts == 0) {
		int64_t t;
		if (policy_parse_time(gw->pol, a.clk, &t) == -1) {
			fprintf(stderr, "gatewayd: --sim-clock: '%s' is not a time "
			    "(2026-03-07T14:30, venue local time)\n", a.clk);
			_exit(1);
		}
		gw_clock_offset_us = t * 1000000 - gw_now_us();
	} else
		gw_clock_offset_us = hello.clock_offset_us;
	gw_copy(gw->journal_dir, sizeof(gw->journal_dir), a.jdir ? a.jdir :
	    gw->conf->journal);
	gw_copy(gw->socket_path, sizeof(gw->socket_path), a.sock ? a.sock :
	    gw->conf->socket);

	if ((gw->st = state_new()) == NULL)
		_exit(1);
	struct state_replay sr = { .each = gw_alarm_replay, .each_ctx = gw,
	    .upto = hello.durable_seq };
	if (gw_state_rebuild(gw, &sr, err, sizeof(err)) == -1) {
		gw_log(LOG_ERR, "journal %s: cannot rebuild state: %s",
		    gw->journal_dir, err);
		_exit(1);
	}
	gw->mode = policy_mode_default(gw->pol);
	if (sr.mode[0]) {
		uint32_t m = policy_mode_find(gw->pol, sr.mode);
		if (m != POLICY_NONE)
			gw->mode = m;
		else
			gw_log(LOG_WARNING, "mode %s from the journal is not in "
			    "the policy; using %s", sr.mode,
			    policy_mode_name(gw->pol, gw->mode));
	}
	gw->policy_since = gw_now_us();

	if ((gw->base = event_base_new()) == NULL ||
	    (gw->pc = msg_chan_new(gw->base, PARENT_FD_CHAN, gw_from_parent,
	    sizeof(gw_from_parent) / sizeof(gw_from_parent[0]), gw_parent_msg,
	    gw_parent_err, gw)) == NULL) {
		gw_log(LOG_ERR, "cannot set up the event loop");
		_exit(1);
	}
	gw_replica_start(gw, &sr);
	gw->ngates = gw->conf->ngates;
	if ((gw->gates = calloc(gw->ngates, sizeof(*gw->gates))) == NULL)
		_exit(1);
	for (size_t i = 0; i < gw->ngates; i++) {
		struct gw_gate *gg = &gw->gates[i];
		gg->gw = gw;
		gg->cg = &gw->conf->gates[i];
		gw_gate_bind(gw, gg);
		if (gg->g == NULL ||
		    gw_dev_open(gw, gg, &gg->reader, &gg->cg->reader,
		    DRIVER_READER) == -1 ||
		    gw_dev_open(gw, gg, &gg->exit_reader, &gg->cg->exit_reader,
		    DRIVER_READER) == -1 ||
		    gw_dev_open(gw, gg, &gg->sensors, &gg->cg->sensors,
		    DRIVER_SENSOR) == -1 ||
		    gw_dev_open(gw, gg, &gg->lock, &gg->cg->lock,
		    DRIVER_OUTPUT) == -1) {
			gw_log(LOG_ERR, "gate %s: hardware setup failed",
			    gg->cg->name);
			_exit(1);
		}
		/* a fresh lock output is told where it stands */
		gw_hook_lock(gg, gg->g, 0);
	}
	if (gw_dev_open(gw, NULL, &gw->fire, &gw->conf->fire_alarm,
	    DRIVER_INPUT) == -1)
		_exit(1);
	gw_mode_apply(gw);

	const char *groups[3] = { gw->conf->role_group[CONF_ROLE_STAFF],
	    gw->conf->role_group[CONF_ROLE_ADMIN],
	    gw->conf->role_group[CONF_ROLE_AUDITOR] };
	struct ctl_handler h = { gw, gw_request, gw_client_gone };
	if ((gw->ctl = ctl_listen_fd(gw->base, PARENT_FD_CTL, gw->socket_path,
	    groups, &h, err, sizeof(err))) == NULL) {
		gw_log(LOG_ERR, "control socket: %s", err);
		_exit(1);
	}
	ctl_set_console_group(gw->ctl, gw->conf->role_group[CONF_ROLE_CONSOLE]);
	if (gw->conf->sync.set) {
		struct timeval sec = { 1, 0 };
		gw->sync_ev = event_new(gw->base, -1, EV_PERSIST, gw_sync_cb, gw);
		event_add(gw->sync_ev, &sec);
	}
	/* everything is open: from here on, no files, no sockets */
	if (gw_engine_sandbox() == -1)
		_exit(1);

	struct journal_record r;
	policyio_summary(gw->pol, summary, sizeof(summary));
	gw_rec_init(gw, &r, "start", "");
	gw_fmt(r.text, sizeof(r.text), "%s: %zu gates, mode %s, "
	    "policy %.12s (%s); rebuilt from %llu records (%llu passages)",
	    hello.restarts ? "engine restarted" : "gatewayd started",
	    gw->ngates, policy_mode_name(gw->pol, gw->mode),
	    policy_hash(gw->pol), summary, (unsigned long long)sr.records,
	    (unsigned long long)sr.passages);
	if (sr.after_seq > 0) {
		size_t k = strlen(r.text);
		gw_fmt(r.text + k, sizeof(r.text) - k, " after the state "
		    "snapshot at seq %llu", (unsigned long long)sr.after_seq);
	}
	if (a.clk != NULL) {
		size_t k = strlen(r.text);
		gw_fmt(r.text + k, sizeof(r.text) - k, "; SIMULATED CLOCK from %s",
		    a.clk);
	}
	gw_submit(gw, &r, NULL, NULL);
	gw_log(LOG_NOTICE, "%s; socket %s, journal %s", r.text,
	    gw->socket_path, gw->journal_dir);
	memset(&ready, 0, sizeof(ready));
	ready.clock_offset_us = gw_clock_offset_us;
	msg_send(gw->pc, MSG_EP_READY, &ready, sizeof(ready), -1);

	event_base_dispatch(gw->base);

	/* the parent said stop: the record, every answer back, the
	 * snapshot, then the parent puts the gates to rest */
	gw_rec_init(gw, &r, "stop", "");
	gw_fmt(r.text, sizeof(r.text), "gatewayd stopping on signal");
	gw_submit(gw, &r, NULL, NULL);
	for (int i = 0; i < 1000 && gw->npend > 0; i++)
		event_base_loop(gw->base, EVLOOP_ONCE);
	gw_replica_stop(gw);
	msg_send(gw->pc, MSG_EP_STOPPED, NULL, 0, -1);
	(void)msg_flush(gw->pc, 5000);
	gw_log(LOG_NOTICE, "engine stopped at journal seq %llu",
	    (unsigned long long)gw->durable_seq);
	/* LeakSanitizer cannot run in the sandbox: leave without it */
	_exit(gw->npend == 0 ? 0 : 1);
}

int
main(int argc, char **argv)
{
	struct gw_args a;
	struct parent_opts po;

	/* the roles the parent re-executes this binary as */
	if (argc >= 3 && strcmp(argv[1], GW_ROLE_FLAG) == 0) {
		if (strcmp(argv[2], "engine") == 0)
			return gw_engine(argc - 2, argv + 2);
		if (strcmp(argv[2], "net") == 0) {
			gw_args_parse(argc - 2, argv + 2, &a);
			netproc_sandbox = gw_net_sandbox;
			return netproc_main(PARENT_FD_CHAN, a.conf_path, gw_debug);
		}
		if (strcmp(argv[2], "nfc-reader") == 0)
			return nfc_role_main(argc - 2, argv + 2,
			    gw_reader_sandbox);
		fprintf(stderr, "gatewayd: unknown role '%s'\n", argv[2]);
		return 2;
	}
	gw_args_parse(argc, argv, &a);
	if (a.check)
		return gw_check(&a);
	memset(&po, 0, sizeof(po));
	po.conf_path = a.conf_path;
	po.journal_dir = a.jdir;
	po.socket_path = a.sock;
	po.debug = gw_debug;
	po.argc = argc;
	po.argv = argv;
	return parent_main(&po);
}
