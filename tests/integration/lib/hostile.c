/*
 * hostile.c — a hostile RELP server for the sync tests (built by the test
 * itself): TLS with client certificates required, like imrelp, then each
 * accepted session misbehaves in the way its mode says. Sessions take the
 * modes from the command line in turn; after the last, every connection is
 * closed at once. Every record it answers "200 OK" is logged as
 * "ack SEQ" so the test can check the gateway never counts as delivered a
 * record that was not acknowledged.
 *
 *   hostile PORT CERT KEY CA LOG MODE...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

static mbedtls_ssl_context ssl;
static FILE *logf_;

static void
put(const char *s, size_t n)
{
	while (n > 0) {
		int r = mbedtls_ssl_write(&ssl, (const unsigned char *)s, n);
		if (r <= 0)
			return;
		s += r;
		n -= (size_t)r;
	}
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

/* One client frame: txnr, command, and the record's seq (from seq="N"). */
static unsigned char buf[1 << 20];
static size_t blen;

static int
frame(unsigned *txnr, char *cmd, unsigned long long *seq)
{
	for (;;) {
		unsigned dl;
		int off = 0;
		char c[40];
		if (blen > 0 && sscanf((char *)buf, "%u %39s %u%n", txnr, c, &dl,
		    &off) == 3) {
			size_t need = (size_t)off + (dl ? 1 + dl : 0) + 1;
			if (blen >= need) {
				char *q;
				strcpy(cmd, c);
				*seq = 0;
				buf[need - 1] = 0;
				if ((q = strstr((char *)buf, "seq=\"")) != NULL)
					*seq = strtoull(q + 5, NULL, 10);
				memmove(buf, buf + need, blen - need);
				blen -= need;
				return 0;
			}
		}
		if (blen == sizeof(buf) - 1)
			return -1;
		int r = mbedtls_ssl_read(&ssl, buf + blen, sizeof(buf) - 1 - blen);
		if (r <= 0)
			return -1;
		blen += (size_t)r;
		buf[blen] = 0;
	}
}

static void
ack(unsigned txnr, unsigned long long seq)
{
	char b[64];

	snprintf(b, sizeof(b), "%u rsp 6 200 OK\n", txnr);
	puts_(b);
	fprintf(logf_, "ack %llu\n", seq);
	fflush(logf_);
}

static const char open_ok[] = "1 rsp 93 200 OK\nrelp_version=0\n"
    "relp_software=librelp,1.11.0,http://librelp.adiscon.com\n"
    "commands=syslog\n";

static void
session(const char *mode)
{
	unsigned txnr, n = 0;
	unsigned long long seq;
	char cmd[40], b[8192];

	if (frame(&txnr, cmd, &seq) == -1 || strcmp(cmd, "open") != 0)
		return;
	if (strcmp(mode, "badopen") == 0) {
		puts_("1 rsp 6 200 OK\n");	/* no offers */
		usleep(100000);
		return;
	}
	if (strcmp(mode, "noopen") == 0) {
		puts_("1 rsp 24 500 not for you, gateway\n");
		usleep(100000);
		return;
	}
	/* open_ok's length is stated in it: check it once */
	if (strlen(open_ok) != strlen("1 rsp 93 ") + 93 + 1)
		abort();
	puts_(open_ok);
	while (frame(&txnr, cmd, &seq) == 0) {
		n++;
		if (strcmp(cmd, "syslog") != 0)
			return;
		if (strncmp(mode, "good", 4) == 0) {
			ack(txnr, seq);
			if (n == 5) {
				puts_("2x rsp 6 200 OK\n");	/* malformed */
				usleep(100000);
				return;
			}
		} else if (strcmp(mode, "oversized") == 0) {
			int h = snprintf(b, sizeof(b), "%u rsp 5000 ", txnr);
			memset(b + h, 'A', 5000);
			b[h + 5000] = '\n';
			put(b, (size_t)h + 5001);
			usleep(100000);
			return;
		} else if (strcmp(mode, "huge") == 0) {
			snprintf(b, sizeof(b), "%u rsp 999999999 200 OK\n", txnr);
			puts_(b);
			usleep(100000);
			return;
		} else if (strcmp(mode, "unknown") == 0) {
			puts_("77777 rsp 6 200 OK\n");
			usleep(100000);
			return;
		} else if (strcmp(mode, "skip") == 0) {
			/* answer only the even ones, then hang up politely */
			if (txnr % 2 == 0)
				ack(txnr, seq);
			if (n == 10) {
				puts_("0 serverclose 0\n");
				return;
			}
		} else if (strcmp(mode, "nak") == 0) {
			snprintf(b, sizeof(b), "%u rsp 15 500 disk full!\n", txnr);
			puts_(b);
			usleep(100000);
			return;
		} else if (strcmp(mode, "dup") == 0) {
			ack(txnr, seq);
			snprintf(b, sizeof(b), "%u rsp 6 200 OK\n", txnr);
			puts_(b);	/* the same answer again */
			usleep(100000);
			return;
		} else if (strcmp(mode, "split") == 0) {
			/* a valid answer, one byte per TLS record */
			snprintf(b, sizeof(b), "%u rsp 6 200 OK\n", txnr);
			fprintf(logf_, "ack %llu\n", seq);
			fflush(logf_);
			for (size_t i = 0; b[i]; i++) {
				put(b + i, 1);
				usleep(2000);
			}
			if (n == 3)
				return;	/* plain EOF, no serverclose */
		} else if (strcmp(mode, "silent") == 0) {
			continue;	/* never answers: the ack timeout */
		} else
			return;
	}
}

int
main(int argc, char **argv)
{
	mbedtls_net_context lis, cli;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt, ca;
	mbedtls_pk_context key;
	int next = 6;

	if (argc < 6) {
		fprintf(stderr, "usage: hostile PORT CERT KEY CA LOG MODE...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((logf_ = fopen(argv[5], "a")) == NULL)
		return 1;
	mbedtls_net_init(&lis);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) ||
	    mbedtls_x509_crt_parse_file(&crt, argv[2]) ||
	    mbedtls_pk_parse_keyfile(&key, argv[3], NULL) ||
	    mbedtls_x509_crt_parse_file(&ca, argv[4]) ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) ||
	    mbedtls_ssl_conf_own_cert(&conf, &crt, &key)) {
		fprintf(stderr, "hostile: setup failed\n");
		return 1;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	if (mbedtls_net_bind(&lis, "127.0.0.1", argv[1], MBEDTLS_NET_PROTO_TCP)) {
		fprintf(stderr, "hostile: cannot listen on %s\n", argv[1]);
		return 1;
	}
	fprintf(logf_, "listening\n");
	fflush(logf_);
	for (;;) {
		mbedtls_net_init(&cli);
		if (mbedtls_net_accept(&lis, &cli, NULL, 0, NULL) != 0)
			continue;
		if (next >= argc) {
			mbedtls_net_free(&cli);
			continue;
		}
		mbedtls_ssl_init(&ssl);
		blen = 0;
		if (mbedtls_ssl_setup(&ssl, &conf) == 0) {
			mbedtls_ssl_set_bio(&ssl, &cli, mbedtls_net_send,
			    mbedtls_net_recv, NULL);
			if (mbedtls_ssl_handshake(&ssl) == 0)
				session(argv[next]);
		}
		fprintf(logf_, "done %s\n", argv[next]);
		fflush(logf_);
		next++;
		mbedtls_ssl_close_notify(&ssl);
		mbedtls_ssl_free(&ssl);
		mbedtls_net_free(&cli);
	}
}
