// SPDX-License-Identifier: MIT
/* Hyper-V detection, the hypercall page, and calls through it. */
#include "hyperv.h"

static u64 hypercall_page;

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
