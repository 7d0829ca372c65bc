/*
 * bench_sync.c — records per second from the journal to a real rsyslog
 * (certs/central-rsyslog.conf: imrelp, mutual TLS, Direct queue, omfile),
 * side by side in the same run with rsyslog's own RELP sender: a second
 * rsyslogd reading the very same RFC 5424 lines with imfile and sending
 * them with omrelp (TLS, same certificates, same window of 128) to the
 * same server. Each run starts a fresh server and is timed from the
 * client's start until the server's file holds every byte.
 *
 * BENCH_SYNC_N records (default 100000). Needs rsyslog, rsyslog-relp and
 * openssl (tools/deps.sh). Prints figures; never fails on speed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/journal.h"
#include "gateway/sync.h"

static char dir[64], pki[128], port[16];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static pid_t
spawn_rsyslogd(const char *conf, const char *pidfile)
{
	pid_t p = fork();

	if (p == 0) {
		char ipid[300];
		snprintf(ipid, sizeof(ipid), "-i%s", pidfile);
		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execlp("rsyslogd", "rsyslogd", "-n", "-f", conf, ipid,
		    (char *)NULL);
		_exit(127);
	}
	return p;
}

static void
stop(pid_t p)
{
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
}

static pid_t
server_start(void)
{
	char conf[512], pid[256];
	pid_t p;

	sh("rm -rf %s/central && mkdir -p %s/central/work", dir, dir);
	realpath("certs/central-rsyslog.conf", conf);
	snprintf(pid, sizeof(pid), "%s/central/rsyslogd.pid", dir);
	p = spawn_rsyslogd(conf, pid);
	for (int i = 0; i < 200; i++) {
		if (sh("ss -Hltn 'sport = :%s' | grep -q .", port) == 0)
			return p;
		usleep(50000);
	}
	fprintf(stderr, "bench_sync: rsyslogd did not listen\n");
	stop(p);
	return -1;
}

static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* Until the server's file holds want bytes (or 120 s). Seconds or -1. */
static double
wait_file(double t0, long long want)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/central/gateways/bench-gw.log", dir);
	while (file_size(path) < want) {
		if (now_s() - t0 > 120) {
			fprintf(stderr, "bench_sync: only %lld of %lld bytes "
			    "arrived\n", file_size(path), want);
			return -1;
		}
		usleep(1000);
	}
	return now_s() - t0;
}

int
main(void)
{
	const char *ns = getenv("BENCH_SYNC_N");
	long n = ns ? atol(ns) : 100000;
	struct journal_opts jo = { 0, 0, 0 };
	struct journal *j;
	struct journal_record r;
	struct journal_iter *it;
	struct conf_sync cs;
	struct sync *s;
	char err[512], path[256], line[SYNC_LINE_MAX + 1];
	long long bytes = 0;
	double ours, theirs;
	pid_t srv, cli;
	FILE *f;

	if (sh("command -v rsyslogd >/dev/null && test -f "
	    "/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so -o -f "
	    "/usr/lib/rsyslog/omrelp.so") != 0) {
		printf("bench_sync: rsyslog / rsyslog-relp not installed; "
		    "skipped\n");
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/bench_sync.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	if (sh("sh certs/venue-pki.sh %s ca Bench >/dev/null 2>&1 && "
	    "sh certs/venue-pki.sh %s server localhost >/dev/null 2>&1 && "
	    "sh certs/venue-pki.sh %s gateway bench-gw >/dev/null 2>&1",
	    pki, pki, pki) != 0) {
		fprintf(stderr, "bench_sync: PKI failed\n");
		return 1;
	}
	/* the journal: n decisions */
	snprintf(path, sizeof(path), "%s/journal", dir);
	if ((j = journal_open(path, "bench-gw", &jo, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "bench_sync: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.type, sizeof(r.type), "decision");
		snprintf(r.gate, sizeof(r.gate), "ward-7-east-door");
		snprintf(r.zone_from, sizeof(r.zone_from), "corridor-7");
		snprintf(r.zone_to, sizeof(r.zone_to), "ward-7");
		snprintf(r.cred, sizeof(r.cred), "N-%06ld", i % 100000);
		snprintf(r.holder, sizeof(r.holder), "Nurse %ld", i % 100000);
		snprintf(r.decision, sizeof(r.decision), "grant");
		snprintf(r.reason, sizeof(r.reason), "permit");
		snprintf(r.rule, sizeof(r.rule), "hospital.pol:42");
		snprintf(r.mode, sizeof(r.mode), "normal");
		while (journal_append(j, &r) == -1)
			if (journal_sync(j) != 0)
				return 1;
	}
	if (journal_sync(j) != 0)
		return 1;
	journal_close(j);
	/* the same lines for omrelp */
	snprintf(path, sizeof(path), "%s/lines.txt", dir);
	f = fopen(path, "w");
	snprintf(line, sizeof(line), "%s/journal", dir);
	if (f == NULL || (it = journal_iter_open(line, 1, err,
	    sizeof(err))) == NULL)
		return 1;
	while (journal_iter_next(it, &r, err, sizeof(err)) == 1) {
		size_t l = sync_format(&r, line, sizeof(line));
		fwrite(line, 1, l, f);
		fputc('\n', f);
		bytes += (long long)l + 1;
	}
	journal_iter_close(it);
	fclose(f);

	/* a free port; rsyslog and the clients read the environment */
	snprintf(port, sizeof(port), "%d", 20000 + (int)(getpid() % 30000));
	while (sh("ss -Hltn 'sport = :%s' | grep -q .", port) == 0)
		snprintf(port, sizeof(port), "%d", atoi(port) + 1);
	snprintf(path, sizeof(path), "%s/central", dir);
	setenv("CENTRAL_DIR", path, 1);
	setenv("RELP_ADDRESS", "127.0.0.1", 1);
	setenv("RELP_PORT", port, 1);
	snprintf(path, sizeof(path), "%s/ca/venue-ca.pem", pki);
	setenv("CENTRAL_CA", path, 1);
	snprintf(path, sizeof(path), "%s/server/localhost.pem", pki);
	setenv("CENTRAL_CERT", path, 1);
	snprintf(path, sizeof(path), "%s/server/localhost.key", pki);
	setenv("CENTRAL_KEY", path, 1);
	setenv("PERMITTED_PEERS", "bench-gw", 1);

	/* 1. gatewayd's sync client, window 128 (its default) */
	if ((srv = server_start()) == -1)
		return 1;
	memset(&cs, 0, sizeof(cs));
	cs.set = 1;
	snprintf(cs.server, sizeof(cs.server), "localhost");
	snprintf(cs.address, sizeof(cs.address), "127.0.0.1");
	cs.port = (uint16_t)atoi(port);
	snprintf(cs.ca, sizeof(cs.ca), "%s/ca/venue-ca.pem", pki);
	snprintf(cs.cert, sizeof(cs.cert), "%s/gateways/bench-gw.pem", pki);
	snprintf(cs.key, sizeof(cs.key), "%s/gateways/bench-gw.key", pki);
	cs.window = 128;
	snprintf(path, sizeof(path), "%s/journal", dir);
	double t0 = now_s();
	if ((s = sync_new(&cs, "bench-gw", path, NULL, err,
	    sizeof(err))) == NULL || sync_start(s, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench_sync: %s\n", err);
		stop(srv);
		return 1;
	}
	ours = wait_file(t0, bytes);
	sync_stop(s, 0);
	sync_free(s);
	stop(srv);

	/* 2. rsyslog's omrelp, same lines, same server, same window */
	if ((srv = server_start()) == -1)
		return 1;
	snprintf(path, sizeof(path), "%s/client.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "global(workDirectory=\"%s/client-work\" "
	    "maxMessageSize=\"131072\")\n"
	    "module(load=\"imfile\")\n"
	    "module(load=\"omrelp\" tls.tlslib=\"openssl\")\n"
	    "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\")\n"
	    "input(type=\"imfile\" file=\"%s/lines.txt\" tag=\"x\" "
	    "ruleset=\"fwd\")\n"
	    "ruleset(name=\"fwd\") { action(type=\"omrelp\" "
	    "target=\"127.0.0.1\" port=\"%s\" template=\"raw\" "
	    "windowSize=\"128\" tls=\"on\" tls.caCert=\"%s/ca/venue-ca.pem\" "
	    "tls.myCert=\"%s/gateways/bench-gw.pem\" "
	    "tls.myPrivKey=\"%s/gateways/bench-gw.key\" tls.authMode=\"name\" "
	    "tls.permittedPeer=[\"localhost\"]) }\n",
	    dir, dir, port, pki, pki, pki);
	fclose(f);
	sh("mkdir -p %s/client-work", dir);
	snprintf(line, sizeof(line), "%s/client.pid", dir);
	t0 = now_s();
	cli = spawn_rsyslogd(path, line);
	theirs = wait_file(t0, bytes);
	stop(cli);
	stop(srv);

	printf("bench_sync: %ld records (%.0f bytes each) journal -> rsyslog "
	    "imrelp over mutual TLS, window 128, client start to last byte "
	    "in the server's file\n", n, (double)bytes / (double)n);
	if (ours > 0)
		printf("  gatewayd sync        %7.3f s  %9.0f records/s\n", ours,
		    n / ours);
	if (theirs > 0)
		printf("  rsyslog omrelp       %7.3f s  %9.0f records/s\n",
		    theirs, n / theirs);
	if (ours > 0 && theirs > 0)
		printf("  ratio gatewayd / omrelp: %.2f\n", theirs / ours);
	sh("rm -rf %s", dir);
	return 0;
}
