/*
 * fuzz_msg.c — the check every datagram between gatewayd's processes goes
 * through before any handler sees it (msg_check), with the tables the
 * parent and the engine really use (the engine's and the parent's types
 * and sizes from proto.h). Invariant: an accepted datagram has a known
 * type, a header length equal to what it carries and within that type's
 * bounds, and exactly the descriptors the type allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/msg.h"
#include "gateway/proto.h"

#define FIXED(t, s, fd) { t, sizeof(s), sizeof(s), fd }
static const struct msg_spec specs[] = {
	FIXED(MSG_EP_READY, struct msg_ready, 0),
	FIXED(MSG_EP_JOURNAL, struct msg_jsubmit, 0),
	FIXED(MSG_EP_ACTUATE, struct msg_actuate, 0),
	FIXED(MSG_EP_INJECT, struct msg_inject, 0),
	{ MSG_EP_SNAPSHOT, sizeof(struct msg_file_chunk),
	    sizeof(struct msg_file_chunk) + PROTO_CHUNK_MAX, 0 },
	FIXED(MSG_EP_AUDIT, struct msg_audit, 1),
	FIXED(MSG_EP_OSDP_KEY, struct msg_osdp_key, 0),
	{ MSG_EP_STOPPED, 0, 0, 0 },
	FIXED(MSG_EP_FILE_REQ, struct msg_file_req, 0),
	FIXED(MSG_PE_DEVICE, struct msg_device, 0),
	FIXED(MSG_PE_JDONE, struct msg_jdone, 0),
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	struct msg_hdr h;
	const struct msg_spec *s;
	int nfds;

	if (size < 1)
		return 0;
	nfds = data[0] & 1;	/* first byte: a descriptor came along or not */
	data++;
	size--;
	if (msg_check(specs, NSPECS, data, size, nfds, why, sizeof(why)) != 0) {
		if (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0')
			abort();	/* a refusal always says why */
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	s = msg_spec_find(specs, NSPECS, h.type);
	if (s == NULL || h.len != size - sizeof(h) || h.len < s->min ||
	    h.len > s->max || nfds != s->fd)
		abort();
	return 0;
}
