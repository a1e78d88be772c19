// SPDX-License-Identifier: MIT
/* System instructions: control registers, descriptor tables, TLB
 * invalidation, MSRs, CPUID, time stamps, port I/O, HLT, CLI/STI, fences,
 * UD2 and the hypercall instruction. */
#include <x86intrin.h>

#include "exec.h"
#include "ops.h"

#define CR0_PE	  (1ull << 0)
#define CR0_PG	  (1ull << 31)
#define CR0_CD	  (1ull << 30)
#define CR0_NW	  (1ull << 29)
#define CR4_PAE	  (1ull << 5)
#define CR4_PCIDE (1ull << 17)
#define CR4_KNOWN \
	0x00770fffull /* VME..PCE, OSFXSR.., UMIP.., FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP */
#define CR4_VMXE  (1ull << 13)
#define EFER_SVME (1ull << 12)
#define EFER_LMA  (1ull << 10)

#define MSR_TSC		   0x10
#define MSR_EFER	   0xc0000080
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX	   0xc0000103

/* OP_OK, or OP_EXIT when the hypervisor intercepts the instruction. */
static int tlb_event(struct rv_exec *x, enum rv_tlb_event ev, uint64_t addr, uint64_t pcid)
{
	rv_exec_tlb_changed(x);
	if (!x->cpu->sys.tlb || !x->cpu->sys.tlb(x->cpu->sys.ctx, x->cpu, ev, addr, pcid))
		return OP_OK;
	x->stop = RV_CPU_EXIT_INTERCEPT;
	return OP_EXIT;
}

static int write_cr0(struct rv_exec *x, uint64_t v)
{
	struct rv_cpu *c = x->cpu;
	uint64_t old = c->cr0;

	if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		return rv_raise_gp0(x);
	/* Leaving paging from 64-bit mode is not allowed. */
	if ((c->efer & EFER_LMA) && !(v & CR0_PG))
		return rv_raise_gp0(x);
	c->cr0 = v | 0x10; /* ET is fixed to 1 */
	if ((old ^ c->cr0) & (CR0_PG | (1ull << 16) | CR0_PE))
		return tlb_event(x, RV_TLB_CR0, old, 0);
	return OP_OK;
}

static int write_cr3(struct rv_exec *x, uint64_t v)
{
	struct rv_cpu *c = x->cpu;
	bool keep = (c->cr4 & CR4_PCIDE) && (v >> 63);

	/* Bit 63 is the no-flush bit only with PCIDE; otherwise reserved. */
	if (c->cr4 & CR4_PCIDE)
		v &= ~(1ull << 63);
	if (v >> 52)
		return rv_raise_gp0(x);
	c->cr3 = v;
	return tlb_event(x, RV_TLB_MOV_CR3, keep, v & 0xfff);
}

static int write_cr4(struct rv_exec *x, uint64_t v)
{
	struct rv_cpu *c = x->cpu;
	uint64_t old = c->cr4;

	uint64_t known = CR4_KNOWN | (c->virt_ext && !c->vendor_amd ? CR4_VMXE : 0);

	if ((v & ~known) || ((c->efer & EFER_LMA) && !(v & CR4_PAE)))
		return rv_raise_gp0(x);
	/* PCIDE may be set only with PCID 0 in CR3. */
	if ((v & CR4_PCIDE) && !(old & CR4_PCIDE) && (c->cr3 & 0xfff))
		return rv_raise_gp0(x);
	c->cr4 = v;
	if (old != v)
		return tlb_event(x, RV_TLB_CR4, old, 0);
	return OP_OK;
}

/* 0F 20: MOV r64, CRn.  0F 22: MOV CRn, r64. The operand is always 64-bit;
 * the ModRM mod field is ignored. */
int op_mov_cr(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	unsigned cr = i->reg;
	uint64_t *g = &c->gpr[i->rm];

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		return rv_raise_ud(x);
	if ((i->op & 0xff) == 0x20) {
		*g = cr == 0   ? c->cr0
		     : cr == 2 ? c->cr2
		     : cr == 3 ? c->cr3
		     : cr == 4 ? c->cr4
			       : c->cr8;
		return OP_OK;
	}
	switch (cr) {
	case 0:
		return write_cr0(x, *g);
	case 2:
		c->cr2 = *g;
		return OP_OK;
	case 3:
		return write_cr3(x, *g);
	case 4:
		return write_cr4(x, *g);
	default:
		if (*g >> 4)
			return rv_raise_gp0(x);
		c->cr8 = *g;
		return OP_OK;
	}
}

static int descriptor_table(struct rv_exec *x, const struct rv_insn *i, bool store, bool idt)
{
	struct rv_cpu *c = x->cpu;
	uint64_t ea, limit, base;
	int rc;

	if (!insn_is_mem(i))
		return rv_raise_ud(x);
	ea = rv_effective_address(x, i);
	if (store) {
		rc = rv_mem_write(x, ea, 2, idt ? c->idtr.limit : c->gdtr.limit);
		return rc ? rc : rv_mem_write(x, ea + 2, 8, idt ? c->idtr.base : c->gdtr.base);
	}
	if ((rc = rv_mem_read(x, ea, 2, &limit)) || (rc = rv_mem_read(x, ea + 2, 8, &base)))
		return rc;
	if (idt) {
		c->idtr.limit = (uint16_t)limit;
		c->idtr.base = base;
	} else {
		c->gdtr.limit = (uint16_t)limit;
		c->gdtr.base = base;
	}
	return OP_OK;
}

static int hypercall(struct rv_exec *x, const struct rv_insn *i, bool amd_insn)
{
	if (x->cpu->vendor_amd != amd_insn)
		return rv_raise_ud(x);
	if (x->cpu->intercepts & RV_ICPT_VMCALL)
		return rv_intercept(x, i, RV_VIRT_VMCALL, 0);
	if (x->cpu->intercepts) /* a nested guest's VMMCALL L1 lets through */
		return rv_raise_ud(x);
	x->stop = RV_CPU_EXIT_HYPERCALL;
	return OP_EXIT;
}

static uint64_t read_tsc(struct rv_cpu *c)
{
	return c->sys.tsc ? c->sys.tsc(c->sys.ctx, c) : __rdtsc();
}

static int rdtscp(struct rv_exec *x)
{
	uint64_t t = read_tsc(x->cpu);

	x->cpu->gpr[RV_RAX] = (uint32_t)t;
	x->cpu->gpr[RV_RDX] = t >> 32;
	x->cpu->gpr[RV_RCX] = (uint32_t)x->cpu->tsc_aux;
	return OP_OK;
}

/* 0F 01: group 7. */
int op_grp7(struct rv_exec *x, const struct rv_insn *i)
{
	if (i->mod == 3) {
		unsigned rm = i->rm & 7;

		if (i->subop == 0 && rm == 1)
			return hypercall(x, i, false); /* VMCALL */
		if (i->subop == 3 && rm == 1)
			return hypercall(x, i, true); /* VMMCALL */
		if (i->subop == 0 || i->subop == 3)
			return rv_op_grp7_virt(x, i);
		if (i->subop == 7 && rm == 1)
			return rdtscp(x);
		return rv_raise_ud(x);
	}
	switch (i->subop) {
	case 0:
		return descriptor_table(x, i, true, false);
	case 1:
		return descriptor_table(x, i, true, true);
	case 2:
		return descriptor_table(x, i, false, false);
	case 3:
		return descriptor_table(x, i, false, true);
	case 7:
		if (x->cpu->intercepts & RV_ICPT_INVLPG)
			return rv_intercept(x, i, RV_VIRT_INVLPG, rv_effective_address(x, i));
		return tlb_event(x, RV_TLB_INVLPG, rv_effective_address(x, i), 0);
	default:
		return rv_raise_ud(x);
	}
}

/* 66 0F 38 82: INVPCID type (in a register), descriptor (in memory). */
int op_invpcid(struct rv_exec *x, const struct rv_insn *i)
{
	uint64_t pcid, addr, type = x->cpu->gpr[i->reg];
	int rc;

	if (!i->opsize_prefix || !insn_is_mem(i))
		return rv_raise_ud(x);
	uint64_t ea = rv_effective_address(x, i);

	if ((rc = rv_mem_read(x, ea, 8, &pcid)) || (rc = rv_mem_read(x, ea + 8, 8, &addr)))
		return rc;
	/* Descriptor bits 63:12 are reserved for every type. */
	if (type > 3 || (pcid >> 12))
		return rv_raise_gp0(x);
	if (type == 0 && (uint64_t)((int64_t)(addr << 16) >> 16) != addr)
		return rv_raise_gp0(x);
	if (type <= 1 && pcid && !(x->cpu->cr4 & CR4_PCIDE))
		return rv_raise_gp0(x);
	return tlb_event(x, RV_TLB_INVPCID, addr, pcid | (type << 62));
}

static int builtin_rdmsr(struct rv_cpu *c, uint32_t msr, uint64_t *v)
{
	switch (msr) {
	case MSR_TSC:
		*v = read_tsc(c);
		return 0;
	case MSR_EFER:
		*v = c->efer;
		return 0;
	case MSR_FS_BASE:
		*v = c->fs_base;
		return 0;
	case MSR_GS_BASE:
		*v = c->gs_base;
		return 0;
	case MSR_TSC_AUX:
		*v = c->tsc_aux;
		return 0;
	default:
		return -1;
	}
}

static int builtin_wrmsr(struct rv_cpu *c, uint32_t msr, uint64_t v)
{
	switch (msr) {
	case MSR_EFER:
		/* LME/LMA cannot change while paging is on; NXE and SCE may. */
		if ((v ^ c->efer) & (EFER_LMA | (1ull << 8)) ||
		    (v & ~(0xd01ull | (c->virt_ext && c->vendor_amd ? EFER_SVME : 0))))
			return -1;
		c->efer = v;
		return 0;
	case MSR_FS_BASE:
		c->fs_base = v;
		return 0;
	case MSR_GS_BASE:
		c->gs_base = v;
		return 0;
	case MSR_TSC_AUX:
		c->tsc_aux = (uint32_t)v;
		return 0;
	default:
		return -1;
	}
}

/* 0F 30 WRMSR, 0F 31 RDTSC, 0F 32 RDMSR. */
int op_msr_tsc(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint32_t msr = (uint32_t)c->gpr[RV_RCX];
	uint64_t v = 0;
	int rc;

	switch (i->op & 0xff) {
	case 0x31:
		v = read_tsc(c);
		break;
	case 0x32:
		rc = c->intercepts ? 1 : builtin_rdmsr(c, msr, &v);
		if (rc && c->sys.rdmsr)
			rc = c->sys.rdmsr(c->sys.ctx, c, msr, &v);
		if (rc == RV_MSR_INTERCEPTED)
			return rv_intercept(x, i, RV_VIRT_RDMSR, msr);
		if (rc && c->intercepts)
			rc = builtin_rdmsr(c, msr, &v);
		if (rc)
			return rv_raise_gp0(x);
		break;
	default:
		v = (c->gpr[RV_RDX] << 32) | (uint32_t)c->gpr[RV_RAX];
		rc = c->intercepts ? 1 : builtin_wrmsr(c, msr, v);
		if (rc && c->sys.wrmsr)
			rc = c->sys.wrmsr(c->sys.ctx, c, msr, v);
		if (rc == RV_MSR_INTERCEPTED)
			return rv_intercept(x, i, RV_VIRT_WRMSR, msr);
		if (rc && c->intercepts)
			rc = builtin_wrmsr(c, msr, v);
		return rc ? rv_raise_gp0(x) : OP_OK;
	}
	c->gpr[RV_RAX] = (uint32_t)v;
	c->gpr[RV_RDX] = v >> 32;
	return OP_OK;
}

void rv_cpu_builtin_cpuid(const struct rv_cpu *c, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	static const char intel[12] = "GenuineIntel", amd[12] = "AuthenticAMD";
	const char *v = c->vendor_amd ? amd : intel;

	(void)sub;
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 0:
		r[0] = 7;
		__builtin_memcpy(&r[1], v, 4);
		__builtin_memcpy(&r[3], v + 4, 4);
		__builtin_memcpy(&r[2], v + 8, 4);
		return;
	case 1: /* family 6; PCID 17, x2APIC 21, POPCNT 23, hypervisor 31 */
		r[0] = 0x000306a9;
		r[2] = (1u << 17) | (1u << 21) | (1u << 23) | (1u << 31);
		r[3] = (1u << 0) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 15);
		return;
	case 7: /* BMI1 3, INVPCID 10 */
		if (!sub)
			r[1] = (1u << 3) | (1u << 10);
		return;
	case 0x80000000:
		r[0] = 0x80000001;
		return;
	case 0x80000001: /* LZCNT 5; NX 20, long mode 29 */
		r[2] = 1u << 5;
		r[3] = (1u << 20) | (1u << 29);
		return;
	case 0x40000000: {
		static const char vendor[12] = "reqvisorreqv";

		r[0] = 0x40000000;
		__builtin_memcpy(&r[1], vendor, 12);
		return;
	}
	}
}

/* 0F A2: CPUID. */
int op_cpuid(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint32_t r[4];
	uint32_t leaf = (uint32_t)c->gpr[RV_RAX], sub = (uint32_t)c->gpr[RV_RCX];

	if (c->intercepts & RV_ICPT_CPUID)
		return rv_intercept(x, i, RV_VIRT_CPUID, 0);
	if (c->sys.cpuid)
		c->sys.cpuid(c->sys.ctx, c, leaf, sub, r);
	else
		rv_cpu_builtin_cpuid(c, leaf, sub, r);
	c->gpr[RV_RAX] = r[0];
	c->gpr[RV_RBX] = r[1];
	c->gpr[RV_RCX] = r[2];
	c->gpr[RV_RDX] = r[3];
	return OP_OK;
}

/* E4-E7, EC-EF: IN and OUT; sizes 1, 2 or 4. */
int op_io(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	unsigned low = i->op & 0xff;
	struct rv_cpu_io *io = &c->io;
	unsigned size = i->opsize == 1 ? 1 : i->opsize == 2 ? 2 : 4;
	bool stop;

	io->port = low >= 0xec ? (uint16_t)c->gpr[RV_RDX] : (uint16_t)(i->imm & 0xff);
	io->size = (uint8_t)size;
	io->in = !(low & 2);
	io->value = io->in ? 0xffffffffu : (uint32_t)(c->gpr[RV_RAX] & size_mask(size));
	if (c->intercepts & RV_ICPT_IO)
		return rv_intercept(x, i, RV_VIRT_IO, low >= 0xec);
	stop = c->sys.io ? c->sys.io(c->sys.ctx, c, io) : !io->in;
	if (io->in)
		reg_write(x, i, RV_RAX, size, io->value);
	if (!stop)
		return OP_BRANCH;
	x->stop = RV_CPU_EXIT_IO;
	return OP_EXIT;
}

/* F4: HLT. */
int op_hlt(struct rv_exec *x, const struct rv_insn *i)
{
	if (x->cpu->intercepts & RV_ICPT_HLT)
		return rv_intercept(x, i, RV_VIRT_HLT, 0);
	x->stop = RV_CPU_EXIT_HLT;
	return OP_EXIT;
}

/* FA CLI, FB STI (STI opens a one-instruction interrupt shadow). */
int op_cli_sti(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;

	if (i->op == 0xfa) {
		c->rflags &= ~RV_FLAG_IF;
		return OP_OK;
	}
	if (!(c->rflags & RV_FLAG_IF)) {
		c->int_shadow = true;
		c->irq_armed = true;
	}
	c->rflags |= RV_FLAG_IF;
	return OP_OK;
}

/* 0F AE: LFENCE, MFENCE, SFENCE and CLFLUSH; 0F 09 WBINVD. Ordering is
 * already total in this CPU, so they only need to decode. */
int op_fence(struct rv_exec *x, const struct rv_insn *i)
{
	if ((i->op & 0xff) == 0x09)
		return OP_OK;
	if (i->mod == 3 ? (i->subop >= 5) : (i->subop == 7))
		return OP_OK;
	return rv_raise_ud(x);
}

/* 0F 0B: UD2. */
int op_ud2(struct rv_exec *x, const struct rv_insn *i)
{
	(void)i;
	return rv_raise_ud(x);
}
