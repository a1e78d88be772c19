/* SPDX-License-Identifier: MIT */
/* Servicing requests before entry, in bit (= documented service) order. */
#ifndef RV_CORE_SERVICE_H
#define RV_CORE_SERVICE_H

#include <stdbool.h>

#include "reqvisor/request.h"

#define RV_REQ_TLB_FAMILY                                                          \
	((1ull << RV_REQ_BIT_TLB_FLUSH) | (1ull << RV_REQ_BIT_TLB_FLUSH_CURRENT) | \
	 (1ull << RV_REQ_BIT_TLB_FLUSH_GUEST) | (1ull << RV_REQ_BIT_HV_TLB_FLUSH))

/*
 * Drop a pending HV_TLB_FLUSH and empty the current mode's FIFO: the flush
 * about to run is a superset (a guest flush; on SVM an ASID flush too).
 */
void rv_hv_purge(struct rv_vcpu *vcpu);

/* Service the pending requests in @mask. False when the vCPU must stop. */
bool rv_service_requests_mask(struct rv_vcpu *vcpu, uint64_t mask);

/* All pending requests: called by the dispatch loop. */
static inline bool rv_service_requests(struct rv_vcpu *vcpu)
{
	return rv_service_requests_mask(vcpu, ~0ull);
}

/* The TLB family only: also called by nested transitions. */
static inline void rv_service_tlb_requests(struct rv_vcpu *vcpu)
{
	rv_service_requests_mask(vcpu, RV_REQ_TLB_FAMILY);
}

#endif
