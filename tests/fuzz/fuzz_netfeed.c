/*
 * fuzz_netfeed.c — what a subverted network process can send the parent:
 * datagrams checked by msg_check against netfeed_specs and handled by the
 * feeder (netfeed_input), on a real journal, a real channel and sync.state
 * on tmpfs. The input is a small configuration then a list of datagrams,
 * either raw bytes or well-sized messages of the accepted types with
 * chosen values (so the semantic rules, not only the sizes, are reached).
 *
 * Invariants: no crash or sanitizer report; bad() is called exactly when
 * netfeed_input says a rule was broken, and then nothing more is taken;
 * the records the feeder sends increase, never pass durable, never run
 * more than the window ahead of the acknowledged position; the
 * acknowledged position never goes back and never passes what was sent;
 * what sync.state says afterwards is that position.
 *
 * Input: [durable lo][window][ops...], an op is either
 *   0x00..0x7f: a message of type WANT/ACKED/STATUS/STOPPED (op % 4) with
 *               an 8-byte value (seq, or the status's fill byte)
 *   0x80..0xff: a raw datagram of (op & 0x7f) * 2 bytes that follow
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "drivers/driver.h"
#include "gateway/journal.h"
#include "gateway/msg.h"
#include "gateway/netproc.h"
#include "gateway/proto.h"
#include "gateway/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* netproc.c's net side parses gateway.conf, which names drivers; nothing
 * here gets that far, so the registry (and every driver with its
 * libraries) stays out of this harness. */
const struct driver *
driver_find(const char *name)
{
	(void)name;
	return NULL;
}

const char *
driver_suggest(const char *name)
{
	(void)name;
	return NULL;
}

#define RECORDS	300

static char dir[64];
static struct event_base *base;
static uint64_t durable;
static int bad;

static uint64_t
fz_durable(void *arg)
{
	(void)arg;
	return durable;
}

static void
fz_bad(void *arg, const char *why)
{
	(void)arg;
	(void)why;
	bad++;
}

static void
fz_cleanup(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static void
fz_init(void)
{
	struct journal *j;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/fuzz_netfeed.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(fz_cleanup);
	if ((j = journal_open(dir, "fuzz-gw", NULL, err, sizeof(err))) == NULL)
		abort();
	for (int i = 0; i < RECORDS; i++) {
		struct journal_record r;
		memset(&r, 0, sizeof(r));
		snprintf(r.type, sizeof(r.type), "decision");
		snprintf(r.cred, sizeof(r.cred), "F-%d", i);
		if (journal_append(j, &r) != 0)
			abort();
	}
	if (journal_sync(j) != 0)
		abort();
	journal_close(j);
	if ((base = event_base_new()) == NULL)
		abort();
}

/* Read what the feeder sent the net process; check it. */
static void
fz_drain(int fd, uint64_t *last, uint64_t acked, uint32_t window)
{
	unsigned char buf[sizeof(struct msg_hdr) + MSG_PAYLOAD_MAX];
	struct msg_hdr h;
	struct msg_jrecord m;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		memcpy(&h, buf, sizeof(h));
		if (h.type != MSG_PN_RECORD)
			continue;
		if ((size_t)n != sizeof(h) + sizeof(m))
			abort();
		memcpy(&m, buf + sizeof(h), sizeof(m));
		if (m.rec.seq <= *last || m.rec.seq > durable ||
		    m.rec.seq > acked + window)
			abort();
		*last = m.rec.seq;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netfeed *nf;
	struct sync_status st;
	char err[256], path[128];
	uint64_t last = 0, acked = 0, saved;
	uint32_t window;
	size_t off = 2;
	int sv[2], rc = 0;

	if (base == NULL)
		fz_init();
	if (size < 2)
		return 0;
	durable = data[0] % (RECORDS + 20);	/* a little past the end too */
	window = 1 + data[1] % 64;
	snprintf(path, sizeof(path), "%s/%s", dir, SYNC_STATE_FILE);
	(void)unlink(path);
	bad = 0;
	if ((nf = netfeed_new(base, dir, fz_durable, NULL, fz_bad, NULL, err,
	    sizeof(err))) == NULL)
		abort();
	netfeed_window(nf, window);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (netfeed_attach(nf, sv[0]) == -1)
		abort();
	while (off < size && rc == 0) {
		unsigned char dg[sizeof(struct msg_hdr) +
		    sizeof(struct msg_sync_status)];
		struct msg_hdr h;
		size_t n;
		uint8_t op = data[off++];

		if (op & 0x80) {
			n = (size_t)(op & 0x7f) * 2;
			if (n > size - off)
				n = size - off;
			memcpy(dg, data + off, n);
			off += n;
		} else {
			static const uint32_t types[] = { MSG_NP_WANT,
			    MSG_NP_ACKED, MSG_NP_STATUS, MSG_NP_STOPPED };
			uint64_t v = 0;
			n = size - off < 8 ? size - off : 8;
			memcpy(&v, data + off, n);
			off += n;
			h.type = types[op % 4];
			switch (h.type) {
			case MSG_NP_WANT:
			case MSG_NP_ACKED:
				/* small values: near the interesting ones */
				v %= RECORDS + 40;
				h.len = 8;
				memcpy(dg + sizeof(h), &v, 8);
				break;
			case MSG_NP_STATUS:
				h.len = sizeof(struct msg_sync_status);
				memset(dg + sizeof(h), (int)(v & 0xff), h.len);
				if (v & 0x100)	/* terminated strings */
					memset(dg + sizeof(h), 0, h.len);
				break;
			default:
				h.len = 0;
				break;
			}
			memcpy(dg, &h, sizeof(h));
			n = sizeof(h) + h.len;
		}
		rc = netfeed_input(nf, dg, n);
		if ((rc == -1) != (bad == 1) || bad > 1)
			abort();
		netfeed_status(nf, &st);
		if (st.acked < acked)
			abort();		/* went back */
		if (st.acked > last && st.acked != 0)
			abort();		/* beyond what was sent */
		acked = st.acked;
		fz_drain(sv[1], &last, acked, window);
	}
	netfeed_free(nf);
	close(sv[1]);
	if (sync_state_load(dir, &saved, err, sizeof(err)) == -1 ||
	    saved != acked)
		abort();
	return 0;
}
