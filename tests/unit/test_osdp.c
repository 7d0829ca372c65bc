/*
 * test_osdp.c — OSDP: CRC/checksum and Secure Channel against the
 * published vectors (SIA Annex E via libosdp; OSDP.Net frame vectors; the
 * reference session of notes/osdp.md §5.8), then the control-panel driver
 * against the emulated peripherals (tests/osdp/emu.c) on a pty: handshake,
 * card and keypad to taps, inputs to sensor events, lock to OUT, LED and
 * buzzer, and every injected fault.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "drivers/driver.h"
#include "drivers/osdp.h"
#include "drivers/osdp_proto.h"
#include "tests/osdp/emu.c"

static size_t
hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s && n < cap) {
		unsigned v;
		while (*s == ' ')
			s++;
		if (!*s || sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void
test_crc_vectors(void **state)
{
	uint8_t b[64];
	size_t n;

	(void)state;
	assert_int_equal(osdp_crc16((const uint8_t *)"123456789", 9), 0xE5CC);
	n = hex("53 7F 0D 00 04 6E 00 80 25 00 00", b, sizeof(b));
	assert_int_equal(osdp_crc16(b, n), 0x386E);
	n = hex("53 00 09 00 04 61 00", b, sizeof(b));
	assert_int_equal(osdp_crc16(b, n), 0x66C0);
	n = hex("53 7F 0C 00 00 6E 00 80 25 00 00", b, sizeof(b));
	assert_int_equal(osdp_checksum(b, n), 0x0F);
	n = hex("53 00 08 00 00 61 00", b, sizeof(b));
	assert_int_equal(osdp_checksum(b, n), 0x44);
}

static void
test_sc_vectors(void **state)
{
	uint8_t a[8], b[8], x[16], want[16], cc[16], sc_[16];
	struct osdp_sc sc;

	(void)state;
	hex("B0 B1 B2 B3 B4 B5 B6 B7", a, 8);
	hex("A0 A1 A2 A3 A4 A5 A6 A7", b, 8);
	assert_int_equal(osdp_sc_derive(&sc, osdp_scbk_default, a), 0);
	hex("BF 8D C2 A8 32 9A CB 8C 67 C6 D0 CD 9A 45 16 82", want, 16);
	assert_memory_equal(sc.s_enc, want, 16);
	hex("5E 86 C6 76 60 3B DE E2 D8 BE AF E1 78 63 73 32", want, 16);
	assert_memory_equal(sc.s_mac1, want, 16);
	hex("6F DA 86 E8 57 77 7E 81 13 20 35 75 82 39 17 2E", want, 16);
	assert_memory_equal(sc.s_mac2, want, 16);
	assert_int_equal(osdp_sc_cryptogram(&sc, a, b, cc), 0);
	hex("FD E5 D2 F4 28 EC 16 31 24 71 EA 3C 02 BD 77 96", want, 16);
	assert_memory_equal(cc, want, 16);
	assert_int_equal(osdp_sc_cryptogram(&sc, b, a, sc_), 0);
	hex("26 D3 35 6E 07 76 2D 26 28 01 FC 8E 66 65 A8 91", want, 16);
	assert_memory_equal(sc_, want, 16);
	assert_int_equal(osdp_sc_rmac_i(&sc, sc_, x), 0);
	hex("B2 A3 00 57 EB 98 BA 22 29 EC 1F 87 56 62 B5 24", want, 16);
	assert_memory_equal(x, want, 16);
	/* a different key gives a different cryptogram */
	osdp_sc_derive(&sc, (const uint8_t *)"0123456789abcdef", a);
	osdp_sc_cryptogram(&sc, a, b, x);
	assert_memory_not_equal(x, cc, 16);
}

/* OSDP.Net CommandOutgoingMessageTest: all keys and R-MAC zero, addr 0,
 * SQN 2, with the mark byte. */
static void
check_net_vector(uint8_t code, const char *data_hex, const char *want_hex)
{
	struct osdp_sc sc;
	struct osdp_msg m;
	uint8_t data[64], out[128], want[128];
	size_t dn = data_hex ? hex(data_hex, data, sizeof(data)) : 0;
	size_t wn = hex(want_hex, want, sizeof(want));
	int n;

	memset(&sc, 0, sizeof(sc));
	sc.active = 1;
	memset(&m, 0, sizeof(m));
	m.sqn = 2;
	m.code = code;
	m.data = dn ? data : NULL;
	m.data_len = dn;
	m.mark = 1;
	n = osdp_frame_build(out, sizeof(out), &m, &sc, 1);
	assert_int_equal(n, (int)wn);
	assert_memory_equal(out, want, wn);
}

static void
test_frame_vectors(void **state)
{
	(void)state;
	check_net_vector(OSDP_POLL, NULL,
	    "FF 53 00 0E 00 0E 02 15 60 4B 32 76 77 73 B6");
	check_net_vector(OSDP_LSTAT, NULL,
	    "FF 53 00 0E 00 0E 02 15 64 6F 63 24 6F D0 50");
	check_net_vector(OSDP_ID, "00",
	    "FF 53 00 1E 00 0E 02 17 61 D1 4E B7 AD 98 2C C5 F9 AA 25 31 8A 7E "
	    "AE D6 26 9A E9 95 73 19 83");
	check_net_vector(OSDP_OUT, "00 03 64 00 01 06 78 00",
	    "FF 53 00 1E 00 0E 02 17 68 F7 EF A0 D4 76 4A 4E 29 26 75 96 F2 16 "
	    "D8 A9 E8 C5 88 76 08 B9 08");
	check_net_vector(0x6E, "01 80 25 00 00",
	    "FF 53 00 1E 00 0E 02 17 6E AC A3 C2 FF E4 D9 E5 99 CD 77 1B 8E F3 "
	    "D1 3F 23 FA AB 63 4E 08 95");
	check_net_vector(OSDP_KEYSET, "01 10 00 01 02 03 04 05 06 07 00 01 02 "
	    "03 04 05 06 07",
	    "FF 53 00 2E 00 0E 02 17 75 F0 DD EC 9A 0E D8 CE 4C 80 BA F5 D5 5C "
	    "18 43 6F 91 89 FD 66 C9 F2 23 DC 04 14 86 D8 33 57 DF 98 6C 1D 4B "
	    "C2 B2 F2");
	/* plain frames of §4 */
	{
		struct osdp_msg m;
		uint8_t out[64], want[64], d[8];
		size_t wn;
		memset(&m, 0, sizeof(m));
		m.sqn = 2;
		m.code = OSDP_BUZ;
		hex("00 02 02 02 01", d, 5);
		m.data = d;
		m.data_len = 5;
		wn = hex("53 00 0D 00 06 6A 00 02 02 02 01 59 92", want, 64);
		assert_int_equal(osdp_frame_build(out, 64, &m, NULL, 1), (int)wn);
		assert_memory_equal(out, want, wn);
		m.code = OSDP_OUT;
		hex("00 03 64 00 01 06 78 00", d, 8);
		m.data_len = 8;
		m.checksum = 1;
		m.mark = 1;
		wn = hex("FF 53 00 0F 00 02 68 00 03 64 00 01 06 78 00 4E", want,
		    64);
		assert_int_equal(osdp_frame_build(out, 64, &m, NULL, 1), (int)wn);
		assert_memory_equal(out, want, wn);
	}
}

/* The reference session of notes §5.8, both directions. */
static void
test_session_vectors(void **state)
{
	struct osdp_sc cp;
	struct osdp_frame f;
	struct osdp_msg m;
	uint8_t a[8], out[128], want[128], in[128], plain[64], d[32], x[16];
	size_t n, used, pl;
	int len;

	(void)state;
	hex("B0 B1 B2 B3 B4 B5 B6 B7", a, 8);
	memset(&m, 0, sizeof(m));
	m.mark = 1;
	m.sqn = 1;
	m.code = OSDP_CHLNG;
	m.data = a;
	m.data_len = 8;
	m.scb_len = 3;
	m.scb_type = OSDP_SCS_11;
	n = hex("FF 53 00 13 00 0D 03 11 00 76 B0 B1 B2 B3 B4 B5 B6 B7 31 77",
	    want, sizeof(want));
	assert_int_equal(osdp_frame_build(out, sizeof(out), &m, NULL, 1),
	    (int)n);
	assert_memory_equal(out, want, n);

	n = hex("FF 53 80 2B 00 0D 03 12 00 76 00 0E E3 02 01 44 33 22 A0 A1 A2 "
	    "A3 A4 A5 A6 A7 FD E5 D2 F4 28 EC 16 31 24 71 EA 3C 02 BD 77 96 A4 66",
	    in, sizeof(in));
	assert_int_equal(osdp_frame_scan(in, n, &used, &f), OSDP_SCAN_SKIP);
	assert_int_equal(used, 1);	/* the mark */
	assert_int_equal(osdp_frame_scan(in + 1, n - 1, &used, &f),
	    OSDP_SCAN_FRAME);
	assert_int_equal(f.code, OSDP_CCRYPT);
	assert_int_equal(f.scb_type, OSDP_SCS_12);
	assert_int_equal(f.data_len, 32);
	osdp_sc_derive(&cp, osdp_scbk_default, a);
	osdp_sc_cryptogram(&cp, a, f.data + 8, x);
	assert_memory_equal(x, f.data + 16, 16);
	osdp_sc_cryptogram(&cp, f.data + 8, a, d);

	m.sqn = 2;
	m.code = OSDP_SCRYPT;
	m.data = d;
	m.data_len = 16;
	m.scb_type = OSDP_SCS_13;
	n = hex("FF 53 00 1B 00 0E 03 13 00 77 26 D3 35 6E 07 76 2D 26 28 01 FC "
	    "8E 66 65 A8 91 40 B4", want, sizeof(want));
	assert_int_equal(osdp_frame_build(out, sizeof(out), &m, NULL, 1),
	    (int)n);
	assert_memory_equal(out, want, n);
	osdp_sc_rmac_i(&cp, d, cp.r_mac);
	cp.active = 1;

	/* CP POLL (SQN 3), PD ACK */
	memset(&m, 0, sizeof(m));
	m.mark = 1;
	m.sqn = 3;
	m.code = OSDP_POLL;
	n = hex("FF 53 00 0E 00 0F 02 15 60 69 BD C6 54 E1 36", want, 128);
	assert_int_equal(osdp_frame_build(out, 128, &m, &cp, 1), (int)n);
	assert_memory_equal(out, want, n);
	n = hex("FF 53 80 0E 00 0F 02 16 40 F9 BA FF 9D 78 CD", in, 128);
	assert_int_equal(osdp_frame_scan(in + 1, n - 1, &used, &f),
	    OSDP_SCAN_FRAME);
	assert_int_equal(osdp_sc_open(&cp, &f, 0, plain, sizeof(plain), &pl), 0);
	assert_int_equal(f.code, OSDP_ACK);
	assert_int_equal(pl, 0);

	/* OUT 0,5,50 (SQN 1) */
	m.sqn = 1;
	m.code = OSDP_OUT;
	hex("00 05 32 00", d, 4);
	m.data = d;
	m.data_len = 4;
	n = hex("FF 53 00 1E 00 0D 02 17 68 C5 54 AC 52 B8 EB 13 81 2D 2A 30 29 "
	    "F0 3F 5F 0C 02 A9 F0 4D 3D 2D", want, 128);
	assert_int_equal(osdp_frame_build(out, 128, &m, &cp, 1), (int)n);
	assert_memory_equal(out, want, n);
	n = hex("FF 53 80 0E 00 0D 02 16 40 C6 9A 4F C0 4A A9", in, 128);
	osdp_frame_scan(in + 1, n - 1, &used, &f);
	assert_int_equal(osdp_sc_open(&cp, &f, 0, plain, sizeof(plain), &pl), 0);

	/* POLL (SQN 2) -> RAW, encrypted */
	m.sqn = 2;
	m.code = OSDP_POLL;
	m.data = NULL;
	m.data_len = 0;
	n = hex("FF 53 00 0E 00 0E 02 15 60 43 49 02 9E D3 B3", want, 128);
	assert_int_equal(osdp_frame_build(out, 128, &m, &cp, 1), (int)n);
	assert_memory_equal(out, want, n);
	n = hex("FF 53 80 1E 00 0E 02 18 50 E2 0F D7 C4 E7 B9 AD B0 0F 51 BE E7 "
	    "D2 B4 5A 50 C4 AC DF 23 2D AE", in, 128);
	osdp_frame_scan(in + 1, n - 1, &used, &f);
	/* a flipped MAC byte is refused and the chain does not move */
	{
		uint8_t bad[128];
		struct osdp_frame bf;
		uint16_t c;
		memcpy(bad, in + 1, n - 1);
		bad[n - 1 - 3] ^= 1;	/* last MAC byte */
		c = osdp_crc16(bad, n - 1 - 2);
		bad[n - 1 - 2] = (uint8_t)c;
		bad[n - 1 - 1] = (uint8_t)(c >> 8);
		assert_int_equal(osdp_frame_scan(bad, n - 1, &used, &bf),
		    OSDP_SCAN_FRAME);
		assert_int_equal(osdp_sc_open(&cp, &bf, 0, plain, sizeof(plain),
		    &pl), -1);
	}
	assert_int_equal(osdp_sc_open(&cp, &f, 0, plain, sizeof(plain), &pl), 0);
	assert_int_equal(f.code, OSDP_RAW);
	n = hex("00 01 1A 00 12 34 56 C0", want, 128);
	assert_int_equal(pl, n);
	assert_memory_equal(plain, want, n);

	/* POLL (SQN 3) -> ISTATR */
	m.sqn = 3;
	n = hex("FF 53 00 0E 00 0F 02 15 60 50 3E DF 30 BC 1E", want, 128);
	assert_int_equal(osdp_frame_build(out, 128, &m, &cp, 1), (int)n);
	assert_memory_equal(out, want, n);
	n = hex("FF 53 80 1E 00 0F 02 18 49 68 7A C0 79 8C 67 8F 1E 9E 8A 1A F8 "
	    "D4 43 33 49 CE 33 53 F2 E5 E4", in, 128);
	osdp_frame_scan(in + 1, n - 1, &used, &f);
	assert_int_equal(osdp_sc_open(&cp, &f, 0, plain, sizeof(plain), &pl), 0);
	n = hex("01 00 00 00", want, 128);
	assert_int_equal(pl, n);
	assert_memory_equal(plain, want, n);

	/* KEYSET 10..1F (SQN 1) */
	m.sqn = 1;
	m.code = OSDP_KEYSET;
	hex("01 10 10 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D 1E 1F", d, 18);
	m.data = d;
	m.data_len = 18;
	n = hex("FF 53 00 2E 00 0D 02 17 75 19 0F B2 C7 8F DF 49 7D 41 55 04 12 "
	    "DB 3F C2 DE B4 77 BD D2 71 D2 70 CF 2B B6 A2 22 15 97 DF 66 6C 90 "
	    "6B 37 58 5D", want, 128);
	len = osdp_frame_build(out, 128, &m, &cp, 1);
	assert_int_equal(len, (int)n);
	assert_memory_equal(out, want, n);
	n = hex("FF 53 80 0E 00 0D 02 16 40 36 D1 BA C3 0C 07", in, 128);
	osdp_frame_scan(in + 1, n - 1, &used, &f);
	assert_int_equal(osdp_sc_open(&cp, &f, 0, plain, sizeof(plain), &pl), 0);
}

static void
test_scan_resync(void **state)
{
	uint8_t b[128], frame[32];
	struct osdp_frame f;
	size_t n, used, off = 0;
	int frames = 0, guard = 0;

	(void)state;
	n = hex("53 80 08 00 05 40 68 9F", frame, sizeof(frame));
	/* garbage with a false SOM, a frame with a bad CRC, the good one */
	memcpy(b, "\x01\x53\x00\xff\x02", 5);
	memcpy(b + 5, frame, n);
	b[5 + n - 1] ^= 1;
	memcpy(b + 5 + n, frame, n);
	n = 5 + 2 * n;
	while (off < n && guard++ < 100) {
		enum osdp_scan s = osdp_frame_scan(b + off, n - off, &used, &f);
		if (s == OSDP_SCAN_MORE)
			break;
		if (s == OSDP_SCAN_FRAME) {
			frames++;
			assert_int_equal(f.code, OSDP_ACK);
			assert_int_equal(f.addr, 0x80);
			assert_int_equal(f.sqn, 1);
		}
		assert_true(used > 0);
		off += used;
	}
	assert_int_equal(frames, 1);
	assert_int_equal(off, n);
}

/* ---- the driver against the emulator on a pty ---- */

#define MAXI	4

struct rig {
	char		 dir[64], keys[128], link[128];
	int		 master;
	struct emu	 emu;
	void		*inst[MAXI];
	unsigned	 kinds[MAXI];
	size_t		 ninst;
	struct driver_event got[256];
	size_t		 ngot;
	int		 gotinst[256];
	char		 log[64][128];
	size_t		 nlog;
};

static void
rig_log(void *arg, const char *line)
{
	struct rig *r = arg;

	if (r->nlog < 64)
		snprintf(r->log[r->nlog++], sizeof(r->log[0]), "%s", line);
}

static const uint8_t key1[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1 };
static const uint8_t key2[16] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2 };

static void
rig_keys(struct rig *r, const char *text, mode_t mode)
{
	FILE *f = fopen(r->keys, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(r->keys, mode);
}

static int
rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct termios tio;

	snprintf(r->dir, sizeof(r->dir), "/tmp/test_osdp.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->keys, sizeof(r->keys), "%s/osdp.keys", r->dir);
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	assert_true(r->master >= 0);
	assert_int_equal(grantpt(r->master), 0);
	assert_int_equal(unlockpt(r->master), 0);
	snprintf(r->link, sizeof(r->link), "%s", ptsname(r->master));
	tcgetattr(r->master, &tio);
	cfmakeraw(&tio);
	tcsetattr(r->master, TCSANOW, &tio);
	r->emu.rng = 42;
	*state = r;
	return 0;
}

static int
rig_teardown(void **state)
{
	struct rig *r = *state;
	char cmd[200];

	for (size_t i = 0; i < r->ninst; i++)
		driver_osdp.close(r->inst[i]);
	osdp_bus_close_all();
	close(r->master);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	if (system(cmd) != 0)
		return -1;
	free(r);
	return 0;
}

static int
rig_bus(struct rig *r, int secure, char *err, size_t errlen)
{
	struct osdp_bus_conf c;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "bus0");
	snprintf(c.device, sizeof(c.device), "%s", r->link);
	c.baud = 115200;
	c.secure = secure;
	if (secure)
		snprintf(c.keys, sizeof(c.keys), "%s", r->keys);
	return osdp_bus_add(&c, err, errlen);
}

static void
rig_open(struct rig *r, unsigned kind, const char *args)
{
	char err[256] = "";
	int rc = driver_osdp.open(&r->inst[r->ninst], kind, args, err,
	    sizeof(err));

	if (rc != 0)
		fail_msg("open %s: %s", args, err);
	r->kinds[r->ninst++] = kind;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the emulator and the driver for ms (or until pred holds). */
static void
rig_run(struct rig *r, int ms, int (*pred)(struct rig *))
{
	int64_t end = mono_ms() + ms;

	while (mono_ms() < end) {
		struct pollfd p[MAXI + 1];
		uint8_t in[2048], out[8192];
		ssize_t n;

		for (size_t i = 0; i < r->ninst; i++) {
			p[i].fd = driver_osdp.fd(r->inst[i]);
			p[i].events = POLLIN;
		}
		p[r->ninst].fd = r->master;
		p[r->ninst].events = POLLIN;
		poll(p, r->ninst + 1, 5);
		while ((n = read(r->master, in, sizeof(in))) > 0) {
			size_t o = emu_feed(&r->emu, in, (size_t)n, out,
			    sizeof(out));
			if (o > 0)
				assert_int_equal(write(r->master, out, o),
				    (ssize_t)o);
		}
		for (size_t i = 0; i < r->ninst; i++) {
			struct driver_event ev[16];
			int k = driver_osdp.on_ready(r->inst[i], ev, 16);
			assert_true(k >= 0);
			for (int j = 0; j < k && r->ngot < 256; j++) {
				assert_int_equal(driver_event_check(&ev[j]), 0);
				r->gotinst[r->ngot] = (int)i;
				r->got[r->ngot++] = ev[j];
			}
		}
		if (pred != NULL && pred(r))
			return;
	}
}

static int
count_ev(struct rig *r, int type, const char *name)
{
	int n = 0;

	for (size_t i = 0; i < r->ngot; i++)
		if (r->got[i].type == type && (name == NULL ||
		    (r->got[i].type == DRIVER_EV_ALARM &&
		    r->got[i].id_len == strlen(name) &&
		    memcmp(r->got[i].id, name, r->got[i].id_len) == 0 &&
		    r->got[i].value == 1) ||
		    (r->got[i].type == DRIVER_EV_NOTICE &&
		    strstr(r->got[i].text, name) != NULL)))
			n++;
	return n;
}

static int
both_secure(struct rig *r)
{
	return r->emu.pd[1].sc.active && r->emu.pd[2].sc.active &&
	    count_ev(r, DRIVER_EV_NOTICE, "online with secure") >= 2;
}

static int
has_tap(struct rig *r)
{
	return count_ev(r, DRIVER_EV_TAP, NULL) > 0;
}

/* Two PDs (reader 1, I/O 2), both keyed; the usual rig. */
static void
rig_standard(struct rig *r, const char *reader_args)
{
	char err[512];

	rig_keys(r, "# test keys\n1 01010101010101010101010101010101\n"
	    "2 02020202020202020202020202020202\n", 0600);
	emu_add(&r->emu, 1, 1, key1)->log = rig_log;
	r->emu.pd[1].log_arg = r;
	emu_add(&r->emu, 2, 0, key2)->log = rig_log;
	r->emu.pd[2].log_arg = r;
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), 0);
	rig_open(r, DRIVER_READER, reader_args);
	rig_open(r, DRIVER_SENSOR, "bus0:2 door=0 rex=1 passage=2 tamper=!3");
	rig_open(r, DRIVER_OUTPUT, "bus0:2 out=0");
	rig_run(r, 2000, both_secure);
	assert_true(both_secure(r));
}

static void
test_driver_secure_flow(void **state)
{
	struct rig *r = *state;
	const uint8_t card[4] = { 0x12, 0x34, 0x56, 0xC0 };
	struct driver_cmd cmd = { .type = DRIVER_CMD_UNLOCK };
	char id[80];
	int64_t t0;
	int polls;

	rig_standard(r, "bus0:1");
	/* ID and CAP were logged */
	assert_true(count_ev(r, DRIVER_EV_NOTICE, "PD 0A0B0C model 1") >= 1);
	assert_true(count_ev(r, DRIVER_EV_NOTICE, ", SC") >= 2);
	/* the tamper input is active low and idle (0): baseline says nothing */
	assert_int_equal(count_ev(r, DRIVER_EV_SENSOR, NULL), 0);

	/* polled at least every 50 ms: count over 500 ms */
	polls = (int)r->emu.pd[1].n_polls;
	rig_run(r, 500, NULL);
	polls = (int)r->emu.pd[1].n_polls - polls;
	assert_true(polls >= 9);

	emu_card(&r->emu.pd[1], card, 4, 26);
	rig_run(r, 500, has_tap);
	assert_int_equal(count_ev(r, DRIVER_EV_TAP, NULL), 1);
	for (size_t i = 0; i < r->ngot; i++)
		if (r->got[i].type == DRIVER_EV_TAP) {
			assert_int_equal(r->gotinst[i], 0);
			driver_event_id(&r->got[i], id, sizeof(id));
			assert_string_equal(id, "123456C0");
			assert_int_equal(r->got[i].pin_len, 0);
		}

	/* unlock: OUT on the I/O module, then feedback on the reader */
	t0 = mono_ms();
	assert_int_equal(driver_osdp.actuate(r->inst[2], &cmd), 0);
	while (r->emu.pd[2].outputs[0] != 1 && mono_ms() - t0 < 500)
		rig_run(r, 5, NULL);
	assert_int_equal(r->emu.pd[2].outputs[0], 1);
	cmd.type = DRIVER_CMD_GRANT;
	assert_int_equal(driver_osdp.actuate(r->inst[0], &cmd), 0);
	rig_run(r, 200, NULL);
	assert_int_equal(r->emu.pd[1].n_led, 1);
	assert_int_equal(r->emu.pd[1].last_led_color, 2);	/* green */
	assert_int_equal(r->emu.pd[1].n_buz, 1);
	cmd.type = DRIVER_CMD_LOCK;
	driver_osdp.actuate(r->inst[2], &cmd);
	rig_run(r, 200, NULL);
	assert_int_equal(r->emu.pd[2].outputs[0], 0);
	/* a lock instance refuses reader commands */
	cmd.type = DRIVER_CMD_DENY;
	assert_true(driver_osdp.actuate(r->inst[2], &cmd) < 0);

	/* inputs: door open/closed, rex, passage, tamper (active low) */
	r->ngot = 0;
	emu_input(&r->emu.pd[2], 0, 1);
	emu_input(&r->emu.pd[2], 0, 0);
	emu_input(&r->emu.pd[2], 1, 1);
	emu_input(&r->emu.pd[2], 2, 1);
	emu_input(&r->emu.pd[2], 3, 1);		/* tamper idle: nothing */
	emu_input(&r->emu.pd[2], 3, 0);		/* tamper active */
	rig_run(r, 600, NULL);
	{
		int want[] = { DRIVER_DOOR_OPEN, DRIVER_DOOR_CLOSED, DRIVER_REX,
		    DRIVER_PASSAGE, DRIVER_TAMPER };
		size_t k = 0;
		for (size_t i = 0; i < r->ngot; i++)
			if (r->got[i].type == DRIVER_EV_SENSOR) {
				assert_true(k < 5);
				assert_int_equal(r->got[i].sensor, want[k]);
				assert_int_equal(r->gotinst[i], 1);
				k++;
			}
		assert_int_equal(k, 5);
	}
	/* describe says what it is */
	{
		char d[160];
		driver_osdp.describe(r->inst[2], d, sizeof(d));
		assert_non_null(strstr(d, "osdp bus0:2 online secure out0=off"));
	}
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, NULL), 0);
}

static void
test_driver_pin(void **state)
{
	struct rig *r = *state;
	const uint8_t card[4] = { 0xAB, 0xCD, 0xEF, 0x01 };

	rig_standard(r, "bus0:1 pin class=secure");
	emu_card(&r->emu.pd[1], card, 4, 32);
	rig_run(r, 300, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_TAP, NULL), 0);	/* waits */
	emu_keys(&r->emu.pd[1], "12*9");	/* '*' clears */
	emu_keys(&r->emu.pd[1], "876#");
	rig_run(r, 500, has_tap);
	assert_int_equal(count_ev(r, DRIVER_EV_TAP, NULL), 1);
	for (size_t i = 0; i < r->ngot; i++)
		if (r->got[i].type == DRIVER_EV_TAP) {
			assert_int_equal(r->got[i].pin_len, 4);
			assert_memory_equal(r->got[i].pin, "9876", 4);
			assert_int_equal(r->got[i].cls, 1);
		}
}

static void
test_driver_faults(void **state)
{
	struct rig *r = *state;
	const uint8_t card[3] = { 0x01, 0x02, 0x03 };
	struct emu_pd *p;

	rig_standard(r, "bus0:1");
	p = &r->emu.pd[1];
	/* bad CRC, wrong SQN, garbage, BUSY: recovered by resending the same
	 * bytes; no alarm, no offline, the card still arrives once */
	p->bad_crc = 2;
	p->wrong_sqn = 2;
	p->garbage = 3;
	p->busy = 1;
	emu_card(p, card, 3, 24);
	rig_run(r, 1500, has_tap);
	assert_int_equal(count_ev(r, DRIVER_EV_TAP, NULL), 1);
	assert_true(p->n_resent >= 2);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, NULL), 0);
	assert_int_equal(count_ev(r, DRIVER_EV_OFFLINE, NULL), 0);
	assert_true(p->sc.active);

	/* a replayed secure reply: MAC alarm, new session, still secure */
	p->replay = 1;
	rig_run(r, 800, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, "device-bad-mac"), 1);
	assert_true(p->sc.active);
	assert_true(p->n_chlng >= 2);

	/* dropping to clear text: refused and alarmed, never used in clear */
	r->ngot = 0;
	p->cleartext = 1;
	emu_card(p, card, 3, 24);
	rig_run(r, 1000, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, "device-insecure"), 1);
	assert_int_equal(count_ev(r, DRIVER_EV_OFFLINE, NULL), 1);  /* reader */
	assert_int_equal(count_ev(r, DRIVER_EV_TAP, NULL), 0);
	{
		char d[160];
		driver_osdp.describe(r->inst[0], d, sizeof(d));
		assert_non_null(strstr(d, "device-insecure"));
	}
	/* the I/O module on the same bus is unaffected */
	{
		struct driver_cmd cmd = { .type = DRIVER_CMD_UNLOCK };
		assert_int_equal(driver_osdp.actuate(r->inst[2], &cmd), 0);
		rig_run(r, 300, NULL);
		assert_int_equal(r->emu.pd[2].outputs[0], 1);
	}
	/* fixed: accepted again after the retry, alarm cleared */
	p->cleartext = 0;
	rig_run(r, 6500, both_secure);
	rig_run(r, 300, NULL);
	assert_true(p->sc.active);
	assert_true(count_ev(r, DRIVER_EV_ONLINE, NULL) >= 1);
	{
		int cleared = 0;
		for (size_t i = 0; i < r->ngot; i++)
			if (r->got[i].type == DRIVER_EV_ALARM &&
			    r->got[i].value == 0)
				cleared++;
		assert_true(cleared >= 1);
	}
}

static void
test_driver_silence(void **state)
{
	struct rig *r = *state;

	rig_standard(r, "bus0:1");
	r->emu.pd[1].silent = 1;
	rig_run(r, 7000, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_OFFLINE, NULL), 0);
	rig_run(r, 1500, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_OFFLINE, NULL), 1);
	/* the other device kept being polled meanwhile */
	{
		unsigned before = r->emu.pd[2].n_polls;
		rig_run(r, 1000, NULL);
		assert_true(r->emu.pd[2].n_polls - before >= 10);
	}
	r->emu.pd[1].silent = 0;
	rig_run(r, 2500, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_ONLINE, NULL), 1);
	assert_true(r->emu.pd[1].sc.active);
}

static void
test_driver_default_key_and_install(void **state)
{
	struct rig *r = *state;
	char err[512], text[512];
	FILE *f;
	int n;

	/* device 1 has no key (only SCBK-D); device 2 a different key */
	rig_keys(r, "1 01010101010101010101010101010101\n"
	    "2 02020202020202020202020202020202\n", 0600);
	emu_add(&r->emu, 1, 1, NULL)->log = rig_log;
	r->emu.pd[1].log_arg = r;
	emu_add(&r->emu, 2, 0, key1);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), 0);
	rig_open(r, DRIVER_READER, "bus0:1");
	rig_open(r, DRIVER_SENSOR, "bus0:2 door=0");
	rig_run(r, 800, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, "device-default-key"), 1);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, "device-key-mismatch"), 1);
	/* never rekeyed behind the operator's back */
	assert_int_equal(r->emu.pd[1].n_keyset, 0);
	assert_false(r->emu.pd[1].sc.active);

	/* the explicit installation */
	assert_int_equal(osdp_key_install("bus0", 1, 77, err, sizeof(err)), 0);
	assert_int_equal(osdp_key_install("bus0", 9, 78, err, sizeof(err)), -1);
	assert_int_equal(osdp_key_install("nobus", 1, 78, err, sizeof(err)), -1);
	rig_run(r, 1500, NULL);
	assert_int_equal(r->emu.pd[1].n_keyset, 1);
	assert_true(r->emu.pd[1].sc.active);
	assert_int_equal(r->emu.pd[1].kk, 1);
	{
		int done = 0;
		for (size_t i = 0; i < r->ngot; i++)
			if (r->got[i].type == DRIVER_EV_NOTICE &&
			    r->got[i].tag == 77) {
				assert_int_equal(r->got[i].value, 0);
				done++;
			}
		assert_int_equal(done, 1);
	}
	/* the key file holds the device's new key, still 0600 */
	f = fopen(r->keys, "r");
	assert_non_null(f);
	n = (int)fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	{
		char want[40];
		struct stat st;
		snprintf(want, sizeof(want), "1 ");
		for (int i = 0; i < 16; i++)
			snprintf(want + 2 + 2 * i, 3, "%02x", r->emu.pd[1].key[i]);
		assert_non_null(strstr(text, want));
		assert_non_null(strstr(text, "2 02020202020202020202020202020202"));
		stat(r->keys, &st);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

static void
test_driver_install_refused(void **state)
{
	struct rig *r = *state;
	char err[512];

	/* a keyed device that is not in install mode keeps its key */
	rig_standard(r, "bus0:1");
	assert_int_equal(osdp_key_install("bus0", 1, 5, err, sizeof(err)), 0);
	rig_run(r, 1000, NULL);
	assert_int_equal(r->emu.pd[1].n_keyset, 0);
	{
		int failed = 0;
		for (size_t i = 0; i < r->ngot; i++)
			if (r->got[i].type == DRIVER_EV_NOTICE &&
			    r->got[i].tag == 5 && r->got[i].value == 1)
				failed++;
		assert_int_equal(failed, 1);
	}
	assert_true(r->emu.pd[1].sc.active);
}

static void
test_key_file_permissions(void **state)
{
	struct rig *r = *state;
	char err[512];

	rig_keys(r, "1 01010101010101010101010101010101\n", 0644);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refused"));
	rig_keys(r, "1 0101\n", 0600);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "32 hex digits"));
	rig_keys(r, "1 01010101010101010101010101010101\n", 0600);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), 0);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), -1);	/* twice */
}

static void
test_no_sc_device_refused(void **state)
{
	struct rig *r = *state;
	char err[512];

	rig_keys(r, "1 01010101010101010101010101010101\n", 0600);
	emu_add(&r->emu, 1, 1, key1)->no_sc = 1;
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), 0);
	rig_open(r, DRIVER_READER, "bus0:1");
	rig_run(r, 500, NULL);
	assert_int_equal(count_ev(r, DRIVER_EV_ALARM, "device-insecure"), 1);
	assert_int_equal(r->emu.pd[1].n_polls, 0);	/* never used in clear */
}

static void
test_bad_args(void **state)
{
	struct rig *r = *state;
	char err[512];
	void *ctx;

	rig_keys(r, "", 0600);
	assert_int_equal(rig_bus(r, 1, err, sizeof(err)), 0);
	assert_int_equal(driver_osdp.open(&ctx, DRIVER_READER, "bus1:1", err,
	    sizeof(err)), -1);
	assert_int_equal(driver_osdp.open(&ctx, DRIVER_READER, "bus0:200", err,
	    sizeof(err)), -1);
	assert_int_equal(driver_osdp.open(&ctx, DRIVER_SENSOR, "bus0:1 door=x",
	    err, sizeof(err)), -1);
	assert_int_equal(driver_osdp.open(&ctx, DRIVER_OUTPUT, "bus0:1 pin",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out=N"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_sc_vectors),
		cmocka_unit_test(test_frame_vectors),
		cmocka_unit_test(test_session_vectors),
		cmocka_unit_test(test_scan_resync),
		cmocka_unit_test_setup_teardown(test_driver_secure_flow,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_driver_pin, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(test_driver_faults, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(test_driver_silence, rig_setup,
		    rig_teardown),
		cmocka_unit_test_setup_teardown(
		    test_driver_default_key_and_install, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_driver_install_refused,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_key_file_permissions,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_no_sc_device_refused,
		    rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, rig_setup,
		    rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
