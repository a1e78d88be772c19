// SPDX-License-Identifier: MIT
/*
 * hostile: a guest that attacks the hypervisor and checks that every attack
 * comes back to it as an architectural result, never as a host failure.
 * Needs --hyperv and at least 2 vCPUs.
 *
 * - Wild GPAs: flush hypercalls whose input lies past RAM, past
 *   MAXPHYADDR, at 2^64 - 8 (an address whose end wraps) and across the
 *   end of RAM return status 3; a hypercall page or VP assist page past
 *   RAM is #GP.
 * - Page tables outside RAM: a PML4 entry pointing past RAM reads its next
 *   table as all ones, a reserved-bit #PF; a leaf pointing past RAM reads
 *   all ones, drops writes, and its code is FF FF..., #UD (GUEST_ABI
 *   Additions).
 * - Page tables that loop: a PML4 entry pointing at its own PML4 (the
 *   recursive mapping) shows the paging structures as pages, and a PDPT
 *   entry pointing back at the PML4 shifts every table down a level; a walk
 *   still ends after four levels.
 * - IPI floods: every vCPU sends thousands of IPIs to all the others at once,
 *   to APIC IDs that do not exist and with delivery modes reqvisor ignores;
 *   ten thousand self-IPIs with interrupts off are one interrupt after STI.
 * - 4096 pending requests: vCPU 0 makes 4096 flush hypercalls at vCPU 1
 *   while it sleeps, having remapped a page vCPU 1 has cached; each returns
 *   success and vCPU 1, woken, reads the new mapping.
 */
#include "hyperv.h"

#define VEC_FLOOD 0x50
#define VEC_WAKE  0x51
#define VEC_SELF  0x52
#define MAX_VCPUS 4096
#define SELF_SLOT 200ull /* the recursive PML4 entry */
#define LOOP_SLOT 203ull /* a PML4 entry whose PDPT points back at the PML4 */
#define COPY_SLOT 202ull /* written through the recursive mapping */
#define WILD_SLOT 3ull	 /* a PML4 entry pointing past RAM */
#define FLOOD	  3000u
#define SELF_IPIS 10000u
#define PENDING	  4096u
#define FAR_GPA	  (1ull << 40) /* within MAXPHYADDR (52), far past any RAM */

enum {
	CHECK_WILD_GPA = 1,
	CHECK_OUTSIDE = 2,
	CHECK_LOOP = 3,
	CHECK_FLOOD = 4,
	CHECK_PENDING = 5,
};

static u64 root, input;
static u64 received[MAX_VCPUS], self_received[MAX_VCPUS];
static volatile u64 alias_probe;
static volatile u64 flood_sent;
static u64 *volatile target_page;
static volatile u64 pending_va, pending_want;
static volatile bool pending_go;
static struct rv_barrier step = RV_BARRIER_INIT(0);

static u64 slot_va(u64 l4, u64 l3, u64 l2, u64 l1)
{
	return l4 << 39 | l3 << 30 | l2 << 21 | l1 << 12;
}

/* ---- wild GPAs ---- */

static void expect_status(const char *what, u64 control, u64 gpa, u16 status)
{
	u64 rax = hv_call(control, gpa, 0);

	if (hv_status(rax) != status)
		rv_fail(CHECK_WILD_GPA, "hostile: %s: RAX %#lx, want status %u", what, rax, status);
}

static void enable_far_page(void *arg)
{
	(void)arg;
	rv_wrmsr(HV_MSR_HYPERCALL, FAR_GPA | 1);
}

static void enable_far_assist(void *arg)
{
	(void)arg;
	rv_wrmsr(HV_MSR_VP_ASSIST, FAR_GPA | 1);
}

static void wild_gpas(void)
{
	u64 space = hv_control(HV_FLUSH_SPACE, false, 0, 0, 0);
	u64 list = hv_control(HV_FLUSH_LIST, false, 0, 4095, 0);
	u64 ram = rv_ram_size();
	const u64 gpas[] = { ram, FAR_GPA, 1ull << 52, 1ull << 63, ~0ull & ~7ull, ~0ull, ram - 8 };

	for (unsigned i = 0; i < RV_ARRAY_SIZE(gpas); i++) {
		expect_status("Space, wild input", space, gpas[i], HV_STATUS_INVALID_INPUT);
		expect_status("List of 4095, wild input", list, gpas[i], HV_STATUS_INVALID_INPUT);
	}
	/* 4095 GVAs from a page's start cross into the next page. */
	expect_status("List of 4095 in RAM", list, input, HV_STATUS_INVALID_INPUT);
	if (rv_try(enable_far_page, NULL, NULL) != RV_VEC_GP)
		rv_fail(CHECK_WILD_GPA, "hostile: a hypercall page past RAM did not #GP");
	if (rv_try(enable_far_assist, NULL, NULL) != RV_VEC_GP)
		rv_fail(CHECK_WILD_GPA, "hostile: a VP assist page past RAM did not #GP");
	rv_printf("hostile: wild GPAs: %u inputs refused with status 3; far hypercall and VP "
		  "assist pages #GP\n",
		  (unsigned)RV_ARRAY_SIZE(gpas) * 2 + 1);
}

/* ---- page tables outside RAM ---- */

static void read_u64(void *arg)
{
	u64 *p = arg;

	*p = rv_read_once(*(volatile u64 *)rv_phys(*p));
}

static void outside_ram(void)
{
	u64 *pml4 = rv_phys(root);
	u64 va = slot_va(WILD_SLOT, 0, 0, 0) + 0x18, leaf = slot_va(WILD_SLOT + 1, 0, 0, 0);
	struct rv_trap_info info;
	u64 v = va;

	pml4[WILD_SLOT] = FAR_GPA | RV_PTE_P | RV_PTE_W;
	rv_invlpg(va);
	if (rv_try(read_u64, &v, &info) != RV_VEC_PF || info.cr2 != va ||
	    info.error != (RV_PF_P | RV_PF_RSVD))
		rv_fail(CHECK_OUTSIDE,
			"hostile: a PML4 entry past RAM: vector %u error %#lx CR2 %#lx",
			info.vector, info.error, info.cr2);
	pml4[WILD_SLOT] = 0;
	rv_invlpg(va);

	rv_pt_map(root, leaf, FAR_GPA, RV_PTE_W | RV_PTE_NX);
	rv_invlpg(leaf);
	*(volatile u64 *)rv_phys(leaf + 8) = 0x1234;
	if (rv_read_once(*(volatile u64 *)rv_phys(leaf + 8)) != ~0ull)
		rv_fail(CHECK_OUTSIDE, "hostile: memory past RAM read %#lx, want all ones",
			rv_read_once(*(volatile u64 *)rv_phys(leaf + 8)));
	rv_pt_protect(root, leaf, RV_PTE_P | RV_PTE_W);
	rv_invlpg(leaf);
	if (rv_try((void (*)(void *))rv_phys(leaf), NULL, &info) != RV_VEC_UD)
		rv_fail(CHECK_OUTSIDE, "hostile: code past RAM ran (vector %u), want #UD",
			info.vector);
	rv_pt_unmap(root, leaf);
	rv_invlpg(leaf);
	rv_printf("hostile: tables outside RAM: reserved-bit #PF, all ones, writes dropped, "
		  "code #UD\n");
}

/* ---- page tables that loop ---- */

static u64 peek(u64 va)
{
	return rv_read_once(*(volatile u64 *)rv_phys(va));
}

static void loops(void)
{
	u64 *pml4 = rv_phys(root), *pdpt0 = rv_phys(pml4[0] & RV_PTE_ADDR);
	u64 *loop_pdpt = rv_page_alloc();
	u64 self = slot_va(SELF_SLOT, SELF_SLOT, SELF_SLOT, SELF_SLOT);
	u64 marker = (u64)(uintptr_t)&alias_probe;

	pml4[SELF_SLOT] = root | RV_PTE_P | RV_PTE_W;
	for (unsigned k = 0; k < 512; k++)
		if ((peek(self + k * 8) & ~(RV_PTE_A | RV_PTE_D)) !=
		    (pml4[k] & ~(RV_PTE_A | RV_PTE_D)))
			rv_fail(CHECK_LOOP,
				"hostile: the recursive map shows PML4[%u] as %#lx, not %#lx", k,
				peek(self + k * 8), pml4[k]);
	/* Three levels of the loop, then PML4[0] as a PTE: slot 0's PDPT. */
	for (unsigned k = 0; k < 512; k += 37)
		if (peek(slot_va(SELF_SLOT, SELF_SLOT, SELF_SLOT, 0) + k * 8) != pdpt0[k])
			rv_fail(CHECK_LOOP, "hostile: the recursive map shows PDPT[%u] wrong", k);
	/* Write a PML4 entry through the map; the new slot aliases slot 0. */
	*(volatile u64 *)rv_phys(self + COPY_SLOT * 8) = pml4[0];
	rv_invlpg(slot_va(COPY_SLOT, 0, 0, 0) + marker);
	alias_probe = 0x600d;
	if (peek(slot_va(COPY_SLOT, 0, 0, 0) + marker) != 0x600d)
		rv_fail(CHECK_LOOP, "hostile: a PML4 entry written through the recursive map");

	/* A PDPT entry back at the PML4: PML4[0] is read as a PD, slot 0's
	 * PDPT as a page table, and its first PD as the page. */
	loop_pdpt[0] = root | RV_PTE_P | RV_PTE_W;
	pml4[LOOP_SLOT] = (u64)(uintptr_t)loop_pdpt | RV_PTE_P | RV_PTE_W;
	u64 *pd0 = rv_phys(pdpt0[0] & RV_PTE_ADDR);

	for (unsigned k = 0; k < 512; k += 41)
		if ((peek(slot_va(LOOP_SLOT, 0, 0, 0) + k * 8) & ~(RV_PTE_A | RV_PTE_D)) !=
		    (pd0[k] & ~(RV_PTE_A | RV_PTE_D)))
			rv_fail(CHECK_LOOP, "hostile: the cross-level loop shows PD[%u] wrong", k);
	pml4[SELF_SLOT] = pml4[COPY_SLOT] = pml4[LOOP_SLOT] = 0;
	rv_write_cr3(root);
	rv_printf("hostile: looping tables: recursive map read and written, a cross-level "
		  "loop walked\n");
}

/* ---- IPI floods ---- */

static void count_ipi(unsigned vector, u64 error, struct rv_frame *f)
{
	(void)vector, (void)error, (void)f;
	rv_fetch_add(&received[rv_cpu_id()], 1);
	rv_apic_eoi();
}

static void count_self_ipi(unsigned vector, u64 error, struct rv_frame *f)
{
	(void)vector, (void)error, (void)f;
	self_received[rv_cpu_id()]++;
	rv_apic_eoi();
}

static void wake(unsigned vector, u64 error, struct rv_frame *f)
{
	(void)vector, (void)error, (void)f;
	rv_apic_eoi();
}

static void flood(unsigned cpu, unsigned ncpus)
{
	u64 before;

	rv_barrier_wait(&step);
	rv_irq_enable();
	for (unsigned i = 0; i < FLOOD; i++) {
		rv_send_ipi_shorthand(RV_ICR_ALL_BUT_SELF, VEC_FLOOD);
		if (i % 64 == 0) {
			rv_send_ipi(0xfffff0u + i, VEC_FLOOD); /* no such APIC ID */
			rv_wrmsr(RV_MSR_X2APIC_ICR,
				 (u64)cpu << 32 | 5ull << 8 | VEC_FLOOD); /* INIT */
		}
	}
	rv_fetch_add(&flood_sent, FLOOD);
	while (rv_load_acquire(&flood_sent) < (u64)FLOOD * ncpus)
		rv_pause();
	rv_barrier_wait(&step);
	/* Every vCPU took its share, and no more than was sent to it. */
	if (!received[cpu] || received[cpu] > (u64)FLOOD * (ncpus - 1))
		rv_fail(CHECK_FLOOD, "hostile: vCPU %u took %lu flood IPIs of %lu sent to it", cpu,
			received[cpu], (u64)FLOOD * (ncpus - 1));
	rv_irq_disable();
	before = rv_read_once(self_received[cpu]);
	for (unsigned i = 0; i < SELF_IPIS; i++)
		rv_send_ipi_shorthand(RV_ICR_SELF, VEC_SELF);
	rv_irq_enable();
	for (int i = 0; i < 100; i++)
		rv_pause();
	rv_irq_disable();
	if (rv_read_once(self_received[cpu]) - before != 1)
		rv_fail(CHECK_FLOOD, "hostile: %u self-IPIs with IF=0 were %lu interrupts, want 1",
			SELF_IPIS, rv_read_once(self_received[cpu]) - before);
	rv_barrier_wait(&step);
	if (cpu == 0)
		rv_printf("hostile: IPI floods: %u vCPUs sent %u IPIs each, %u self-IPIs with IF=0 "
			  "were one interrupt\n",
			  ncpus, FLOOD, SELF_IPIS);
}

/* ---- 4096 pending requests ---- */

static void pending_sender(void)
{
	u64 *a = rv_page_alloc(), *b = rv_page_alloc();
	u64 list = hv_control(HV_FLUSH_LIST, false, 0, 1, 0);
	u64 space = hv_control(HV_FLUSH_SPACE, false, 0, 0, 0);
	u64 *in = rv_phys(input);

	*a = 0xa;
	*b = 0xb;
	pending_va = slot_va(5, 0, 0, 0);
	rv_pt_map(rv_boot_cr3, pending_va, (u64)(uintptr_t)a, RV_PTE_W | RV_PTE_NX);
	pending_want = 0xa;
	rv_store_release(&pending_go, true); /* vCPU 1 caches A, then sleeps */
	while (rv_load_acquire(&pending_go))
		rv_pause();
	rv_pt_map(rv_boot_cr3, pending_va, (u64)(uintptr_t)b, RV_PTE_W | RV_PTE_NX);
	rv_invlpg(pending_va);
	in[0] = 0;
	in[1] = 0;
	in[2] = 1ull << 1; /* vCPU 1 */
	for (unsigned i = 0; i < PENDING; i++) {
		u64 rax;

		in[3] = i == PENDING / 2
				? pending_va
				: slot_va(6, 0, 0, i % 512) + (u64)(i / 512) * (1ull << 30);
		rax = hv_call(i % 8 == 7 ? space : list, input, 0);
		if (hv_status(rax) != HV_STATUS_SUCCESS)
			rv_fail(CHECK_PENDING,
				"hostile: flush %u of %u at a sleeping vCPU: RAX %#lx", i, PENDING,
				rax);
	}
	pending_want = 0xb;
	rv_send_ipi(1, VEC_WAKE);
}

static void pending_sleeper(void)
{
	while (!rv_load_acquire(&pending_go))
		rv_pause();
	if (peek(pending_va) != 0xa)
		rv_fail(CHECK_PENDING, "hostile: vCPU 1 read %#lx before the remap",
			peek(pending_va));
	rv_store_release(&pending_go, false);
	while (rv_read_once(pending_want) != 0xb)
		rv_wait_for_interrupt();
	if (peek(pending_va) != 0xb)
		rv_fail(CHECK_PENDING, "hostile: after %u flushes vCPU 1 read %#lx, want 0xb",
			PENDING, peek(pending_va));
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	if (ncpus < 2 || ncpus > MAX_VCPUS || !hv_present())
		rv_fail(RV_EXIT_NO_FEATURE, "hostile: needs --hyperv and at least 2 vCPUs");
	if (cpu == 0) {
		hv_enable((u64)(uintptr_t)rv_page_alloc());
		input = (u64)(uintptr_t)rv_page_alloc();
		root = rv_pt_clone(rv_boot_cr3);
		rv_set_handler(VEC_FLOOD, count_ipi);
		rv_set_handler(VEC_WAKE, wake);
		rv_set_handler(VEC_SELF, count_self_ipi);
		rv_write_cr3(root);
		wild_gpas();
		outside_ram();
		loops();
		rv_write_cr3(rv_boot_cr3);
	}
	flood(cpu, ncpus);
	if (cpu == 0)
		pending_sender();
	else if (cpu == 1)
		pending_sleeper();
	rv_barrier_wait(&step);
	if (cpu == 0)
		rv_printf(
			"hostile: %u flushes at a sleeping vCPU returned success, and it read the "
			"new mapping\nhostile: every attack contained\n",
			PENDING);
	return 0;
}
