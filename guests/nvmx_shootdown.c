// SPDX-License-Identifier: MIT
/*
 * nvmx-shootdown: the shootdown workload one level down. Every vCPU is an L1
 * mini-hypervisor (sdk/vmx.c) that launches one L2 running shootdown's
 * rv_main; L2 changes its page tables and shoots down the other vCPUs' TLBs
 * with IPIs, all in L2. The vCPUs cover the configurations between them
 * (rv_vmx_workload_config): L2 with EPT12 on even vCPUs, and with a vmcs12
 * VPID on vCPUs 0 and 1 of every 4. Needs --nested on the vmx vendor.
 */
#define rv_main shootdown_main
#include "shootdown.c"
#undef rv_main

#include "vmx.h"

int rv_main(unsigned cpu, unsigned ncpus);
int rv_main(unsigned cpu, unsigned ncpus)
{
	struct rv_vmx_l2_config cfg = { 0 };

	(void)ncpus;
	rv_vmx_workload_config(cpu, &cfg);
	return rv_vmx_run_as_l2(shootdown_main, &cfg);
}
