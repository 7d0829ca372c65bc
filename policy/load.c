/*
 * load.c — policy_load: parse, fetch the time zone and the credentials
 * through the caller's policy_io, resolve, compile, check. All or nothing:
 * any error and the caller gets NULL and keeps whatever it had before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"
#include "policy/sha256.h"

/* Largest inputs we agree to look at: far beyond any venue, far below harm. */
#define POLICY_MAX_TEXT	(16u << 20)
#define CREDS_MAX_TEXT	(256u << 20)

static void
ref_free(struct ref *r)
{
	free(r->name);
	r->name = NULL;
}

void
ld_free(struct loader *ld)
{
	struct policy *p = ld->p;

	free(ld->lines);
	if (ld->zsrc)
		for (size_t i = 0; i < p->nzones; i++) {
			ref_free(&ld->zsrc[i].parent);
			ref_free(&ld->zsrc[i].escort_g);
			ref_free(&ld->zsrc[i].escort_h);
		}
	free(ld->zsrc);
	if (ld->gsrc)
		for (size_t i = 0; i < p->ngates; i++) {
			ref_free(&ld->gsrc[i].from);
			ref_free(&ld->gsrc[i].to);
		}
	free(ld->gsrc);
	if (ld->ssrc)
		for (size_t i = 0; i < p->nscheds; i++) {
			for (size_t k = 0; k < ld->ssrc[i].nexcept; k++)
				ref_free(&ld->ssrc[i].except[k]);
			free(ld->ssrc[i].except);
		}
	free(ld->ssrc);
	if (ld->rsrc)
		for (size_t i = 0; i < p->nrules; i++) {
			ref_free(&ld->rsrc[i].who);
			ref_free(&ld->rsrc[i].zone);
			ref_free(&ld->rsrc[i].sched);
			ref_free(&ld->rsrc[i].cond_group);
		}
	free(ld->rsrc);
	if (ld->asrc)
		for (size_t i = 0; i < p->nmodes; i++) {
			if (ld->asrc[i])
				for (size_t k = 0; k < p->modes[i].nacts; k++)
					ref_free(&ld->asrc[i][k].target);
			free(ld->asrc[i]);
		}
	free(ld->asrc);
	if (ld->tsrc)
		for (size_t i = 0; i < p->ntests; i++) {
			struct test_src *ts = &ld->tsrc[i];
			ref_free(&ts->gate);
			ref_free(&ts->mode);
			for (size_t k = 0; k < p->tests[i].ninside; k++) {
				ref_free(&ts->inside_cred[k]);
				ref_free(&ts->inside_zone[k]);
			}
			for (size_t k = 0; k < p->tests[i].nocc; k++)
				ref_free(&ts->occ_zone[k]);
			for (size_t k = 0; k < p->tests[i].nrecent; k++)
				ref_free(&ts->recent_cred[k]);
			free(ts->inside_cred);
			free(ts->inside_zone);
			free(ts->occ_zone);
			free(ts->recent_cred);
		}
	free(ld->tsrc);
	ref_free(&ld->responders);
}

static void
load_tz(struct loader *ld)
{
	struct policy *p = ld->p;
	char *buf = NULL, err[200] = "";
	size_t len = 0;

	if (p->tzname == NULL) {
		ld_err(ld, ld->have_venue ? ld->venue_loc : (struct pol_loc){ 1, 1 }, "E013",
		    "the venue needs a time zone: venue \"NAME\" { timezone \"Europe/London\"; } "
		    "(schedules are in local time)");
		return;
	}
	if (ld->io == NULL || ld->io->load == NULL ||
	    ld->io->load(ld->io->ctx, POLICY_FILE_TZIF, p->tzname, &buf, &len, err,
	    sizeof(err)) != 0) {
		ld_err(ld, ld->tz_loc, "E058", "unknown time zone '%s'%s%s: use an IANA name "
		    "such as \"Europe/London\"", p->tzname, err[0] ? ": " : "", err);
		free(buf);
		return;
	}
	p->tz = tz_parse(buf, len, err, sizeof(err));
	free(buf);
	if (p->tz == NULL)
		ld_err(ld, ld->tz_loc, "E058", "time zone '%s' could not be read: %s",
		    p->tzname, err);
}

static void
load_creds(struct loader *ld, struct sha256 *h)
{
	struct policy *p = ld->p;
	char *buf = NULL, err[200] = "";
	size_t len = 0;

	if (p->cred_file == NULL)
		return;
	if (ld->io == NULL || ld->io->load == NULL ||
	    ld->io->load(ld->io->ctx, POLICY_FILE_CREDENTIALS, p->cred_file, &buf, &len,
	    err, sizeof(err)) != 0) {
		ld_err(ld, ld->cred_loc, "E050", "cannot read credentials file '%s'%s%s",
		    p->cred_file, err[0] ? ": " : "", err);
		free(buf);
		return;
	}
	if (len > CREDS_MAX_TEXT) {
		ld_err(ld, ld->cred_loc, "E050", "credentials file '%s' is larger than %u MiB",
		    p->cred_file, CREDS_MAX_TEXT >> 20);
		free(buf);
		return;
	}
	sha256_update(h, "\0", 1);
	sha256_update(h, buf, len);
	ld_creds(ld, buf, len);
	free(buf);
}

struct policy *
policy_load(const char *file, const char *text, size_t len,
    const struct policy_io *io, struct policy_diags *d)
{
	struct loader ld;
	struct policy *p;
	struct sha256 h;
	uint8_t digest[32];
	size_t errors_before = d->errors;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->file = ld_strndup(file, strlen(file));
	p->responders = POLICY_NONE;
	p->default_mode = 0;
	memset(&ld, 0, sizeof(ld));
	ld.file = p->file;
	ld.src = text;
	ld.len = len;
	ld.d = d;
	ld.io = io;
	ld.p = p;

	if (len > POLICY_MAX_TEXT) {
		ld_err(&ld, (struct pol_loc){ 0, 0 }, "E000", "the policy is larger than %u MiB; "
		    "that is not a policy", POLICY_MAX_TEXT >> 20);
		policy_free(p);
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		/* one clear message beats a thousand about binary junk */
		ld_err(&ld, (struct pol_loc){ 0, 0 }, "E003", "the file contains NUL bytes: "
		    "it is not a text policy");
		policy_free(p);
		return NULL;
	}
	sha256_init(&h);
	sha256_update(&h, text, len);

	ld_parse(&ld);
	load_tz(&ld);
	ld_resolve(&ld);
	load_creds(&ld, &h);
	ld_compile(&ld);
	ld_tests(&ld);
	if (d->errors == errors_before)
		ld_check(&ld);

	sha256_final(&h, digest);
	sha256_hex(digest, p->hash);
	ld_free(&ld);
	if (d->errors != errors_before) {
		policy_free(p);
		return NULL;
	}
	return p;
}
