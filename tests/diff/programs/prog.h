/* SPDX-License-Identifier: MIT */
/*
 * What the test programs share, and what each of them reports.
 *
 * Every program is one C file built twice:
 * - freestanding (PROG_FREESTANDING), linked by program.ld at SNIPPET_CODE
 *   with its writable data at SNIPPET_DATA, and run on every reference;
 * - natively, into test_programs, which calls its entry directly to learn
 *   what the references must produce.
 *
 * A program keeps everything it reports in one object marked PROG_RESULT.
 * Freestanding, that object opens the data page, so its bytes are the first
 * bytes of the page; the entry's return value (a digest) is RAX at the end.
 * Programs take no input but what their own generator makes, and reset all
 * their state on entry, so a native build can run them any number of times.
 * They use unsigned arithmetic wherever a value could wrap (the native build
 * may run under UBSan), and draw at most one random number per expression
 * (compilers order operands differently, and the native build need not be
 * gcc's).
 */
#ifndef RV_DIFF_PROG_H
#define RV_DIFF_PROG_H

#include <stddef.h>
#include <stdint.h>

/* A 64-bit LCG (Knuth's MMIX constants); the high half is the usable part. */
static inline uint32_t prog_rand(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*state >> 32);
}

static inline uint64_t prog_rand64(uint64_t *state)
{
	uint64_t hi = prog_rand(state);

	return hi << 32 | prog_rand(state);
}

/* Fold @v into the digest @d; the order of the values matters. */
static inline uint64_t prog_fold(uint64_t d, uint64_t v)
{
	d ^= v;
	d *= 0x100000001b3ull; /* the FNV-1a 64-bit prime */
	return d ^ d >> 29;
}

/* ---- crc32.c ------------------------------------------------------------ */

#define CRC32_BUF_LEN	   1024
#define CRC32_PREFIXES	   16
#define CRC32_C_LEN	   256	       /* bytes the slow CRC-32C covers */
#define CRC32_CHECK	   0xcbf43926u /* CRC-32 of "123456789" */
#define CRC32C_CHECK	   0xe3069283u /* CRC-32C of "123456789" */
#define CRC32_UNALIGNED_AT 3	       /* where the word-at-a-time run starts */

struct crc32_result {
	uint32_t table[256]; /* the byte table, built at run time */
	uint32_t check;	     /* CRC-32 of "123456789", by the table */
	uint32_t check_c;    /* CRC-32C of "123456789", bit by bit */
	/* CRC-32 of the buffer's first crc32_prefix_len(k) bytes, by the table */
	uint32_t prefix[CRC32_PREFIXES];
	uint32_t nibble;	/* the whole buffer, by a 16-entry table */
	uint32_t bitwise;	/* the whole buffer, bit by bit */
	uint32_t crc32c;	/* CRC-32C of the first CRC32_C_LEN bytes, bit by bit */
	uint32_t unaligned;	/* from CRC32_UNALIGNED_AT to the end, 32 bits at a time */
	uint32_t unaligned_ref; /* the same, by the byte table */
};

/* The 16-entry table, in the data page (see crc32.c). */
extern uint32_t crc32_nibble_table[16];

/* Strictly increasing, and the last is the whole buffer. */
static inline uint32_t crc32_prefix_len(uint32_t k)
{
	return (k + 1) * (CRC32_BUF_LEN / CRC32_PREFIXES) - k % 3;
}

/* ---- qsort.c ------------------------------------------------------------ */

#define QSORT_KEYS 320
#define QSORT_RECS 96

/* Sorted by tag, then key descending, then id: a total order, ids are unique. */
struct qsort_rec {
	uint32_t key;
	uint16_t id;
	uint16_t tag;
};

struct qsort_result {
	int32_t keys[QSORT_KEYS]; /* sorted ascending */
	struct qsort_rec recs[QSORT_RECS];
	uint64_t key_sum;  /* of the keys before sorting, as uint64_t */
	uint64_t compares; /* comparison-function calls */
	uint64_t swaps;
	uint64_t rec_sum; /* sum of key * (id + 1) before sorting */
};

/* ---- hash.c ------------------------------------------------------------- */

#define HASH_SLOTS	128 /* the integer table: a power of two */
#define HASH_KEY_RANGE	160 /* keys are 1..HASH_KEY_RANGE; 0 marks an empty slot */
#define HASH_INSERTS	110
#define HASH_LOOKUPS	200
#define HASH_REMOVES	50
#define HASH_TEXT_WORDS 300 /* words counted by the string table */
#define HASH_MAX_WORDS	120 /* 3 letters, 1 to 4 of them: 3 + 9 + 27 + 81 */
#define HASH_BUCKETS	32
#define HASH_WORD_MAX	4

struct hash_slot {
	uint32_t key;
	uint32_t value;
};

struct hash_word {
	char text[HASH_WORD_MAX + 1]; /* NUL-terminated */
	uint8_t len;
	int16_t next; /* the next word in this bucket, or -1 */
	uint32_t count;
};

struct hash_result {
	struct hash_slot slots[HASH_SLOTS];
	struct hash_word words[HASH_MAX_WORDS];
	int16_t buckets[HASH_BUCKETS]; /* first word in each bucket, or -1 */
	uint32_t inserted;	       /* new keys */
	uint32_t updated;	       /* inserts of a key already there */
	uint32_t hits, misses;	       /* lookups */
	uint32_t removed, absent;      /* removes, and removes of a missing key */
	uint32_t live;		       /* keys in the table at the end */
	uint32_t max_probe;	       /* longest probe sequence of any lookup */
	uint32_t nr_words;	       /* distinct words */
	uint32_t top_count;	       /* the count of the most frequent word */
	uint64_t value_sum;	       /* values of the lookups that hit */
	uint64_t digest;	       /* of the integer table at the end */
};

/* ---- printf.c ----------------------------------------------------------- */

#define PRINTF_LINES 72
#define PRINTF_TEXT  2048

/* How a case passes its value to the formatter. */
enum printf_arg {
	PRINTF_INT,
	PRINTF_UINT,
	PRINTF_LONG,
	PRINTF_ULONG,
	PRINTF_LLONG,
	PRINTF_CHAR,
	PRINTF_STR, /* printf_words[value % PRINTF_NR_WORDS] */
};

struct printf_case {
	const char *fmt; /* exactly one conversion */
	enum printf_arg arg;
	uint64_t value; /* the fixed cases' value; the rest draw theirs */
};

#define PRINTF_NR_WORDS 4

/*
 * Line k of text is printf_cases[which[k]].fmt formatted with value[k], and
 * ends (its '\n' excluded) at end[k]; the first lines are the fixed cases.
 */
struct printf_result {
	char text[PRINTF_TEXT];
	uint64_t value[PRINTF_LINES];
	uint16_t end[PRINTF_LINES];
	uint8_t which[PRINTF_LINES];
	uint32_t len; /* of text, every '\n' included */
	uint32_t lines;
	uint32_t truncated; /* what a too-small buffer reported */
	char small[8];	    /* ...and kept */
};

/* ---- entries ------------------------------------------------------------ */

uint64_t crc32_main(void);
uint64_t qsort_main(void);
uint64_t hash_main(void);
uint64_t printf_main(void);

#ifdef PROG_FREESTANDING

/* program.ld puts this section first in the data page. */
#define PROG_RESULT __attribute__((section(".result")))

/* The start stub calls the entry through --defsym prog_main=<name>_main. */
#define PROG_EXPORT(name, result) \
	_Static_assert(sizeof(result) <= 4096, #name ": the result outgrows the data page")

#else

#define PROG_RESULT

/* A program as the native test sees it. */
struct prog_native {
	const char *name;
	uint64_t (*main)(void);
	const void *result; /* what the reference's data page starts with */
	size_t size;
};

#define PROG_EXPORT(name, result) \
	const struct prog_native prog_##name = { #name, name##_main, &(result), sizeof(result) }

extern const struct prog_native prog_crc32, prog_qsort, prog_hash, prog_printf;

#endif

/* printf.c's cases, which the test replays through the C library's snprintf. */
extern struct printf_case printf_cases[]; /* writable: see printf.c */
extern const size_t printf_nr_cases;
extern const char *const printf_words[PRINTF_NR_WORDS];

#endif
