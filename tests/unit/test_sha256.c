/*
 * test_sha256.c — SHA-256 against the FIPS 180-4 / NIST example vectors,
 * one-shot and streamed in awkward chunk sizes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/sha256.h"

static const char *const msg448 =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const msg896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void
hex_of(const void *p, size_t n, char out[65])
{
	uint8_t md[32];

	sha256(p, n, md);
	sha256_hex(md, out);
}

static void
test_vectors(void **state)
{
	char hex[65];

	(void)state;
	hex_of("", 0, hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of(msg448, strlen(msg448), hex);
	assert_string_equal(hex,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	hex_of(msg896, strlen(msg896), hex);
	assert_string_equal(hex,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
	char *buf, hex[65];
	struct sha256 c;
	uint8_t md[32];
	size_t off, step;

	(void)state;
	buf = malloc(1000000);
	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	hex_of(buf, 1000000, hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* the same streamed in prime-sized pieces that straddle blocks */
	sha256_init(&c);
	for (off = 0, step = 1; off < 1000000; off += step, step = step * 7 % 997 + 1) {
		if (step > 1000000 - off)
			step = 1000000 - off;
		sha256_update(&c, buf + off, step);
	}
	sha256_final(&c, md);
	sha256_hex(md, hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(buf);
}

static void
test_streaming_every_split(void **state)
{
	uint8_t want[32], got[32];
	char buf[300];
	struct sha256 c;
	size_t len, i, j;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31 + 7);
	/* lengths around the 55/56/64-byte padding boundaries, every split */
	for (len = 0; len < 200; len++) {
		sha256(buf, len, want);
		for (i = 0; i <= len; i++) {
			sha256_init(&c);
			sha256_update(&c, buf, i);
			sha256_update(&c, buf + i, 0);
			sha256_update(&c, buf + i, len - i);
			sha256_final(&c, got);
			assert_memory_equal(got, want, 32);
		}
		/* byte at a time, then odd chunks of 3, 13, 63, 65 */
		for (j = 0; j < 5; j++) {
			static const size_t chunks[] = { 1, 3, 13, 63, 65 };
			size_t off = 0;
			sha256_init(&c);
			while (off < len) {
				size_t n = chunks[j] < len - off ? chunks[j] : len - off;
				sha256_update(&c, buf + off, n);
				off += n;
			}
			sha256_final(&c, got);
			assert_memory_equal(got, want, 32);
		}
	}
}

static void
test_hex_and_pin_shape(void **state)
{
	uint8_t md[32];
	char hex[65];
	/* salt bytes || PIN digits, as the credentials file hashes a PIN */
	const uint8_t msg[] = { 0x01, 0x02, 0xfe, 0xff, '1', '2', '3', '4' };
	struct sha256 c;
	uint8_t md2[32];

	(void)state;
	memset(md, 0, sizeof(md));
	md[0] = 0xab;
	md[31] = 0x0f;
	sha256_hex(md, hex);
	assert_int_equal(strlen(hex), 64);
	assert_memory_equal(hex, "ab00", 4);
	assert_string_equal(hex + 60, "000f");

	sha256(msg, sizeof(msg), md);
	sha256_init(&c);
	sha256_update(&c, msg, 4);
	sha256_update(&c, "1234", 4);
	sha256_final(&c, md2);
	assert_memory_equal(md, md2, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_streaming_every_split),
		cmocka_unit_test(test_hex_and_pin_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
