/* SPDX-License-Identifier: MIT */
/* Pure ALU computations: (operands, flags in) -> (result, flags out). */
#ifndef RV_CPU_ALU_H
#define RV_CPU_ALU_H

#include <stdbool.h>
#include <stdint.h>

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

/* Returns the result; *flags holds RFLAGS before and after. */
uint64_t rv_alu(unsigned op, uint64_t a, uint64_t b, unsigned size, uint64_t *flags);
uint64_t rv_shift(unsigned op, uint64_t a, unsigned count, unsigned size, uint64_t *flags);
uint64_t rv_shld(uint64_t dst, uint64_t src, unsigned count, unsigned size, bool left,
		 uint64_t *flags);

/* Whether the op writes its result back (CMP and TEST do not). */
static inline bool rv_alu_writes(unsigned op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

#endif
