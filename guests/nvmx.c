// SPDX-License-Identifier: MIT
/*
 * nvmx: the nested-VMX scenarios of docs/nested.md, on every vCPU at once
 * (each with its own VMCSs, page tables and pages). Each scenario makes L2
 * read a page whose translation someone just changed, so a TLB rule that
 * is switched off shows as a wrong value here and as a violation in the
 * oracle. Needs --nested on the vmx vendor.
 *
 *  1 no-vpid     L2 without VPID: L1 and L2 map V apart; L1 remaps L2's V
 *                between two runs of L2 with no INVVPID (the transitions
 *                flush VPID 0); L2 remaps V itself with INVLPG.
 *  2 new-vpid12  two L2s with VPIDs 1 and 2 over one vpid02, V apart.
 *  3 same-vpid   one L2 with VPID 7 ping-pongs with L1, V apart (with no
 *                vpid02 and shadow paging, L2 shares L1's tag).
 *  4 invvpid     L1 remaps L2's V, then INVVPID of each type.
 *  5 invept      L2 with EPT12: L1 remaps the L2 page in EPT12, then INVEPT
 *                single-context and global.
 *  5b two-eptps   two L2s with one vmcs12 VPID and two EPT12s that map the
 *                page apart.
 *  6 exits       CPUID, I/O, HLT, #UD, RDMSR and EPT-violation exits.
 *  7 errors      VMfail numbers for bad VMREAD/VMWRITE/VMPTRLD/VMLAUNCH/
 *                VMRESUME/INVVPID/INVEPT.
 *  8 inject      event injection at VM entry: an external interrupt, an
 *                exception with its error code; a delivery that faults
 *                (#GP intercepted, or an EPT violation on the IDT) exits
 *                with the event in the IDT-vectoring information and L1
 *                injects it again; a software interrupt is refused.
 *  9 evmcs       with --hyperv only: two L2s in enlightened VMCSs with
 *                VPIDs 1 and 2 (as 2); VMREAD reads the eVMCS, VMWRITE is
 *                VMfailInvalid; a wrong eVMCS version fails VMLAUNCH; an
 *                eVMCS has no launch state; L2's flush hypercall exits to
 *                L1 without direct flush (in the eVMCS or the VP assist
 *                page) and is L0's with it.
 */
#include "hyperv.h"
#include "nested.h"
#include "nested/evmcs.h"
#include "nested_pages.h"
#include "vmx.h"

static void run(struct rv_vmx_l2_config *cfg, rv_vmx_call_fn *on_call)
{
	struct rv_vmx_l2 l2 = { .on_call = on_call };
	u64 status;

	rv_vmx_l2_init(&l2, cfg);
	status = rv_vmx_l2_run(&l2);
	EXPECT(status == 0, "L2 finished with %lu", status);
}

/* ---- 1: no VPID ---- */

static void l2_no_vpid(void)
{
	struct cpu_pages *p = me();

	expect_page(read_v(), 1, "no-vpid L2, first read");
	rv_vmx_call(1, 0); /* L1 remaps V to page 3, no INVVPID */
	expect_page(read_v(), 3, "no-vpid L2 after L1 remapped V");
	map_v(p->root[0], 2); /* L2 changes its own tables */
	rv_invlpg(p->v);
	expect_page(read_v(), 2, "no-vpid L2 after its own INVLPG");
	map_v(p->root[0], 1);
	rv_invlpg(p->v);
	rv_vmx_l2_done(0);
}

static bool remap_to_3(struct rv_vmx_l2 *l2, u64 code)
{
	(void)l2;
	(void)code;
	map_v(me()->root[0], 3);
	return true;
}

static void scenario_no_vpid(void)
{
	struct rv_vmx_l2_config cfg = { .entry = l2_no_vpid, .cr3 = me()->root[0] };

	expect_page(read_v(), 0, "L1 before no-vpid");
	run(&cfg, remap_to_3);
	expect_page(read_v(), 0, "L1 after no-vpid");
	map_v(me()->root[0], 1);
}

/* ---- 2: a new vmcs12 VPID ---- */

static void l2_read_and_done(void)
{
	struct cpu_pages *p = me();
	u64 want = rv_read_cr3() == p->root[0] ? 1 : 2;

	expect_page(read_v(), (unsigned)want, "L2 of new-vpid12");
	rv_vmx_l2_done(0);
}

static void scenario_new_vpid12(void)
{
	for (unsigned round = 0; round < 4; round++) {
		struct rv_vmx_l2_config cfg = {
			.entry = l2_read_and_done,
			.vpid = (u16)(1 + round % 2),
			.cr3 = me()->root[round % 2],
		};

		run(&cfg, NULL);
	}
	expect_page(read_v(), 0, "L1 after new-vpid12");
}

/* ---- 3: the same VPID, ping-pong with L1 ---- */

static bool l1_reads_v(struct rv_vmx_l2 *l2, u64 code)
{
	(void)l2;
	(void)code;
	expect_page(read_v(), 0, "L1 between runs of same-vpid");
	return true;
}

static void l2_same_vpid(void)
{
	for (unsigned i = 0; i < 8; i++) {
		expect_page(read_v(), 1, "same-vpid L2");
		rv_vmx_call(2, 0);
	}
	rv_vmx_l2_done(0);
}

static void scenario_same_vpid(void)
{
	struct rv_vmx_l2_config cfg = { .entry = l2_same_vpid, .vpid = 7, .cr3 = me()->root[0] };

	expect_page(read_v(), 0, "L1 before same-vpid");
	run(&cfg, l1_reads_v);
}

/* ---- 4: INVVPID of each type ---- */

static bool remap_and_invvpid(struct rv_vmx_l2 *l2, u64 type)
{
	struct cpu_pages *p = me();
	unsigned next = l2->gprs.rbx == 1 ? 3 : 1;

	map_v(p->root[0], next);
	rv_invvpid(type - 10, 9, p->v);
	return true;
}

static void l2_invvpid(void)
{

	for (unsigned type = 0; type < 4; type++) {
		expect_page(read_v(), type % 2 ? 3 : 1, "invvpid L2 before");
		rv_vmx_call(10 + type, type % 2 ? 3 : 1);
		expect_page(read_v(), type % 2 ? 1 : 3, "invvpid L2 after L1's INVVPID");
	}
	rv_vmx_l2_done(0);
}

static void scenario_invvpid(void)
{
	struct rv_vmx_l2_config cfg = { .entry = l2_invvpid, .vpid = 9, .cr3 = me()->root[0] };

	map_v(me()->root[0], 1);
	run(&cfg, remap_and_invvpid);
}

/* ---- 5: EPT12 changes and INVEPT ---- */

static bool remap_ept_and_invept(struct rv_vmx_l2 *l2, u64 code)
{
	struct cpu_pages *p = me();
	u64 target = l2->gprs.rbx ? p->page[3] : p->page[1];

	(void)code;
	*rv_ept_pte(p->second, p->page[1]) = target | 7 | (6 << 3);
	if (code == 20)
		rv_invept(1, p->second);
	else
		rv_invept(2, 0);
	return true;
}

static void l2_invept(void)
{

	expect_page(read_v(), 1, "invept L2 before");
	rv_vmx_call(20, 1); /* EPT12: L2's page 1 now holds page 3; single */
	expect_page(read_v(), 3, "invept L2 after INVEPT single-context");
	rv_vmx_call(21, 0); /* back; global */
	expect_page(read_v(), 1, "invept L2 after INVEPT global");
	rv_vmx_l2_done(0);
}

static void scenario_invept(void)
{
	struct rv_vmx_l2_config cfg = {
		.entry = l2_invept,
		.vpid = 11,
		.cr3 = me()->root[0],
		.eptp = me()->second,
	};

	map_v(me()->root[0], 1);
	run(&cfg, remap_ept_and_invept);
}

/* ---- 5b: two EPT12s under one vmcs12 VPID ---- */

/* A copy of @eptp's tables along the path to @gpa, whose leaf then maps
 * @target: every other translation stays the same. */
static u64 ept_variant(u64 eptp, u64 gpa, u64 target)
{
	u64 *old = rv_phys(eptp & RV_PTE_ADDR), *copy = rv_page_alloc();
	u64 root = (u64)(uintptr_t)copy;

	for (int level = 3; level >= 0; level--) {
		unsigned i = (gpa >> (12 + 9 * level)) & 511;

		memcpy(copy, old, RV_PAGE_SIZE);
		if (!level) {
			copy[i] = target | 7 | (6 << 3);
			break;
		}
		old = rv_phys(old[i] & RV_PTE_ADDR);
		u64 *next = rv_page_alloc();

		copy[i] = (u64)(uintptr_t)next | 7;
		copy = next;
	}
	return root | (eptp & 0xfff);
}

static void l2_two_eptps(void)
{
	u64 want = rv_vmx_call(30, 0);

	expect_page(read_v(), (unsigned)want, "two-eptps L2");
	rv_vmx_l2_done(0);
}

static bool which_page(struct rv_vmx_l2 *l2, u64 code)
{
	(void)code;
	l2->gprs.rax = l2->user ? 3 : 1;
	return true;
}

/* With shadow paging L0 cannot tag by EPTP: N1.4 flushes. */
static void scenario_two_eptps(void)
{
	struct cpu_pages *p = me();
	u64 other = ept_variant(p->second, p->page[1], p->page[3]);

	map_v(p->root[0], 1);
	for (unsigned round = 0; round < 4; round++) {
		struct rv_vmx_l2 l2 = { .on_call = which_page, .user = round % 2 ? p : NULL };
		struct rv_vmx_l2_config cfg = {
			.entry = l2_two_eptps,
			.vpid = 17,
			.cr3 = p->root[0],
			.eptp = round % 2 ? other : p->second,
		};

		rv_vmx_l2_init(&l2, &cfg);
		EXPECT(rv_vmx_l2_run(&l2) == 0, "two-eptps L2 failed");
	}
}

/* ---- 6: exits ---- */

static bool exits_handler(struct rv_vmx_l2 *l2, u32 reason)
{
	struct cpu_pages *p = me();

	switch (reason) {
	case VMX_EXIT_HLT:
		rv_vmx_skip_instruction();
		l2->gprs.r12++;
		return true;
	case VMX_EXIT_EXCEPTION:
		EXPECT((rv_vmread(VMCS_EXIT_INTR_INFO) & 0x800007ff) == 0x80000306,
		       "exception exit info %#lx, want #UD", rv_vmread(VMCS_EXIT_INTR_INFO));
		/* A fault's exit gives no instruction length: UD2 is 2 bytes. */
		rv_vmwrite(VMCS_GUEST_RIP, rv_vmread(VMCS_GUEST_RIP) + 2);
		l2->gprs.r13++;
		return true;
	case VMX_EXIT_RDMSR:
		EXPECT(l2->gprs.rcx == 0x8b, "RDMSR exit for MSR %#lx", l2->gprs.rcx);
		l2->gprs.rax = 0x5a5a;
		l2->gprs.rdx = 0;
		rv_vmx_skip_instruction();
		return true;
	case VMX_EXIT_EPT_VIOL:
		EXPECT(rv_vmread(VMCS_GUEST_PHYS_ADDR) >> 12 == p->page[2] >> 12,
		       "EPT violation at %#lx", rv_vmread(VMCS_GUEST_PHYS_ADDR));
		EXPECT((rv_vmread(VMCS_EXIT_QUALIFICATION) & 0x187) == 0x181,
		       "EPT violation qualification %#lx", rv_vmread(VMCS_EXIT_QUALIFICATION));
		*rv_ept_pte(p->second, p->page[2]) = p->page[2] | 7 | (6 << 3);
		l2->gprs.r14++;
		return true;
	default:
		return false;
	}
}

static void l2_exits(void)
{
	u32 a, b, c, d;
	u64 lo, hi, r12, r13, r14;

	rv_cpuid(1, 0, &a, &b, &c, &d);
	EXPECT(c & (1u << 5), "CPUID in L2 (emulated by L1) lacks VMX");
	rv_puts("nvmx: L2 prints through an I/O exit\n");
	__asm__ volatile("xor %%r12, %%r12; xor %%r13, %%r13; xor %%r14, %%r14; hlt; ud2; "
			 "mov %%r12, %0; mov %%r13, %1"
			 : "=r"(r12), "=r"(r13)
			 :
			 : "r12", "r13", "r14", "memory");
	EXPECT(r12 == 1 && r13 == 1, "HLT/#UD exits seen %lu/%lu", r12, r13);
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x8b));
	EXPECT(lo == 0x5a5a && hi == 0, "RDMSR 0x8b in L2 read %#lx", lo);
	__asm__ volatile("xor %%r14, %%r14; mov (%2), %0; mov %%r14, %1"
			 : "=r"(lo), "=r"(r14)
			 : "r"(me()->page[2])
			 : "r14", "memory");
	EXPECT(r14 == 1 && lo == tag(rv_cpu_id(), 2), "EPT violation exits %lu, read %#lx", r14,
	       lo);
	rv_vmx_l2_done(0);
}

static void scenario_exits(void)
{
	u8 *bitmap = rv_page_alloc();
	struct rv_vmx_l2 l2 = { .on_exit = exits_handler };
	struct rv_vmx_l2_config cfg = {
		.entry = l2_exits,
		.vpid = 13,
		.eptp = me()->second,
		.proc = VMX_PROC_HLT_EXITING | VMX_PROC_UNCOND_IO,
		.exception_bitmap = 1u << 6,
		.msr_bitmap = (u64)(uintptr_t)bitmap,
	};

	bitmap[0x8b / 8] |= 1u << (0x8b % 8);	      /* read of MSR 0x8b */
	*rv_ept_pte(me()->second, me()->page[2]) = 0; /* not present in EPT12 */
	rv_vmx_l2_init(&l2, &cfg);
	EXPECT(rv_vmx_l2_run(&l2) == 0, "exits L2 failed");
}

/* ---- 7: VMfail numbers ---- */

static void expect_error(int rc, u64 want, const char *what)
{
	u64 err = 0;

	EXPECT(rc == 2, "%s: VMfail kind %d, want VMfailValid", what, rc);
	rv_vmread_raw(VMCS_INSN_ERROR, &err);
	EXPECT(err == want, "%s: VM-instruction error %lu, want %lu", what, err, want);
}

static void l2_never(void)
{
	rv_vmx_l2_done(0);
}

static void scenario_errors(void)
{
	struct rv_vmx_l2 l2 = { 0 };
	struct rv_vmx_l2_config cfg = { .entry = l2_never, .vpid = 15 };
	u32 *bad = rv_page_alloc();
	u64 v;

	rv_vmx_l2_init(&l2, &cfg);
	expect_error(rv_vmread_raw(0x2010, &v), 12, "VMREAD of TSC offset (unsupported)");
	expect_error(rv_vmwrite_raw(VMCS_EXIT_REASON, 1), 13, "VMWRITE of the exit reason");
	expect_error(rv_vmx_enter(&l2.gprs, 1, l2.evmcs), 5, "VMRESUME of a clear VMCS");
	rv_vmwrite(VMCS_PROC2_CONTROLS, 1); /* virtualize APIC accesses: not offered */
	expect_error(rv_vmx_enter(&l2.gprs, 0, l2.evmcs), 7, "VMLAUNCH with a control not offered");
	rv_vmwrite(VMCS_PROC2_CONTROLS, VMX_PROC2_VPID);
	EXPECT(rv_vmx_l2_run(&l2) == 0, "errors L2 failed");
	expect_error(rv_vmx_enter(&l2.gprs, 0, l2.evmcs), 4, "VMLAUNCH of a launched VMCS");
	expect_error(rv_invvpid_raw(1, 0, 0), 28, "INVVPID single-context of VPID 0");
	expect_error(rv_invept_raw(3, 0), 28, "INVEPT type 3");
	*bad = 0x7777;
	expect_error(rv_vmptrld_raw((u64)(uintptr_t)bad), 11, "VMPTRLD, wrong revision");
	EXPECT(rv_vmclear_raw(l2.vmcs) == 0, "VMCLEAR failed");
	EXPECT(rv_vmread_raw(VMCS_EXIT_REASON, &v) == 1,
	       "VMREAD with no current VMCS is not VMfailInvalid");
}

/* ---- 8: event injection ---- */

static void l2_report_injected(void)
{
	rv_vmx_l2_done(injected_seen[rv_cpu_id()]);
}

static void scenario_inject(void)
{
	unsigned cpu = rv_cpu_id();
	struct rv_vmx_l2 l2 = { 0 };
	struct rv_vmx_l2_config cfg = {
		.entry = l2_report_injected, .vpid = 9, .exception_bitmap = 1u << 13, /* #GP */
	};
	u16 idt_limit;
	u64 status;

	rv_read_dtr(true, &idt_limit);
	injected_seen[cpu] = 0;
	rv_vmx_l2_init(&l2, &cfg);
	rv_vmwrite(VMCS_ENTRY_INTR_INFO, EVENT(0, INJECT_IRQ));
	status = rv_vmx_l2_run(&l2);
	EXPECT(status == INJECT_IRQ, "L2 saw %#lx, want the external interrupt %#x", status,
	       INJECT_IRQ);
	EXPECT(!(rv_vmread(VMCS_ENTRY_INTR_INFO) >> 31), "the VM exit left the event valid");

	injected_seen[cpu] = 0;
	rv_vmx_l2_init(&l2, &cfg);
	rv_vmwrite(VMCS_ENTRY_INTR_INFO, EVENT(3, RV_VEC_AC) | EVENT_ERROR);
	rv_vmwrite(VMCS_ENTRY_EXC_ERROR, 0x5a);
	status = rv_vmx_l2_run(&l2);
	EXPECT(status == (RV_VEC_AC | 0x5a << 16), "L2 saw %#lx, want #AC with error 0x5a", status);

	/* The gate lies beyond L2's IDT limit: #GP, intercepted, before L2's
	 * first instruction; L1 mends the limit and injects it again. */
	injected_seen[cpu] = 0;
	rv_vmx_l2_init(&l2, &cfg);
	rv_vmwrite(VMCS_GUEST_IDTR_LIMIT, INJECT_IRQ * 16 - 1);
	rv_vmwrite(VMCS_ENTRY_INTR_INFO, EVENT(0, INJECT_IRQ));
	EXPECT(rv_vmx_l2_step(&l2) == VMX_EXIT_EXCEPTION, "no exception exit for the bad gate");
	EXPECT(rv_vmread(VMCS_EXIT_INTR_INFO) == (EVENT(3, RV_VEC_GP) | EVENT_ERROR) &&
		       rv_vmread(VMCS_EXIT_INTR_ERROR) == (INJECT_IRQ << 3 | 2),
	       "exit info %#lx error %#lx, want #GP naming IDT entry %#x",
	       rv_vmread(VMCS_EXIT_INTR_INFO), rv_vmread(VMCS_EXIT_INTR_ERROR), INJECT_IRQ);
	EXPECT(rv_vmread(VMCS_IDT_VECTORING) == EVENT(0, INJECT_IRQ),
	       "IDT-vectoring information %#lx, want the injected event",
	       rv_vmread(VMCS_IDT_VECTORING));
	rv_vmwrite(VMCS_GUEST_IDTR_LIMIT, idt_limit);
	rv_vmwrite(VMCS_ENTRY_INTR_INFO, rv_vmread(VMCS_IDT_VECTORING));
	status = rv_vmx_l2_run(&l2);
	EXPECT(status == INJECT_IRQ, "L2 saw %#lx after the event was injected again", status);

	/* L2's IDT page is missing from EPT12: an EPT violation, with the
	 * event in the IDT-vectoring information again. */
	{
		u64 gate = (rv_read_dtr(true, &idt_limit) + INJECT_IRQ * 16) & ~4095ull;
		u64 *pte = rv_ept_pte(me()->second, gate), saved = *pte;

		injected_seen[cpu] = 0;
		cfg.eptp = me()->second;
		rv_vmx_l2_init(&l2, &cfg);
		*pte = 0;
		rv_vmwrite(VMCS_ENTRY_INTR_INFO, EVENT(0, INJECT_IRQ));
		EXPECT(rv_vmx_l2_step(&l2) == VMX_EXIT_EPT_VIOL, "no EPT violation for the IDT");
		EXPECT(rv_vmread(VMCS_IDT_VECTORING) == EVENT(0, INJECT_IRQ),
		       "IDT-vectoring information %#lx after the EPT violation",
		       rv_vmread(VMCS_IDT_VECTORING));
		*pte = saved;
		rv_invept(1, me()->second);
		rv_vmwrite(VMCS_ENTRY_INTR_INFO, rv_vmread(VMCS_IDT_VECTORING));
		status = rv_vmx_l2_run(&l2);
		EXPECT(status == INJECT_IRQ, "L2 saw %#lx after the EPT violation", status);
		cfg.eptp = 0;
	}

	/* Software interrupts are not offered: the entry fails (error 7). */
	rv_vmx_l2_init(&l2, &cfg);
	rv_vmwrite(VMCS_ENTRY_INTR_INFO, EVENT(4, 0x80));
	expect_error(rv_vmx_enter(&l2.gprs, 0, NULL), 7, "VMLAUNCH injecting INT 0x80");
}

/* ---- 9: the enlightened VMCS (Hyper-V) ---- */

#define HV_CALL_MARK 0x4856 /* RAX of L2's hypercall: tells L1's handler */

static u64 flush_input; /* a Space call's input: all address spaces, all VPs */

/* L2's HvFlushVirtualAddressSpace as a bare VMCALL; RAX after it. */
static u64 l2_flush_call(void)
{
	u64 rax = HV_CALL_MARK;

	__asm__ volatile("vmcall"
			 : "+a"(rax)
			 : "c"(hv_control(HV_FLUSH_SPACE, false, 0, 0, 0)), "d"(flush_input)
			 : "memory");
	return rax;
}

static void l2_flush_exits(void)
{
	u64 rax = l2_flush_call();

	EXPECT(rax == 0x1f, "L1's answer to the flush call: %#lx", rax);
	rv_vmx_l2_done(0);
}

static bool answer_flush_call(struct rv_vmx_l2 *l2, u64 code)
{
	EXPECT(code == HV_CALL_MARK && (u16)l2->gprs.rcx == HV_FLUSH_SPACE,
	       "VMCALL exit: RAX %#lx RCX %#lx, want L2's flush call", code, l2->gprs.rcx);
	l2->gprs.rax = 0x1f;
	return true;
}

static void l2_flush_direct(void)
{
	u64 rax = l2_flush_call();

	EXPECT(rax == HV_STATUS_SUCCESS, "L2's direct flush call returned %#lx", rax);
	rv_vmx_l2_done(0);
}

static bool no_call_expected(struct rv_vmx_l2 *l2, u64 code)
{
	(void)l2;
	rv_fail(1, "L2's flush call exited to L1 (RAX %#lx) with direct flush on", code);
}

static void scenario_evmcs(void)
{
	unsigned cpu = rv_cpu_id();
	struct rv_vmx_l2 l2 = { 0 };
	struct rv_vmx_l2_config cfg = { .entry = l2_read_and_done, .evmcs = true, .vpid = 1 };
	u64 v = 0;

	for (unsigned round = 0; round < 4; round++) {
		cfg.vpid = (u16)(1 + round % 2);
		cfg.cr3 = me()->root[round % 2];
		run(&cfg, NULL);
	}
	expect_page(read_v(), 0, "L1 after evmcs");

	/* VMREAD and VMWRITE as instructions, on the current eVMCS. */
	cfg.cr3 = 0;
	cfg.entry = l2_never;
	rv_vmx_l2_init(&l2, &cfg);
	EXPECT(rv_vmread_raw(VMCS_GUEST_RIP, &v) == 0 && v == l2.evmcs->guest_rip,
	       "VMREAD of an eVMCS field read %#lx, the eVMCS holds %#lx", v, l2.evmcs->guest_rip);
	EXPECT(rv_vmwrite_raw(VMCS_GUEST_RIP, 0) == 1, "VMWRITE to an eVMCS is not VMfailInvalid");
	l2.evmcs->revision_id = RV_EVMCS_VERSION + 1;
	EXPECT(rv_vmx_enter(&l2.gprs, 0, l2.evmcs) == 1, "VMLAUNCH of an eVMCS of a wrong version");
	l2.evmcs->revision_id = RV_EVMCS_VERSION;
	EXPECT(rv_vmx_l2_run(&l2) == 0, "evmcs L2 failed");
	l2.launched = false; /* no launch state: VMLAUNCH enters it again */
	rv_vmx_l2_load(&l2);
	EXPECT(rv_vmx_l2_run(&l2) == 0, "evmcs L2 failed at its second VMLAUNCH");

	/* Without direct flush L2's flush hypercall is L1's; with it, L0's.
	 * The eVMCS's bit alone is not enough: the VP assist page's too. */
	cfg.entry = l2_flush_exits;
	run(&cfg, answer_flush_call);
	cfg.hv_direct_flush = true;
	cfg.hv_vm_id = 7;
	cfg.hv_vp_id = cpu;
	l2 = (struct rv_vmx_l2){ .on_call = answer_flush_call };
	rv_vmx_l2_init(&l2, &cfg);
	*(volatile u32 *)(hv_vp_assist() + RV_VP_ASSIST_NESTED_FEATURES) = 0;
	EXPECT(rv_vmx_l2_run(&l2) == 0, "evmcs L2 without the VP assist page's bit failed");
	cfg.entry = l2_flush_direct;
	run(&cfg, no_call_expected);
	/* Back to VMPTRLD for the scenarios after this one. */
	cfg.evmcs = false;
	cfg.hv_direct_flush = false;
	cfg.entry = l2_never;
	run(&cfg, NULL);
}

static bool evmcs_offered(void)
{
	u32 a, b, c, d;

	if (!hv_present())
		return false;
	rv_cpuid(0x40000004u, 0, &a, &b, &c, &d);
	return a & (1u << 14);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	static struct rv_barrier ready;
	static void (*const scenarios[])(void) = {
		scenario_no_vpid, scenario_new_vpid12, scenario_same_vpid, scenario_invvpid,
		scenario_invept,  scenario_two_eptps,  scenario_exits,	   scenario_errors,
		scenario_inject,  scenario_evmcs,
	};
	unsigned n = sizeof(scenarios) / sizeof(scenarios[0]);

	setup_pages(cpu, ncpus);
	rv_vmx_on();
	pages_of[cpu].second = rv_ept_identity();
	if (evmcs_offered()) {
		u64 *input = rv_page_alloc();

		input[1] = HV_FLUSH_ALL_ADDRESS_SPACES | HV_FLUSH_ALL_PROCESSORS;
		if (cpu == 0) {
			hv_enable((u64)(uintptr_t)rv_page_alloc());
			flush_input = (u64)(uintptr_t)input;
		}
	} else {
		n--; /* scenario 9 needs --hyperv */
	}
	if (cpu == 0)
		set_injected_handlers();
	rv_barrier_wait(&ready);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned s = 0; s < n; s++)
			scenarios[s]();
	rv_vmx_off();
	rv_barrier_wait(&ready);
	if (cpu == 0)
		rv_printf("nvmx: %u vCPUs ran %u scenarios 3 times, L2 saw every change\n", ncpus,
			  n);
	return 0;
}
