/*
 * fuzz_snapshot.c — the state snapshot reader on arbitrary bytes. The input
 * is sealed first (its SHA-256 trailer recomputed), so the fuzzer reaches
 * the section decoders behind the checksum instead of stopping at it; a
 * snapshot that reads must also re-encode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct snapshot s;
	uint8_t *buf, *again = NULL;
	size_t alen = 0;
	char err[256];
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_snapshot.%d", (int)getpid());
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (size >= 32)
		snapshot_seal(buf, size);
	if ((f = fopen(path, "wb")) == NULL) {
		free(buf);
		return 0;
	}
	fwrite(buf, 1, size, f);
	fclose(f);
	free(buf);
	memset(&s, 0, sizeof(s));
	if (snapshot_read(path, 64, &s, err, sizeof(err)) == 0) {
		if (snapshot_encode(&s, &again, &alen) != 0)
			abort();	/* what reads must write back */
		free(again);
		snapshot_clear(&s);
	}
	unlink(path);
	return 0;
}
