/*
 * model.h — the compiled policy, shared by the loader (parse.c, check.c),
 * the evaluator (decide.c), the test runner, print and diff. Internal to
 * policy/. Every name is resolved to an index; every index is valid.
 */
#ifndef POLICY_MODEL_H
#define POLICY_MODEL_H

#include <stdint.h>
#include <stddef.h>

#include "policy/policy.h"
#include "policy/tz.h"

#define POL_OUTSIDE	0	/* zone 0: the implicit `outside` */
#define POL_ALL_ZONES	(POLICY_NONE - 1)	/* `into *` */

struct pol_loc {
	uint32_t	line, col;	/* in the policy file (file name: policy->file) */
};

enum pol_limit { POL_LIMIT_NONE, POL_LIMIT_HARD, POL_LIMIT_SOFT, POL_LIMIT_TIMED };

struct pol_zone {
	char		*name;
	char		*desc;
	struct pol_loc	 loc;
	uint32_t	 parent;		/* POLICY_NONE for top level and outside */
	uint32_t	 depth;			/* 0 for top level */
	uint32_t	 capacity;		/* 0: none */
	enum pol_limit	 cap_mode;		/* HARD or SOFT when capacity > 0 */
	enum pol_limit	 apb;			/* NONE, HARD, SOFT, TIMED */
	uint32_t	 apb_timeout_s;		/* for TIMED */
	uint32_t	 two_person_s;		/* 0: none */
	uint32_t	 escort_group, escort_host;	/* POLICY_NONE: none */
	uint32_t	 escort_s;
	int		 require_secure, require_pin;	/* as written on this zone */
	int		 sensitive;
	/* compiled: */
	int		 need_secure, need_pin;	/* inherited from ancestors too */
	uint32_t	*rules;			/* rules whose zone contains this one */
	size_t		 nrules;
};

enum pol_gate_kind_ { POL_DOOR = POLICY_GATE_DOOR, POL_TURNSTILE = POLICY_GATE_TURNSTILE,
	POL_LANE = POLICY_GATE_LANE };

struct pol_gate {
	char		*name;
	struct pol_loc	 loc;
	uint32_t	 from, to;
	int		 kind;			/* enum policy_gate_kind */
	int		 egress_free, exit_reader;
	uint32_t	 unlock_s, held_open_s;	/* defaults 5 and 30 */
	/* compiled: zones entered by going from -> to (to and its ancestors
	 * that do not contain from), innermost first; and left by to -> from */
	uint32_t	*enters;
	size_t		 nenters;
};

struct pol_group {
	char		*name;
	char		*desc;
	struct pol_loc	 loc;
};

struct pol_range {				/* weekly range */
	uint8_t		 days;			/* bit 0 = Monday ... bit 6 = Sunday */
	uint16_t	 start, end;		/* minutes from local midnight, end may be 1440 */
	struct pol_loc	 loc;
};

struct pol_dated {				/* `on DATE HH:MM-HH:MM` */
	int32_t		 day;			/* days since 1970-01-01 (local date) */
	uint16_t	 start, end;
	struct pol_loc	 loc;
};

struct pol_holidays {
	char		*name;
	struct pol_loc	 loc;
	int32_t		*days;			/* sorted, days since epoch */
	size_t		 ndays;
};

struct pol_sched {
	char		*name;
	struct pol_loc	 loc;
	int		 always;
	struct pol_range *ranges;
	size_t		 nranges;
	uint32_t	*except;		/* holiday set indices */
	size_t		 nexcept;
	struct pol_dated *dated;
	size_t		 ndated;
};

enum pol_effect { POL_PERMIT, POL_FORBID };
enum pol_who { POL_WHO_EVERYONE, POL_WHO_GROUP, POL_WHO_CRED };

struct pol_rule {
	enum pol_effect	 effect;
	enum pol_who	 who_kind;
	uint32_t	 who;			/* group or credential index */
	char		*who_name;		/* as written (credential may be unknown) */
	uint32_t	 zone;			/* zone index or POL_ALL_ZONES */
	uint32_t	 sched;			/* POLICY_NONE: always */
	uint32_t	 mode;			/* POLICY_NONE: every mode */
	/* permit: conditions required; forbid: exceptions (`unless`) */
	int		 cond_secure, cond_pin;
	uint32_t	 cond_group;		/* forbid only: unless group; else NONE */
	struct pol_loc	 loc;
};

enum pol_act_what { POL_ACT_LOCK, POL_ACT_LOCK_EXIT, POL_ACT_UNLOCK };
enum pol_act_target { POL_T_ALL, POL_T_PERIMETER, POL_T_EGRESS, POL_T_GATE, POL_T_ZONE };

struct pol_action {
	enum pol_act_what	 what;
	enum pol_act_target	 target_kind;
	uint32_t		 target;	/* gate or zone index */
	struct pol_loc		 loc;
};

struct pol_mode {
	char		*name;
	struct pol_loc	 loc;
	int		 is_default;
	int		 apb_off;
	struct pol_action *acts;
	size_t		 nacts;
	/* compiled: POLICY_GATE_* bits per gate */
	uint8_t		*gate_bits;
};

/* A salted PIN hash; out of line because most badges have none. */
struct pol_pin {
	uint8_t		 salt[32];
	uint8_t		 salt_len;
	uint8_t		 hash[32];
};

struct pol_cred {
	char		*id;
	char		*holder;
	uint32_t	*groups;		/* sorted group indices */
	uint32_t	 ngroups;
	uint32_t	 line;			/* in the CSV */
	int64_t		 valid_from, valid_until;	/* UTC; INT64_MIN / INT64_MAX */
	int		 cls;			/* enum policy_class */
	struct pol_pin	*pin, *duress;		/* NULL: none */
	uint32_t	 issue;			/* lowest card issue accepted */
};

struct pol_test_inside { uint32_t cred, zone; int64_t since; };
struct pol_test_occ { uint32_t zone; int64_t count; };

struct pol_test {
	char		*name;
	struct pol_loc	 loc;
	char		*badge;			/* as written */
	uint32_t	 cred;			/* POLICY_NONE: unknown badge */
	uint32_t	 gate;
	enum policy_direction dir;
	int64_t		 at;			/* UTC */
	uint32_t	 mode;			/* POLICY_NONE: default mode */
	char		*pin;			/* NULL: none */
	int		 cls;			/* -1: the credential's own class */
	struct pol_test_inside *inside;
	size_t		 ninside;
	struct pol_test_occ *occ;
	size_t		 nocc;
	struct policy_recent *recent;		/* `at` is seconds before the tap here */
	size_t		 nrecent;
	enum policy_effect want_effect;
	int		 want_reason;		/* -1: any */
};

/* Open-addressing hash index: name -> index. */
struct pol_index {
	uint32_t	*slots;			/* index + 1; 0 = empty */
	size_t		 mask;
};

struct policy {
	char		*file;			/* as given to policy_load */
	char		*venue;
	char		*tzname;
	struct tz	*tz;
	char		*cred_file;		/* as written */
	char		 hash[65];
	uint32_t	 responders;		/* group index or POLICY_NONE */
	struct pol_loc	 responders_loc;

	struct pol_zone	*zones;   size_t nzones;	/* [0] = outside */
	struct pol_gate	*gates;   size_t ngates;
	struct pol_group *groups; size_t ngroups;
	struct pol_holidays *hols; size_t nhols;
	struct pol_sched *scheds; size_t nscheds;
	struct pol_rule	*rules;   size_t nrules;
	struct pol_mode	*modes;   size_t nmodes;
	uint32_t	 default_mode;
	struct pol_cred	*creds;   size_t ncreds;
	struct pol_test	*tests;   size_t ntests;

	struct pol_index cred_index, gate_index, zone_index, mode_index;
};

/* model.c */
void	 pol_index_build(struct pol_index *, size_t n,
	    const char *(*name_of)(const void *arr, size_t i), const void *arr);
uint32_t pol_index_get(const struct pol_index *, const char *name,
	    const char *(*name_of)(const void *arr, size_t i), const void *arr);
int	 pol_cred_in_group(const struct pol_cred *, uint32_t group);
void	 pol_indexes_build(struct policy *);
/* Schedule s (POLICY_NONE = always) open at local day/minute-of-day? */
int	 pol_sched_open(const struct policy *, uint32_t sched, int32_t day,
	    unsigned minute);

#endif
