/*
 * gatectl.c — the command-line tool for gate staff, administrators and
 * auditors. `gatectl policy ...` works on files alone (ctl_policy.c); the
 * other commands talk to gatewayd over its control socket.
 */
#include <stdio.h>
#include <string.h>

int	gatectl_policy_main(int, char **);

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "policy") == 0)
		return gatectl_policy_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: gatectl policy ... (daemon commands: not built yet)\n");
	return 2;
}
