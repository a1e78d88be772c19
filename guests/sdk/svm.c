// SPDX-License-Identifier: MIT
/* The L1 mini-hypervisor for SVM (svm.h). */
#include "svm.h"

#include "nested.h"

#define MSR_EFER	0xc0000080u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define EFER_SVME	(1ull << 12)

bool rv_svm_available(void)
{
	u32 a, b, c, d;

	rv_cpuid(0x80000001u, 0, &a, &b, &c, &d);
	return c & (1u << 2);
}

void rv_svm_on(void)
{
	if (!rv_svm_available())
		rv_fail(RV_EXIT_NO_FEATURE, "CPUID does not report SVM (run with --nested)");
	rv_wrmsr(MSR_EFER, rv_rdmsr(MSR_EFER) | EFER_SVME);
	rv_wrmsr(MSR_VM_HSAVE_PA, (u64)(uintptr_t)rv_page_alloc());
}

/* A segment of the save area: selector, attributes, limit, base. */
static void segment(struct rv_svm_l2 *l2, unsigned off, u16 sel, u16 attr, u32 limit, u64 base)
{
	*(u16 *)(l2->vmcb + off) = sel;
	*(u16 *)(l2->vmcb + off + 2) = attr;
	*(u32 *)(l2->vmcb + off + 4) = limit;
	*(u64 *)(l2->vmcb + off + 8) = base;
}

void rv_svm_l2_init(struct rv_svm_l2 *l2, const struct rv_svm_l2_config *cfg)
{
	u8 *stack = rv_pages_alloc(4);
	u16 gdt_limit, idt_limit;
	u64 gdt = rv_read_dtr(false, &gdt_limit), idt = rv_read_dtr(true, &idt_limit);

	memset(&l2->gprs, 0, sizeof(l2->gprs));
	l2->vmcb = rv_page_alloc();
	vmcb_write32(l2, VMCB_INTERCEPT_EXC, cfg->exception_bitmap);
	vmcb_write32(l2, VMCB_INTERCEPT_MISC1,
		     SVM_MISC1_CPUID | cfg->misc1 | (cfg->msrpm ? SVM_MISC1_MSR : 0));
	vmcb_write32(l2, VMCB_INTERCEPT_MISC2, SVM_MISC2_VMRUN | SVM_MISC2_VMMCALL);
	vmcb_write(l2, VMCB_MSRPM_BASE, cfg->msrpm);
	vmcb_write32(l2, VMCB_ASID, cfg->asid);
	vmcb_write(l2, VMCB_NP_ENABLE, cfg->ncr3 ? 1 : 0);
	/* The TLFS's enlightenments of the VMCB (offset 0x3E0); direct flush
	 * also needs the VP assist page's direct-hypercall bit. */
	if (cfg->hv_direct_flush)
		rv_nested_allow_direct_flush();
	vmcb_write32(l2, 0x3e0, cfg->hv_direct_flush ? 1 : 0);
	vmcb_write32(l2, 0x3e4, cfg->hv_vp_id);
	vmcb_write(l2, 0x3e8, cfg->hv_vm_id);
	vmcb_write(l2, VMCB_NCR3, cfg->ncr3);
	/* GUEST_ABI §3's selectors: the CPU has no MOV from a segment register. */
	segment(l2, 0x410, 0x08, 0x29b, 0xffffffff, 0);
	segment(l2, 0x420, 0x10, 0x093, 0xffffffff, 0);
	segment(l2, 0x460, 0, 0, gdt_limit, gdt);
	segment(l2, 0x480, 0, 0, idt_limit, idt);
	vmcb_write(l2, 0x4d0, rv_rdmsr(MSR_EFER)); /* EFER, SVME included */
	vmcb_write(l2, 0x548, rv_read_cr4());
	vmcb_write(l2, VMCB_CR3, cfg->cr3 ? cfg->cr3 : rv_read_cr3());
	vmcb_write(l2, 0x558, rv_read_cr0());
	vmcb_write(l2, 0x570, rv_read_rflags() & RV_RFLAGS_IF ? 0x202 : 0x2);
	vmcb_write(l2, VMCB_RIP, (u64)(uintptr_t)cfg->entry);
	vmcb_write(l2, VMCB_RSP, (u64)(uintptr_t)(stack + 4 * RV_PAGE_SIZE - 8));
}

void rv_svm_skip_instruction(struct rv_svm_l2 *l2)
{
	vmcb_write(l2, VMCB_RIP, vmcb_read(l2, VMCB_NRIP));
}

static void emulate_cpuid(struct rv_svm_l2 *l2)
{
	u32 a, b, c, d;

	rv_cpuid((u32)vmcb_read(l2, VMCB_RAX), (u32)l2->gprs.rcx, &a, &b, &c, &d);
	vmcb_write(l2, VMCB_RAX, a);
	l2->gprs.rbx = b;
	l2->gprs.rcx = c;
	l2->gprs.rdx = d;
}

/* I/O exits: L1 does the access itself (EXITINFO1: IN bit 0, size bits
 * 4-6, port 31:16). */
static void emulate_io(struct rv_svm_l2 *l2)
{
	u64 info = vmcb_read(l2, VMCB_EXITINFO1);
	unsigned size = info & (1u << 4) ? 1 : info & (1u << 5) ? 2 : 4;

	vmcb_write(l2, VMCB_RAX,
		   rv_port_io(info & 1, size, (u16)(info >> 16), vmcb_read(l2, VMCB_RAX)));
}

u64 rv_svm_l2_step(struct rv_svm_l2 *l2)
{
	for (;;) {
		u64 code;

		/* CLGI..STGI around VMRUN, as a real L1 does. */
		__asm__ volatile("clgi" : : : "memory");
		rv_svm_enter(&l2->gprs, (u64)(uintptr_t)l2->vmcb);
		__asm__ volatile("stgi" : : : "memory");
		l2->vmcb[VMCB_TLB_CONTROL] = 0; /* a flush is asked for one VMRUN */
		code = vmcb_read(l2, VMCB_EXITCODE);
		switch (code) {
		case SVM_EXIT_CPUID:
			emulate_cpuid(l2);
			rv_svm_skip_instruction(l2);
			continue;
		case SVM_EXIT_IOIO:
			emulate_io(l2);
			vmcb_write(l2, VMCB_RIP, vmcb_read(l2, VMCB_EXITINFO2));
			continue;
		case SVM_EXIT_VMMCALL:
			if (vmcb_read(l2, VMCB_RAX) && l2->on_call &&
			    l2->on_call(l2, vmcb_read(l2, VMCB_RAX))) {
				rv_svm_skip_instruction(l2);
				continue;
			}
			return code;
		default:
			if (l2->on_exit && l2->on_exit(l2, code))
				continue;
			return code;
		}
	}
}

u64 rv_svm_l2_run(struct rv_svm_l2 *l2)
{
	u64 code = rv_svm_l2_step(l2);

	if (code != SVM_EXIT_VMMCALL || vmcb_read(l2, VMCB_RAX))
		rv_fail(RV_EXIT_NESTED, "L2 exit %#lx (info %#lx, %#lx) not handled", code,
			vmcb_read(l2, VMCB_EXITINFO1), vmcb_read(l2, VMCB_EXITINFO2));
	return l2->gprs.rbx;
}

void rv_svm_l2_done(u64 status)
{
	rv_svm_call(0, status);
	rv_fail(RV_EXIT_NESTED, "L2 was resumed after it finished");
}

static int (*l2_main)(unsigned cpu, unsigned ncpus);

static void l2_main_entry(void)
{
	rv_svm_l2_done((u64)l2_main(rv_cpu_id(), rv_ncpus));
}

int rv_svm_run_as_l2(int (*fn)(unsigned cpu, unsigned ncpus), struct rv_svm_l2_config *cfg)
{
	struct rv_svm_l2 l2 = { 0 };

	l2_main = fn;
	cfg->entry = l2_main_entry;
	rv_svm_l2_init(&l2, cfg);
	return (int)rv_svm_l2_run(&l2);
}

/* ---- nested page tables: the x86 format ---- */

u64 *rv_npt_pte(u64 ncr3, u64 gpa)
{
	return rv_nested_pte(ncr3, gpa);
}

u64 rv_npt_identity(void)
{
	return rv_nested_identity(RV_PTE_P | RV_PTE_W | RV_PTE_U);
}
