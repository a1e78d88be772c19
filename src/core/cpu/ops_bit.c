// SPDX-License-Identifier: MIT
/* Bit tests, bit scans and counts, BSWAP, SETcc, CMOVcc, sign extension of
 * the accumulator, and the instructions that set single flags. */
#include "alu.h"
#include "exec.h"
#include "ops.h"

struct bt_arg {
	unsigned kind; /* 0 BT, 1 BTS, 2 BTR, 3 BTC */
	unsigned bit;
};

static uint64_t bt_update(uint64_t old, void *arg, unsigned size, uint64_t *flags)
{
	struct bt_arg *a = arg;
	uint64_t m = 1ull << a->bit;

	(void)size;
	*flags = (*flags & ~RV_FLAG_CF) | ((old & m) ? RV_FLAG_CF : 0);
	switch (a->kind) {
	case 1:
		return old | m;
	case 2:
		return old & ~m;
	case 3:
		return old ^ m;
	default:
		return old;
	}
}

/* A memory bit string: a register offset reaches any operand-sized unit,
 * signed, from the effective address. */
static int bt_common(struct rv_exec *x, const struct rv_insn *i, unsigned kind, int64_t offset,
		     bool reg_offset)
{
	unsigned size = i->opsize, bits = size * 8;
	struct bt_arg a = { kind, (unsigned)(offset & (bits - 1)) };
	uint64_t old, flags = rv_flags(x);
	int rc;

	if (i->lock && (!insn_is_mem(i) || kind == 0))
		return rv_raise_ud(x);
	if (!insn_is_mem(i)) {
		uint64_t r = bt_update(reg_read(x, i, i->rm, size), &a, size, &flags);

		if (kind)
			reg_write(x, i, i->rm, size, r);
		x->cpu->rflags = flags;
		return OP_OK;
	}
	uint64_t ea = rv_effective_address(x, i);

	if (reg_offset)
		ea += (uint64_t)((offset >> (bits == 64 ? 6 : bits == 32 ? 5 : 4)) * (int64_t)size);
	if (i->lock)
		return rv_locked_update(x, ea, size, bt_update, &a, &old);
	if ((rc = kind ? rv_mem_read_rmw(x, ea, size, &old) : rv_mem_read(x, ea, size, &old)))
		return rc;
	uint64_t r = bt_update(old, &a, size, &flags);

	if (kind && (rc = rv_mem_write(x, ea, size, r)))
		return rc;
	x->cpu->rflags = flags;
	return OP_OK;
}

/* 0F A3 AB B3 BB: BT BTS BTR BTC Ev, Gv. */
int op_bt_E_G(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned low = i->op & 0xff;
	unsigned kind = low == 0xa3 ? 0 : low == 0xab ? 1 : low == 0xb3 ? 2 : 3;

	return bt_common(x, i, kind, sign_extend(reg_read(x, i, i->reg, i->opsize), i->opsize),
			 true);
}

/* 0F BA: group 8, BT BTS BTR BTC Ev, imm8. */
int op_grp8(struct rv_exec *x, const struct rv_insn *i)
{
	if (i->subop < 4)
		return rv_raise_ud(x);
	return bt_common(x, i, i->subop - 4, (int64_t)(i->imm & 0xff), false);
}

/* 0F BC BD: BSF, BSR; with F3, TZCNT, LZCNT. */
int op_bit_scan(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned size = i->opsize, bits = size * 8;
	bool forward = (i->op & 0xff) == 0xbc;
	uint64_t src;
	int rc = rv_read_e(x, i, size, &src);

	if (rc)
		return rc;
	if (i->rep == 0xf3) {
		uint64_t n = !src      ? bits
			     : forward ? (uint64_t)__builtin_ctzll(src)
				       : (uint64_t)__builtin_clzll(src) - (64 - bits);

		reg_write(x, i, i->reg, size, n);
		set_flags(x, RV_FLAG_CF | RV_FLAG_ZF,
			  (src ? 0 : RV_FLAG_CF) | (n ? 0 : RV_FLAG_ZF));
		return OP_OK;
	}
	if (!src) {
		/* The destination keeps its value (what Intel and AMD do). */
		set_flags(x, RV_FLAG_ZF, RV_FLAG_ZF);
		return OP_OK;
	}
	reg_write(x, i, i->reg, size,
		  (uint64_t)(forward ? __builtin_ctzll(src) : 63 - __builtin_clzll(src)));
	set_flags(x, RV_FLAG_ZF, 0);
	return OP_OK;
}

/* F3 0F B8: POPCNT. */
int op_popcnt(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src;
	int rc;

	if (i->rep != 0xf3)
		return rv_raise_ud(x);
	if ((rc = rv_read_e(x, i, i->opsize, &src)))
		return rc;
	reg_write(x, i, i->reg, i->opsize, (uint64_t)__builtin_popcountll(src));
	set_flags(x, RV_FLAGS_ARITH, src ? 0 : RV_FLAG_ZF);
	return OP_OK;
}

/* 0F C8-CF: BSWAP (16-bit is undefined: it clears the word, as hardware does). */
int op_bswap(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t v = x->cpu->gpr[i->reg];

	if (i->opsize == 8)
		x->cpu->gpr[i->reg] = __builtin_bswap64(v);
	else if (i->opsize == 4)
		x->cpu->gpr[i->reg] = __builtin_bswap32((uint32_t)v);
	else
		x->cpu->gpr[i->reg] = v & ~0xffffull;
	return OP_OK;
}

/* 0F 90-9F: SETcc Eb. */
int op_setcc(struct rv_exec *x, const struct rv_insn *i)
{
	return rv_write_e(x, i, 1, rv_cpu_condition(x->cpu, i->op & 15));
}

/* 0F 40-4F: CMOVcc. The source is read (and may fault) either way, and a
 * 32-bit destination is zero-extended even when the move is not taken. */
int op_cmovcc(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t src;
	int rc = rv_read_e(x, i, i->opsize, &src);

	if (rc)
		return rc;
	if (rv_cpu_condition(x->cpu, i->op & 15))
		reg_write(x, i, i->reg, i->opsize, src);
	else if (i->opsize == 4)
		x->cpu->gpr[i->reg] = (uint32_t)x->cpu->gpr[i->reg];
	return OP_OK;
}

/* 98: CBW, CWDE, CDQE. 99: CWD, CDQ, CQO. */
int op_cbw(struct rv_exec *x, const struct rv_insn *i)
{
	unsigned half = i->opsize / 2;

	reg_write(x, i, RV_RAX, i->opsize, (uint64_t)sign_extend(x->cpu->gpr[RV_RAX], half));
	return OP_OK;
}

int op_cwd(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t sign = sign_bit(x->cpu->gpr[RV_RAX], i->opsize) ? ~0ull : 0;

	reg_write(x, i, RV_RDX, i->opsize, sign);
	return OP_OK;
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD. */
int op_flag(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;

	rv_flags(x);
	switch (i->op) {
	case 0xf5:
		c->rflags ^= RV_FLAG_CF;
		break;
	case 0xf8:
		c->rflags &= ~RV_FLAG_CF;
		break;
	case 0xf9:
		c->rflags |= RV_FLAG_CF;
		break;
	case 0xfc:
		c->rflags &= ~RV_FLAG_DF;
		break;
	default:
		c->rflags |= RV_FLAG_DF;
		break;
	}
	return OP_OK;
}

/* 9E SAHF, 9F LAHF: SF ZF AF PF CF through AH. */
int op_sahf_lahf(struct rv_exec *x, const struct rv_insn *i)
{
	const uint64_t m = RV_FLAG_SF | RV_FLAG_ZF | RV_FLAG_AF | RV_FLAG_PF | RV_FLAG_CF;
	struct rv_cpu *c = x->cpu;

	rv_flags(x);
	if (i->op == 0x9e)
		c->rflags = (c->rflags & ~m) | ((c->gpr[RV_RAX] >> 8) & m);
	else
		c->gpr[RV_RAX] = (c->gpr[RV_RAX] & ~0xff00ull) | (((c->rflags & m) | 2) << 8);
	return OP_OK;
}
