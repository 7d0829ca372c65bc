/*
 * policy.h — the venue policy library: load (parse, resolve, check), decide,
 * explain, test, diff, print.
 *
 * Pure: no I/O but the text handed in and the files fetched through the
 * caller's policy_io callback; no globals, no printing, no exit. Diagnostics
 * are returned as data. Decisions are pure functions of the compiled policy,
 * the request and the state the caller keeps (who is inside, occupancy,
 * recent taps), so the daemon owns all state and can rebuild it.
 */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_NONE UINT32_MAX

struct policy;				/* opaque, immutable once loaded */

/* ---- diagnostics ---- */
enum policy_severity { POLICY_ERROR, POLICY_WARNING };

struct policy_diag {
	enum policy_severity	 sev;
	char			 code[8];	/* "E012", "W003" */
	char			*file;
	uint32_t		 line, col;	/* 1-based; 0 = no position */
	char			*msg;
	char			*text;		/* the offending line, or NULL */
};

struct policy_diags {
	struct policy_diag	*v;
	size_t			 n, cap;
	size_t			 errors, warnings;
};

void	policy_diags_free(struct policy_diags *);
/* Record one diagnostic; text is the source line (copied, may be NULL). */
void	policy_diag_add(struct policy_diags *, enum policy_severity,
	    const char *code, const char *file, uint32_t line, uint32_t col,
	    const char *text, const char *fmt, ...)
	    __attribute__((format(printf, 8, 9)));
/* "FILE:LINE:COL: error[CODE]: msg\n  | text\n  | ^\n" into buf; returns
 * the length it needed (snprintf-like). */
size_t	policy_diag_render(const struct policy_diag *, char *buf, size_t len);
/* Closest of n names to `name` by edit distance, or NULL if none is close. */
const char *policy_suggest(const char *name, const char *const *names,
	    size_t n);

/* ---- loading ---- */
enum policy_file { POLICY_FILE_CREDENTIALS, POLICY_FILE_TZIF };

struct policy_io {
	void	*ctx;
	/*
	 * Fetch a file the policy names: CREDENTIALS by the path written in the
	 * policy (the caller resolves it against the policy's directory), TZIF
	 * by IANA zone name ("Europe/London"). Return 0 with a malloc'd buffer
	 * the library frees, or -1 with a reason in err.
	 */
	int	(*load)(void *ctx, enum policy_file kind, const char *name,
		    char **buf, size_t *len, char *err, size_t errlen);
};

/*
 * Parse, resolve and check `text` (named `file` in diagnostics). Every
 * problem found is appended to diags. Returns NULL if any error was found.
 */
struct policy *policy_load(const char *file, const char *text, size_t len,
	    const struct policy_io *io, struct policy_diags *diags);
void	policy_free(struct policy *);

/* SHA-256 of the policy text and of the credentials text, hex, 64 chars. */
const char *policy_hash(const struct policy *);

enum policy_count {
	POLICY_COUNT_ZONES, POLICY_COUNT_GATES, POLICY_COUNT_RULES,
	POLICY_COUNT_CREDENTIALS, POLICY_COUNT_GROUPS, POLICY_COUNT_SCHEDULES,
	POLICY_COUNT_MODES, POLICY_COUNT_TESTS
};
size_t	policy_count(const struct policy *, enum policy_count);

/* ---- names ---- (indices are stable for the life of one policy) */
const char *policy_venue(const struct policy *);
const char *policy_timezone(const struct policy *);
uint32_t policy_gate_find(const struct policy *, const char *name);
uint32_t policy_zone_find(const struct policy *, const char *name);
uint32_t policy_mode_find(const struct policy *, const char *name);
uint32_t policy_cred_find(const struct policy *, const char *id);
uint32_t policy_mode_default(const struct policy *);
const char *policy_gate_name(const struct policy *, uint32_t);
const char *policy_zone_name(const struct policy *, uint32_t);
const char *policy_mode_name(const struct policy *, uint32_t);
const char *policy_cred_id(const struct policy *, uint32_t);
const char *policy_cred_holder(const struct policy *, uint32_t);
int	policy_cred_class(const struct policy *, uint32_t);	/* as issued */
uint32_t policy_zone_parent(const struct policy *, uint32_t);	/* NONE for top */
int	policy_zone_contains(const struct policy *, uint32_t outer, uint32_t inner);
uint32_t policy_zone_capacity(const struct policy *, uint32_t);	/* 0 = none */

enum policy_gate_kind { POLICY_GATE_DOOR, POLICY_GATE_TURNSTILE, POLICY_GATE_LANE };
struct policy_gate_info {
	const char		*name;
	uint32_t		 from, to;	/* zone indices; zone 0 is `outside` */
	enum policy_gate_kind	 kind;
	int			 egress_free, exit_reader;
	uint32_t		 unlock_s, held_open_s;
};
int	policy_gate_info(const struct policy *, uint32_t gate,
	    struct policy_gate_info *);

/* What a mode does to a gate's hardware. */
#define POLICY_GATE_LOCK_ENTRY		0x1	/* entry taps denied (mode-locked) */
#define POLICY_GATE_LOCK_EXIT		0x2
#define POLICY_GATE_UNLOCK_ENTRY	0x4	/* held unlocked (free passage) */
#define POLICY_GATE_UNLOCK_EXIT		0x8
unsigned policy_mode_gate(const struct policy *, uint32_t mode, uint32_t gate);
int	policy_mode_apb_off(const struct policy *, uint32_t mode);

/* ---- deciding ---- */
enum policy_effect { POLICY_DENY = 0, POLICY_GRANT = 1 };
enum policy_direction { POLICY_IN = 0, POLICY_OUT = 1 };
/* FAILED: the card was asked to prove itself (a DESFire with the venue's
 * application) and could not: wrong key, bad MAC; a likely clone. */
enum policy_class { POLICY_CLASS_LEGACY = 0, POLICY_CLASS_SECURE = 1,
	POLICY_CLASS_FAILED = 2 };

enum policy_reason {
	/* grants */
	POLICY_R_PERMIT, POLICY_R_EXIT, POLICY_R_DURESS, POLICY_R_APB_SOFT,
	POLICY_R_CAPACITY_SOFT, POLICY_R_RESPONDER,
	/* denials */
	POLICY_R_NO_PERMIT, POLICY_R_FORBIDDEN, POLICY_R_OUTSIDE_SCHEDULE,
	POLICY_R_UNKNOWN_BADGE, POLICY_R_NOT_YET_VALID, POLICY_R_EXPIRED,
	POLICY_R_SECURE_REQUIRED, POLICY_R_CLASS_MISMATCH, POLICY_R_PIN_REQUIRED,
	POLICY_R_PIN_WRONG, POLICY_R_APB_ALREADY_INSIDE, POLICY_R_APB_NOT_INSIDE,
	POLICY_R_ZONE_FULL, POLICY_R_TWO_PERSON_WAITING, POLICY_R_ESCORT_REQUIRED,
	POLICY_R_MODE_LOCKED, POLICY_R_UNKNOWN_GATE, POLICY_R_ERROR,
	POLICY_R_AUTH_FAILED, POLICY_R_ISSUE_REPLACED,
	POLICY_R__COUNT
};
const char *policy_reason_code(enum policy_reason);	/* "no-permit" */
const char *policy_reason_text(enum policy_reason);	/* "no rule permits this badge here" */
int	policy_reason_parse(const char *code, enum policy_reason *out);

/* A recent tap at the same gate, kept by the caller (two-person, escort). */
#define POLICY_RECENT_AUTHORISED	0x1	/* policy permitted it (maybe pending) */
struct policy_recent {
	uint32_t	cred;
	int64_t		at;		/* UTC seconds */
	uint32_t	flags;
};

struct policy_request {
	uint32_t		 gate;
	enum policy_direction	 dir;
	uint32_t		 cred;		/* POLICY_NONE: unknown badge */
	enum policy_class	 cls;		/* what the reader proved */
	int64_t			 now;		/* UTC seconds */
	uint32_t		 mode;
	const char		*pin;		/* NULL: no PIN entered */
	uint32_t		 issue;		/* secure card's issue counter */
	const struct policy_recent *recent;	/* newest first */
	size_t			 nrecent;
};

struct policy_state_ops {
	/* 1 if cred is inside zone now (*since = entry time), 0 if not, -1 error */
	int		(*inside)(void *ctx, uint32_t cred, uint32_t zone,
			    int64_t *since);
	/* people inside zone now, or -1 on error */
	int64_t		(*occupancy)(void *ctx, uint32_t zone);
};

#define POLICY_F_SILENT_ALARM	0x01	/* duress */
#define POLICY_F_ALARM_APB	0x02	/* soft anti-passback violated */
#define POLICY_F_ALARM_CAPACITY	0x04	/* soft capacity exceeded */
#define POLICY_F_TWO_PERSON	0x08	/* granted as the second of two */
#define POLICY_F_PENDING	0x10	/* authorised, waiting for a second badge */

struct policy_decision {
	enum policy_effect	 effect;
	enum policy_reason	 reason;
	uint32_t		 flags;
	const char		*rule_file;	/* NULL: default deny */
	uint32_t		 rule_line;
	uint32_t		 zone;		/* target zone of the request */
	uint32_t		 guard_zone;	/* zone whose guard decided, or NONE */
	int64_t			 detail;	/* expiry time, capacity, window... */
};

/* Always fills *out (a deny on any error); returns 0, or -1 if the request
 * itself was malformed (unknown gate or mode index). */
int	policy_decide(const struct policy *, const struct policy_request *,
	    const struct policy_state_ops *, void *state_ctx,
	    struct policy_decision *out);

/* One line for gate staff: "denied: badge expired 2026-01-03 (3 days ago)". */
size_t	policy_explain(const struct policy *, const struct policy_request *,
	    const struct policy_decision *, char *buf, size_t len);
/* "icu.pol:12" or "default deny" */
size_t	policy_decision_where(const struct policy_decision *, char *buf,
	    size_t len);

/* ---- tests, print, diff ---- */
struct policy_test_result {
	const char		*name;
	const char		*file;
	uint32_t		 line;
	int			 passed;
	struct policy_decision	 got;
	enum policy_effect	 want_effect;
	int			 want_reason;	/* -1: any */
};
typedef void (*policy_test_cb)(void *ctx, const struct policy_test_result *);
/* Runs every embedded test; returns the number that failed. */
size_t	policy_run_tests(const struct policy *, policy_test_cb, void *ctx);

/* Normalized print of what was understood (malloc'd, NUL-terminated). */
char	*policy_print(const struct policy *);

/* Who gains / loses entry to which zone under which mode and schedule
 * (malloc'd text, one change per line; empty string when no change). */
char	*policy_diff(const struct policy *old, const struct policy *new_);

/* Local civil time (venue zone) of a UTC instant, "2026-03-02 10:00:00 GMT". */
size_t	policy_format_time(const struct policy *, int64_t utc, char *buf,
	    size_t len);
/* Parse "2026-03-02T10:00[:SS]" as venue local time, or with a trailing Z or
 * ±HH:MM as absolute; 0 ok, -1 bad syntax. */
int	policy_parse_time(const struct policy *, const char *s, int64_t *utc);

/* "sha256:SALT:HASH" for pin with the given salt bytes (for the badge office) */
size_t	policy_pin_hash(const uint8_t *salt, size_t saltlen, const char *pin,
	    char *buf, size_t len);

#endif
