/*
 * users.c — the console's accounts file (see users.h).
 *
 * Trusts: the file's owner (the installer); it is still parsed with
 * bounds, and refused if anyone else could have written it. Passwords
 * come from browsers: bounded, hashed, wiped.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "gateway/ctl.h"
#include "gateway/users.h"

#define USERS_SALT		16
#define USERS_DK		32
#define USERS_FILE_MAX		(1u << 20)

struct users_entry {
	char		 name[USERS_NAME_MAX + 1];
	unsigned	 roles;
	unsigned	 iter;
	unsigned char	 salt[USERS_SALT], dk[USERS_DK];
};

struct users {
	struct users_entry	*v;
	size_t			 n;
};

static int
users_unhex(const char *s, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + (size_t)k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static int
users_pbkdf2(const char *pw, const unsigned char *salt, unsigned iter,
    unsigned char *dk)
{
	mbedtls_md_context_t md;
	int rc;

	mbedtls_md_init(&md);
	rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	    1);
	if (rc == 0)
		rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)pw,
		    strlen(pw), salt, USERS_SALT, iter, USERS_DK, dk);
	mbedtls_md_free(&md);
	return rc == 0 ? 0 : -1;
}

static int
users_roles(const char *s, unsigned *roles)
{
	*roles = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		if (n == 5 && strncmp(s, "staff", 5) == 0)
			*roles |= CTL_ROLE_STAFF;
		else if ((n == 10 && strncmp(s, "supervisor", 10) == 0) ||
		    (n == 5 && strncmp(s, "admin", 5) == 0))
			*roles |= CTL_ROLE_ADMIN;
		else if (n == 7 && strncmp(s, "auditor", 7) == 0)
			*roles |= CTL_ROLE_AUDITOR;
		else
			return -1;
		s += n;
		if (*s == ',')
			s++;
	}
	return *roles ? 0 : -1;
}

/* "pbkdf2-sha256$ITER$SALT$DK" */
static int
users_parse_hash(const char *h, struct users_entry *e)
{
	char *end;
	unsigned long it;
	const char *salt, *dk;

	if (strncmp(h, "pbkdf2-sha256$", 14) != 0)
		return -1;
	errno = 0;
	it = strtoul(h + 14, &end, 10);
	if (errno || *end != '$' || it < USERS_ITER_MIN || it > 10000000ul)
		return -1;
	salt = end + 1;
	if (strlen(salt) != 2 * USERS_SALT + 1 + 2 * USERS_DK ||
	    salt[2 * USERS_SALT] != '$')
		return -1;
	dk = salt + 2 * USERS_SALT + 1;
	if (users_unhex(salt, USERS_SALT, e->salt) == -1 ||
	    users_unhex(dk, USERS_DK, e->dk) == -1)
		return -1;
	e->iter = (unsigned)it;
	return 0;
}

static int
users_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= USERS_NAME_MAX && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")
	    == n;
}

struct users *
users_parse(const char *file, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct users *u = calloc(1, sizeof(*u));
	size_t off = 0, lineno = 0, cap = 0;

	if (u == NULL) {
		snprintf(err, errlen, "%s: out of memory", file);
		return NULL;
	}
	while (off < len) {
		char line[512], *w[4], *save = NULL, *p;
		size_t ll = 0, nw = 0;
		struct users_entry e;

		lineno++;
		while (off + ll < len && text[off + ll] != '\n')
			ll++;
		if (ll >= sizeof(line)) {
			snprintf(err, errlen, "%s:%zu: line too long", file, lineno);
			goto fail;
		}
		memcpy(line, text + off, ll);
		line[ll] = '\0';
		off += ll + 1;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		if (strlen(line) != ll && p == NULL) {
			snprintf(err, errlen, "%s:%zu: NUL byte", file, lineno);
			goto fail;
		}
		for (p = strtok_r(line, " \t\r", &save); p != NULL && nw < 4;
		    p = strtok_r(NULL, " \t\r", &save))
			w[nw++] = p;
		if (nw == 0)
			continue;
		memset(&e, 0, sizeof(e));
		if (nw != 3) {
			snprintf(err, errlen, "%s:%zu: expected NAME ROLES HASH",
			    file, lineno);
			goto fail;
		}
		if (!users_name_ok(w[0])) {
			snprintf(err, errlen, "%s:%zu: bad name (1-%d of A-Z a-z "
			    "0-9 . _ @ -)", file, lineno, USERS_NAME_MAX);
			goto fail;
		}
		if (users_roles(w[1], &e.roles) == -1) {
			snprintf(err, errlen, "%s:%zu: bad roles '%.40s' (staff, "
			    "supervisor, auditor, comma-separated)", file, lineno,
			    w[1]);
			goto fail;
		}
		if (users_parse_hash(w[2], &e) == -1) {
			snprintf(err, errlen, "%s:%zu: bad hash (want pbkdf2-"
			    "sha256$ITER$SALT$HASH from gateconsole passwd, "
			    "ITER >= %u)", file, lineno, USERS_ITER_MIN);
			goto fail;
		}
		for (size_t i = 0; i < u->n; i++)
			if (strcmp(u->v[i].name, w[0]) == 0) {
				snprintf(err, errlen, "%s:%zu: %s listed twice",
				    file, lineno, w[0]);
				goto fail;
			}
		strcpy(e.name, w[0]);
		if (u->n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct users_entry *nv = realloc(u->v, nc * sizeof(*nv));
			if (nv == NULL) {
				snprintf(err, errlen, "%s: out of memory", file);
				goto fail;
			}
			u->v = nv;
			cap = nc;
		}
		u->v[u->n++] = e;
	}
	return u;
fail:
	users_free(u);
	return NULL;
}

struct users *
users_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct users *u = NULL;
	char *buf = NULL;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* hashes are slow to crack, not impossible: keep them to ourselves */
	if (st.st_mode & (S_IWGRP | S_IWOTH | S_IROTH)) {
		snprintf(err, errlen, "%s: mode %03o lets others read or write "
		    "it; chmod 600 (or 640)", path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (st.st_size > USERS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", path,
		    USERS_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: read: %s", path,
			    r == 0 ? "short" : strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	u = users_parse(path, buf, n, err, errlen);
out:
	if (buf != NULL) {
		explicit_bzero(buf, n);
		free(buf);
	}
	close(fd);
	return u;
}

void
users_free(struct users *u)
{
	if (u == NULL)
		return;
	if (u->v != NULL)
		explicit_bzero(u->v, u->n * sizeof(*u->v));
	free(u->v);
	free(u);
}

size_t
users_count(const struct users *u)
{
	return u->n;
}

int
users_check(const struct users *u, const char *name, const char *password,
    unsigned *roles)
{
	static const struct users_entry dummy = { .iter = USERS_ITER_DEFAULT };
	const struct users_entry *e = &dummy;
	unsigned char dk[USERS_DK], d = 0;
	int known = 0;

	if (strlen(password) > USERS_PASS_MAX)
		return 0;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0) {
			e = &u->v[i];
			known = 1;
		}
	if (users_pbkdf2(password, e->salt, e->iter, dk) == -1)
		return 0;
	for (size_t i = 0; i < USERS_DK; i++)
		d |= (unsigned char)(dk[i] ^ e->dk[i]);
	explicit_bzero(dk, sizeof(dk));
	if (!known || d != 0)
		return 0;
	*roles = e->roles;
	return 1;
}

int
users_hash(const char *password, unsigned iterations, char *out,
    size_t outlen)
{
	unsigned char salt[USERS_SALT], dk[USERS_DK];
	char sh[2 * USERS_SALT + 1], dh[2 * USERS_DK + 1];
	int n;

	if (strlen(password) > USERS_PASS_MAX || iterations < USERS_ITER_MIN ||
	    getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt) ||
	    users_pbkdf2(password, salt, iterations, dk) == -1)
		return -1;
	for (size_t i = 0; i < USERS_SALT; i++)
		snprintf(sh + 2 * i, 3, "%02x", salt[i]);
	for (size_t i = 0; i < USERS_DK; i++)
		snprintf(dh + 2 * i, 3, "%02x", dk[i]);
	explicit_bzero(dk, sizeof(dk));
	n = snprintf(out, outlen, "pbkdf2-sha256$%u$%s$%s", iterations, sh, dh);
	explicit_bzero(dh, sizeof(dh));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
