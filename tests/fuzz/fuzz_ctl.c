/*
 * fuzz_ctl.c — the control request parser on arbitrary bytes: it must
 * never crash, and whatever it accepts must print back (ctl_format) to a
 * line that parses to the same words.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request r, r2;
	char err[256], line[CTL_LINE_MAX * 2 + 64];
	int n;

	if (ctl_parse((const char *)data, size, &r, err, sizeof(err)) == -1)
		return 0;
	if (r.argc < 1 || r.argc > CTL_ARGS_MAX || r.argv[r.argc] != NULL)
		abort();
	n = ctl_format(r.argc, r.argv, line, sizeof(line));
	if (n <= 0)
		return 0;	/* quoting may make it longer than a line */
	if (ctl_parse(line, (size_t)n - 1, &r2, err, sizeof(err)) == -1 ||
	    r2.argc != r.argc)
		abort();
	for (int i = 0; i < r.argc; i++)
		if (strcmp(r.argv[i], r2.argv[i]) != 0)
			abort();
	(void)ctl_command_roles(r.argv[0], NULL);
	return 0;
}
