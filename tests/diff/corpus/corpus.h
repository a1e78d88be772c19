/* SPDX-License-Identifier: MIT */
/*
 * The differential-test corpus: a few thousand generated snippets (see
 * gen_corpus.py), assembled by GNU as at build time.
 */
#ifndef RV_DIFF_CORPUS_H
#define RV_DIFF_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "../snippet.h"

/* How many registers a case may state the final value of. */
#define CORPUS_MAX_EXPECT 2

size_t corpus_count(void);

/* Fills @out with case @i (< corpus_count()); out->code points into the corpus. */
void corpus_get(size_t i, struct snippet *out);

/* The exception vector case @i raises on every CPU, or -1 if it runs to its end. */
int corpus_expect_vector(size_t i);

/*
 * Registers whose final value the generator worked out (a quotient, whether
 * a branch was taken, a zero-extension...): fills @gpr and @value with up to
 * CORPUS_MAX_EXPECT of them and returns how many. Only meaningful when the
 * case runs to its end.
 */
int corpus_expect_gprs(size_t i, int gpr[CORPUS_MAX_EXPECT], uint64_t value[CORPUS_MAX_EXPECT]);

#endif
