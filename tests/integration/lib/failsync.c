/*
 * failsync.c — LD_PRELOAD shim for the journal-failure test: while the
 * file named by $GW_FAILSYNC exists, fsync and fdatasync fail with EIO
 * (a dying disk). Built by the test itself.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fsync(int);
int fdatasync(int);

static int
failing(void)
{
	const char *f = getenv("GW_FAILSYNC");

	return f != NULL && access(f, F_OK) == 0;
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (failing()) {
		errno = EIO;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (failing()) {
		errno = EIO;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}
