/* SPDX-License-Identifier: MIT */
/* The instruction handlers, named after the manual's operand forms. */
#ifndef RV_CPU_OPS_H
#define RV_CPU_OPS_H

#include "exec.h"

#define OP(name) int name(struct rv_exec *x, const struct rv_insn *i)

/* ops_alu.c, ops_muldiv.c, ops_bit.c */
#define ALU_OPS(name)        \
	OP(op_##name##_E_G); \
	OP(op_##name##_G_E); \
	OP(op_##name##_acc_imm)
ALU_OPS(add);
ALU_OPS(or);
ALU_OPS(adc);
ALU_OPS(sbb);
ALU_OPS(and);
ALU_OPS(sub);
ALU_OPS(xor);
ALU_OPS(cmp);
OP(op_grp1);
OP(op_test_E_G);
OP(op_test_acc_imm);
OP(op_test_E_imm);
OP(op_inc_dec);
OP(op_grp2);
OP(op_shld_shrd);
OP(op_grp3);
OP(op_imul_G_E);
OP(op_imul_G_E_I);
OP(op_bt_E_G);
OP(op_grp8);
OP(op_bit_scan);
OP(op_popcnt);
OP(op_bswap);
OP(op_setcc);
OP(op_cmovcc);
OP(op_cbw);
OP(op_cwd);
OP(op_flag);
OP(op_sahf_lahf);
/* ops_move.c */
OP(op_mov_E_G);
OP(op_mov_G_E);
OP(op_mov_r_imm);
OP(op_mov_E_imm);
OP(op_mov_moffs);
OP(op_movx);
OP(op_lea);
OP(op_xchg_E_G);
OP(op_xchg_acc);
OP(op_cmpxchg);
OP(op_xadd);
OP(op_push_r);
OP(op_pop_r);
OP(op_push_imm);
OP(op_push_E);
OP(op_pop_E);
OP(op_pushf);
OP(op_popf);
OP(op_leave);
OP(op_enter);
OP(op_nop);
OP(op_grp9);
/* ops_string.c */
OP(op_string);
/* ops_control.c */
OP(op_jcc);
OP(op_jmp_rel);
OP(op_call_rel);
OP(op_ret);
OP(op_loop);
OP(op_grp5);
OP(op_int3);
OP(op_int);
OP(op_iret);
/* ops_system.c */
OP(op_mov_cr);
OP(op_grp7);
OP(op_invpcid);
OP(op_vmread_vmwrite);
OP(op_invept_invvpid);
/* Parts of groups 7 and 9 (ops_virt.c). */
int rv_op_grp7_virt(struct rv_exec *x, const struct rv_insn *i);
int rv_op_grp9_vmx(struct rv_exec *x, const struct rv_insn *i);
OP(op_msr_tsc);
OP(op_cpuid);
OP(op_io);
OP(op_hlt);
OP(op_cli_sti);
OP(op_fence);
OP(op_ud2);

/* Shared by several handler files. */
typedef uint64_t (*rv_update)(uint64_t old, void *arg, unsigned size, uint64_t *flags);
int rv_locked_update(struct rv_exec *x, uint64_t ea, unsigned size, rv_update fn, void *arg,
		     uint64_t *old);
int rv_alu_rmw(struct rv_exec *x, const struct rv_insn *i, unsigned kind, uint64_t src,
	       unsigned size);
uint64_t rv_atomic_load(const uint8_t *p, unsigned size);
bool rv_deliver(struct rv_exec *x);

extern const rv_op_handler rv_op_table[NR_OPS];

#endif
