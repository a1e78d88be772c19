// SPDX-License-Identifier: MIT
/* Handlers of the arithmetic, logic, shift, multiply, divide and bit ops. */
#include "alu.h"
#include "exec.h"
#include "ops.h"

/* A LOCK'd read-modify-write: a compare-and-swap loop on the host page, so
 * it is atomic against every other vCPU. */
static uint64_t cas(uint8_t *p, unsigned size, uint64_t old, uint64_t new, bool *ok)
{
	switch (size) {
	case 1: {
		uint8_t e = (uint8_t)old;

		*ok = __atomic_compare_exchange_n(p, &e, (uint8_t) new, false, __ATOMIC_SEQ_CST,
						  __ATOMIC_SEQ_CST);
		return e;
	}
	case 2: {
		uint16_t e = (uint16_t)old;

		*ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t) new, false,
						  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return e;
	}
	case 4: {
		uint32_t e = (uint32_t)old;

		*ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t) new, false,
						  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return e;
	}
	default: {
		uint64_t e = old;

		*ok = __atomic_compare_exchange_n((uint64_t *)p, &e, new, false, __ATOMIC_SEQ_CST,
						  __ATOMIC_SEQ_CST);
		return e;
	}
	}
}

uint64_t rv_atomic_load(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1:
		return __atomic_load_n(p, __ATOMIC_SEQ_CST);
	case 2:
		return __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST);
	case 4:
		return __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST);
	default:
		return __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
	}
}

int rv_locked_update(struct rv_exec *x, uint64_t ea, unsigned size, rv_update fn, void *arg,
		     uint64_t *old_out)
{
	int rc;
	uint8_t *p = rv_mem_ptr(x, ea, size, RV_ACCESS_WRITE, &rc);
	uint64_t old, new, flags;
	bool ok = false;

	if (rc)
		return rc;
	if (!p) { /* split across pages: no host atomic spans two pages */
		if ((rc = rv_mem_read_rmw(x, ea, size, &old)))
			return rc;
		flags = rv_flags(x);
		new = fn(old, arg, size, &flags);
		if ((rc = rv_mem_write(x, ea, size, new)))
			return rc;
		x->cpu->rflags = flags;
		*old_out = old;
		return OP_OK;
	}
	old = rv_atomic_load(p, size);
	do {
		flags = rv_flags(x);
		new = fn(old, arg, size, &flags);
		uint64_t seen = cas(p, size, old, new, &ok);

		if (!ok)
			old = seen;
	} while (!ok);
	x->cpu->rflags = flags;
	*old_out = old;
	return OP_OK;
}

struct alu_arg {
	unsigned kind;
	uint64_t src;
};

static uint64_t alu_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	struct alu_arg *a = arg;

	return rv_alu(a->kind, old, a->src, size, flags);
}

/* The operations whose flags are recorded lazily (flags.h). */
static inline bool lazy_kind(unsigned kind)
{
	return kind != ALU_ADC && kind != ALU_SBB && kind != ALU_NEG && kind != ALU_NOT;
}

static inline uint64_t lazy_result(unsigned kind, uint64_t a, uint64_t b, unsigned size)
{
	uint64_t m = size_mask(size);

	switch (kind) {
	case ALU_ADD:
		return (a + b) & m;
	case ALU_SUB:
	case ALU_CMP:
		return (a - b) & m;
	case ALU_OR:
		return (a | b) & m;
	case ALU_XOR:
		return (a ^ b) & m;
	case ALU_INC:
		return (a + 1) & m;
	case ALU_DEC:
		return (a - 1) & m;
	default: /* AND, TEST */
		return a & b & m;
	}
}

static inline void lazy_commit(struct rv_cpu *c, unsigned kind, uint64_t a, uint64_t b, uint64_t r,
			       unsigned size)
{
	switch (kind) {
	case ALU_ADD:
		rv_lazy_record(c, LF_ADD, a, b, r, size);
		return;
	case ALU_SUB:
	case ALU_CMP:
		rv_lazy_record(c, LF_SUB, a, b, r, size);
		return;
	case ALU_INC:
	case ALU_DEC:
		/* They keep CF: settle it before the record is replaced. */
		c->rflags = (c->rflags & ~RV_FLAG_CF) | (rv_lazy_cf(c) ? RV_FLAG_CF : 0);
		rv_lazy_record(c, kind == ALU_INC ? LF_INC : LF_DEC, a, 1, r, size);
		return;
	default:
		rv_lazy_record(c, LF_LOGIC, a, b, r, size);
	}
}

/* Compute @kind on (a, b); the flags are committed by alu_commit once the
 * result is stored, so a faulting store leaves them as they were. */
struct alu_out {
	uint64_t r, flags;
};

static inline struct alu_out alu_apply(struct rv_exec *x, unsigned kind, uint64_t a, uint64_t b,
				       unsigned size)
{
	struct alu_out o = { 0, 0 };

	if (lazy_kind(kind)) {
		o.r = lazy_result(kind, a, b, size);
		return o;
	}
	o.flags = rv_flags(x);
	o.r = rv_alu(kind, a, b, size, &o.flags);
	return o;
}

static inline void alu_commit(struct rv_exec *x, unsigned kind, uint64_t a, uint64_t b,
			      const struct alu_out *o, unsigned size)
{
	if (lazy_kind(kind))
		lazy_commit(x->cpu, kind, a, b, o->r, size);
	else
		x->cpu->rflags = o->flags;
}

static inline __attribute__((always_inline)) int alu_rmw(struct rv_exec *x, const struct rv_insn *i,
							 unsigned kind, uint64_t src, unsigned size)
{
	uint64_t old;
	int rc;

	if (i->lock && (!insn_is_mem(i) || !rv_alu_writes(kind)))
		return rv_raise_ud(x);
	if (!insn_is_mem(i)) {
		old = reg_read(x, i, i->rm, size);
		struct alu_out o = alu_apply(x, kind, old, src, size);

		if (rv_alu_writes(kind))
			reg_write(x, i, i->rm, size, o.r);
		alu_commit(x, kind, old, src, &o, size);
		return OP_OK;
	}
	uint64_t ea = rv_effective_address(x, i);

	if (i->lock) {
		struct alu_arg a = { kind, src };

		return rv_locked_update(x, ea, size, alu_update, &a, &old);
	}
	if ((rc = rv_alu_writes(kind) ? rv_mem_read_rmw(x, ea, size, &old)
				      : rv_mem_read(x, ea, size, &old)))
		return rc;
	struct alu_out o = alu_apply(x, kind, old, src, size);

	if (rv_alu_writes(kind) && (rc = rv_mem_write(x, ea, size, o.r)))
		return rc;
	alu_commit(x, kind, old, src, &o, size);
	return OP_OK;
}

int rv_alu_rmw(struct rv_exec *x, const struct rv_insn *i, unsigned kind, uint64_t src,
	       unsigned size)
{
	return alu_rmw(x, i, kind, src, size);
}

static inline __attribute__((always_inline)) int alu_G_E(struct rv_exec *x, const struct rv_insn *i,
							 unsigned kind)
{
	uint64_t src, a;
	int rc;

	/* LOCK here is #UD before the handler runs (run.c: lockable). */
	if ((rc = rv_read_e(x, i, i->opsize, &src)))
		return rc;
	a = reg_read(x, i, i->reg, i->opsize);
	struct alu_out o = alu_apply(x, kind, a, src, i->opsize);

	if (rv_alu_writes(kind))
		reg_write(x, i, i->reg, i->opsize, o.r);
	alu_commit(x, kind, a, src, &o, i->opsize);
	return OP_OK;
}

static inline __attribute__((always_inline)) int alu_acc_imm(struct rv_exec *x,
							     const struct rv_insn *i, unsigned kind)
{
	uint64_t a = reg_read(x, i, RV_RAX, i->opsize);
	struct alu_out o = alu_apply(x, kind, a, i->imm, i->opsize);

	if (rv_alu_writes(kind))
		reg_write(x, i, RV_RAX, i->opsize, o.r);
	alu_commit(x, kind, a, i->imm, &o, i->opsize);
	return OP_OK;
}

/*
 * 00-3D: ADD OR ADC SBB AND SUB XOR CMP in their six forms, one handler per
 * operation and form so each is compiled with its own arithmetic.
 */
#define ALU_HANDLERS(name, kind)                                                          \
	int op_##name##_E_G(struct rv_exec *x, const struct rv_insn *i)                   \
	{                                                                                 \
		return alu_rmw(x, i, kind, reg_read(x, i, i->reg, i->opsize), i->opsize); \
	}                                                                                 \
	int op_##name##_G_E(struct rv_exec *x, const struct rv_insn *i)                   \
	{                                                                                 \
		return alu_G_E(x, i, kind);                                               \
	}                                                                                 \
	int op_##name##_acc_imm(struct rv_exec *x, const struct rv_insn *i)               \
	{                                                                                 \
		return alu_acc_imm(x, i, kind);                                           \
	}

ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(adc, ALU_ADC)
ALU_HANDLERS(sbb, ALU_SBB)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)

/* 80, 81, 83: group 1, E op= imm. */
int op_grp1(struct rv_exec *x, const struct rv_insn *i)
{
	switch (i->subop) {
	case ALU_ADD:
		return alu_rmw(x, i, ALU_ADD, i->imm, i->opsize);
	case ALU_SUB:
		return alu_rmw(x, i, ALU_SUB, i->imm, i->opsize);
	case ALU_CMP:
		return alu_rmw(x, i, ALU_CMP, i->imm, i->opsize);
	case ALU_AND:
		return alu_rmw(x, i, ALU_AND, i->imm, i->opsize);
	default:
		return rv_alu_rmw(x, i, i->subop, i->imm, i->opsize);
	}
}

/* 84, 85: TEST E, G. A8, A9: TEST acc, imm. */
int op_test_E_G(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_alu_rmw(x, i, ALU_TEST, reg_read(x, i, i->reg, i->opsize), i->opsize);
}

int op_test_acc_imm(struct rv_exec *x, const struct rv_insn *i)
{
	return alu_acc_imm(x, i, ALU_TEST);
}

/* FE: INC, DEC Eb. (FF /0 /1 share it.) Each with its own arithmetic. */
int op_inc_dec(struct rv_exec *x, const struct rv_insn *i)
{
	if (i->subop > 1)
		return rv_raise_ud(x);
	if (i->subop)
		return alu_rmw(x, i, ALU_DEC, 0, i->opsize);
	return alu_rmw(x, i, ALU_INC, 0, i->opsize);
}

/* C0 C1 D0 D1 D2 D3: group 2 shifts and rotates. */
int op_grp2(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned count = i->op == 0xc0 || i->op == 0xc1	  ? (unsigned)i->imm
			 : i->op == 0xd0 || i->op == 0xd1 ? 1
							  : (unsigned)x->cpu->gpr[RV_RCX];
	uint64_t a, flags = rv_flags(x);
	int rc;

	if (i->lock)
		return rv_raise_ud(x);
	if ((rc = rv_read_e_rmw(x, i, i->opsize, &a)))
		return rc;
	uint64_t r = rv_shift(i->subop, a, count & 0xff, i->opsize, &flags);

	if ((rc = rv_write_e(x, i, i->opsize, r)))
		return rc;
	x->cpu->rflags = flags;
	return OP_OK;
}

/* 0F A4 A5 AC AD: SHLD, SHRD by imm8 or CL. */
int op_shld_shrd(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned low = i->op & 0xff;
	unsigned count = (low & 1) ? (unsigned)x->cpu->gpr[RV_RCX] : (unsigned)i->imm;
	uint64_t a, flags = rv_flags(x);
	int rc;

	if (i->lock)
		return rv_raise_ud(x);
	if ((rc = rv_read_e_rmw(x, i, i->opsize, &a)))
		return rc;
	uint64_t r = rv_shld(a, reg_read(x, i, i->reg, i->opsize), count & 0xff, i->opsize,
			     low < 0xa8, &flags);

	if ((rc = rv_write_e(x, i, i->opsize, r)))
		return rc;
	x->cpu->rflags = flags;
	return OP_OK;
}
