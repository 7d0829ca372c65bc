/*
 * fuzz_osdp.c — the OSDP frame scanner and the Secure Channel opener on
 * arbitrary bytes: every frame found must lie inside the input, the
 * scanner must always make progress, and opening a "secure" frame must
 * never read or write out of bounds. A frame that scans is rebuilt and
 * must scan back to the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/osdp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct osdp_sc sc;

	memset(&sc, 0, sizeof(sc));
	sc.active = 1;
	while (off < size) {
		struct osdp_frame f, g;
		size_t used = 0;
		enum osdp_scan s = osdp_frame_scan(data + off, size - off, &used,
		    &f);

		if (s == OSDP_SCAN_MORE)
			break;
		if (used == 0 || used > size - off)
			abort();
		if (s == OSDP_SCAN_FRAME) {
			uint8_t plain[OSDP_FRAME_MAX], out[OSDP_FRAME_MAX + 64];
			struct osdp_msg m;
			size_t pl, u2;
			int n;

			if (f.start != data + off || f.len != used ||
			    f.data < f.start || f.data + f.data_len > f.start + f.len)
				abort();
			if (f.mac != NULL && (f.mac < f.data + f.data_len ||
			    f.mac + 4 > f.start + f.len))
				abort();
			(void)osdp_sc_open(&sc, &f, (f.addr & 0x80) == 0, plain,
			    sizeof(plain), &pl);
			if (pl > sizeof(plain))
				abort();
			if (f.scb_len == 0 && f.data_len <= OSDP_DATA_MAX) {
				memset(&m, 0, sizeof(m));
				m.addr = f.addr;
				m.sqn = f.sqn;
				m.code = f.code;
				m.data = f.data;
				m.data_len = f.data_len;
				m.checksum = !f.crc;
				n = osdp_frame_build(out, sizeof(out), &m, NULL, 1);
				if (n < 0 || osdp_frame_scan(out, (size_t)n, &u2,
				    &g) != OSDP_SCAN_FRAME || u2 != (size_t)n ||
				    g.code != f.code || g.data_len != f.data_len ||
				    memcmp(g.data, f.data, f.data_len) != 0)
					abort();
			}
		}
		off += used;
	}
	return 0;
}
