/* SPDX-License-Identifier: MIT */
/* The synthetic guest's compiled script. */
#ifndef RV_SYNTHETIC_SCRIPT_H
#define RV_SYNTHETIC_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

enum syn_op { SYN_RUN, SYN_POST, SYN_WAKE, SYN_HALT, SYN_WALK, SYN_EXIT };
enum syn_target { TGT_ALL, TGT_NEXT, TGT_PREV, TGT_VCPU, TGT_RANDOM };

struct syn_insn {
	uint8_t op;
	uint8_t target;
	uint32_t req;
	uint32_t arg; /* run/walk steps, vCPU index, random count */
};

struct syn_program {
	uint32_t len;
	struct syn_insn insn[];
};

struct syn_program *syn_compile(const char *text, char *err, size_t errlen);

#endif
