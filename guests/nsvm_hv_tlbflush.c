// SPDX-License-Identifier: MIT
/*
 * nsvm-hv-tlbflush: the hv-tlbflush workload as L2 on SVM with Hyper-V
 * direct flush. Every vCPU is an L1 mini-hypervisor that runs one L2 with
 * the VMCB's enlightenments on (one L2 VM, VP index = the vCPU's), so L0
 * handles L2's flush hypercalls itself, with the L2 FIFOs; even vCPUs give
 * their L2 nested paging. Needs --nested --hyperv on the svm vendor.
 */
#define rv_main hv_tlbflush_main
#include "hv_tlbflush.c"
#undef rv_main

#include "svm.h"

int rv_main(unsigned cpu, unsigned ncpus);
int rv_main(unsigned cpu, unsigned ncpus)
{
	struct rv_svm_l2_config cfg = {
		.asid = 1,
		.hv_direct_flush = true,
		.hv_vp_id = cpu,
		.hv_vm_id = 1,
	};

	(void)ncpus;
	rv_svm_on();
	if (cpu % 2 == 0)
		cfg.ncr3 = rv_npt_identity();
	return rv_svm_run_as_l2(hv_tlbflush_main, &cfg);
}
