/* SPDX-License-Identifier: MIT */
/*
 * VPID allocation (SDM vol. 3C §28.1): 16-bit tags for the linear and
 * combined translations of a vCPU. VPID 0 belongs to the host. Running out is
 * not an error, as in KVM: the vCPU gets VPID 0, and every VM entry and exit
 * with VPID 0 flushes that tag's entries, so it stays correct, only slower.
 */
#ifndef RV_VMX_VPID_H
#define RV_VMX_VPID_H

#include <pthread.h>
#include <stdint.h>

#define RV_VPID_COUNT 65536u

struct rv_vpid_allocator {
	pthread_mutex_t lock;
	uint32_t limit;	 /* VPIDs 1 .. limit - 1 may be handed out */
	uint32_t in_use; /* not counting VPID 0 */
	uint32_t hint;	 /* word where the last search stopped */
	uint64_t used[RV_VPID_COUNT / 64];
};

/* @limit: how many VPIDs exist, 1..RV_VPID_COUNT, 0 included (small values
 * let tests reach exhaustion; 1 leaves only VPID 0); 0 means RV_VPID_COUNT. */
void rv_vpid_allocator_init(struct rv_vpid_allocator *a, uint32_t limit);
void rv_vpid_allocator_destroy(struct rv_vpid_allocator *a);

/* A free VPID, or 0 when none is left. */
uint16_t rv_vpid_alloc(struct rv_vpid_allocator *a);

/* Gives @vpid back; 0 (the exhaustion answer) is ignored. */
void rv_vpid_free(struct rv_vpid_allocator *a, uint16_t vpid);

#endif
