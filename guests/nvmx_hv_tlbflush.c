// SPDX-License-Identifier: MIT
/*
 * nvmx-hv-tlbflush: the hv-tlbflush workload as L2 on VMX with Hyper-V
 * direct flush. Every vCPU is an L1 mini-hypervisor that keeps its L2's
 * VMCS as an enlightened VMCS with the flush enlightenment on (one L2 VM,
 * VP index = the vCPU's), so L0 handles L2's flush hypercalls itself, with
 * the L2 FIFOs. The vCPUs spread EPT12 and vmcs12 VPIDs as nvmx-shootdown
 * does. Needs --nested --hyperv on the vmx vendor.
 */
#define rv_main hv_tlbflush_main
#include "hv_tlbflush.c"
#undef rv_main

#include "vmx.h"

int rv_main(unsigned cpu, unsigned ncpus);
int rv_main(unsigned cpu, unsigned ncpus)
{
	struct rv_vmx_l2_config cfg = {
		.evmcs = true,
		.hv_direct_flush = true,
		.hv_vp_id = cpu,
		.hv_vm_id = 1,
	};

	(void)ncpus;
	rv_vmx_workload_config(cpu, &cfg);
	return rv_vmx_run_as_l2(hv_tlbflush_main, &cfg);
}
