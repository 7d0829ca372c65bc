/*
 * relp.h — RELP frames as librelp 1.11 (rsyslog's imrelp) speaks them:
 * building the client's commands and parsing the server's answers. Pure:
 * no I/O, no allocation; the sync client owns the sockets.
 *
 *   FRAME = TXNR SP COMMAND SP DATALEN [SP DATA] LF
 *
 * TXNR and DATALEN are 1..9 digits, COMMAND 1..32 letters, DATA exactly
 * DATALEN octets (present iff DATALEN > 0). Everything from the server is
 * untrusted: the parser checks every byte and every length before use.
 */
#ifndef GATEWAY_RELP_H
#define GATEWAY_RELP_H

#include <stddef.h>
#include <stdint.h>

#define RELP_TXNR_MAX	999999999u	/* librelp never wraps correctly */
#define RELP_CMD_MAX	32
#define RELP_HDR_MAX	(9 + 1 + RELP_CMD_MAX + 1 + 9 + 1)

struct relp_frame {
	uint32_t	 txnr;
	char		 cmd[RELP_CMD_MAX + 1];
	uint32_t	 datalen;
	const uint8_t	*data;		/* into the parsed buffer; datalen bytes */
};

/* Parse one frame at the start of buf. Returns the bytes it takes (> 0)
 * with *f filled, 0 when more bytes are needed, -1 when the bytes can
 * never be a frame or DATALEN exceeds maxdata (why says which). */
long	relp_parse(const uint8_t *buf, size_t len, size_t maxdata,
	    struct relp_frame *f, char *why, size_t whylen);
/* The 3-digit status of a "rsp" frame's data, or -1 (empty rsp, which
 * librelp sends for "close", or not a status). */
int	relp_rsp_code(const struct relp_frame *);
/* Check the answer to "open": status 200, relp_version 0, commands
 * including syslog. 0 or -1 with why. */
int	relp_open_ok(const struct relp_frame *, char *why, size_t whylen);
/* Write one frame into out; returns its length, or 0 if it does not fit
 * (or txnr/cmd/len are out of range). */
size_t	relp_build(char *out, size_t outlen, uint32_t txnr, const char *cmd,
	    const void *data, size_t len);
/* The data of our "open" command. */
extern const char relp_open_offers[];

#endif
