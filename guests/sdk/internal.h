/* SPDX-License-Identifier: MIT */
/* What the SDK's own files share and guests do not see. */
#ifndef RV_GUEST_SDK_INTERNAL_H
#define RV_GUEST_SDK_INTERNAL_H

#include "rv.h"

/* The layout try.S writes: keep the offsets in step with it. */
struct rv_try_ctx {
	u64 rbx, rbp, r12, r13, r14, r15;
	u64 rsp; /* at entry to rv_try_call: its return address is at [rsp] */
	u64 rflags;
	struct rv_trap_info *info;
	struct rv_try_ctx *outer;
};

/* One per vCPU, a cache line each so that vCPUs do not share lines. */
struct rv_cpu_local {
	void *user;
	struct rv_try_ctx *recovery; /* the innermost rv_try() */
} RV_ALIGNED(RV_CACHE_LINE);

struct rv_cpu_local *rv_cpu_local(void);

void rv_idt_init(void);
void rv_page_init(void);
long rv_try_call(struct rv_try_ctx *ctx, void (*fn)(void *), void *arg);
void rv_trap_dispatch(struct rv_frame *f);
void _rv_start(u64 cpu, u64 ncpus, u64 mem_end);

#endif
