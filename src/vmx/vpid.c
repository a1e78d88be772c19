// SPDX-License-Identifier: MIT
/* VPID allocation: a bitmap searched from where the last search stopped. */
#include "vpid.h"

#include <string.h>

#define NR_WORDS (RV_VPID_COUNT / 64)

void rv_vpid_allocator_init(struct rv_vpid_allocator *a, uint32_t limit)
{
	if (!limit || limit > RV_VPID_COUNT)
		limit = RV_VPID_COUNT;
	memset(a->used, 0, sizeof(a->used));
	pthread_mutex_init(&a->lock, NULL);
	a->limit = limit;
	a->in_use = 0;
	a->hint = 0;
	/* VPID 0 is the host's, and the VPIDs past the limit do not exist. */
	a->used[0] = 1;
	for (uint32_t v = limit; v < RV_VPID_COUNT; v++)
		a->used[v / 64] |= 1ull << (v % 64);
}

void rv_vpid_allocator_destroy(struct rv_vpid_allocator *a)
{
	pthread_mutex_destroy(&a->lock);
}

uint16_t rv_vpid_alloc(struct rv_vpid_allocator *a)
{
	uint16_t vpid = 0;

	pthread_mutex_lock(&a->lock);
	for (uint32_t i = 0; i < NR_WORDS; i++) {
		uint32_t w = (a->hint + i) % NR_WORDS;

		if (a->used[w] == UINT64_MAX)
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(~a->used[w]);

		a->used[w] |= 1ull << bit;
		a->in_use++;
		a->hint = w;
		vpid = (uint16_t)(w * 64 + bit);
		break;
	}
	pthread_mutex_unlock(&a->lock);
	return vpid;
}

void rv_vpid_free(struct rv_vpid_allocator *a, uint16_t vpid)
{
	if (!vpid || vpid >= a->limit)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->used[vpid / 64] & (1ull << (vpid % 64))) {
		a->used[vpid / 64] &= ~(1ull << (vpid % 64));
		a->in_use--;
	}
	pthread_mutex_unlock(&a->lock);
}
