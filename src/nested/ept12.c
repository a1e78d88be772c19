// SPDX-License-Identifier: MIT
/* The EPT12 walk (ept12.h). */
#include "ept12.h"

#define EPT_RWX	 0x7ull
#define EPT_W	 0x2ull
#define EPT_R	 0x1ull
#define EPT_PS	 (1ull << 7)
#define EPT_ADDR 0x000ffffffffff000ull

bool rv_ept12_eptp_valid(uint64_t eptp)
{
	/* Bits 2:0 memory type 6 (WB), 5:3 walk length minus 1 = 3; bits 11:7
	 * reserved (bit 6 is the A/D enable, which reqvisor does not offer). */
	return (eptp & 7) == 6 && ((eptp >> 3) & 7) == 3 && !(eptp & 0xfc0);
}

/* SDM vol. 3C §29.3.3.1, for the capabilities reqvisor reports: no
 * execute-only pages, no 1 GiB pages, bit 7 reserved in a PML4E. */
static bool misconfigured(uint64_t e, int level, bool leaf)
{
	unsigned mt = (unsigned)(e >> 3) & 7;

	if (!(e & EPT_R))
		return true; /* write or execute without read */
	if ((level == 3 || level == 2) && (e & EPT_PS))
		return true;
	return leaf && (mt == 2 || mt == 3 || mt == 7);
}

enum rv_ept12_result rv_ept12_walk(uint64_t eptp, uint64_t gpa,
				   bool (*read)(void *ctx, uint64_t l1gpa, uint64_t *entry),
				   void *ctx, struct rv_ept12_walk *w)
{
	uint64_t table = eptp & EPT_ADDR;
	unsigned perm = EPT_RWX;

	w->levels = 0;
	for (int level = 3; level >= 0; level--) {
		unsigned shift = 12 + 9 * (unsigned)level;
		uint64_t e;
		bool leaf;

		w->levels++;
		if (!read(ctx, table + ((gpa >> shift) & 511) * 8, &e) || !(e & EPT_RWX)) {
			w->perm = 0;
			return RV_EPT12_VIOLATION;
		}
		leaf = level == 0 || (level == 1 && (e & EPT_PS));
		if (misconfigured(e, level, leaf))
			return RV_EPT12_MISCONFIG;
		perm &= (unsigned)(e & EPT_RWX);
		if (leaf) {
			uint64_t size = 1ull << shift;

			w->gpa = (e & EPT_ADDR & ~(size - 1)) | (gpa & (size - 1));
			w->page_size = size;
			w->perm = perm;
			return RV_EPT12_OK;
		}
		table = e & EPT_ADDR;
	}
	return RV_EPT12_VIOLATION; /* not reached */
}
