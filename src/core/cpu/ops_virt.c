// SPDX-License-Identifier: MIT
/*
 * Virtualization instructions (Intel SDM vol. 3C ch. 31, AMD APM vol. 3):
 * the CPU decodes them and reads or writes their memory operands; what they
 * do is the machine's (sys.virt), since only it knows the nested state.
 * Also the intercept stop that a nested guest's instructions share.
 */
#include "exec.h"
#include "ops.h"

int rv_intercept(struct rv_exec *x, const struct rv_insn *i, unsigned what, uint64_t operand)
{
	struct rv_cpu *c = x->cpu;

	c->virt = (struct rv_virt_op){ .insn = (uint8_t)what, .len = i->len, .operand = operand };
	x->stop = RV_CPU_EXIT_VIRT;
	return OP_STOP;
}

/* VMsucceed, VMfailInvalid, VMfailValid: CF or ZF, every other status flag
 * clear. */
static int vmx_outcome(struct rv_exec *x, enum rv_virt_result r)
{
	uint64_t f = r == RV_VIRT_FAIL_INVALID ? RV_FLAG_CF
		     : r == RV_VIRT_FAIL_VALID ? RV_FLAG_ZF
					       : 0;

	set_flags(x, RV_FLAGS_ARITH, f);
	return OP_OK;
}

/* Hand @op to the machine and apply its decision; @store, when the
 * instruction succeeded, writes op->out to the operand. */
static int virt_call(struct rv_exec *x, const struct rv_insn *i, struct rv_virt_op *op,
		     int (*store)(struct rv_exec *x, const struct rv_insn *i, uint64_t v))
{
	struct rv_cpu *c = x->cpu;
	enum rv_virt_result r;
	int rc;

	if (!c->sys.virt)
		return rv_raise_ud(x);
	op->len = i->len;
	r = c->sys.virt(c->sys.ctx, c, op);
	switch (r) {
	case RV_VIRT_UD:
		return rv_raise_ud(x);
	case RV_VIRT_GP:
		return rv_raise_gp0(x);
	case RV_VIRT_EXIT:
		c->virt = *op;
		x->stop = RV_CPU_EXIT_VIRT;
		return OP_STOP;
	case RV_VIRT_SUCCEED:
		if (store && (rc = store(x, i, op->out)))
			return rc;
		/* fall through */
	default:
		rv_exec_tlb_changed(x);	       /* INVEPT, INVVPID, INVLPGA */
		if (op->insn >= RV_VIRT_VMRUN) /* SVM's instructions leave the flags */
			return OP_OK;
		return vmx_outcome(x, r);
	}
}

/* In a VMX guest's L2 the VM exit comes before any operand is read. */
static bool l2_exits_first(struct rv_exec *x)
{
	return x->cpu->intercepts && !x->cpu->vendor_amd && x->cpu->sys.virt;
}

static int store_e64(struct rv_exec *x, const struct rv_insn *i, uint64_t v)
{
	return rv_write_e(x, i, 8, v);
}

/* 0F C7 /6 and /7 (memory forms): VMPTRLD, VMCLEAR (66), VMXON (F3),
 * VMPTRST. The register forms (RDRAND, RDSEED) are not implemented. */
int rv_op_grp9_vmx(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_virt_op op = { 0 };
	uint64_t ea;
	int rc;

	if (!insn_is_mem(i))
		return rv_raise_ud(x);
	ea = rv_effective_address(x, i);
	if (i->subop == 7) {
		if (i->rep || i->opsize_prefix)
			return rv_raise_ud(x);
		if (l2_exits_first(x))
			return rv_intercept(x, i, RV_VIRT_VMPTRST, 0);
		op.insn = RV_VIRT_VMPTRST;
		return virt_call(x, i, &op, store_e64);
	}
	op.insn = i->rep == 0xf3     ? RV_VIRT_VMXON
		  : i->opsize_prefix ? RV_VIRT_VMCLEAR
				     : RV_VIRT_VMPTRLD;
	if (!x->cpu->sys.virt)
		return rv_raise_ud(x);
	if ((rc = rv_mem_read(x, ea, 8, &op.operand)))
		return rc;
	return virt_call(x, i, &op, NULL);
}

/* 0F 78 VMREAD Ev, Gv; 0F 79 VMWRITE Gv, Ev (always 64-bit in long mode). */
int op_vmread_vmwrite(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_virt_op op = { .field = x->cpu->gpr[i->reg] };
	int rc;

	if (i->rep || i->opsize_prefix || !x->cpu->sys.virt)
		return rv_raise_ud(x);
	if (l2_exits_first(x))
		return rv_intercept(x, i, (i->op & 0xff) == 0x78 ? RV_VIRT_VMREAD : RV_VIRT_VMWRITE,
				    0);
	if ((i->op & 0xff) == 0x78) {
		op.insn = RV_VIRT_VMREAD;
		return virt_call(x, i, &op, store_e64);
	}
	op.insn = RV_VIRT_VMWRITE;
	if ((rc = rv_read_e(x, i, 8, &op.operand)))
		return rc;
	return virt_call(x, i, &op, NULL);
}

/* 66 0F 38 80 INVEPT, 81 INVVPID: type in a register, descriptor in memory. */
int op_invept_invvpid(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_virt_op op = { .operand = x->cpu->gpr[i->reg] };
	uint64_t ea;
	int rc;

	if (!i->opsize_prefix || !insn_is_mem(i) || !x->cpu->sys.virt)
		return rv_raise_ud(x);
	op.insn = (i->op & 0xff) == 0x80 ? RV_VIRT_INVEPT : RV_VIRT_INVVPID;
	if (l2_exits_first(x))
		return rv_intercept(x, i, op.insn, 0);
	ea = rv_effective_address(x, i);
	if ((rc = rv_mem_read(x, ea, 8, &op.desc[0])) ||
	    (rc = rv_mem_read(x, ea + 8, 8, &op.desc[1])))
		return rc;
	return virt_call(x, i, &op, NULL);
}

/* 0F 01 C2-C4 (VMLAUNCH, VMRESUME, VMXOFF) and D8-DF but D9 (VMRUN,
 * VMLOAD, VMSAVE, STGI, CLGI, SKINIT, INVLPGA); rAX is implicit. */
int rv_op_grp7_virt(struct rv_exec *x, const struct rv_insn *i)
{
	static const int8_t vmx[8] = {
		-1, -1, RV_VIRT_VMLAUNCH, RV_VIRT_VMRESUME, RV_VIRT_VMXOFF, -1, -1, -1
	};
	static const int8_t svm[8] = {
		RV_VIRT_VMRUN, -1, RV_VIRT_VMLOAD, RV_VIRT_VMSAVE, RV_VIRT_STGI,
		RV_VIRT_CLGI,  -1, RV_VIRT_INVLPGA
	};
	int what = (i->subop == 0 ? vmx : svm)[i->rm & 7];
	struct rv_virt_op op = { .operand = x->cpu->gpr[RV_RAX] };

	if (what < 0)
		return rv_raise_ud(x);
	op.insn = (uint8_t)what;
	return virt_call(x, i, &op, NULL);
}
