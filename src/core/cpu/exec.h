/* SPDX-License-Identifier: MIT */
/*
 * What every instruction handler shares: the handler signature and its
 * return convention, register and memory operand access, and exceptions.
 */
#ifndef RV_CPU_EXEC_H
#define RV_CPU_EXEC_H

#include "cpu.h"
#include "flags.h"
#include "insn.h"

/*
 * Handler return convention: OP_OK retires the instruction (RIP becomes
 * cpu->next_rip, which a branch may have changed); OP_FAULT leaves RIP on the
 * instruction with cpu->exc set; OP_EXIT retires it and stops the run loop
 * with cpu->stop as the exit reason; OP_BRANCH is OP_OK at a block end;
 * OP_STOP stops the run with cpu->stop without retiring the instruction.
 */
enum { OP_OK, OP_BRANCH, OP_FAULT, OP_EXIT, OP_STOP };

struct rv_exec {
	struct rv_cpu *cpu;
	uint64_t next_rip;
	enum rv_cpu_exit stop;
	bool stack_seg; /* the access in progress is SS-relative: #SS, not #GP */
	/*
	 * The code page's translation, kept for one rv_cpu_run() call: it is a
	 * TLB entry in all but name. The guest's own invalidations drop it
	 * (rv_exec_tlb_changed); anything from outside kicks the vCPU out of
	 * the run first, and a new run starts without it.
	 */
	uint64_t fetch_page;
	const uint8_t *fetch_host;
	/* The same for data: the last page read (0) and written (1). */
	uint64_t data_page[2];
	uint8_t *data_host[2];
};

static inline void rv_exec_tlb_changed(struct rv_exec *x)
{
	/* No page address is odd. */
	x->fetch_page = 1;
	x->data_page[0] = x->data_page[1] = 1;
}

typedef int (*rv_op_handler)(struct rv_exec *x, const struct rv_insn *i);

/* Stop unretired for the machine: a nested guest's intercept. */
int rv_intercept(struct rv_exec *x, const struct rv_insn *i, unsigned what, uint64_t operand);

/* ---- exceptions ---- */
int rv_raise(struct rv_exec *x, int vector, uint32_t error_code, bool has_error_code);
int rv_raise_ud(struct rv_exec *x);
int rv_raise_gp0(struct rv_exec *x);

/* ---- registers ---- */
static inline uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline int64_t sign_extend(uint64_t v, unsigned size)
{
	unsigned s = 64 - size * 8;

	return (int64_t)(v << s) >> s;
}

/* Byte registers 4-7 without REX are AH, CH, DH, BH. */
static inline uint64_t reg_read(struct rv_exec *x, const struct rv_insn *i, unsigned r,
				unsigned size)
{
	if (size == 1 && !i->rex && r >= 4 && r < 8)
		return (x->cpu->gpr[r - 4] >> 8) & 0xff;
	return x->cpu->gpr[r] & size_mask(size);
}

/* Writes of 32 bits zero the upper half; 8 and 16 bits merge. */
static inline void reg_write(struct rv_exec *x, const struct rv_insn *i, unsigned r, unsigned size,
			     uint64_t v)
{
	uint64_t *g = &x->cpu->gpr[r];

	switch (size) {
	case 1:
		if (!i->rex && r >= 4 && r < 8) {
			g = &x->cpu->gpr[r - 4];
			*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
		} else {
			*g = (*g & ~0xffull) | (v & 0xff);
		}
		return;
	case 2:
		*g = (*g & ~0xffffull) | (v & 0xffff);
		return;
	case 4:
		*g = (uint32_t)v;
		return;
	default:
		*g = v;
	}
}

/* ---- memory ---- */
uint64_t rv_effective_address(struct rv_exec *x, const struct rv_insn *i);
/* A failed translation: #PF with CR2, or with RV_PF_RETRY an exit (OP_FAULT
 * with cpu->mmu_retry set and no exception). */
int rv_page_fault(struct rv_exec *x, uint64_t gva, uint32_t pf);
int rv_mem_read(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t *v);
int rv_mem_write(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t v);
/* The read of a read-modify-write: checked (and faulting) as a write. */
int rv_mem_read_rmw(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t *v);
/* A host pointer for an aligned-enough access that does not cross a page,
 * or NULL (then use read/write); faults are raised. */
uint8_t *rv_mem_ptr(struct rv_exec *x, uint64_t gva, unsigned size, enum rv_access kind, int *rc);

/* The E operand (register or memory) of @size. */
int rv_read_e(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t *v);
int rv_write_e(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t v);
int rv_read_e_rmw(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t *v);

/* The stack, with the 64-bit (or 16-bit with 66) operand size. */
int rv_push(struct rv_exec *x, unsigned size, uint64_t v);
int rv_pop(struct rv_exec *x, unsigned size, uint64_t *v);

/* ---- flags ---- */
static inline uint64_t parity_flag(uint64_t res)
{
	return __builtin_parity((unsigned)(res & 0xff)) ? 0 : RV_FLAG_PF;
}

static inline uint64_t sign_bit(uint64_t v, unsigned size)
{
	return (v >> (size * 8 - 1)) & 1;
}

/* ZF, SF and PF of a result. */
static inline uint64_t szp_flags(uint64_t res, unsigned size)
{
	res &= size_mask(size);
	return (res ? 0 : RV_FLAG_ZF) | (sign_bit(res, size) ? RV_FLAG_SF : 0) | parity_flag(res);
}

/* Every arithmetic flag, computed if pending. */
static inline uint64_t rv_flags(struct rv_exec *x)
{
	return rv_cpu_flags(x->cpu);
}

static inline void set_flags(struct rv_exec *x, uint64_t mask, uint64_t value)
{
	x->cpu->rflags = (rv_flags(x) & ~mask) | (value & mask);
}

/* Handler tables, one per family file, merged by the run loop. */
void rv_ops_alu_register(rv_op_handler *t);
void rv_ops_move_register(rv_op_handler *t);
void rv_ops_control_register(rv_op_handler *t);
void rv_ops_system_register(rv_op_handler *t);
void rv_ops_string_register(rv_op_handler *t);

#endif
