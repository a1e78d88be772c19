/* SPDX-License-Identifier: MIT */
/* Pure ALU computations: (operands, flags in) -> (result, flags out). */
#ifndef RV_CPU_ALU_H
#define RV_CPU_ALU_H

#include <stdbool.h>
#include <stdint.h>

#include "exec.h"

enum rv_alu {
	ALU_ADD,
	ALU_OR,
	ALU_ADC,
	ALU_SBB,
	ALU_AND,
	ALU_SUB,
	ALU_XOR,
	ALU_CMP, /* ModRM order */
	ALU_INC,
	ALU_DEC,
	ALU_NEG,
	ALU_NOT,
	ALU_TEST,
};

enum rv_shift { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/* rv_alu() returns the result; *flags holds RFLAGS before and after. It is
 * inline so each handler gets the few cases it uses, specialised. */
static inline uint64_t alu_msb(uint64_t v, unsigned size)
{
	return sign_bit(v, size);
}

static inline uint64_t add_flags(uint64_t a, uint64_t b, uint64_t res, unsigned size, bool carry)
{
	uint64_t m = size_mask(size);
	uint64_t cf;

	a &= m, b &= m, res &= m;
	cf = res < a || (carry && res == a);
	return szp_flags(res, size) | (cf ? RV_FLAG_CF : 0) |
	       (alu_msb((a ^ res) & (b ^ res), size) ? RV_FLAG_OF : 0) |
	       ((a ^ b ^ res) & RV_FLAG_AF);
}

static inline uint64_t sub_flags(uint64_t a, uint64_t b, uint64_t res, unsigned size, bool borrow)
{
	uint64_t m = size_mask(size);
	uint64_t cf;

	a &= m, b &= m, res &= m;
	cf = a < b || (borrow && a == b);
	return szp_flags(res, size) | (cf ? RV_FLAG_CF : 0) |
	       (alu_msb((a ^ b) & (a ^ res), size) ? RV_FLAG_OF : 0) | ((a ^ b ^ res) & RV_FLAG_AF);
}

static inline void alu_put(uint64_t *flags, uint64_t mask, uint64_t value)
{
	*flags = (*flags & ~mask) | (value & mask);
}

static inline uint64_t rv_alu(unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *flags)
{
	uint64_t m = size_mask(size);
	bool cin = *flags & RV_FLAG_CF;
	uint64_t r;

	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		cin = op == ALU_ADC && cin;
		r = (a + b + cin) & m;
		alu_put(flags, RV_FLAGS_ARITH, add_flags(a, b, r, size, cin));
		return r;
	case ALU_SUB:
	case ALU_SBB:
	case ALU_CMP:
		cin = op == ALU_SBB && cin;
		r = (a - b - cin) & m;
		alu_put(flags, RV_FLAGS_ARITH, sub_flags(a, b, r, size, cin));
		return r;
	case ALU_INC:
		r = (a + 1) & m;
		alu_put(flags, RV_FLAGS_ARITH & ~RV_FLAG_CF, add_flags(a, 1, r, size, false));
		return r;
	case ALU_DEC:
		r = (a - 1) & m;
		alu_put(flags, RV_FLAGS_ARITH & ~RV_FLAG_CF, sub_flags(a, 1, r, size, false));
		return r;
	case ALU_NEG:
		r = (0 - a) & m;
		alu_put(flags, RV_FLAGS_ARITH, sub_flags(0, a, r, size, false));
		return r;
	case ALU_NOT:
		return ~a & m;
	case ALU_OR:
		r = (a | b) & m;
		break;
	case ALU_XOR:
		r = (a ^ b) & m;
		break;
	default: /* AND, TEST */
		r = a & b & m;
		break;
	}
	alu_put(flags, RV_FLAGS_ARITH, szp_flags(r, size));
	return r;
}

uint64_t rv_shift(unsigned op, uint64_t a, unsigned count, unsigned size, uint64_t *flags);
uint64_t rv_shld(uint64_t dst, uint64_t src, unsigned count, unsigned size, bool left,
		 uint64_t *flags);

/* Whether the op writes its result back (CMP and TEST do not). */
static inline bool rv_alu_writes(unsigned op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

#endif
