/*
 * fuzz_conf.c — the gateway.conf parser on arbitrary bytes: no crash, no
 * leak; an accepted file prints (conf_print) to text that parses again to
 * the same print.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_diags d, d2;
	struct gateway_conf *c, *c2;
	char *p1, *p2;

	memset(&d, 0, sizeof(d));
	c = conf_parse("/f/gateway.conf", (const char *)data, size, &d);
	for (size_t i = 0; i < d.n; i++) {
		char buf[2048];
		policy_diag_render(&d.v[i], buf, sizeof(buf));
	}
	policy_diags_free(&d);
	if (c == NULL)
		return 0;
	if ((p1 = conf_print(c)) == NULL)
		abort();
	memset(&d2, 0, sizeof(d2));
	if ((c2 = conf_parse("/f/gateway.conf", p1, strlen(p1), &d2)) == NULL)
		abort();
	p2 = conf_print(c2);
	if (p2 == NULL || strcmp(p1, p2) != 0)
		abort();
	free(p1);
	free(p2);
	conf_free(c2);
	policy_diags_free(&d2);
	conf_free(c);
	return 0;
}
