// SPDX-License-Identifier: MIT
/* Turns the generated tables back into struct snippet. */
#include <string.h>

#include "corpus_table.h"

size_t corpus_count(void)
{
	/* Both tables come from one run of the generator; trust neither alone. */
	return diff_corpus_nr < diff_corpus_nr_spans ? diff_corpus_nr
						     : (size_t)diff_corpus_nr_spans;
}

/* splitmix64, as in the generator: the page only has to be the same everywhere. */
static uint64_t next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_data(uint8_t *data, const struct corpus_entry *e)
{
	uint64_t state = e->data_seed;

	for (size_t i = 0; i < SNIPPET_DATA_SIZE; i += 8) {
		uint64_t v = next(&state);

		for (size_t b = 0; b < 8; b++)
			data[i + b] = (uint8_t)(v >> (8 * b));
	}
	for (uint32_t p = 0; p < e->nr_patches; p++) {
		const struct corpus_patch *cp = &diff_corpus_patches[e->first_patch + p];

		memcpy(data + cp->off, diff_corpus_blob + cp->at, cp->len);
	}
}

void corpus_get(size_t i, struct snippet *out)
{
	const struct corpus_entry *e;

	memset(out, 0, sizeof(*out));
	if (i >= corpus_count())
		return;
	e = &diff_corpus_entries[i];
	out->name = e->name;
	out->code = diff_corpus_code + diff_corpus_spans[i].off;
	out->len = diff_corpus_spans[i].len;
	memcpy(out->in.gpr, e->gpr, sizeof(out->in.gpr));
	out->in.rip = SNIPPET_CODE;
	out->in.rflags = e->rflags;
	fill_data(out->data, e);
	out->undefined_flags = e->undefined_flags;
	out->privileged = e->privileged;
}

int corpus_expect_vector(size_t i)
{
	return i < corpus_count() ? diff_corpus_entries[i].expect_vector : -1;
}

int corpus_expect_gprs(size_t i, int gpr[CORPUS_MAX_EXPECT], uint64_t value[CORPUS_MAX_EXPECT])
{
	int n = 0;

	if (i >= corpus_count())
		return 0;
	for (int k = 0; k < CORPUS_MAX_EXPECT; k++) {
		if (diff_corpus_entries[i].expect_gpr[k] < 0)
			continue;
		gpr[n] = diff_corpus_entries[i].expect_gpr[k];
		value[n] = diff_corpus_entries[i].expect_value[k];
		n++;
	}
	return n;
}
