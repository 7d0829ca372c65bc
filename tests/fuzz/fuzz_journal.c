/*
 * fuzz_journal.c — the journal reader and recovery against arbitrary
 * segment files. The input is written as the only segment of a fresh
 * directory (named by the first seq its header claims, so fuzzing gets
 * past the name check), then: verify, iterate and export every record,
 * recover with journal_open, and check the promise that after a successful
 * recovery the journal verifies intact and has no record misread.
 *
 * The directory lives on /dev/shm when there is one: fsync is free there.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/journal.h"

static char dir[PATH_MAX];

static void
dir_clean(void)
{
	DIR *d;
	struct dirent *de;
	char p[PATH_MAX + 300];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static void
export_check(const struct journal_record *r)
{
	char buf[8192];
	size_t n, i;

	n = journal_format_json(r, buf, sizeof(buf));
	if (n >= sizeof(buf) || buf[n - 1] != '\n')
		abort();
	for (i = 0; i + 1 < n; i++)	/* JSON line: no raw controls */
		if ((unsigned char)buf[i] < 0x20)
			abort();
	n = journal_format_csv(r, buf, sizeof(buf));
	if (n >= sizeof(buf) || n < 2 || memcmp(buf + n - 2, "\r\n", 2) != 0)
		abort();
}

/* Walk everything; returns the number of records read before the end or
 * the damage, and whether it ended on damage. */
static uint64_t
walk(int *damaged)
{
	struct journal_iter *it;
	struct journal_record r;
	char err[256];
	uint64_t n = 0, last = 0;
	int k;

	*damaged = 1;
	if ((it = journal_iter_open(dir, 0, err, sizeof(err))) == NULL)
		return 0;
	while ((k = journal_iter_next(it, &r, err, sizeof(err))) == 1) {
		if (n > 0 && r.seq != last + 1)
			abort();	/* the iterator promised order */
		last = r.seq;
		export_check(&r);
		n++;
	}
	*damaged = k != 0;
	journal_iter_close(it);
	return n;
}

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct stat st;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/fuzz_journal.XXXXXX",
	    stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_summary s;
	struct journal *j;
	char path[PATH_MAX + 64], err[256];
	uint64_t first = 1, before, after, count, bad;
	int fd, damaged, rc;

	dir_clean();
	if (size >= 24) {
		first = 0;
		for (int i = 7; i >= 0; i--)
			first = first << 8 | data[16 + i];
		if (first == 0)
			first = 1;
	}
	snprintf(path, sizeof(path), "%s/%020llu.jnl", dir,
	    (unsigned long long)first);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	/* read-only views first: they must agree and never modify */
	rc = journal_verify_summary(dir, &s, err, sizeof(err));
	before = walk(&damaged);
	if (before != s.count || (rc == 0) != !damaged)
		abort();
	if (rc == -1 && s.bad_seq != (s.count ? s.last_seq + 1 : first))
		abort();
	if ((fd = open(path, O_RDONLY)) == -1)
		abort();
	{
		uint8_t *back = malloc(size + 1);
		if (back == NULL || read(fd, back, size + 1) != (ssize_t)size ||
		    memcmp(back, data, size) != 0)
			abort();	/* readers never modify */
		free(back);
	}
	close(fd);

	/* recovery: either refuse (bad header) or leave a journal that
	 * verifies, keeps every record that was good, and says what it cut */
	j = journal_open(dir, "fuzz", NULL, err, sizeof(err));
	if (j == NULL)
		return 0;
	journal_close(j);
	if (journal_verify(dir, &count, &bad, err, sizeof(err)) != 0)
		abort();
	after = walk(&damaged);
	if (damaged || after != count)
		abort();
	if (after != before && after != before + 1)
		abort();	/* kept all the good ones, plus the cut record */
	if (rc == -1 && after != before + 1)
		abort();	/* damage must be cut, and the cut journaled */
	return 0;
}
