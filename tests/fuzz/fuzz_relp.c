/*
 * fuzz_relp.c — what a central server (or anyone in the way) can send the
 * gateway: the RELP response parser on arbitrary bytes, frame after frame
 * as the sync client consumes them, plus the open-answer and status checks;
 * and the central-copy line parser (gatectl audit verify --central). None
 * may crash or read out of bounds; a parsed frame must lie inside the
 * input, and its data length must respect the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/central.h"
#include "gateway/journal.h"
#include "gateway/relp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relp_frame f;
	struct journal_record r;
	char why[160], out[256];
	size_t off = 0, maxdata = 4096;
	uint8_t *copy;
	long k;

	/* an exact-size heap copy: ASan sees any read past the end */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	while (off < size) {
		k = relp_parse(copy + off, size - off, maxdata, &f, why,
		    sizeof(why));
		if (k <= 0)
			break;
		if ((size_t)k > size - off || f.datalen > maxdata ||
		    (f.datalen > 0 && (f.data < copy + off ||
		    f.data + f.datalen > copy + off + (size_t)k)))
			abort();
		(void)relp_rsp_code(&f);
		(void)relp_open_ok(&f, why, sizeof(why));
		/* what we build, we parse back identically */
		if (f.txnr > 0 && f.cmd[0]) {
			size_t n = relp_build(out, sizeof(out), f.txnr, f.cmd,
			    f.data, f.datalen);
			struct relp_frame g;
			if (n > 0 && (relp_parse((const uint8_t *)out, n,
			    maxdata, &g, why, sizeof(why)) != (long)n ||
			    g.txnr != f.txnr || strcmp(g.cmd, f.cmd) != 0 ||
			    g.datalen != f.datalen))
				abort();
		}
		off += (size_t)k;
	}
	(void)central_parse_line((const char *)copy, size, &r, why,
	    sizeof(why));
	free(copy);
	return 0;
}
