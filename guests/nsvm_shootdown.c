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

static void l2_entry(void)
{
	rv_svm_l2_done((u64)shootdown_main(rv_cpu_id(), rv_ncpus));
}

int rv_main(unsigned cpu, unsigned ncpus);
int rv_main(unsigned cpu, unsigned ncpus)
{
	struct rv_svm_l2 l2 = { 0 };
	struct rv_svm_l2_config cfg = { .entry = l2_entry, .asid = 1 };

	(void)ncpus;
	rv_svm_on();
	if (cpu % 2 == 0)
		cfg.ncr3 = rv_npt_identity();
	rv_svm_l2_init(&l2, &cfg);
	return (int)rv_svm_l2_run(&l2);
}
