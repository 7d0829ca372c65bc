/*
 * desfire.h — MIFARE DESFire EV1 AES for secure badges: the crypto (CRC32,
 * CMAC with a running IV, AN10922 key diversification, the three-pass
 * authentication, EV1 secure messaging, ChangeKey cryptograms) and the
 * reader's side of a tap (select the venue application, authenticate with
 * the card's diversified key, read the credential file with its MAC
 * checked), over a transceive callback so it runs the same against libnfc
 * and against a test's card model.
 *
 * Facts and vectors: /work/shared/notes/desfire.md. Owns: key material in
 * the structs below; every function that is done with a key wipes it.
 * Trusts: nothing the card sends; every answer is length-checked.
 */
#ifndef DRIVERS_DESFIRE_H
#define DRIVERS_DESFIRE_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/aes.h>

#define DESFIRE_KEY_LEN		16
#define DESFIRE_SYSID_MAX	20	/* UID(7) AID(3) KeyNo(1) SysId: <= 31 */
#define DESFIRE_ID_MAX		24	/* credential id on the card */
#define DESFIRE_CRED_FILE_SIZE	32	/* the credential file, bytes */
#define DESFIRE_APDU_MAX	64
#define DESFIRE_RAPDU_MAX	64

/* DESFire's CRC32: reflected 0xEDB88320, init 0xFFFFFFFF, no final XOR
 * (JAMCRC); sent least significant byte first. */
uint32_t desfire_crc32(const uint8_t *p, size_t n);

/* RFC 4493 AES-CMAC (IV zero), and its two subkeys. 0 or -1. */
int	desfire_aes_cmac(const uint8_t key[16], const uint8_t *m, size_t n,
	    uint8_t out[16]);
int	desfire_cmac_subkeys(const uint8_t key[16], uint8_t k1[16],
	    uint8_t k2[16]);

/* AN10922 AES-128 diversification of mk with input m (1..31 bytes). */
int	desfire_diversify(const uint8_t mk[16], const uint8_t *m, size_t n,
	    uint8_t out[16]);

/* An EV1 secure-messaging session: session key, its CMAC subkeys and the
 * running IV. */
struct desfire_sess {
	mbedtls_aes_context enc, dec;
	uint8_t		sk[16], iv[16], k1[16], k2[16];
	int		on;
};

/* Start a session on sk (IV zero); 0 or -1. desfire_sess_end wipes it. */
int	desfire_sess_begin(struct desfire_sess *, const uint8_t sk[16]);
void	desfire_sess_end(struct desfire_sess *);
/* CMAC over m from the running IV; the full tag becomes the IV. */
int	desfire_sess_mac(struct desfire_sess *, const uint8_t *m, size_t n,
	    uint8_t tag[16]);
/* A plain response (data, then status 00) ended by mac8: 0 if the MAC is
 * right (the IV moves on), -1 if not. n <= 64. */
int	desfire_sess_check(struct desfire_sess *, const uint8_t *data, size_t n,
	    const uint8_t mac8[8]);
/* CBC in place from the running IV (n a multiple of 16); the last
 * ciphertext block becomes the IV. */
int	desfire_sess_encrypt(struct desfire_sess *, uint8_t *buf, size_t n);
int	desfire_sess_decrypt(struct desfire_sess *, uint8_t *buf, size_t n);
/* ChangeKey's 32-byte cryptogram (note §6): cur NULL for the key used to
 * authenticate (case A), else that key's current value (case B). */
int	desfire_changekey_crypt(struct desfire_sess *, uint8_t keyno_byte,
	    const uint8_t newkey[16], uint8_t version, const uint8_t *cur,
	    uint8_t out[32]);

/* Three-pass authentication, reader side, in two steps so the transcripts
 * in the note can be replayed with a fixed RndA. */
struct desfire_auth {
	uint8_t		key[16], rnda[16], rndb[16], iv[16];
};
/* ekb: the card's first answer. Fills tok (32 bytes) for the AF frame. */
int	desfire_auth_step1(struct desfire_auth *, const uint8_t key[16],
	    const uint8_t ekb[16], const uint8_t rnda[16], uint8_t tok[32]);
/* eka: the card's second answer. 0 and s started if the card proved it
 * knows the key (rol8(RndA) came back), -1 otherwise. Wipes a. */
int	desfire_auth_step2(struct desfire_auth *, const uint8_t eka[16],
	    struct desfire_sess *s);

/* The credential file (32 bytes, MACed): 01 | issue u32 LE | id length |
 * id (printable ASCII, 1..24) | zeros. */
struct desfire_cred {
	char		id[DESFIRE_ID_MAX + 1];
	uint32_t	issue;
};
int	desfire_cred_encode(const struct desfire_cred *, uint8_t out[32]);
int	desfire_cred_decode(const uint8_t in[32], struct desfire_cred *);

/* The site: master key, venue application, file, diversification. */
struct desfire_site {
	uint8_t		mk[16];
	uint8_t		aid[3];		/* wire order (LSB first) */
	uint8_t		file;
	uint8_t		read_key;	/* key number that reads the file */
	uint8_t		sysid[DESFIRE_SYSID_MAX];
	size_t		sysid_len;
};
/* The card's key number keyno: AN10922(mk, UID ‖ AID ‖ keyno ‖ sysid). */
int	desfire_card_key(const struct desfire_site *, const uint8_t *uid,
	    size_t uid_len, uint8_t keyno, uint8_t out[16]);

/* Send apdu, store the answer (data and SW1 SW2) in r; its length, or -1
 * when the card did not answer (gone, timeout). */
struct desfire_io {
	void	*ctx;
	int	(*xfer)(void *ctx, const uint8_t *apdu, size_t n, uint8_t *r,
		    size_t rmax);
};

enum desfire_result {
	DESFIRE_OK = 0,		/* authenticated, credential read, MAC right */
	DESFIRE_NOT_OURS,	/* no venue application: a UID-only card */
	DESFIRE_AUTH_FAILED,	/* wrong key, bad proof, bad MAC: a clone */
	DESFIRE_GONE		/* no answer: card removed, try again */
};

/* The reader's whole tap; why says what happened in words (no secrets). */
enum desfire_result desfire_read_cred(const struct desfire_io *,
	    const struct desfire_site *, const uint8_t *uid, size_t uid_len,
	    struct desfire_cred *out, char *why, size_t whylen);

/* Command helpers for the badge office (gatectl card): wrap native bytes
 * as an ISO 7816 APDU (90 INS 00 00 [Lc data] 00); length or -1. */
int	desfire_wrap(const uint8_t *native, size_t n, uint8_t *apdu,
	    size_t max);
/* Authenticate with key keyno of the selected application: 0 ok, 1 the
 * card refused (wrong key), -1 no answer or malformed. */
int	desfire_authenticate(const struct desfire_io *, uint8_t keyno,
	    const uint8_t key[16], struct desfire_sess *s);
#define DESFIRE_F_ENC		0x1	/* command already enciphered: no CMAC */
#define DESFIRE_F_ENDS		0x2	/* bare 91 00 ends the session (ChangeKey
					 * of the key in use) */
#define DESFIRE_F_MAC		0x4	/* MACed command: CMAC8 appended */
#define DESFIRE_ERR_GONE	(-1)	/* no answer */
#define DESFIRE_ERR_BAD		(-2)	/* malformed answer or MAC wrong */
#define DESFIRE_ERR_STATUS(sw2)	(-(0x100 | (sw2)))
/* One command in a session (a plain command's CMAC moves the IV) or
 * outside one (s NULL or off); AF chaining is followed; the response data,
 * MAC checked, into r. Returns the data length or a DESFIRE_ERR_*; any
 * error ends the session, as it does on the card. */
int	desfire_cmd(const struct desfire_io *, struct desfire_sess *s,
	    unsigned flags, const uint8_t *native, size_t n, uint8_t *r,
	    size_t rmax);

/* The site master key file: 32 hex digits (a newline may follow), a
 * regular file owned by root or by us, not readable or writable by group
 * or others, not a symlink. check looks without reading (the core, at
 * configuration); load reads it (the reader process only). 0, or -1 with
 * the reason in words; the key is never in err. */
int	desfire_keyfile_check(const char *path, char *err, size_t errlen);
int	desfire_keyfile_load(const char *path, uint8_t mk[16], char *err,
	    size_t errlen);
/* AID option "F51234" (the AID's value, as NXP tools print it) into wire
 * order; 0 or -1. */
int	desfire_aid_parse(const char *hex, uint8_t aid[3]);

/* The badge office: on a blank card (factory PICC settings: applications
 * may be created without the PICC master key), create the venue
 * application (2 AES keys, KS1 0x0B), the MACed credential file (read with
 * key 1, written with key 0), write cred, set keys 1 and 0 to their
 * diversified values (version 1), then read the credential back as a gate
 * would. 0, or -1 with why in words. */
int	desfire_issue(const struct desfire_io *, const struct desfire_site *,
	    const uint8_t *uid, size_t uid_len, const struct desfire_cred *,
	    char *why, size_t whylen);

#endif
