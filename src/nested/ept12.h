/* SPDX-License-Identifier: MIT */
/*
 * A walk of L1's EPT tables (EPT12, Intel SDM vol. 3C §29.3.2): the
 * guest-physical address of L2 to L1's, with the rights every level grants.
 * Pure: the caller reads the 8-byte entries at L1 guest-physical addresses.
 */
#ifndef RV_NESTED_EPT12_H
#define RV_NESTED_EPT12_H

#include <stdbool.h>
#include <stdint.h>

enum rv_ept12_result {
	RV_EPT12_OK,
	RV_EPT12_VIOLATION, /* an entry grants nothing (not present) */
	RV_EPT12_MISCONFIG, /* write without read, or a reserved memory type */
};

struct rv_ept12_walk {
	uint64_t gpa; /* L1's guest-physical address */
	uint64_t page_size;
	unsigned perm; /* RV_EPT_R | RV_EPT_W | RV_EPT_X, over every level */
	unsigned levels;
};

/* @read gives the entry at an L1 guest-physical address; false (outside
 * L1's RAM) reads as not present. */
enum rv_ept12_result rv_ept12_walk(uint64_t eptp, uint64_t gpa,
				   bool (*read)(void *ctx, uint64_t l1gpa, uint64_t *entry),
				   void *ctx, struct rv_ept12_walk *w);

/* Whether an EPTP is one reqvisor walks: write-back, a 4-level walk. */
bool rv_ept12_eptp_valid(uint64_t eptp);

#endif
