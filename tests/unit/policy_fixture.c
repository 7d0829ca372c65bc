/* policy_fixture.c — see policy_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/policyio.h"
#include "policy/policy.h"
#include "tests/unit/policy_fixture.h"

static int
fixture_io(void *ctx, enum policy_file kind, const char *name, char **buf,
    size_t *len, char *err, size_t errlen)
{
	const char *csv = ctx;
	char path[512];

	if (kind == POLICY_FILE_CREDENTIALS) {
		*len = strlen(csv);
		if ((*buf = malloc(*len + 1)) == NULL)
			return -1;
		memcpy(*buf, csv, *len + 1);
		return 0;
	}
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return policyio_read(path, 1 << 20, buf, len, err, errlen);
}

struct policy *
fixture_policy_load(const char *text, const char *csv)
{
	struct policy_io io = { (void *)(uintptr_t)csv, fixture_io };
	struct policy_diags d;
	struct policy *p;

	memset(&d, 0, sizeof(d));
	p = policy_load("t.pol", text, strlen(text), &io, &d);
	if (p == NULL || d.errors > 0)
		for (size_t i = 0; i < d.n; i++) {
			char b[2048];
			policy_diag_render(&d.v[i], b, sizeof(b));
			print_message("%s", b);
		}
	policy_diags_free(&d);
	assert_non_null(p);
	return p;
}
