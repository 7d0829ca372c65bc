/*
 * ctl_policy.c — `gatectl policy`: the administrator's tool. Works on files
 * alone (no daemon): check, test, eval, diff, print, pin-hash.
 * Exit codes: 0 ok; 1 the policy has errors or a test failed; 2 bad usage
 * or input.
 */
#include <sys/random.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/policyio.h"
#include "policy/policy.h"

int	gatectl_policy_main(int, char **);

static void
cp_usage(FILE *f)
{
	fputs("usage: gatectl policy check FILE\n"
	    "       gatectl policy test FILE\n"
	    "       gatectl policy eval FILE --gate G --badge ID --at TIME [--mode M]\n"
	    "                          [--pin PIN] [--exit] [--class legacy|secure]\n"
	    "       gatectl policy diff OLD NEW\n"
	    "       gatectl policy print FILE\n"
	    "       gatectl policy pin-hash PIN\n", f);
}

/* Load with diagnostics on stderr; NULL if it has errors. */
static struct policy *
cp_load(const char *path, struct policy_diags *d)
{
	struct policy *p = policyio_load(path, d);

	policyio_print_diags(stderr, d);
	return p;
}

static int
cp_check(const char *path)
{
	struct policy_diags d = { 0 };
	struct policy *p = cp_load(path, &d);
	char sum[256];

	if (p == NULL) {
		fprintf(stderr, "%s: %zu error%s, %zu warning%s: not loadable\n", path,
		    d.errors, d.errors == 1 ? "" : "s", d.warnings,
		    d.warnings == 1 ? "" : "s");
		policy_diags_free(&d);
		return 1;
	}
	policyio_summary(p, sum, sizeof(sum));
	printf("%s: ok: %s; %zu warning%s; sha256 %s\n", path, sum, d.warnings,
	    d.warnings == 1 ? "" : "s", policy_hash(p));
	policy_free(p);
	policy_diags_free(&d);
	return 0;
}

struct cp_tests {
	const struct policy	*p;
	size_t			 passed, failed;
};

static void
cp_test_cb(void *arg, const struct policy_test_result *r)
{
	struct cp_tests *t = arg;
	char where[160];

	if (r->passed) {
		t->passed++;
		return;
	}
	t->failed++;
	policy_decision_where(&r->got, where, sizeof(where));
	printf("FAIL %s:%u: test \"%s\"\n", r->file, r->line, r->name);
	printf("     expected %s%s%s\n", r->want_effect == POLICY_GRANT ? "grant" : "deny",
	    r->want_reason >= 0 ? " " : "",
	    r->want_reason >= 0 ? policy_reason_code((enum policy_reason)r->want_reason) : "");
	printf("     got      %s %s (%s), decided by %s\n",
	    r->got.effect == POLICY_GRANT ? "grant" : "deny",
	    policy_reason_code(r->got.reason), policy_reason_text(r->got.reason), where);
}

static int
cp_test(const char *path)
{
	struct policy_diags d = { 0 };
	struct policy *p = cp_load(path, &d);
	struct cp_tests t = { p, 0, 0 };

	if (p == NULL) {
		fprintf(stderr, "%s: %zu error%s: cannot run its tests\n", path, d.errors,
		    d.errors == 1 ? "" : "s");
		policy_diags_free(&d);
		return 1;
	}
	policy_run_tests(p, cp_test_cb, &t);
	printf("%s: %zu tests, %zu passed, %zu failed\n", path, t.passed + t.failed,
	    t.passed, t.failed);
	policy_free(p);
	policy_diags_free(&d);
	return t.failed ? 1 : 0;
}

/* eval decides on policy alone: nobody inside, no recent taps */
static int
cp_state_inside(void *ctx, uint32_t cred, uint32_t zone, int64_t *since)
{
	(void)ctx; (void)cred; (void)zone; (void)since;
	return 0;
}

static int64_t
cp_state_occupancy(void *ctx, uint32_t zone)
{
	(void)ctx; (void)zone;
	return 0;
}

static const struct policy_state_ops cp_empty_state = {
	cp_state_inside, cp_state_occupancy
};

static int
cp_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gate", required_argument, NULL, 'g' },
		{ "badge", required_argument, NULL, 'b' },
		{ "at", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pin", required_argument, NULL, 'p' },
		{ "exit", no_argument, NULL, 'x' },
		{ "class", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *gate = NULL, *badge = NULL, *at = NULL, *mode = NULL, *cls = NULL;
	struct policy_request rq = { 0 };
	struct policy_decision dec;
	struct policy_diags d = { 0 };
	struct policy *p;
	char where[160], words[512];
	int c, rc = 2;

	rq.dir = POLICY_IN;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': gate = optarg; break;
		case 'b': badge = optarg; break;
		case 't': at = optarg; break;
		case 'm': mode = optarg; break;
		case 'p': rq.pin = optarg; break;
		case 'x': rq.dir = POLICY_OUT; break;
		case 'c': cls = optarg; break;
		default: cp_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || gate == NULL || badge == NULL || at == NULL) {
		fprintf(stderr, "gatectl policy eval: FILE, --gate, --badge and --at are needed\n");
		cp_usage(stderr);
		return 2;
	}
	if ((p = cp_load(argv[optind], &d)) == NULL) {
		policy_diags_free(&d);
		return 2;
	}
	if ((rq.gate = policy_gate_find(p, gate)) == POLICY_NONE) {
		fprintf(stderr, "gatectl policy eval: unknown gate '%s'\n", gate);
		goto out;
	}
	rq.mode = policy_mode_default(p);
	if (mode && (rq.mode = policy_mode_find(p, mode)) == POLICY_NONE) {
		fprintf(stderr, "gatectl policy eval: unknown mode '%s'\n", mode);
		goto out;
	}
	if (policy_parse_time(p, at, &rq.now) != 0) {
		fprintf(stderr, "gatectl policy eval: '%s' is not a time: write "
		    "YYYY-MM-DDTHH:MM (venue local time) or add Z / +HH:MM\n", at);
		goto out;
	}
	rq.cred = policy_cred_find(p, badge);
	rq.cls = POLICY_CLASS_SECURE;
	if (cls && strcmp(cls, "legacy") == 0)
		rq.cls = POLICY_CLASS_LEGACY;
	else if (cls && strcmp(cls, "secure") != 0) {
		fprintf(stderr, "gatectl policy eval: --class is legacy or secure\n");
		goto out;
	}
	/* by default the reader proves what the card is */
	if (cls == NULL && rq.cred != POLICY_NONE)
		rq.cls = (enum policy_class)policy_cred_class(p, rq.cred);
	if (policy_decide(p, &rq, &cp_empty_state, NULL, &dec) != 0) {
		fprintf(stderr, "gatectl policy eval: the request is malformed\n");
		goto out;
	}
	policy_decision_where(&dec, where, sizeof(where));
	policy_explain(p, &rq, &dec, words, sizeof(words));
	printf("%s %s %s: %s\n", dec.effect == POLICY_GRANT ? "grant" : "deny",
	    policy_reason_code(dec.reason), where, words);
	rc = 0;
out:
	policy_free(p);
	policy_diags_free(&d);
	return rc;
}

static int
cp_diff(const char *a, const char *b)
{
	struct policy_diags d = { 0 };
	struct policy *old = cp_load(a, &d), *new_;
	char *text;
	int rc = 0;

	policy_diags_free(&d);
	new_ = cp_load(b, &d);
	policy_diags_free(&d);
	if (old == NULL || new_ == NULL) {
		fprintf(stderr, "gatectl policy diff: %s has errors\n", old ? b : a);
		policy_free(old);
		policy_free(new_);
		return 1;
	}
	if (strcmp(policy_hash(old), policy_hash(new_)) == 0)
		printf("no change: both are %s\n", policy_hash(old));
	else {
		text = policy_diff(old, new_);
		if (text == NULL || text[0] == '\0')
			printf("no change in who may enter where\n");
		else
			fputs(text, stdout);
		free(text);
	}
	policy_free(old);
	policy_free(new_);
	return rc;
}

static int
cp_print(const char *path)
{
	struct policy_diags d = { 0 };
	struct policy *p = cp_load(path, &d);
	char *text;

	policy_diags_free(&d);
	if (p == NULL)
		return 1;
	text = policy_print(p);
	fputs(text, stdout);
	free(text);
	policy_free(p);
	return 0;
}

static int
cp_pin_hash(const char *pin)
{
	uint8_t salt[8];
	char out[160];

	for (const char *s = pin; *s; s++)
		if (*s < '0' || *s > '9') {
			fprintf(stderr, "gatectl policy pin-hash: a PIN is digits only\n");
			return 2;
		}
	if (strlen(pin) < 4 || strlen(pin) > 12) {
		fprintf(stderr, "gatectl policy pin-hash: a PIN has 4 to 12 digits\n");
		return 2;
	}
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
		fprintf(stderr, "gatectl policy pin-hash: no randomness available\n");
		return 2;
	}
	policy_pin_hash(salt, sizeof(salt), pin, out, sizeof(out));
	printf("%s\n", out);
	return 0;
}

int
gatectl_policy_main(int argc, char **argv)
{
	const char *verb;

	if (argc < 2) {
		cp_usage(stderr);
		return 2;
	}
	verb = argv[1];
	if (strcmp(verb, "check") == 0 && argc == 3)
		return cp_check(argv[2]);
	if (strcmp(verb, "test") == 0 && argc == 3)
		return cp_test(argv[2]);
	if (strcmp(verb, "eval") == 0)
		return cp_eval(argc - 1, argv + 1);
	if (strcmp(verb, "diff") == 0 && argc == 4)
		return cp_diff(argv[2], argv[3]);
	if (strcmp(verb, "print") == 0 && argc == 3)
		return cp_print(argv[2]);
	if (strcmp(verb, "pin-hash") == 0 && argc == 3)
		return cp_pin_hash(argv[2]);
	if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0) {
		cp_usage(stdout);
		return 0;
	}
	cp_usage(stderr);
	return 2;
}
