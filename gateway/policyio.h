/*
 * policyio.h — the I/O the pure policy library leaves to its callers: read
 * the policy file, the credentials file it names (relative to the policy's
 * directory) and TZif data from the system tz database; print diagnostics.
 * Used by gatewayd (start, reload, -n) and gatectl policy.
 */
#ifndef GATEWAY_POLICYIO_H
#define GATEWAY_POLICYIO_H

#include <stdio.h>

#include "policy/policy.h"

/* Read a whole regular file (at most max bytes). 0, or -1 with err. */
int	policyio_read(const char *path, size_t max, char **buf, size_t *len,
	    char *err, size_t errlen);
/* Who reads files: by default this process; a sandboxed engine, which
 * cannot open files, asks the parent (same contract as policyio_read). */
typedef int (*policyio_reader)(const char *path, size_t max, char **buf,
	    size_t *len, char *err, size_t errlen);
void	policyio_set_reader(policyio_reader);
/* Load and check the policy at path. NULL on any error (diags say why; an
 * unreadable file is one diagnostic too). */
struct policy *policyio_load(const char *path, struct policy_diags *d);
/* Every diagnostic, rendered, to f. */
void	policyio_print_diags(FILE *f, const struct policy_diags *d);
/* "6 zones, 8 gates, 21 rules, 40 credentials, 4 modes, 12 tests" */
void	policyio_summary(const struct policy *p, char *buf, size_t len);

#endif
