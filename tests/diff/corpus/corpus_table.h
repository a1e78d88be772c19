/* SPDX-License-Identifier: MIT */
/*
 * The tables gen_corpus.py writes: corpus_code.s holds the instruction bytes
 * and their (offset, length) spans, corpus_cases.c everything else. Only
 * corpus.c reads them.
 */
#ifndef RV_DIFF_CORPUS_TABLE_H
#define RV_DIFF_CORPUS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "corpus.h"

struct corpus_span {
	uint32_t off; /* from diff_corpus_code */
	uint32_t len;
};

/* @len bytes of the blob from @at, written over the data page at @off. */
struct corpus_patch {
	uint16_t off;
	uint16_t len;
	uint32_t at;
};

struct corpus_entry {
	const char *name;
	uint64_t gpr[NR_GPRS];
	uint64_t rflags;
	uint64_t data_seed; /* the data page is a splitmix64 stream from this... */
	uint64_t undefined_flags;
	uint32_t first_patch; /* ...with these patches on top */
	uint32_t nr_patches;
	int32_t expect_vector;
	int32_t privileged;
	int32_t expect_gpr[CORPUS_MAX_EXPECT]; /* -1: unused */
	uint64_t expect_value[CORPUS_MAX_EXPECT];
};

/* From the assembler. */
extern const uint8_t diff_corpus_code[];
extern const struct corpus_span diff_corpus_spans[];
extern const uint64_t diff_corpus_nr_spans;

/* From the generated C. */
extern const size_t diff_corpus_nr;
extern const struct corpus_entry diff_corpus_entries[];
extern const struct corpus_patch diff_corpus_patches[];
extern const uint8_t diff_corpus_blob[];

#endif
