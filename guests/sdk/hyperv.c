// SPDX-License-Identifier: MIT
/* Hyper-V detection, the hypercall page, and calls through it. */
#include "hyperv.h"

static u64 hypercall_page;

/* One VP assist page per vCPU (GUEST_ABI: at most 1024 vCPUs). */
static u8 *vp_assist[1024];

bool hv_present(void)
{
	u32 a, b, c, d;

	rv_cpuid(0x40000000u, 0, &a, &b, &c, &d);
	if (a < 0x40000005u || b != 0x7263694du || c != 0x666f736fu || d != 0x76482074u)
		return false; /* not "Microsoft Hv" */
	rv_cpuid(0x40000004u, 0, &a, &b, &c, &d);
	return (a & (1u << 2)) && (a & (1u << 11));
}

void hv_enable(u64 page)
{
	rv_wrmsr(HV_MSR_GUEST_OS_ID, 0x8100000000000000ull); /* an open-source OS */
	rv_wrmsr(HV_MSR_HYPERCALL, page | 1);
	hypercall_page = page;
}

u8 *hv_vp_assist(void)
{
	unsigned cpu = rv_cpu_id();

	if (!vp_assist[cpu]) {
		vp_assist[cpu] = rv_page_alloc();
		rv_wrmsr(HV_MSR_VP_ASSIST, (u64)(uintptr_t)vp_assist[cpu] | 1);
	}
	return vp_assist[cpu];
}

u64 hv_call(u64 control, u64 input, u64 output)
{
	register u64 r8 asm("r8") = output;
	u64 rax;

	asm volatile("call *%[page]"
		     : "=a"(rax), "+c"(control), "+d"(input), "+r"(r8)
		     : [page] "r"(hypercall_page)
		     : "memory", "r9", "r10", "r11");
	return rax;
}

u64 hv_mask_all_but(unsigned cpu, unsigned ncpus)
{
	if (ncpus > 64)
		return 0;
	return ((ncpus == 64 ? 0 : 1ull << ncpus) - 1) & ~(1ull << cpu);
}

u32 hv_set_all_but(u64 *set, unsigned cpu, unsigned ncpus)
{
	u32 banks = (ncpus + 63) / 64;

	set[0] = HV_SET_SPARSE;
	set[1] = banks == 64 ? ~0ull : (1ull << banks) - 1;
	for (u32 b = 0; b < banks; b++) {
		u32 in_bank = ncpus - b * 64 < 64 ? ncpus - b * 64 : 64;

		set[2 + b] = in_bank == 64 ? ~0ull : (1ull << in_bank) - 1;
		if (cpu / 64 == b)
			set[2 + b] &= ~(1ull << (cpu % 64));
	}
	return banks;
}
