// SPDX-License-Identifier: MIT
/*
 * nsvm-shootdown: the shootdown workload one level down on SVM. Every vCPU
 * is an L1 mini-hypervisor (sdk/svm.c) that runs one L2 with shootdown's
 * rv_main; even vCPUs give it nested paging. Needs --nested on the svm
 * vendor.
 */
#define rv_main shootdown_main
#include "shootdown.c"
#undef rv_main

#include "svm.h"

int rv_main(unsigned cpu, unsigned ncpus);
int rv_main(unsigned cpu, unsigned ncpus)
{
	struct rv_svm_l2_config cfg = { .asid = 1 };

	(void)ncpus;
	rv_svm_on();
	if (cpu % 2 == 0)
		cfg.ncr3 = rv_npt_identity();
	return rv_svm_run_as_l2(shootdown_main, &cfg);
}
