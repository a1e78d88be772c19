/* SPDX-License-Identifier: MIT */
/*
 * Fault points: named places in the flush path where a run can be made to
 * misbehave on purpose. A spec names points with a probability or exact hit
 * numbers; the decision for the n-th hit of a point is a pure function of
 * (seed, point, n), so a deterministic run replays its faults exactly.
 */
#ifndef REQVISOR_FAULT_H
#define REQVISOR_FAULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rv_fault_class { RV_FAULT_BENIGN, RV_FAULT_BREAKING };

enum rv_fault_id {
#define RV_FAULT_POINT(id, name, cls, meaning) RV_FAULT_##id,
#include "reqvisor/faults.def"
#undef RV_FAULT_POINT
	RV_NR_FAULTS
};

_Static_assert(RV_NR_FAULTS <= 64, "fault points must fit the armed mask");

#define RV_FAULT_MAX_HITS 8

struct rv_fault_rule {
	uint64_t threshold; /* fire when hash < threshold; UINT64_MAX: always */
	uint32_t nr_hits;
	uint64_t hits[RV_FAULT_MAX_HITS]; /* exact 1-based hit numbers */
};

struct rv_faults {
	uint64_t armed; /* one bit per point with a rule: the only hot-path read */
	uint64_t seed;
	struct rv_fault_rule rule[RV_NR_FAULTS];
	_Atomic uint64_t hits[RV_NR_FAULTS];
	_Atomic uint64_t fired[RV_NR_FAULTS];
};

/* Parse "kick.drop=0.01,request.spurious@5,vcpu.preempt". Returns 0, or -1
 * with a message in @err naming what is wrong. */
int rv_faults_parse(struct rv_faults *f, const char *spec, uint64_t seed, char *err, size_t errlen);
bool rv_fault_fire(struct rv_faults *f, enum rv_fault_id id);
const char *rv_fault_name(enum rv_fault_id id);
enum rv_fault_class rv_fault_class(enum rv_fault_id id);
int rv_fault_lookup(const char *name);

/*
 * Arm alloc.fail for every allocation of the process with @f's rule (NULL
 * disarms). Call it before creating the machine and the VM, and keep @f
 * until they are destroyed; its counters are alloc.fail's hits and firings.
 */
void rv_alloc_faults_arm(struct rv_faults *f);
/* Host allocations that have failed in this process, injected or real. */
uint64_t rv_alloc_failures(void);

/* One predictable branch when the point is not armed. */
#define RV_FAULT_HIT(f, ID)                                           \
	(__builtin_expect((f)->armed & (1ull << RV_FAULT_##ID), 0) && \
	 rv_fault_fire((f), RV_FAULT_##ID))

#endif
