/*
 * fuzz_nfc.c — everything in the nfc driver that reads bytes it did not
 * make, on arbitrary input:
 *  - the core side of the reader-process socket (nfc_on_ready): the input
 *    is cut into datagrams of any length and sent; every event it hands
 *    the core must be well formed, and a TAP must be a legacy UID of
 *    4, 7 or 10 bytes from the current process generation;
 *  - the target check (what libnfc decoded from the chip): whatever it
 *    accepts is a plausible ISO 14443-A card;
 *  - the gateway.conf argument string.
 * The driver's functions are static, so the file is included.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/nfc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_events(const struct driver_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		const struct driver_event *ev = &evs[i];

		switch (ev->type) {
		case DRIVER_EV_TAP:
			/* a UID read (cls 0) or failed proof (2), or a
			 * DESFire-authenticated credential id (1, issue 8) */
			if (ev->pin_len != 0 || ev->ats_len > DRIVER_ATS_MAX ||
			    ev->id_len == 0)
				abort();
			for (size_t k = 0; ev->cls == 1 && k < ev->id_len; k++)
				if (ev->id[k] <= 0x20 || ev->id[k] >= 0x7f ||
				    ev->id[k] == '"' || ev->id[k] == '\\')
					abort();
			if (ev->cls == 1 ? ev->id_format != DRIVER_ID_TEXT ||
			    ev->id_len > DESFIRE_ID_MAX :
			    ev->id_format != DRIVER_ID_UID || ev->cls > 2 ||
			    (ev->id_len != 4 && ev->id_len != 7 &&
			    ev->id_len != 10))
				abort();
			break;
		case DRIVER_EV_NOTICE:
			if (memchr(ev->text, '\0', sizeof(ev->text)) == NULL)
				abort();
			for (const char *p = ev->text; *p; p++)
				if ((unsigned char)*p < 0x20 ||
				    (unsigned char)*p >= 0x7f)
					abort();
			break;
		case DRIVER_EV_OFFLINE:
		case DRIVER_EV_ONLINE:
			break;
		default:
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc n;
	struct nfc_opts o;
	struct driver_event evs[32];
	nfc_target t;
	char err[256], args[300];
	size_t off = 0;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:		/* datagrams: [len byte][bytes], gen 7 forced on half */
		memset(&n, 0, sizeof(n));
		n.pid = -1;	/* no process: supervise leaves it alone */
		n.gen = 7;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
		    n.sv) == -1)
			return 0;
		off = 1;
		while (off < size) {
			unsigned char msg[sizeof(struct nfc_msg) + 8];
			size_t len = data[off++];
			int forcegen = len & 1;

			/* most lengths are wrong; make the right one likely */
			if (len >= 0x80)
				len = sizeof(struct nfc_msg);
			else
				len %= sizeof(msg);
			memset(msg, 0, sizeof(msg));
			if (len > size - off)
				len = size - off;
			memcpy(msg, data + off, len);
			off += len;
			if (forcegen && len >= 4)
				memcpy(msg, &n.gen, 4);
			if (len == 0)
				continue;
			if (send(n.sv[1], msg, len, MSG_DONTWAIT) == -1)
				break;
		}
		for (;;) {
			int k = nfc_on_ready(&n, evs, 32);

			if (k < 0 || k > 32)
				abort();
			fuzz_events(evs, k);
			if (k == 0)
				break;
		}
		close(n.sv[0]);
		close(n.sv[1]);
		break;
	case 1:		/* target data as libnfc would hand it over */
		memset(&t, 0, sizeof(t));
		memcpy(&t, data + 1, size - 1 < sizeof(t) ? size - 1 :
		    sizeof(t));
		if (nfc_target_check(&t) == NULL) {
			const nfc_iso14443a_info *a = &t.nti.nai;

			if ((a->szUidLen != 4 && a->szUidLen != 7 &&
			    a->szUidLen != 10) || a->abtUid[0] == 0x88 ||
			    t.nm.nmt != NMT_ISO14443A)
				abort();
		}
		break;
	case 2:		/* the argument string from gateway.conf */
		off = size - 1 < sizeof(args) - 1 ? size - 1 : sizeof(args) - 1;
		memcpy(args, data + 1, off);
		args[off] = '\0';
		if (nfc_opts_parse(args, &o, err, sizeof(err)) == 0 &&
		    (o.conn[0] == '\0' || o.watchdog_ms < 2000 ||
		    memchr(o.conn, '\0', sizeof(o.conn)) == NULL))
			abort();
		break;
	}
	return 0;
}
