// SPDX-License-Identifier: MIT
/*
 * Two small hash tables. The first maps 32-bit keys to values by open
 * addressing with linear probing and backward-shift deletion (no
 * tombstones), hashing with a 64x64->128-bit multiply; it sees inserts of
 * new and present keys, lookups that hit and miss, and removes. The second
 * counts the words of a generated text in a chained table keyed by short
 * strings, hashed with FNV-1a.
 */
#include "prog.h"

#define SLOT_MASK (HASH_SLOTS - 1)

static PROG_RESULT struct hash_result result;

__extension__ typedef unsigned __int128 u128;

/* The high and low halves of a full 128-bit product, folded: one `mul`. */
static uint32_t slot_of(uint32_t key)
{
	u128 p = (u128)(key ^ 0x9e3779b97f4a7c15ull) * 0xd6e8feb86659fd93ull;
	uint64_t h = (uint64_t)(p >> 64) ^ (uint64_t)p;

	return (uint32_t)(h >> 57) & SLOT_MASK;
}

/* How far @slot is from where its key hashes, going forward with wrap-around. */
static uint32_t displacement(uint32_t slot)
{
	return (slot - slot_of(result.slots[slot].key)) & SLOT_MASK;
}

/* The slot holding @key, or the empty slot that ends its probe sequence. */
static uint32_t find(uint32_t key, uint32_t *probes)
{
	uint32_t s = slot_of(key), n = 1;

	while (result.slots[s].key && result.slots[s].key != key) {
		s = (s + 1) & SLOT_MASK;
		n++;
	}
	*probes = n;
	return s;
}

static void insert(uint32_t key, uint32_t value)
{
	uint32_t probes, s = find(key, &probes);

	if (result.slots[s].key) {
		result.updated++;
	} else {
		result.slots[s].key = key;
		result.inserted++;
	}
	result.slots[s].value = value;
}

static void lookup(uint32_t key)
{
	uint32_t probes, s = find(key, &probes);

	if (probes > result.max_probe)
		result.max_probe = probes;
	if (result.slots[s].key) {
		result.hits++;
		result.value_sum += result.slots[s].value;
	} else {
		result.misses++;
	}
}

/*
 * Pull later members of the cluster back into the hole while that brings
 * them no earlier than their home slot, so probe sequences never break.
 */
static void remove_key(uint32_t key)
{
	uint32_t probes, hole = find(key, &probes), s;

	if (!result.slots[hole].key) {
		result.absent++;
		return;
	}
	result.removed++;
	for (s = (hole + 1) & SLOT_MASK; result.slots[s].key; s = (s + 1) & SLOT_MASK) {
		if (displacement(s) < ((s - hole) & SLOT_MASK))
			continue;
		result.slots[hole] = result.slots[s];
		hole = s;
	}
	result.slots[hole].key = 0;
	result.slots[hole].value = 0;
}

static void run_table(uint64_t *state)
{
	for (uint32_t i = 0; i < HASH_INSERTS; i++) {
		uint32_t key = 1 + prog_rand(state) % HASH_KEY_RANGE;

		insert(key, prog_rand(state));
		/* Removes interleave with the inserts, so holes open inside clusters. */
		if (i % 2 && i / 2 < HASH_REMOVES)
			remove_key(1 + prog_rand(state) % HASH_KEY_RANGE);
	}
	for (uint32_t i = 0; i < HASH_LOOKUPS; i++)
		lookup(1 + prog_rand(state) % (HASH_KEY_RANGE + 40));
	for (uint32_t s = 0; s < HASH_SLOTS; s++) {
		const struct hash_slot *slot = &result.slots[s];

		result.live += slot->key != 0;
		result.digest = prog_fold(result.digest, (uint64_t)slot->key << 32 | slot->value);
	}
}

static uint32_t fnv1a(const char *p, uint32_t len)
{
	uint32_t h = 0x811c9dc5u;

	while (len--) {
		h ^= (uint8_t)*p++;
		h *= 0x01000193u;
	}
	return h;
}

static int same_word(const struct hash_word *w, const char *text, uint32_t len)
{
	if (w->len != len)
		return 0;
	for (uint32_t i = 0; i < len; i++)
		if (w->text[i] != text[i])
			return 0;
	return 1;
}

static void count_word(const char *text, uint32_t len)
{
	uint32_t b = fnv1a(text, len) % HASH_BUCKETS;
	int16_t i;
	struct hash_word *w;

	for (i = result.buckets[b]; i >= 0; i = result.words[i].next)
		if (same_word(&result.words[i], text, len))
			break;
	if (i < 0) {
		/* At most HASH_MAX_WORDS distinct words exist: no overflow check. */
		i = (int16_t)result.nr_words++;
		w = &result.words[i];
		for (uint32_t k = 0; k < len; k++)
			w->text[k] = text[k];
		w->len = (uint8_t)len;
		w->next = result.buckets[b];
		result.buckets[b] = i;
	}
	w = &result.words[i];
	if (++w->count > result.top_count)
		result.top_count = w->count;
}

/* Short words are likelier, so they repeat a lot. */
static void run_words(uint64_t *state)
{
	char word[HASH_WORD_MAX];

	for (uint32_t b = 0; b < HASH_BUCKETS; b++)
		result.buckets[b] = -1;
	for (uint32_t n = 0; n < HASH_TEXT_WORDS; n++) {
		uint32_t r = prog_rand(state), len = 1 + (r & 3) * (r >> 2 & 1);

		for (uint32_t k = 0; k < len; k++)
			word[k] = (char)('a' + (r >> (8 + 2 * k)) % 3);
		count_word(word, len);
	}
}

static void reset(void)
{
	unsigned char *p = (unsigned char *)&result;

	for (size_t i = 0; i < sizeof(result); i++)
		p[i] = 0;
}

uint64_t hash_main(void)
{
	uint64_t state = 0xa5a5;

	reset();
	run_table(&state);
	run_words(&state);
	return prog_fold(prog_fold(result.digest, result.value_sum),
			 (uint64_t)result.nr_words << 32 | result.top_count);
}

PROG_EXPORT(hash, result);
