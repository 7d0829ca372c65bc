/*
 * nfc.h — what the embedding binary does for the nfc driver (nfc.c): every
 * libnfc reader runs in a process of its own, started by re-executing the
 * embedder's binary in the role "nfc-reader", so that the process starts
 * from a clean image (none of the parent's memory: keys, policy, journal
 * buffers).
 *
 *	nfc_set_exec(path);	before the first nfc reader opens; path is
 *				absolute (gatewayd: readlink /proc/self/exe)
 *	... argv[1] == "--role", argv[2] == "nfc-reader":
 *		return nfc_role_main(argc - 2, argv + 2, my_sandbox);
 *
 * The sandbox is the embedder's (drivers/ knows nothing of gateway/): called
 * after the device and the key are open, before anything is read from the
 * hardware; 0 when entered, or -1 with why in err, and the process exits.
 */
#ifndef DRIVERS_NFC_H
#define DRIVERS_NFC_H

#include <stddef.h>

#define NFC_ROLE	"nfc-reader"

void	nfc_set_exec(const char *path);
/* argv[0] is the role's name. Never returns: the reader process leaves
 * with _exit (status 69: device gone, restart me; 1: could not start). */
int	nfc_role_main(int argc, char **argv,
	    int (*sandbox)(char *err, size_t errlen));

#endif
