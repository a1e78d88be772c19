/* SPDX-License-Identifier: MIT */
/*
 * Lazy arithmetic flags. The common flag-setting instructions (ADD, SUB, CMP,
 * AND, OR, XOR, TEST, INC, DEC) record their operands, result and size; the
 * six arithmetic flags are computed only when something reads them, and a
 * condition code is evaluated from the record without building RFLAGS. Most
 * flags in compiled code are overwritten before they are read.
 *
 * Invariant: cpu->rflags holds every bit except, while cpu->lf_kind is not
 * LF_NONE, the arithmetic ones (and INC/DEC keep CF in rflags, since they
 * leave it alone). Code that reads or writes arithmetic flags goes through
 * rv_flags() and set_flags(); this file is the only one that knows the record.
 */
#ifndef RV_CPU_FLAGS_H
#define RV_CPU_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

enum rv_lazy_kind { LF_NONE, LF_ADD, LF_SUB, LF_LOGIC, LF_INC, LF_DEC };

static inline uint64_t lf_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t lf_sign(uint64_t v, unsigned size)
{
	return (v >> (size * 8 - 1)) & 1;
}

static inline void rv_lazy_record(struct rv_cpu *c, unsigned kind, uint64_t dst, uint64_t src,
				  uint64_t res, unsigned size)
{
	c->lf_kind = (uint8_t)kind;
	c->lf_size = (uint8_t)size;
	c->lf_dst = dst;
	c->lf_src = src;
	c->lf_res = res;
}

/* Compute the recorded flags into rflags and drop the record. */
void rv_flags_materialize(struct rv_cpu *c);

static inline uint64_t rv_cpu_flags(struct rv_cpu *c)
{
	if (c->lf_kind != LF_NONE)
		rv_flags_materialize(c);
	return c->rflags;
}

/* CF alone, as INC and DEC need it. */
bool rv_lazy_cf(const struct rv_cpu *c);

/* Condition code @cc (the low nibble of Jcc/SETcc/CMOVcc) of the flags. */
bool rv_cpu_condition(const struct rv_cpu *c, unsigned cc);

#endif
