/*
 * loader.h — state shared by the stages of policy_load: parse.c (text to
 * model with names unresolved), resolve.c (names to indices, compile),
 * creds.c (the credentials CSV) and check.c (invariants and warnings).
 * Internal to policy/.
 */
#ifndef POLICY_LOADER_H
#define POLICY_LOADER_H

#include "policy/model.h"

/* A name as written, resolved later (order of declarations does not matter). */
struct ref {
	char		*name;		/* NULL: not given */
	struct pol_loc	 loc;
};

struct zone_src  { struct ref parent, escort_g, escort_h; };
struct gate_src  { struct ref from, to; int has_from, has_to; };
struct sched_src { struct ref *except; size_t nexcept; };
struct rule_src  { struct ref who, zone, sched, cond_group; };
struct act_src   { struct ref target; };
struct test_src  { struct ref gate, mode; struct ref *inside_cred, *inside_zone;
		   struct ref *occ_zone; struct ref *recent_cred; int has_tap;
		   int at_absolute; struct pol_loc at_loc; };

struct loader {
	const char		*file;
	const char		*src;
	size_t			 len;
	size_t			*lines;		/* offset of each line start */
	size_t			 nlines;
	struct policy_diags	*d;
	const struct policy_io	*io;
	struct policy		*p;

	struct zone_src		*zsrc;
	struct gate_src		*gsrc;
	struct sched_src	*ssrc;
	struct rule_src		*rsrc;
	struct act_src		**asrc;		/* per mode, per action */
	struct test_src		*tsrc;
	struct ref		 responders;
	struct pol_loc		 venue_loc, cred_loc, tz_loc;
	int			 have_venue;
	size_t			 ngroups_used;
};

/* Grow a model array so index n fits (capacity is implicit: powers of two). */
void	*ld_grow(void *arr, size_t n, size_t elsize);
char	*ld_strndup(const char *s, size_t n);
const char *ld_line(const struct loader *, uint32_t line);
void	 ld_err(struct loader *, struct pol_loc, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 ld_warn(struct loader *, struct pol_loc, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void	 ld_parse(struct loader *);		/* parse.c */
void	 ld_resolve(struct loader *);		/* resolve.c */
void	 ld_creds(struct loader *, const char *text, size_t len);	/* creds.c */
void	 ld_compile(struct loader *);		/* resolve.c */
void	 ld_tests(struct loader *);		/* resolve.c */
void	 ld_check(struct loader *);		/* check.c */
void	 ld_free(struct loader *);

#endif
