/* strbuf.h — a growing string for the library's printed outputs (the
 * normalized print, the access diff). Out of memory is sticky: later adds
 * are ignored and the caller checks `oom` once at the end. */
#ifndef POLICY_STRBUF_H
#define POLICY_STRBUF_H

#include <stddef.h>

struct strbuf {
	char	*s;
	size_t	 n, cap;
	int	 oom;
};

void	strbuf_add(struct strbuf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
