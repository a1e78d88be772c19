// SPDX-License-Identifier: MIT
/*
 * CRC-32 (IEEE 802.3, reflected) of a pseudo-random buffer, four ways: a
 * 256-entry table built at run time, a 16-entry table kept in writable data,
 * the bit-at-a-time definition, and 32 bits at a time from an unaligned
 * start; plus CRC-32C bit by bit. The ways must agree with one another and
 * the check values of "123456789" are published, so a wrong answer shows
 * without any reference.
 */
#include "prog.h"

#define CRC32_POLY  0xedb88320u
#define CRC32C_POLY 0x82f63b78u

static PROG_RESULT struct crc32_result result;
static uint8_t buf[CRC32_BUF_LEN];

/*
 * In writable data on purpose: the data page starts with it, so it checks
 * that runners load the page. gcc moves a static table nothing writes to
 * read-only data; one the whole program could see it must leave.
 */
uint32_t crc32_nibble_table[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static const uint8_t check_input[9] = { '1', '2', '3', '4', '5', '6', '7', '8', '9' };

static void build_table(uint32_t *table, uint32_t poly)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ poly : c >> 1;
		table[i] = c;
	}
}

/* The running CRC is kept inverted, so a CRC can be continued where it left off. */
static uint32_t crc_table(const uint32_t *table, uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ crc >> 8;
	return ~crc;
}

static uint32_t crc_nibble(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		crc = crc32_nibble_table[crc & 15] ^ crc >> 4;
		crc = crc32_nibble_table[crc & 15] ^ crc >> 4;
	}
	return ~crc;
}

static uint32_t crc_bitwise(uint32_t poly, uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (poly & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Little-endian, byte by byte: gcc may merge it into one unaligned load. */
static uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc_words(const uint32_t *table, uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (; n >= 4; n -= 4, p += 4) {
		crc ^= load32(p);
		for (int k = 0; k < 4; k++)
			crc = table[crc & 0xff] ^ crc >> 8;
	}
	return crc_table(table, ~crc, p, n); /* the tail, byte by byte */
}

/* Mostly noise, with a run of zeros and a run of 0xff: both are CRC corner cases. */
static void fill(uint8_t *p, size_t n)
{
	uint64_t state = 0x1234;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(prog_rand(&state) >> 13);
	for (size_t i = 100; i < 140; i++)
		p[i] = 0;
	for (size_t i = 600; i < 620; i++)
		p[i] = 0xff;
}

uint64_t crc32_main(void)
{
	uint32_t crc = 0, done = 0;
	const uint32_t *t = result.table;
	uint64_t digest = 0;

	fill(buf, sizeof(buf));
	build_table(result.table, CRC32_POLY);
	result.check = crc_table(t, 0, check_input, sizeof(check_input));
	result.check_c = crc_bitwise(CRC32C_POLY, 0, check_input, sizeof(check_input));
	for (uint32_t k = 0; k < CRC32_PREFIXES; k++) {
		uint32_t len = crc32_prefix_len(k);

		crc = crc_table(t, crc, buf + done, len - done);
		result.prefix[k] = crc;
		done = len;
	}
	result.nibble = crc_nibble(0, buf, sizeof(buf));
	result.bitwise = crc_bitwise(CRC32_POLY, 0, buf, sizeof(buf));
	result.crc32c = crc_bitwise(CRC32C_POLY, 0, buf, CRC32_C_LEN);
	result.unaligned =
		crc_words(t, 0, buf + CRC32_UNALIGNED_AT, sizeof(buf) - CRC32_UNALIGNED_AT);
	result.unaligned_ref =
		crc_table(t, 0, buf + CRC32_UNALIGNED_AT, sizeof(buf) - CRC32_UNALIGNED_AT);

	for (uint32_t k = 0; k < CRC32_PREFIXES; k++)
		digest = prog_fold(digest, result.prefix[k]);
	digest = prog_fold(digest, result.check);
	digest = prog_fold(digest, result.check_c);
	digest = prog_fold(digest, result.nibble);
	digest = prog_fold(digest, result.bitwise);
	digest = prog_fold(digest, result.crc32c);
	return prog_fold(digest, result.unaligned);
}

PROG_EXPORT(crc32, result);
