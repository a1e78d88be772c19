// SPDX-License-Identifier: MIT
/*
 * nested-bench (reqvisor-bench nested): one vCPU, an L1 mini-hypervisor for
 * whichever of VMX and SVM CPUID reports, and one L2 that reads .rvconfig
 * pages, then calls L1 (VMCALL/VMMCALL), .rvconfig rounds times: each round
 * is a VM exit and a VM entry, and after a flush the reads walk again.
 * .rvconfig seed chooses L2's configuration: bit 0 a vmcs12 VPID (VMX; on
 * SVM L2 always has an ASID), bit 1 EPT12 or nested paging.
 */
#include "svm.h"
#include "vmx.h"

RV_CONFIG(1000, 16, 0);

static u8 *pages;
static u32 rounds, nr_pages;

static void l2_loop(bool svm)
{
	u64 sum = 0;

	for (u32 r = 0; r < rounds; r++) {
		for (u32 i = 0; i < nr_pages; i++)
			sum += *(volatile u64 *)(pages + (u64)i * RV_PAGE_SIZE);
		if (svm)
			rv_svm_call(1, 0);
		else
			rv_vmx_call(1, 0);
	}
	(void)sum;
}

static void l2_vmx(void)
{
	l2_loop(false);
	rv_vmx_l2_done(0);
}

static void l2_svm(void)
{
	l2_loop(true);
	rv_svm_l2_done(0);
}

static bool vmx_resume(struct rv_vmx_l2 *l2, u64 code)
{
	(void)l2;
	(void)code;
	return true;
}

static bool svm_resume(struct rv_svm_l2 *l2, u64 code)
{
	(void)l2;
	(void)code;
	return true;
}

static struct rv_vmx_l2 vmx_l2 = { .on_call = vmx_resume };
static struct rv_svm_l2 svm_l2 = { .on_call = svm_resume };

/* Everything before the first entry, which the timing leaves out. */
static void set_up(bool svm, u64 variant)
{
	struct rv_vmx_l2_config vc = { .entry = l2_vmx, .vpid = variant & 1 ? 1 : 0 };
	struct rv_svm_l2_config sc = { .entry = l2_svm, .asid = 1 };

	if (svm) {
		rv_svm_on();
		if (variant & 2)
			sc.ncr3 = rv_npt_identity();
		rv_svm_l2_init(&svm_l2, &sc);
		return;
	}
	rv_vmx_on();
	if (variant & 2)
		vc.eptp = rv_ept_identity();
	rv_vmx_l2_init(&vmx_l2, &vc);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	u64 t0, t1, status;
	bool svm;

	(void)ncpus;
	if (cpu)
		return 0;
	rv_config_check();
	if (!rv_config.rounds || rv_config.rounds > 1000000 || !rv_config.pages ||
	    rv_config.pages > 4096)
		rv_fail(RV_EXIT_BAD_CONFIG, ".rvconfig: rounds %lu, pages %lu out of range",
			rv_config.rounds, rv_config.pages);
	rounds = (u32)rv_config.rounds;
	nr_pages = (u32)rv_config.pages;
	pages = rv_pages_alloc(nr_pages);
	for (u32 i = 0; i < nr_pages; i++)
		pages[(u64)i * RV_PAGE_SIZE] = (u8)i;
	svm = !rv_vmx_available();
	set_up(svm, rv_config.seed);
	t0 = rv_rdtsc();
	status = svm ? rv_svm_l2_run(&svm_l2) : rv_vmx_l2_run(&vmx_l2);
	t1 = rv_rdtsc();
	rv_printf("nested-bench: %u rounds of %u pages in L2 took %lu ticks\n", rounds, nr_pages,
		  t1 - t0);
	return (int)status;
}
