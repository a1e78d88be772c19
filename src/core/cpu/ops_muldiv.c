// SPDX-License-Identifier: MIT
/* F6/F7 group 3 (TEST NOT NEG MUL IMUL DIV IDIV) and the IMUL forms. */
#include "alu.h"
#include "exec.h"
#include "ops.h"

/* rDX:rAX (or AX for bytes) as one double-width value. */
static unsigned __int128 acc_pair(struct rv_exec *x, unsigned size)
{
	struct rv_cpu *c = x->cpu;

	if (size == 1)
		return c->gpr[RV_RAX] & 0xffff;
	return ((unsigned __int128)(c->gpr[RV_RDX] & size_mask(size)) << (size * 8)) |
	       (c->gpr[RV_RAX] & size_mask(size));
}

static void set_acc_pair(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t low,
			 uint64_t high)
{
	if (size == 1) {
		reg_write(x, i, RV_RAX, 2, (low & 0xff) | ((high & 0xff) << 8));
		return;
	}
	x->cpu->gpr[RV_RAX] = size == 4	  ? (uint32_t)low
			      : size == 2 ? (x->cpu->gpr[RV_RAX] & ~0xffffull) | (low & 0xffff)
					  : low;
	x->cpu->gpr[RV_RDX] = size == 4	  ? (uint32_t)high
			      : size == 2 ? (x->cpu->gpr[RV_RDX] & ~0xffffull) | (high & 0xffff)
					  : high;
}

static void mul_flags(struct rv_exec *x, bool overflow)
{
	set_flags(x, RV_FLAG_CF | RV_FLAG_OF, overflow ? RV_FLAG_CF | RV_FLAG_OF : 0);
}

static int mul(struct rv_exec *x, const struct rv_insn *i, uint64_t src, bool sign)
{
	unsigned size = i->opsize, bits = size * 8;
	uint64_t a = x->cpu->gpr[RV_RAX] & size_mask(size);
	uint64_t low, high;
	bool overflow;

	if (sign) {
		__int128 p = (__int128)sign_extend(a, size) * sign_extend(src, size);

		low = (uint64_t)p & size_mask(size);
		high = (uint64_t)(p >> bits) & size_mask(size);
		overflow = p != (__int128)sign_extend(low, size);
	} else {
		unsigned __int128 p = (unsigned __int128)a * src;

		low = (uint64_t)p & size_mask(size);
		high = (uint64_t)(p >> bits) & size_mask(size);
		overflow = high != 0;
	}
	set_acc_pair(x, i, size, low, high);
	mul_flags(x, overflow);
	return OP_OK;
}

static int divide(struct rv_exec *x, const struct rv_insn *i, uint64_t src, bool sign)
{
	unsigned size = i->opsize, bits = size * 8;
	unsigned __int128 n = acc_pair(x, size);
	uint64_t q, r;

	if (!src)
		return rv_raise(x, 0, 0, false);
	if (sign) {
		/* The dividend is 2*bits wide and signed. */
		__int128 sn = bits == 64 ? (__int128)n
					 : (__int128)((int64_t)((uint64_t)n << (64 - 2 * bits)) >>
						      (64 - 2 * bits));
		__int128 d = sign_extend(src, size);
		__int128 min = -((__int128)1 << 126) * 2; /* the dividend's lowest value */

		if (d == -1 && sn == min)
			return rv_raise(x, 0, 0, false); /* the C division would overflow */
		__int128 sq = sn / d;
		__int128 max = ((__int128)1 << (bits - 1)) - 1;

		if (sq > max || sq < -max - 1)
			return rv_raise(x, 0, 0, false);
		q = (uint64_t)sq;
		r = (uint64_t)(sn % d);
	} else {
		unsigned __int128 uq = n / src;

		if (uq >> bits)
			return rv_raise(x, 0, 0, false);
		q = (uint64_t)uq;
		r = (uint64_t)(n % src);
	}
	set_acc_pair(x, i, size, q, r);
	return OP_OK;
}

/* F6, F7: group 3. */
int op_grp3(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src;
	int rc;

	switch (i->subop) {
	case 0:
	case 1:
		return op_test_E_imm(x, i);
	case 2:
		return rv_alu_rmw(x, i, ALU_NOT, 0, i->opsize);
	case 3:
		return rv_alu_rmw(x, i, ALU_NEG, 0, i->opsize);
	}
	if (i->lock)
		return rv_raise_ud(x);
	if ((rc = rv_read_e(x, i, i->opsize, &src)))
		return rc;
	switch (i->subop) {
	case 4:
		return mul(x, i, src, false);
	case 5:
		return mul(x, i, src, true);
	case 6:
		return divide(x, i, src, false);
	default:
		return divide(x, i, src, true);
	}
}

int op_test_E_imm(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_alu_rmw(x, i, ALU_TEST, i->imm, i->opsize);
}

static int imul_into_reg(struct rv_exec *x, const struct rv_insn *i, uint64_t a, uint64_t b)
{
	unsigned size = i->opsize;
	__int128 p = (__int128)sign_extend(a, size) * sign_extend(b, size);
	uint64_t low = (uint64_t)p & size_mask(size);

	reg_write(x, i, i->reg, size, low);
	mul_flags(x, p != (__int128)sign_extend(low, size));
	return OP_OK;
}

/* 0F AF: IMUL Gv, Ev. */
int op_imul_G_E(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src;
	int rc = rv_read_e(x, i, i->opsize, &src);

	if (rc)
		return rc;
	return imul_into_reg(x, i, reg_read(x, i, i->reg, i->opsize), src);
}

/* 69, 6B: IMUL Gv, Ev, imm. */
int op_imul_G_E_I(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src;
	int rc = rv_read_e(x, i, i->opsize, &src);

	if (rc)
		return rc;
	return imul_into_reg(x, i, src, i->imm);
}
