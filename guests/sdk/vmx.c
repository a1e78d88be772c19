// SPDX-License-Identifier: MIT
/* The L1 mini-hypervisor for VMX (vmx.h). */
#include "vmx.h"

#include "hyperv.h"
#include "nested.h"
#include "nested/evmcs.h"

#define CR4_VMXE      (1ull << 13)
#define MSR_VMX_BASIC 0x480

/* The VMX outcome from the flags: CF VMfailInvalid, ZF VMfailValid. */
#define VMX_OUTCOME(insn, ...)                             \
	({                                                 \
		u8 cf_, zf_;                               \
		__asm__ volatile(insn "; setc %0; setz %1" \
				 : "=r"(cf_), "=r"(zf_)    \
				 : __VA_ARGS__             \
				 : "cc", "memory");        \
		cf_ ? 1 : zf_ ? 2 : 0;                     \
	})

static u32 revision;

/* The eVMCS each vCPU's VM entries use (NULL: a VMCS, via VMPTRLD). */
static struct rv_evmcs *current_evmcs[1024];

/* Where each supported VMCS field sits in an eVMCS. */
static const struct {
	u16 encoding, offset, size;
} evmcs_fields[] = {
#define VMCS12_FIELD(name, enc, member) \
	{ enc, offsetof(struct rv_evmcs, member), sizeof(((struct rv_evmcs *)0)->member) },
#include "nested/vmcs12_fields.def"
#undef VMCS12_FIELD
};

static u8 *evmcs_field(u64 field, unsigned *size)
{
	struct rv_evmcs *e = current_evmcs[rv_cpu_id()];

	for (unsigned i = 0; i < sizeof(evmcs_fields) / sizeof(evmcs_fields[0]); i++) {
		if (evmcs_fields[i].encoding != field)
			continue;
		*size = evmcs_fields[i].size;
		return (u8 *)e + evmcs_fields[i].offset;
	}
	rv_fail(RV_EXIT_NESTED, "VMCS field %#lx has no place in the eVMCS", field);
}

bool rv_vmx_available(void)
{
	u32 a, b, c, d;

	rv_cpuid(1, 0, &a, &b, &c, &d);
	return c & (1u << 5);
}

static u64 new_region(void)
{
	u32 *p = rv_page_alloc();

	*p = revision;
	return (u64)(uintptr_t)p;
}

int rv_vmxon_raw(u64 pa)
{
	return VMX_OUTCOME("vmxon %2", "m"(pa));
}

void rv_vmx_on(void)
{
	if (!rv_vmx_available())
		rv_fail(RV_EXIT_NO_FEATURE, "CPUID does not report VMX (run with --nested)");
	revision = (u32)rv_rdmsr(MSR_VMX_BASIC) & 0x7fffffffu;
	rv_write_cr4(rv_read_cr4() | CR4_VMXE);
	if (rv_vmxon_raw(new_region()))
		rv_fail(RV_EXIT_NESTED, "VMXON failed");
}

void rv_vmx_off(void)
{
	__asm__ volatile("vmxoff" : : : "cc", "memory");
	rv_write_cr4(rv_read_cr4() & ~CR4_VMXE);
}

int rv_vmread_raw(u64 field, u64 *value)
{
	u8 cf, zf;

	__asm__ volatile("vmread %3, %2; setc %0; setz %1"
			 : "=r"(cf), "=r"(zf), "=rm"(*value)
			 : "r"(field)
			 : "cc", "memory");
	return cf ? 1 : zf ? 2 : 0;
}

int rv_vmwrite_raw(u64 field, u64 value)
{
	return VMX_OUTCOME("vmwrite %3, %2", "r"(field), "rm"(value));
}

int rv_vmclear_raw(u64 pa)
{
	return VMX_OUTCOME("vmclear %2", "m"(pa));
}

int rv_vmptrld_raw(u64 pa)
{
	return VMX_OUTCOME("vmptrld %2", "m"(pa));
}

int rv_invvpid_raw(u64 type, u16 vpid, u64 addr)
{
	u64 desc[2] = { vpid, addr };

	return VMX_OUTCOME("invvpid %3, %2", "r"(type), "m"(desc));
}

int rv_invept_raw(u64 type, u64 eptp)
{
	u64 desc[2] = { eptp, 0 };

	return VMX_OUTCOME("invept %3, %2", "r"(type), "m"(desc));
}

static void check(int rc, const char *what, u64 arg)
{
	u64 err = 0;

	if (!rc)
		return;
	if (rc == 2)
		rv_vmread_raw(VMCS_INSN_ERROR, &err);
	rv_fail(RV_EXIT_NESTED, "%s %#lx: VMfail%s (error %lu)", what, arg,
		rc == 1 ? "Invalid" : "Valid", err);
}

u64 rv_vmread(u64 field)
{
	u64 v = 0;
	unsigned size = 0;

	if (current_evmcs[rv_cpu_id()]) {
		const u8 *p = evmcs_field(field, &size);

		memcpy(&v, p, size);
		return v;
	}
	check(rv_vmread_raw(field, &v), "VMREAD", field);
	return v;
}

void rv_vmwrite(u64 field, u64 value)
{
	unsigned size = 0;

	if (current_evmcs[rv_cpu_id()]) {
		u8 *p = evmcs_field(field, &size);

		memcpy(p, &value, size);
		return;
	}
	check(rv_vmwrite_raw(field, value), "VMWRITE", field);
}

void rv_invvpid(u64 type, u16 vpid, u64 addr)
{
	check(rv_invvpid_raw(type, vpid, addr), "INVVPID type", type);
}

void rv_invept(u64 type, u64 eptp)
{
	check(rv_invept_raw(type, eptp), "INVEPT type", type);
}

void rv_vmx_l2_load(struct rv_vmx_l2 *l2)
{
	unsigned cpu = rv_cpu_id();
	u8 *assist = l2->evmcs || current_evmcs[cpu] ? hv_vp_assist() : NULL;

	current_evmcs[cpu] = l2->evmcs;
	if (!l2->evmcs) {
		if (assist)
			assist[RV_VP_ASSIST_ENLIGHTEN_VMENTRY] = 0;
		check(rv_vmptrld_raw(l2->vmcs), "VMPTRLD", l2->vmcs);
		return;
	}
	*(volatile u64 *)(assist + RV_VP_ASSIST_CURRENT_EVMCS) = l2->vmcs;
	assist[RV_VP_ASSIST_ENLIGHTEN_VMENTRY] = 1;
}

/* An eVMCS for @l2 (TLFS): the CPUID recommendation, then a zeroed page
 * with the version; VMCLEAR has nothing to do with it. */
static void evmcs_init(struct rv_vmx_l2 *l2, const struct rv_vmx_l2_config *cfg)
{
	u32 a, b, c, d;

	rv_cpuid(0x40000004u, 0, &a, &b, &c, &d);
	if (!hv_present() || !(a & (1u << 14)))
		rv_fail(RV_EXIT_NO_FEATURE, "no enlightened VMCS (run with --hyperv --nested)");
	l2->evmcs = rv_page_alloc();
	l2->evmcs->revision_id = RV_EVMCS_VERSION;
	l2->vmcs = (u64)(uintptr_t)l2->evmcs;
	if (!cfg->hv_direct_flush)
		return;
	rv_nested_allow_direct_flush();
	l2->evmcs->hv_enlightenments_control = RV_EVMCS_NESTED_FLUSH_HYPERCALL;
	l2->evmcs->hv_vp_id = cfg->hv_vp_id;
	l2->evmcs->hv_vm_id = cfg->hv_vm_id;
}

/* The boot GDT's selectors (GUEST_ABI §3): the software CPU has no MOV
 * from a segment register. */
static u16 read_seg(int which)
{
	return which ? 0x10 : 0x08;
}

/* The state L1 and L2 share at the start, and L1 gets back at each exit. */
static void write_shared_state(u64 cr3)
{
	u16 gdt_limit, idt_limit;
	u64 gdt = rv_read_dtr(false, &gdt_limit), idt = rv_read_dtr(true, &idt_limit);
	u64 efer = rv_rdmsr(0xc0000080);

	rv_vmwrite(0x6800, rv_read_cr0()); /* GUEST_CR0 */
	rv_vmwrite(0x6802, cr3);
	rv_vmwrite(0x6804, rv_read_cr4());
	rv_vmwrite(0x2806, efer);
	rv_vmwrite(0x0802, read_seg(0)); /* GUEST_CS */
	rv_vmwrite(0x0804, read_seg(1)); /* GUEST_SS */
	rv_vmwrite(0x4816, 0xa09b);	 /* CS: 64-bit code */
	rv_vmwrite(0x6816, gdt);
	rv_vmwrite(0x4810, gdt_limit);
	rv_vmwrite(0x6818, idt);
	rv_vmwrite(0x4812, idt_limit);
	rv_vmwrite(0x6c00, rv_read_cr0()); /* HOST_CR0 */
	rv_vmwrite(0x6c02, rv_read_cr3());
	rv_vmwrite(0x6c04, rv_read_cr4());
	rv_vmwrite(0x2c02, efer);
	rv_vmwrite(0x0c02, read_seg(0));
	rv_vmwrite(0x0c04, read_seg(1));
	rv_vmwrite(0x6c0c, gdt);
	rv_vmwrite(0x6c0e, idt);
}

void rv_vmx_l2_init(struct rv_vmx_l2 *l2, const struct rv_vmx_l2_config *cfg)
{
	u8 *stack = rv_pages_alloc(4);
	u32 proc2 = (cfg->vpid ? VMX_PROC2_VPID : 0) | (cfg->eptp ? VMX_PROC2_EPT : 0);
	u64 bitmap = cfg->msr_bitmap ? cfg->msr_bitmap : (u64)(uintptr_t)rv_page_alloc();

	memset(&l2->gprs, 0, sizeof(l2->gprs));
	l2->launched = false;
	l2->evmcs = NULL;
	if (cfg->evmcs) {
		evmcs_init(l2, cfg);
	} else {
		l2->vmcs = new_region();
		check(rv_vmclear_raw(l2->vmcs), "VMCLEAR", l2->vmcs);
	}
	rv_vmx_l2_load(l2);
	rv_vmwrite(VMCS_PIN_CONTROLS, 0x16);
	rv_vmwrite(VMCS_PROC_CONTROLS, (0x0401e172u & ~(3u << 15)) | VMX_PROC_MSR_BITMAPS |
					       VMX_PROC_SECONDARY | cfg->proc);
	rv_vmwrite(VMCS_PROC2_CONTROLS, proc2);
	rv_vmwrite(VMCS_EXIT_CONTROLS,
		   0x36dff | (1u << 9) | (1u << 20) | (1u << 21));	  /* 64-bit host, EFER */
	rv_vmwrite(VMCS_ENTRY_CONTROLS, 0x11ff | (1u << 9) | (1u << 15)); /* IA-32e guest, EFER */
	rv_vmwrite(VMCS_EXCEPTION_BITMAP, cfg->exception_bitmap);
	rv_vmwrite(VMCS_MSR_BITMAP, bitmap);
	rv_vmwrite(VMCS_VPID, cfg->vpid);
	if (cfg->eptp)
		rv_vmwrite(VMCS_EPT_POINTER, cfg->eptp);
	write_shared_state(cfg->cr3 ? cfg->cr3 : rv_read_cr3());
	rv_vmwrite(0x681c, (u64)(uintptr_t)(stack + 4 * RV_PAGE_SIZE - 8)); /* GUEST_RSP */
	rv_vmwrite(VMCS_GUEST_RIP, (u64)(uintptr_t)cfg->entry);
	rv_vmwrite(0x6820, rv_read_rflags() & RV_RFLAGS_IF ? 0x202 : 0x2);
	rv_vmwrite(0x2800, ~0ull); /* VMCS link pointer: none */
}

void rv_vmx_skip_instruction(void)
{
	rv_vmwrite(VMCS_GUEST_RIP, rv_vmread(VMCS_GUEST_RIP) + rv_vmread(VMCS_EXIT_INSN_LEN));
}

static void emulate_cpuid(struct rv_vmx_l2 *l2)
{
	u32 a, b, c, d;

	rv_cpuid((u32)l2->gprs.rax, (u32)l2->gprs.rcx, &a, &b, &c, &d);
	l2->gprs.rax = a;
	l2->gprs.rbx = b;
	l2->gprs.rcx = c;
	l2->gprs.rdx = d;
}

/* I/O exits: L1 does the access itself. */
static void emulate_io(struct rv_vmx_l2 *l2)
{
	u64 q = rv_vmread(VMCS_EXIT_QUALIFICATION);

	l2->gprs.rax = rv_port_io(q & 8, (unsigned)(q & 7) + 1, (u16)(q >> 16), l2->gprs.rax);
}

/* MSRs the bitmap cannot pass through (Hyper-V's among them): L1 does the
 * access itself, so L2 shares L1's, as on SVM without an MSR intercept. */
static void emulate_msr(struct rv_vmx_l2 *l2, bool write)
{
	u32 msr = (u32)l2->gprs.rcx;
	u64 v;

	if (write) {
		rv_wrmsr(msr, (l2->gprs.rdx << 32) | (u32)l2->gprs.rax);
		return;
	}
	v = rv_rdmsr(msr);
	l2->gprs.rax = (u32)v;
	l2->gprs.rdx = v >> 32;
}

u32 rv_vmx_l2_step(struct rv_vmx_l2 *l2)
{
	for (;;) {
		int rc;
		u32 reason;

		if (l2->evmcs) /* L1 may have changed any field: none is clean */
			l2->evmcs->hv_clean_fields = 0;
		rc = rv_vmx_enter(&l2->gprs, l2->launched, l2->evmcs);
		if (rc)
			check(rc, l2->launched ? "VMRESUME of VMCS" : "VMLAUNCH of VMCS", l2->vmcs);
		l2->launched = true;
		reason = (u32)rv_vmread(VMCS_EXIT_REASON);
		switch (reason) {
		case VMX_EXIT_CPUID:
			emulate_cpuid(l2);
			rv_vmx_skip_instruction();
			continue;
		case VMX_EXIT_IO:
			emulate_io(l2);
			rv_vmx_skip_instruction();
			continue;
		case VMX_EXIT_VMCALL:
			if (l2->gprs.rax && l2->on_call && l2->on_call(l2, l2->gprs.rax)) {
				rv_vmx_skip_instruction();
				continue;
			}
			return reason;
		case VMX_EXIT_RDMSR:
		case VMX_EXIT_WRMSR:
			if (l2->on_exit && l2->on_exit(l2, reason))
				continue;
			emulate_msr(l2, reason == VMX_EXIT_WRMSR);
			rv_vmx_skip_instruction();
			continue;
		default:
			if (l2->on_exit && l2->on_exit(l2, reason))
				continue;
			return reason;
		}
	}
}

u64 rv_vmx_l2_run(struct rv_vmx_l2 *l2)
{
	u32 reason = rv_vmx_l2_step(l2);

	if (reason != VMX_EXIT_VMCALL || l2->gprs.rax)
		rv_fail(RV_EXIT_NESTED, "L2 exit %u (qualification %#lx, GPA %#lx) not handled",
			reason, rv_vmread(VMCS_EXIT_QUALIFICATION),
			rv_vmread(VMCS_GUEST_PHYS_ADDR));
	return l2->gprs.rbx;
}

void rv_vmx_l2_done(u64 status)
{
	rv_vmx_call(0, status);
	rv_fail(RV_EXIT_NESTED, "L2 was resumed after it finished");
}

static int (*l2_main)(unsigned cpu, unsigned ncpus);

static void l2_main_entry(void)
{
	rv_vmx_l2_done((u64)l2_main(rv_cpu_id(), rv_ncpus));
}

int rv_vmx_run_as_l2(int (*fn)(unsigned cpu, unsigned ncpus), struct rv_vmx_l2_config *cfg)
{
	struct rv_vmx_l2 l2 = { 0 };

	l2_main = fn;
	cfg->entry = l2_main_entry;
	rv_vmx_l2_init(&l2, cfg);
	return (int)rv_vmx_l2_run(&l2);
}

void rv_vmx_workload_config(unsigned cpu, struct rv_vmx_l2_config *cfg)
{
	static struct rv_barrier ready;
	static u64 ept_of_all;

	rv_vmx_on();
	if (cpu == 0)
		ept_of_all = rv_ept_identity();
	rv_barrier_wait(&ready);
	cfg->vpid = cpu % 4 < 2 ? (u16)(1 + cpu % 2) : 0;
	cfg->eptp = cpu % 2 == 0 ? ept_of_all : 0;
}

/* ---- EPT ---- */

u64 *rv_ept_pte(u64 eptp, u64 gpa)
{
	return rv_nested_pte(eptp, gpa);
}

u64 rv_ept_identity(void)
{
	/* Leaves: read, write, execute, write-back; the EPTP: write-back,
	 * a 4-level walk. */
	return rv_nested_identity(7 | (6 << 3)) | 6 | (3 << 3);
}
