// SPDX-License-Identifier: MIT
/* Branches, calls, returns, loops, software interrupts and IRETQ. */
#include "alu.h"
#include "exec.h"
#include "ops.h"

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* A branch to a non-canonical target faults on the branch itself. */
static int jump(struct rv_exec *x, uint64_t target)
{
	if (!canonical(target))
		return rv_raise_gp0(x);
	x->next_rip = target;
	return OP_BRANCH;
}

/* 70-7F, 0F 80-8F: Jcc. */
int op_jcc(struct rv_exec *x, const struct rv_insn *i)
{
	if (!rv_cpu_condition(x->cpu, i->op & 15))
		return OP_OK;
	return jump(x, x->next_rip + i->imm);
}

/* E9 EB: JMP rel. */
int op_jmp_rel(struct rv_exec *x, const struct rv_insn *i)
{
	return jump(x, x->next_rip + i->imm);
}

/* E8: CALL rel32. */
int op_call_rel(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t target = x->next_rip + i->imm;
	int rc;

	if (!canonical(target))
		return rv_raise_gp0(x);
	if ((rc = rv_push(x, 8, x->next_rip)))
		return rc;
	x->next_rip = target;
	return OP_BRANCH;
}

/* C3: RET.  C2: RET imm16. */
int op_ret(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t target, rsp = x->cpu->gpr[RV_RSP];
	int rc = rv_pop(x, 8, &target);

	if (rc)
		return rc;
	if (!canonical(target)) {
		x->cpu->gpr[RV_RSP] = rsp;
		return rv_raise_gp0(x);
	}
	if (i->op == 0xc2)
		x->cpu->gpr[RV_RSP] += i->imm & 0xffff;
	x->next_rip = target;
	return OP_BRANCH;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JRCXZ: the count register follows the
 * address size. */
int op_loop(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t m = i->addrsize == 4 ? 0xffffffffull : ~0ull;
	uint64_t *rcx = &x->cpu->gpr[RV_RCX];
	bool zf = rv_cpu_condition(x->cpu, 4); /* E: ZF */
	bool taken;

	if (i->op == 0xe3) {
		taken = !(*rcx & m);
	} else {
		uint64_t n = (*rcx - 1) & m;

		*rcx = n; /* a 32-bit count register is zero-extended */
		taken = n && (i->op == 0xe2 || (i->op == 0xe1 ? zf : !zf));
	}
	return taken ? jump(x, x->next_rip + i->imm) : OP_OK;
}

/* FF: group 5, INC DEC CALL JMP PUSH (far forms are #UD here). */
int op_grp5(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t target;
	int rc;

	switch (i->subop) {
	case 0:
	case 1:
		return op_inc_dec(x, i);
	case 6:
		return i->lock ? rv_raise_ud(x) : op_push_E(x, i);
	case 2:
	case 4:
		break;
	default:
		return rv_raise_ud(x);
	}
	if (i->lock)
		return rv_raise_ud(x);
	/* Near indirect branches are always 64-bit in long mode. */
	struct rv_insn wide = *i;

	wide.opsize = 8;
	if ((rc = rv_read_e(x, &wide, 8, &target)))
		return rc;
	if (!canonical(target))
		return rv_raise_gp0(x);
	if (i->subop == 2 && (rc = rv_push(x, 8, x->next_rip)))
		return rc;
	x->next_rip = target;
	return OP_BRANCH;
}

/* CC: INT3, a trap: delivered with RIP after the instruction. */
int op_int3(struct rv_exec *x, const struct rv_insn *i)
{
	(void)i;
	x->cpu->rip = x->next_rip;
	return rv_raise(x, RV_EXC_BP, 0, false);
}

/* CD: INT n, a software interrupt through the IDT. */
int op_int(struct rv_exec *x, const struct rv_insn *i)
{
	x->cpu->rip = x->next_rip;
	return rv_raise(x, (int)(i->imm & 0xff), 0, false);
}

/* CF: IRETQ (64-bit operand size; same-privilege return in this model). */
int op_iret(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint64_t rsp = c->gpr[RV_RSP], rip, cs, fl, nrsp, ss;
	int rc;

	if (i->opsize != 8)
		return rv_raise_ud(x);
	if ((rc = rv_pop(x, 8, &rip)) || (rc = rv_pop(x, 8, &cs)) || (rc = rv_pop(x, 8, &fl)) ||
	    (rc = rv_pop(x, 8, &nrsp)) || (rc = rv_pop(x, 8, &ss))) {
		c->gpr[RV_RSP] = rsp;
		return rc;
	}
	if (!canonical(rip)) {
		c->gpr[RV_RSP] = rsp;
		return rv_raise_gp0(x);
	}
	c->cs = (uint16_t)cs;
	c->ss = (uint16_t)ss;
	c->lf_kind = LF_NONE; /* every flag is replaced */
	c->irq_armed |= !(c->rflags & RV_FLAG_IF) && (fl & RV_FLAG_IF);
	c->rflags = (fl & 0x00254fd5ull) | 2;
	c->gpr[RV_RSP] = nrsp;
	x->next_rip = rip;
	return OP_BRANCH;
}
