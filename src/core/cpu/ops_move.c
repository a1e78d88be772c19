// SPDX-License-Identifier: MIT
/* MOV and its widening forms, LEA, exchanges, and the stack. */
#include "alu.h"
#include "exec.h"
#include "ops.h"

/* 88 89: MOV Ev, Gv.  8A 8B: MOV Gv, Ev. */
int op_mov_E_G(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_write_e(x, i, i->opsize, reg_read(x, i, i->reg, i->opsize));
}

int op_mov_G_E(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v;
	int rc = rv_read_e(x, i, i->opsize, &v);

	if (!rc)
		reg_write(x, i, i->reg, i->opsize, v);
	return rc;
}

/* B0-BF: MOV reg, imm.  C6 C7 /0: MOV Ev, imm. */
int op_mov_r_imm(struct rv_exec *x, const struct rv_insn *i)
{
	reg_write(x, i, i->reg, i->opsize, i->imm);
	return OP_OK;
}

int op_mov_E_imm(struct rv_exec *x, const struct rv_insn *i)
{
	if (i->subop)
		return rv_raise_ud(x);
	return rv_write_e(x, i, i->opsize, i->imm);
}

/* A0-A3: MOV between the accumulator and an absolute offset. */
int op_mov_moffs(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t a = i->addrsize == 4 ? (uint32_t)i->imm : i->imm;
	uint64_t v;
	int rc;

	a += i->seg == 4 ? x->cpu->fs_base : i->seg == 5 ? x->cpu->gs_base : 0;
	if (i->op >= 0xa2)
		return rv_mem_write(x, a, i->opsize, reg_read(x, i, RV_RAX, i->opsize));
	if ((rc = rv_mem_read(x, a, i->opsize, &v)))
		return rc;
	reg_write(x, i, RV_RAX, i->opsize, v);
	return OP_OK;
}

/* 0F B6 B7: MOVZX.  0F BE BF: MOVSX.  63: MOVSXD. */
int op_movx(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned low = i->op & 0xff;
	unsigned src_size = i->op == 0x63 ? 4 : (low == 0xb6 || low == 0xbe) ? 1 : 2;
	bool sign = i->op == 0x63 || low >= 0xbe;
	uint64_t v;
	int rc = rv_read_e(x, i, src_size, &v);

	if (rc)
		return rc;
	reg_write(x, i, i->reg, i->opsize, sign ? (uint64_t)sign_extend(v, src_size) : v);
	return OP_OK;
}

/* 8D: LEA. A register operand is #UD. */
int op_lea(struct rv_exec *x, const struct rv_insn *i)
{
	if (!insn_is_mem(i))
		return rv_raise_ud(x);
	struct rv_insn plain = *i;

	plain.seg = 0; /* LEA computes the offset, not the linear address */
	reg_write(x, i, i->reg, i->opsize, rv_effective_address(x, &plain));
	return OP_OK;
}

struct xchg_arg {
	uint64_t src;
};

static uint64_t xchg_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	(void)old, (void)size, (void)flags;
	return ((struct xchg_arg *)arg)->src;
}

/* 86 87: XCHG Ev, Gv (with memory, always atomic). 90-97: XCHG rAX, reg. */
int op_xchg_E_G(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src = reg_read(x, i, i->reg, i->opsize), old;
	int rc;

	if (!insn_is_mem(i)) {
		if (i->lock)
			return rv_raise_ud(x);
		old = reg_read(x, i, i->rm, i->opsize);
		reg_write(x, i, i->rm, i->opsize, src);
		reg_write(x, i, i->reg, i->opsize, old);
		return OP_OK;
	}
	struct xchg_arg a = { src };

	rc = rv_locked_update(x, rv_effective_address(x, i), i->opsize, xchg_update, &a, &old);
	if (!rc)
		reg_write(x, i, i->reg, i->opsize, old);
	return rc;
}

/* 90: NOP, or XCHG r8, rAX with REX.B; F3 90 is PAUSE. */
int op_xchg_acc(struct rv_exec *x, const struct rv_insn *i)
{
	if (i->reg == RV_RAX) {
		/* 90 with a 32-bit size is a true NOP: RAX's upper half stays. */
		return OP_OK;
	}
	uint64_t a = reg_read(x, i, RV_RAX, i->opsize);

	reg_write(x, i, RV_RAX, i->opsize, reg_read(x, i, i->reg, i->opsize));
	reg_write(x, i, i->reg, i->opsize, a);
	return OP_OK;
}

struct cmpxchg_arg {
	uint64_t acc, src;
};

static uint64_t cmpxchg_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	struct cmpxchg_arg *a = arg;

	rv_alu(ALU_CMP, a->acc, old, size, flags);
	return (*flags & RV_FLAG_ZF) ? a->src : old;
}

/* 0F B0 B1: CMPXCHG Ev, Gv. */
int op_cmpxchg(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned size = i->opsize;
	struct cmpxchg_arg a = { reg_read(x, i, RV_RAX, size), reg_read(x, i, i->reg, size) };
	uint64_t old, flags = rv_flags(x);
	int rc;

	if (i->lock && !insn_is_mem(i))
		return rv_raise_ud(x);
	if (!insn_is_mem(i)) {
		old = reg_read(x, i, i->rm, size);
		uint64_t r = cmpxchg_update(old, &a, size, &flags);

		x->cpu->rflags = flags;
		if (flags & RV_FLAG_ZF) {
			reg_write(x, i, i->rm, size, r);
			return OP_OK;
		}
		reg_write(x, i, RV_RAX, size, old);
		/* Intel writes the destination back on failure (zero-extending a
		 * 32-bit register); AMD leaves it alone. */
		if (!x->cpu->vendor_amd)
			reg_write(x, i, i->rm, size, old);
		return OP_OK;
	}
	/* Memory is always written (the old value back on failure), so the
	 * access is checked for writing either way. */
	rc = rv_locked_update(x, rv_effective_address(x, i), size, cmpxchg_update, &a, &old);
	if (rc)
		return rc;
	if (!(rv_flags(x) & RV_FLAG_ZF))
		reg_write(x, i, RV_RAX, size, old);
	return OP_OK;
}

struct xadd_arg {
	uint64_t src;
};

static uint64_t xadd_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	return rv_alu(ALU_ADD, old, ((struct xadd_arg *)arg)->src, size, flags);
}

/* 0F C0 C1: XADD Ev, Gv. */
int op_xadd(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned size = i->opsize;
	struct xadd_arg a = { reg_read(x, i, i->reg, size) };
	uint64_t old, flags = rv_flags(x);
	int rc;

	if (!insn_is_mem(i)) {
		if (i->lock)
			return rv_raise_ud(x);
		old = reg_read(x, i, i->rm, size);
		uint64_t r = xadd_update(old, &a, size, &flags);

		reg_write(x, i, i->reg, size, old);
		reg_write(x, i, i->rm, size, r);
		x->cpu->rflags = flags;
		return OP_OK;
	}
	/* Atomic with or without LOCK: stronger than required, never wrong. */
	rc = rv_locked_update(x, rv_effective_address(x, i), size, xadd_update, &a, &old);
	if (!rc)
		reg_write(x, i, i->reg, size, old);
	return rc;
}

/* 50-57: PUSH reg.  58-5F: POP reg. */
int op_push_r(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_push(x, i->opsize, reg_read(x, i, i->reg, i->opsize));
}

int op_pop_r(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v;
	int rc = rv_pop(x, i->opsize, &v);

	if (!rc)
		reg_write(x, i, i->reg, i->opsize, v);
	return rc;
}

/* 68 6A: PUSH imm (sign-extended to the operand size). */
int op_push_imm(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_push(x, i->opsize, i->imm);
}

/* FF /6: PUSH Ev. */
int op_push_E(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v;
	int rc = rv_read_e(x, i, i->opsize, &v);

	return rc ? rc : rv_push(x, i->opsize, v);
}

/* 8F /0: POP Ev. An RSP-based destination is addressed after the pop. */
int op_pop_E(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v, rsp = x->cpu->gpr[RV_RSP];
	int rc;

	if (i->subop)
		return rv_raise_ud(x);
	if ((rc = rv_pop(x, i->opsize, &v)))
		return rc;
	if ((rc = rv_write_e(x, i, i->opsize, v)))
		x->cpu->gpr[RV_RSP] = rsp;
	return rc;
}

#define PUSHF_MASK 0x00fcffffull /* VM and RF read as 0 */
#define POPF_MASK  0x00254fd5ull /* CF PF AF ZF SF TF IF DF OF NT AC ID at CPL 0 */

/* 9C PUSHF, 9D POPF. */
int op_pushf(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_push(x, i->opsize, rv_flags(x) & PUSHF_MASK);
}

int op_popf(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v, mask = POPF_MASK & size_mask(i->opsize);
	int rc = rv_pop(x, i->opsize, &v);

	if (!rc) {
		bool was_open = x->cpu->rflags & RV_FLAG_IF;

		x->cpu->rflags = (rv_flags(x) & ~mask) | (v & mask) | 2;
		x->cpu->irq_armed |= !was_open && (x->cpu->rflags & RV_FLAG_IF);
	}
	return rc;
}

/* C9: LEAVE. */
int op_leave(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint64_t rsp = c->gpr[RV_RSP], v;
	int rc;

	c->gpr[RV_RSP] = c->gpr[RV_RBP];
	if ((rc = rv_pop(x, i->opsize, &v))) {
		c->gpr[RV_RSP] = rsp;
		return rc;
	}
	reg_write(x, i, RV_RBP, i->opsize, v);
	return OP_OK;
}

/* C8: ENTER imm16, level. */
int op_enter(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	unsigned size = i->opsize, level = i->imm2 & 31;
	uint64_t rsp = c->gpr[RV_RSP], rbp = c->gpr[RV_RBP], frame, v;
	int rc;

	if ((rc = rv_push(x, size, rbp)))
		return rc;
	frame = c->gpr[RV_RSP];
	for (unsigned l = 1; l < level && !rc; l++) {
		rbp -= size;
		rc = rv_mem_read(x, rbp, size, &v);
		if (!rc)
			rc = rv_push(x, size, v);
	}
	if (!rc && level)
		rc = rv_push(x, size, frame);
	if (rc) {
		c->gpr[RV_RSP] = rsp;
		return rc;
	}
	reg_write(x, i, RV_RBP, size, frame);
	c->gpr[RV_RSP] -= i->imm & 0xffff;
	return OP_OK;
}

/* 0F 1F, 0F 18-1E, 0F 0D: NOPs and hints that take a ModRM (never fault). */
int op_nop(struct rv_exec *x, const struct rv_insn *i)
{
	(void)x, (void)i;
	return OP_OK;
}

/* A 16-byte compare-and-swap on the host page (the guest's alignment check
 * has passed, so the host instruction's does too). */
static bool cas16(uint8_t *p, uint64_t *lo, uint64_t *hi, uint64_t new_lo, uint64_t new_hi)
{
	bool ok;

	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(ok), "+m"(*(unsigned __int128 *)p), "+a"(*lo), "+d"(*hi)
			 : "b"(new_lo), "c"(new_hi)
			 : "memory");
	return ok;
}

static int cmpxchg16b(struct rv_exec *x, uint64_t ea)
{
	struct rv_cpu *c = x->cpu;
	uint64_t lo = c->gpr[RV_RAX], hi = c->gpr[RV_RDX];
	int rc;

	if (ea & 15)
		return rv_raise_gp0(x);
	uint8_t *p = rv_mem_ptr(x, ea, 16, RV_ACCESS_WRITE, &rc);

	if (rc)
		return rc;
	bool ok = cas16(p, &lo, &hi, c->gpr[RV_RBX], c->gpr[RV_RCX]);

	set_flags(x, RV_FLAG_ZF, ok ? RV_FLAG_ZF : 0);
	if (!ok) {
		c->gpr[RV_RAX] = lo;
		c->gpr[RV_RDX] = hi;
	}
	return OP_OK;
}

struct cmpxchg8b_arg {
	uint64_t expect, src;
};

static uint64_t cmpxchg8b_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	struct cmpxchg8b_arg *a = arg;
	bool eq = old == a->expect;

	(void)size;
	*flags = (*flags & ~RV_FLAG_ZF) | (eq ? RV_FLAG_ZF : 0);
	return eq ? a->src : old;
}

/* 0F C7 /1: CMPXCHG8B m64, or CMPXCHG16B m128 with REX.W. */
int op_grp9(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint64_t old;
	int rc;

	if (i->subop >= 6)
		return rv_op_grp9_vmx(x, i);
	if (i->subop != 1 || !insn_is_mem(i))
		return rv_raise_ud(x);
	uint64_t ea = rv_effective_address(x, i);

	if (i->rex & 8)
		return cmpxchg16b(x, ea);
	struct cmpxchg8b_arg a = {
		((c->gpr[RV_RDX] & 0xffffffffull) << 32) | (uint32_t)c->gpr[RV_RAX],
		((c->gpr[RV_RCX] & 0xffffffffull) << 32) | (uint32_t)c->gpr[RV_RBX],
	};

	if ((rc = rv_locked_update(x, ea, 8, cmpxchg8b_update, &a, &old)))
		return rc;
	if (!(rv_flags(x) & RV_FLAG_ZF)) {
		c->gpr[RV_RAX] = (uint32_t)old;
		c->gpr[RV_RDX] = old >> 32;
	}
	return OP_OK;
}
