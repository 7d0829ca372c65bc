/*
 * policyio.c — file access for the policy library (see policyio.h). The
 * files are untrusted in size and type: only regular files, bounded.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/policyio.h"

#define ZONEINFO	"/usr/share/zoneinfo"
#define POLICY_MAX	(16u << 20)
#define CREDS_MAX	(256u << 20)
#define TZIF_MAX	(1u << 20)

static policyio_reader policyio_via;

void
policyio_set_reader(policyio_reader fn)
{
	policyio_via = fn;
}

int
policyio_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	int fd;

	*buf = NULL;
	*len = 0;
	if (policyio_via != NULL)
		return policyio_via(path, max, buf, len, err, errlen);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;		/* shrank while we read: take what is there */
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

struct policyio_ctx {
	char	dir[PATH_MAX];
};

static int
policyio_valid_tzname(const char *name)
{
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
	    strlen(name) > 64)
		return 0;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '/' || *s == '_' || *s == '-' ||
		    *s == '+'))
			return 0;
	return 1;
}

static int
policyio_cb(void *vctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	struct policyio_ctx *ctx = vctx;
	char path[PATH_MAX + 128];

	if (kind == POLICY_FILE_TZIF) {
		if (!policyio_valid_tzname(name)) {
			snprintf(err, errlen, "not a time zone name");
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s", ZONEINFO, name);
		if (policyio_read(path, TZIF_MAX, buf, len, err, errlen) != 0) {
			snprintf(err, errlen, "not in the system time zone database (%s)",
			    ZONEINFO);
			return -1;
		}
		return 0;
	}
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", ctx->dir, name);
	return policyio_read(path, CREDS_MAX, buf, len, err, errlen);
}

struct policy *
policyio_load(const char *path, struct policy_diags *d)
{
	struct policyio_ctx ctx;
	struct policy_io io = { &ctx, policyio_cb };
	struct policy *p;
	char *text, err[PATH_MAX + 64];
	const char *slash;
	size_t len;

	if (policyio_read(path, POLICY_MAX, &text, &len, err, sizeof(err)) != 0) {
		policy_diag_add(d, POLICY_ERROR, "E000", path, 0, 0, NULL,
		    "cannot read the policy: %s", err);
		return NULL;
	}
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(ctx.dir, sizeof(ctx.dir), ".");
	else
		snprintf(ctx.dir, sizeof(ctx.dir), "%.*s", (int)(slash - path + (slash == path)),
		    path);
	p = policy_load(path, text, len, &io, d);
	free(text);
	return p;
}

void
policyio_print_diags(FILE *f, const struct policy_diags *d)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++) {
		policy_diag_render(&d->v[i], buf, sizeof(buf));
		fputs(buf, f);
	}
	if (d->errors + d->warnings > d->n)
		fprintf(f, "(%zu more diagnostics not shown)\n",
		    d->errors + d->warnings - d->n);
}

void
policyio_summary(const struct policy *p, char *buf, size_t len)
{
	snprintf(buf, len, "%zu zones, %zu gates, %zu rules, %zu credentials, "
	    "%zu groups, %zu schedules, %zu modes, %zu tests",
	    policy_count(p, POLICY_COUNT_ZONES), policy_count(p, POLICY_COUNT_GATES),
	    policy_count(p, POLICY_COUNT_RULES), policy_count(p, POLICY_COUNT_CREDENTIALS),
	    policy_count(p, POLICY_COUNT_GROUPS), policy_count(p, POLICY_COUNT_SCHEDULES),
	    policy_count(p, POLICY_COUNT_MODES), policy_count(p, POLICY_COUNT_TESTS));
}
