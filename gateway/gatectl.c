/*
 * gatectl.c — the command-line tool for gate staff, administrators and
 * auditors. `gatectl policy ...` works on files alone (ctl_policy.c);
 * `audit ... --journal DIR` works offline on a copied journal; everything
 * else is one request to gatewayd over its control socket (ctl.h), whose
 * answer is printed: data lines to stdout, the closing summary to stdout
 * when it is the whole answer and to stderr otherwise, errors to stderr.
 *
 * Exit: 0 ok; 1 the daemon refused or failed (or a journal is broken);
 * 2 usage or cannot reach the daemon; 3 permission denied (role).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit.h"
#include "gateway/central.h"
#include "gateway/ctl.h"
#include "gateway/journal.h"

int	gatectl_policy_main(int, char **);
int	gatectl_card_main(int, char **);

#define DEFAULT_SOCKET	"/run/gatewayd.sock"

static void
usage(FILE *f)
{
	fputs("usage: gatectl [--socket PATH] COMMAND ...\n"
	    "staff:\n"
	    "  status [--json]                 gates, mode, occupancy, alarms\n"
	    "  watch [--json]                  live events, one line each\n"
	    "  open GATE --reason TEXT         unlock once, journaled\n"
	    "  ack ALARM                       acknowledge (#id or GATE/NAME)\n"
	    "admin:\n"
	    "  reload                          load, check, test, swap the policy\n"
	    "  mode NAME --reason TEXT         lockdown, evacuate, normal, ...\n"
	    "  sim tap GATE BADGE [--pin PIN] [--exit] [--class legacy|secure]\n"
	    "  sim sensor GATE door-open|door-closed|passage|passage-out|rex|tamper|\n"
	    "                  offline|online\n"
	    "  sim input fire-alarm on|off\n"
	    "  sim run [FILE]                  sim commands, one per line (stdin: -)\n"
	    "  osdp key-install BUS ADDR --reason TEXT\n"
	    "                                  give an OSDP device in install mode a\n"
	    "                                  new secure channel key (journaled)\n"
	    "  sim flood GATE BADGE N          N taps at once (benchmark)\n"
	    "auditor (status and watch too):\n"
	    "  muster [ZONE] [--format csv|jsonl]\n"
	    "  audit export [--journal DIR] [--since T] [--until T] [--gate G]\n"
	    "               [--zone Z] [--badge B] [--decision grant|deny]\n"
	    "               --format csv|jsonl\n"
	    "  audit verify [--journal DIR]\n"
	    "  audit verify --central FILE [--gateway ID] [--from SEQ]\n"
	    "files:\n"
	    "  policy check|test|eval|diff|print|pin-hash ...\n"
	    "badge office (a reader on this machine, libnfc):\n"
	    "  card inspect --reader CONN [--key KEYFILE --aid HEX6 ...]\n"
	    "  card issue --reader CONN --key KEYFILE --aid HEX6 --id ID\n"
	    "             [--issue N] [--file N] [--key-no N] [--sysid TEXT]\n"
	    "The socket is --socket, else $GATEWAYD_SOCKET, else "
	    DEFAULT_SOCKET ".\n", f);
}

static int
gc_code_exit(const char *line)
{
	/* "err EPERM ..." */
	return strncmp(line, "err EPERM ", 10) == 0 ? 3 : 1;
}

/* gatewayd's engine answers; the parent holds the socket even while the
 * engine is being restarted, so a connection can wait. Say so once, and
 * keep waiting (an online verify of a big journal is slow on purpose). */
static void
gc_wait_note(struct ctl_conn *cc)
{
	struct pollfd p = { cc->fd, POLLIN, 0 };

	if (cc->off < cc->n || poll(&p, 1, 5000) != 0)
		return;
	fprintf(stderr, "gatectl: no answer from gatewayd for 5 s: still "
	    "waiting (its engine may be restarting: see the log and "
	    "'restart' records in the journal)\n");
}

/* Read one answer; print it. Returns the exit status. */
static int
gc_answer(struct ctl_conn *cc, int quiet_ok)
{
	char *line;
	int ndata = 0, r;

	gc_wait_note(cc);
	while ((r = ctl_read_line(cc, &line)) == 1) {
		if (strncmp(line, "data ", 5) == 0 || strcmp(line, "data") == 0) {
			puts(line[4] ? line + 5 : "");
			ndata++;
		} else if (strncmp(line, "ok", 2) == 0 &&
		    (line[2] == '\0' || line[2] == ' ')) {
			if (line[2] && !quiet_ok)
				fprintf(ndata ? stderr : stdout, "%s\n", line + 3);
			fflush(stdout);
			return 0;
		} else if (strncmp(line, "err ", 4) == 0) {
			const char *msg = strchr(line + 4, ' ');
			fflush(stdout);
			fprintf(stderr, "gatectl: %s\n", msg ? msg + 1 : line + 4);
			return gc_code_exit(line);
		} else if (strncmp(line, "event ", 6) == 0) {
			puts(line + 6);
		} else {
			fprintf(stderr, "gatectl: unexpected answer: %.80s\n", line);
			return 1;
		}
	}
	fflush(stdout);
	fprintf(stderr, "gatectl: gatewayd closed the connection%s\n",
	    r < 0 ? " (or sent an over-long line)" : "");
	return 1;
}

static int
gc_connect(struct ctl_conn *cc, const char *sock)
{
	char err[256];

	if (ctl_connect(cc, sock, err, sizeof(err)) == -1) {
		fprintf(stderr, "gatectl: %s\n", err);
		return -1;
	}
	return 0;
}

static int
gc_request(const char *sock, int argc, char **argv)
{
	struct ctl_conn *cc = malloc(sizeof(*cc));
	int rc;

	if (cc == NULL)
		return 1;
	if (gc_connect(cc, sock) == -1) {
		free(cc);
		return 2;
	}
	if (ctl_send(cc, argc, argv) == -1) {
		fprintf(stderr, "gatectl: cannot send the request: %s\n",
		    errno == E2BIG ? "too long (4095 bytes at most)" :
		    strerror(errno));
		ctl_disconnect(cc);
		free(cc);
		return 2;
	}
	rc = gc_answer(cc, 0);
	ctl_disconnect(cc);
	free(cc);
	return rc;
}

static int
gc_watch(const char *sock, int argc, char **argv)
{
	struct ctl_conn *cc = malloc(sizeof(*cc));
	char *line;
	int r;

	if (cc == NULL)
		return 1;
	if (gc_connect(cc, sock) == -1) {
		free(cc);
		return 2;
	}
	if (ctl_send(cc, argc, argv) == -1) {
		ctl_disconnect(cc);
		free(cc);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((r = ctl_read_line(cc, &line)) == 1) {
		if (strncmp(line, "event ", 6) == 0)
			puts(line + 6);
		else if (strncmp(line, "err ", 4) == 0) {
			const char *msg = strchr(line + 4, ' ');
			fprintf(stderr, "gatectl: %s\n", msg ? msg + 1 : line);
			r = gc_code_exit(line);
			ctl_disconnect(cc);
			free(cc);
			return r;
		}
	}
	ctl_disconnect(cc);
	free(cc);
	fprintf(stderr, "gatectl: gatewayd went away\n");
	return 1;
}

/* sim run: many sim commands on one connection, each answer printed. */
static int
gc_sim_run(const char *sock, const char *file)
{
	struct ctl_conn *cc;
	FILE *f = stdin;
	char line[CTL_LINE_MAX + 2], err[256];
	int rc = 0, lineno = 0;

	if (file != NULL && strcmp(file, "-") != 0 &&
	    (f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "gatectl: %s: %s\n", file, strerror(errno));
		return 2;
	}
	if ((cc = malloc(sizeof(*cc))) == NULL || gc_connect(cc, sock) == -1) {
		free(cc);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct ctl_request rq;
		char *words[CTL_ARGS_MAX + 2];
		int n = 0;
		size_t len = strcspn(line, "\n");

		lineno++;
		line[len] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (ctl_parse(line, len, &rq, err, sizeof(err)) == -1) {
			fprintf(stderr, "gatectl: line %d: %s\n", lineno, err);
			rc = 1;
			continue;
		}
		if (strcmp(rq.argv[0], "sim") != 0)
			words[n++] = "sim";
		for (int i = 0; i < rq.argc && n < CTL_ARGS_MAX; i++)
			words[n++] = rq.argv[i];
		printf("> %s\n", line);
		if (ctl_send(cc, n, words) == -1) {
			fprintf(stderr, "gatectl: line %d: cannot send\n", lineno);
			rc = 2;
			break;
		}
		if (gc_answer(cc, 0) != 0)
			rc = 1;
		fflush(stdout);
		fflush(stderr);
	}
	if (f != stdin)
		fclose(f);
	ctl_disconnect(cc);
	free(cc);
	return rc;
}

/* audit verify --central FILE [--gateway ID] [--from SEQ]: what the
 * central server stored, checked record by record (gateway/central.c). */
static int
gc_audit_central(int argc, char **argv, const char *file)
{
	struct central_report r;
	const char *gw = NULL;
	unsigned long long from = 0;
	char err[512];
	int rc;

	for (int k = 2; k + 1 < argc; k++) {
		if (strcmp(argv[k], "--gateway") == 0)
			gw = argv[k + 1];
		if (strcmp(argv[k], "--from") == 0)
			from = strtoull(argv[k + 1], NULL, 10);
	}
	if ((rc = central_verify(file, gw, from, &r, err, sizeof(err))) == -1) {
		fprintf(stderr, "gatectl: %s\n", err);
		return 1;
	}
	printf("central %s: %llu records of seq %llu..%llu, %llu duplicates, "
	    "%llu missing, %llu altered, %llu conflicting, %llu chain breaks, "
	    "%llu other lines\n", file, (unsigned long long)r.records,
	    (unsigned long long)r.first, (unsigned long long)r.last,
	    (unsigned long long)r.duplicates, (unsigned long long)r.gaps,
	    (unsigned long long)r.bad, (unsigned long long)r.conflicts,
	    (unsigned long long)r.breaks, (unsigned long long)r.other);
	if (rc == 0)
		printf("complete and intact\n");
	else
		printf("NOT intact: %s\n", r.first_problem);
	return rc;
}

static int
gc_audit_offline(int argc, char **argv, const char *dir)
{
	char err[512];

	if (strcmp(argv[1], "verify") == 0) {
		uint64_t count = 0, bad = 0;
		if (journal_verify(dir, &count, &bad, err, sizeof(err)) == 0) {
			printf("journal intact: %llu records\n",
			    (unsigned long long)count);
			return 0;
		}
		printf("journal broken at seq %llu: %s\n",
		    (unsigned long long)bad, err);
		return 1;
	}
	struct audit_filter f;
	struct journal_iter *it;
	struct journal_record r;
	char hdr[512], line[4096];
	const char *jd;
	unsigned long long n = 0;
	int rc;

	if (audit_parse_args(argc - 2, argv + 2, &f, &jd, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "gatectl: audit export: %s\n", err);
		return 2;
	}
	if ((it = journal_iter_open(dir, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gatectl: %s: %s\n", dir, err);
		return 1;
	}
	if (audit_header(&f, hdr, sizeof(hdr))[0])
		puts(hdr);
	while ((rc = journal_iter_next(it, &r, err, sizeof(err))) == 1) {
		if (!audit_match(&f, &r))
			continue;
		audit_format(&f, &r, line, sizeof(line));
		puts(line);
		n++;
	}
	journal_iter_close(it);
	if (rc < 0) {
		fprintf(stderr, "gatectl: journal damaged: %s\n", err);
		return 1;
	}
	fprintf(stderr, "%llu records\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *sock = getenv("GATEWAYD_SOCKET");
	int i = 1;

	if (sock == NULL || *sock == '\0')
		sock = DEFAULT_SOCKET;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			sock = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "gatectl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	argc -= i;
	argv += i;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[0];
	if (strcmp(cmd, "policy") == 0)
		return gatectl_policy_main(argc, argv);
	if (strcmp(cmd, "card") == 0)
		return gatectl_card_main(argc, argv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "audit") == 0) {
		const char *dir = NULL;
		if (argc < 2 || (strcmp(argv[1], "export") != 0 &&
		    strcmp(argv[1], "verify") != 0)) {
			fprintf(stderr, "gatectl: audit export|verify ...\n");
			return 2;
		}
		for (int k = 2; k + 1 < argc; k++) {
			if (strcmp(argv[k], "--journal") == 0)
				dir = argv[k + 1];
			if (strcmp(argv[k], "--central") == 0 &&
			    strcmp(argv[1], "verify") == 0)
				return gc_audit_central(argc, argv, argv[k + 1]);
		}
		if (dir != NULL)
			return gc_audit_offline(argc, argv, dir);
		if (strcmp(argv[1], "verify") == 0 && argc != 2) {
			fprintf(stderr, "gatectl: audit verify [--journal DIR]\n");
			return 2;
		}
		if (strcmp(argv[1], "verify") == 0) {
			int rc = gc_request(sock, argc, argv);
			return rc;
		}
		return gc_request(sock, argc, argv);
	}
	if (strcmp(cmd, "watch") == 0)
		return gc_watch(sock, argc, argv);
	if (strcmp(cmd, "sim") == 0 && argc >= 2 && strcmp(argv[1], "run") == 0)
		return gc_sim_run(sock, argc >= 3 ? argv[2] : NULL);
	if (ctl_command_roles(cmd, NULL) == -1) {
		fprintf(stderr, "gatectl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (argc > CTL_ARGS_MAX) {
		fprintf(stderr, "gatectl: too many words (%d at most)\n",
		    CTL_ARGS_MAX);
		return 2;
	}
	return gc_request(sock, argc, argv);
}
