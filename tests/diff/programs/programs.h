/* SPDX-License-Identifier: MIT */
/*
 * gcc-built C programs as differential-test cases: CRC-32, a quicksort, two
 * hash tables and integer printf formatting (prog.h says what each leaves in
 * the data page). Each is compiled freestanding and linked at build time to
 * the snippet layout: code at SNIPPET_CODE, its data page at SNIPPET_DATA. It
 * starts at its first byte with RSP 64 bytes below SNIPPET_STACK, returns
 * into a stub that falls through its last byte, and leaves a digest of its
 * results in RAX. Each runs well under 200,000 instructions.
 */
#ifndef RV_DIFF_PROGRAMS_H
#define RV_DIFF_PROGRAMS_H

#include <stddef.h>

#include "../snippet.h"

size_t programs_count(void);

/*
 * Fills @out with program @i (< programs_count()); out->code points into the
 * table. The final flags of a C program are incidental, so none is compared
 * (undefined_flags is SNIPPET_FLAGS_DEFINED).
 */
void programs_get(size_t i, struct snippet *out);

#endif
