// SPDX-License-Identifier: MIT
/*
 * nsvm: the nested-SVM scenarios of docs/nested.md, on every vCPU at once
 * (each with its own VMCBs, page tables and pages). Each makes L2 read a page
 * whose translation someone just changed, so a TLB rule switched off shows as
 * a wrong value here and as a violation in the oracle. Needs --nested on the
 * svm vendor; runs with either --nsvm-flush.
 *
 *  1 two-asids     two L2s with ASIDs 1 and 2, V apart, in turn.
 *  2 tlb-control   L1 remaps L2's V, then TLB_CONTROL 3, 7, 1, or INVLPGA.
 *  3 ncr3          L2 with nested paging: L1 remaps the L2 page in its nCR3
 *                  tables with TLB_CONTROL 3, then 1; and without any flush,
 *                  after which L2 may read either page.
 *  4 exits         CPUID, I/O, HLT, #UD, RDMSR and nested-page-fault exits.
 *  5 invalid       VMRUN with ASID 0, or without the VMRUN intercept:
 *                  EXITCODE VMEXIT_INVALID.
 *  6 inject        EVENTINJ: an external interrupt, an exception with its
 *                  error code; a delivery that faults (#GP intercepted)
 *                  exits with the event in EXITINTINFO and L1 injects it
 *                  again; a software interrupt is VMEXIT_INVALID.
 */
#include "nested_pages.h"
#include "svm.h"

static void run(struct rv_svm_l2_config *cfg, rv_svm_call_fn *on_call, rv_svm_exit_fn *on_exit)
{
	struct rv_svm_l2 l2 = { .on_call = on_call, .on_exit = on_exit };
	u64 status;

	rv_svm_l2_init(&l2, cfg);
	status = rv_svm_l2_run(&l2);
	EXPECT(status == 0, "L2 finished with %lu", status);
}

/* ---- 1: two ASIDs ---- */

static void l2_read_and_done(void)
{
	expect_page(read_v(), rv_read_cr3() == me()->root[0] ? 1 : 2, "L2 of two-asids");
	rv_svm_l2_done(0);
}

static void scenario_two_asids(void)
{
	for (unsigned round = 0; round < 4; round++) {
		struct rv_svm_l2_config cfg = {
			.entry = l2_read_and_done,
			.asid = 1 + round % 2,
			.cr3 = me()->root[round % 2],
		};

		run(&cfg, NULL, NULL);
	}
	expect_page(read_v(), 0, "L1 after two-asids");
}

/* ---- 2: TLB_CONTROL and INVLPGA after L1 changes L2's tables ---- */

static const u8 flush_kind[4] = { 3, 7, 1, 0 /* INVLPGA */ };

static bool remap_and_flush(struct rv_svm_l2 *l2, u64 code)
{
	unsigned round = (unsigned)l2->gprs.rbx;

	map_v(me()->root[0], round % 2 ? 1 : 3);
	vmcb_write(l2, VMCB_TLB_CONTROL, flush_kind[round % 4]);
	if (!flush_kind[round % 4])
		rv_invlpga(me()->v, 3);
	(void)code;
	return true;
}

static void l2_tlb_control(void)
{
	for (unsigned round = 0; round < 8; round++) {
		expect_page(read_v(), round % 2 ? 3 : 1, "tlb-control L2 before");
		rv_svm_call(1, round);
		expect_page(read_v(), round % 2 ? 1 : 3, "tlb-control L2 after L1's flush");
	}
	rv_svm_l2_done(0);
}

static void scenario_tlb_control(void)
{
	struct rv_svm_l2_config cfg = { .entry = l2_tlb_control, .asid = 3, .cr3 = me()->root[0] };

	map_v(me()->root[0], 1);
	run(&cfg, remap_and_flush, NULL);
}

/* ---- 3: nested page tables ---- */

static bool remap_npt(struct rv_svm_l2 *l2, u64 code)
{
	struct cpu_pages *p = me();
	u64 target = l2->gprs.rbx ? p->page[3] : p->page[1];

	*rv_npt_pte(p->second, p->page[1]) = target | RV_PTE_P | RV_PTE_W | RV_PTE_U;
	/* INVLPGA would not do: it names a guest-virtual page, and the
	 * nested (guest-physical) translation may stay cached. */
	vmcb_write(l2, VMCB_TLB_CONTROL, code == 20 ? 3 : code == 21 ? 1 : 0);
	return true;
}

static void l2_ncr3(void)
{
	u64 got;

	expect_page(read_v(), 1, "ncr3 L2 before");
	rv_svm_call(20, 1); /* nCR3: L2's page 1 now holds page 3; TLB_CONTROL 3 */
	expect_page(read_v(), 3, "ncr3 L2 after TLB_CONTROL 3");
	rv_svm_call(21, 0); /* back; TLB_CONTROL 1 */
	expect_page(read_v(), 1, "ncr3 L2 after TLB_CONTROL 1");
	rv_svm_call(22, 1); /* page 3 again, no flush: either is allowed */
	got = read_v();
	EXPECT(got == tag(rv_cpu_id(), 1) || got == tag(rv_cpu_id(), 3),
	       "ncr3 L2 without a flush read %#lx", got);
	rv_svm_call(20, 0); /* back, TLB_CONTROL 3 */
	expect_page(read_v(), 1, "ncr3 L2 at the end");
	rv_svm_l2_done(0);
}

static void scenario_ncr3(void)
{
	struct rv_svm_l2_config cfg = {
		.entry = l2_ncr3,
		.asid = 4,
		.cr3 = me()->root[0],
		.ncr3 = me()->second,
	};

	map_v(me()->root[0], 1);
	run(&cfg, remap_npt, NULL);
}

/* ---- 4: exits ---- */

static bool exits_handler(struct rv_svm_l2 *l2, u64 code)
{
	struct cpu_pages *p = me();

	switch (code) {
	case SVM_EXIT_HLT:
		rv_svm_skip_instruction(l2);
		l2->gprs.r12++;
		return true;
	case SVM_EXIT_EXCP_BASE + 6: /* #UD: UD2 is 2 bytes */
		vmcb_write(l2, VMCB_RIP, vmcb_read(l2, VMCB_RIP) + 2);
		l2->gprs.r13++;
		return true;
	case SVM_EXIT_MSR:
		EXPECT(l2->gprs.rcx == 0x8b && vmcb_read(l2, VMCB_EXITINFO1) == 0,
		       "MSR exit for %#lx", l2->gprs.rcx);
		vmcb_write(l2, VMCB_RAX, 0x5a5a);
		l2->gprs.rdx = 0;
		rv_svm_skip_instruction(l2);
		return true;
	case SVM_EXIT_NPF:
		EXPECT(vmcb_read(l2, VMCB_EXITINFO2) >> 12 == p->page[2] >> 12,
		       "nested page fault at %#lx", vmcb_read(l2, VMCB_EXITINFO2));
		EXPECT(vmcb_read(l2, VMCB_EXITINFO1) >> 32 == 1, "#NPF info1 %#lx",
		       vmcb_read(l2, VMCB_EXITINFO1));
		*rv_npt_pte(p->second, p->page[2]) = p->page[2] | RV_PTE_P | RV_PTE_W | RV_PTE_U;
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

	rv_cpuid(0x80000001u, 0, &a, &b, &c, &d);
	EXPECT(c & (1u << 2), "CPUID in L2 (emulated by L1) lacks SVM");
	rv_puts("nsvm: L2 prints through an I/O exit\n");
	__asm__ volatile(
		"xor %%r12, %%r12; xor %%r13, %%r13; hlt; ud2; mov %%r12, %0; mov %%r13, %1"
		: "=r"(r12), "=r"(r13)
		:
		: "r12", "r13", "memory");
	EXPECT(r12 == 1 && r13 == 1, "HLT/#UD exits seen %lu/%lu", r12, r13);
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x8b));
	EXPECT(lo == 0x5a5a && hi == 0, "RDMSR 0x8b in L2 read %#lx", lo);
	__asm__ volatile("xor %%r14, %%r14; mov (%2), %0; mov %%r14, %1"
			 : "=r"(lo), "=r"(r14)
			 : "r"(me()->page[2])
			 : "r14", "memory");
	EXPECT(r14 == 1 && lo == tag(rv_cpu_id(), 2), "#NPF exits %lu, read %#lx", r14, lo);
	rv_svm_l2_done(0);
}

static void scenario_exits(void)
{
	u8 *msrpm = rv_pages_alloc(2);
	struct rv_svm_l2_config cfg = {
		.entry = l2_exits,
		.asid = 5,
		.ncr3 = me()->second,
		.misc1 = SVM_MISC1_HLT | SVM_MISC1_IOIO,
		.exception_bitmap = 1u << 6,
		.msrpm = (u64)(uintptr_t)msrpm,
	};

	msrpm[0x8b * 2 / 8] |= 1u << (0x8b * 2 % 8); /* reads of MSR 0x8b */
	*rv_npt_pte(me()->second, me()->page[2]) = 0;
	run(&cfg, NULL, exits_handler);
}

/* ---- 5: VMEXIT_INVALID ---- */

static void l2_never(void)
{
	rv_svm_l2_done(1);
}

static void scenario_invalid(void)
{
	struct rv_svm_l2 l2 = { 0 };
	struct rv_svm_l2_config cfg = { .entry = l2_never, .asid = 0 };

	rv_svm_l2_init(&l2, &cfg);
	EXPECT(rv_svm_l2_step(&l2) == SVM_EXIT_INVALID, "VMRUN with ASID 0: exit %#lx",
	       vmcb_read(&l2, VMCB_EXITCODE));
	vmcb_write32(&l2, VMCB_ASID, 6);
	vmcb_write32(&l2, VMCB_INTERCEPT_MISC2, SVM_MISC2_VMMCALL);
	EXPECT(rv_svm_l2_step(&l2) == SVM_EXIT_INVALID, "VMRUN without its intercept: exit %#lx",
	       vmcb_read(&l2, VMCB_EXITCODE));
}

/* ---- 6: event injection ---- */

static void l2_report_injected(void)
{
	rv_svm_l2_done(injected_seen[rv_cpu_id()]);
}

static void scenario_inject(void)
{
	unsigned cpu = rv_cpu_id();
	struct rv_svm_l2 l2 = { 0 };
	struct rv_svm_l2_config cfg = {
		.entry = l2_report_injected,
		.asid = 9,
		.exception_bitmap = 1u << RV_VEC_GP,
	};
	u32 idt_limit;
	u64 status;

	injected_seen[cpu] = 0;
	rv_svm_l2_init(&l2, &cfg);
	vmcb_write(&l2, VMCB_EVENTINJ, EVENT(0, INJECT_IRQ));
	status = rv_svm_l2_run(&l2);
	EXPECT(status == INJECT_IRQ, "L2 saw %#lx, want the external interrupt %#x", status,
	       INJECT_IRQ);
	EXPECT(!(vmcb_read(&l2, VMCB_EVENTINJ) >> 31), "#VMEXIT left EVENTINJ valid");

	injected_seen[cpu] = 0;
	rv_svm_l2_init(&l2, &cfg);
	vmcb_write(&l2, VMCB_EVENTINJ, EVENT(3, RV_VEC_AC) | EVENT_ERROR | 0x5aull << 32);
	status = rv_svm_l2_run(&l2);
	EXPECT(status == (RV_VEC_AC | 0x5a << 16), "L2 saw %#lx, want #AC with error 0x5a", status);

	/* The gate lies beyond L2's IDT limit: #GP, intercepted, before L2's
	 * first instruction; L1 mends the limit and injects it again. */
	injected_seen[cpu] = 0;
	rv_svm_l2_init(&l2, &cfg);
	idt_limit = *(u32 *)(l2.vmcb + VMCB_IDTR_LIMIT);
	vmcb_write32(&l2, VMCB_IDTR_LIMIT, INJECT_IRQ * 16 - 1);
	vmcb_write(&l2, VMCB_EVENTINJ, EVENT(0, INJECT_IRQ));
	EXPECT(rv_svm_l2_step(&l2) == SVM_EXIT_EXCP_BASE + RV_VEC_GP,
	       "exit %#lx, want the #GP intercept", vmcb_read(&l2, VMCB_EXITCODE));
	EXPECT(vmcb_read(&l2, VMCB_EXITINFO1) == (INJECT_IRQ << 3 | 2),
	       "#GP error %#lx, want IDT entry %#x", vmcb_read(&l2, VMCB_EXITINFO1), INJECT_IRQ);
	EXPECT(vmcb_read(&l2, VMCB_EXITINTINFO) == EVENT(0, INJECT_IRQ),
	       "EXITINTINFO %#lx, want the injected event", vmcb_read(&l2, VMCB_EXITINTINFO));
	vmcb_write32(&l2, VMCB_IDTR_LIMIT, idt_limit);
	vmcb_write(&l2, VMCB_EVENTINJ, vmcb_read(&l2, VMCB_EXITINTINFO));
	status = rv_svm_l2_run(&l2);
	EXPECT(status == INJECT_IRQ, "L2 saw %#lx after the event was injected again", status);

	/* Software interrupts are not offered. */
	rv_svm_l2_init(&l2, &cfg);
	vmcb_write(&l2, VMCB_EVENTINJ, EVENT(4, 0x80));
	EXPECT(rv_svm_l2_step(&l2) == SVM_EXIT_INVALID, "VMRUN injecting INT 0x80: exit %#lx",
	       vmcb_read(&l2, VMCB_EXITCODE));
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	static struct rv_barrier ready;
	static void (*const scenarios[])(void) = {
		scenario_two_asids, scenario_tlb_control, scenario_ncr3,
		scenario_exits,	    scenario_invalid,	  scenario_inject,
	};

	if (cpu == 0) /* before setup_pages' barrier */
		set_injected_handlers();
	setup_pages(cpu, ncpus);
	rv_svm_on();
	pages_of[cpu].second = rv_npt_identity();
	for (unsigned r = 0; r < 3; r++)
		for (unsigned s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++)
			scenarios[s]();
	rv_barrier_wait(&ready);
	if (cpu == 0)
		rv_printf("nsvm: %u vCPUs ran 6 scenarios 3 times, L2 saw every change\n", ncpus);
	return 0;
}
