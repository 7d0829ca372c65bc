/*
 * users.h — the gate console's accounts file: who may sign in, with which
 * roles, and a salted, slow password hash (PBKDF2-HMAC-SHA256). One line
 * per person:
 *
 *   # name   roles            hash
 *   alice    staff            pbkdf2-sha256$120000$SALTHEX$HASHHEX
 *   sam      supervisor       pbkdf2-sha256$...
 *   audrey   auditor          pbkdf2-sha256$...
 *
 * Roles (comma-separated): staff, supervisor (the daemon's admin role;
 * "admin" is accepted too), auditor. `gateconsole passwd` makes a hash.
 * Local to the console on purpose: no PAM, no system accounts for people
 * who only ever use a tablet at a gate.
 */
#ifndef GATEWAY_USERS_H
#define GATEWAY_USERS_H

#include <stddef.h>

#define USERS_NAME_MAX		32
#define USERS_PASS_MAX		256
#define USERS_ITER_DEFAULT	120000u
#define USERS_ITER_MIN		10000u

struct users;

/* Parse the text (file named in errors): NULL and the first problem as
 * "file:line: message" in err. */
struct users *users_parse(const char *file, const char *text, size_t len,
	    char *err, size_t errlen);
/* Read and parse a file, refusing one others may write or read. */
struct users *users_load(const char *path, char *err, size_t errlen);
void	users_free(struct users *);
size_t	users_count(const struct users *);
/* 1 and *roles (CTL_ROLE_*) if name and password match, else 0. An
 * unknown name costs the same hashing as a known one. */
int	users_check(const struct users *, const char *name,
	    const char *password, unsigned *roles);
/* A hash line field for password: 0, or -1 (no randomness, too long). */
int	users_hash(const char *password, unsigned iterations, char *out,
	    size_t outlen);

#endif
