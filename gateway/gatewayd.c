/*
 * gatewayd.c — the gateway daemon (being written; this placeholder keeps
 * the tree linking).
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "gatewayd: not built yet\n");
	return 1;
}
