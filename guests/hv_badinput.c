// SPDX-License-Identifier: MIT
/*
 * hv-badinput: the Hyper-V interface checked call by call (GUEST_ABI §6, §8).
 * vCPU 0 checks the CPUID leaves and the MSRs, that hypercalls fail with
 * status 2 until a guest OS ID is set, that every malformed flush call
 * returns status 3 and the guest runs on, and that well-formed calls return
 * status 0 with their reps completed. Other vCPUs wait. Needs --hyperv.
 */
#include "hyperv.h"

enum {
	CHECK_CPUID = 1,
	CHECK_MSR = 2,
	CHECK_STATUS = 3,
};

static u64 page_in_ram, input;
static struct rv_barrier done_point = RV_BARRIER_INIT(0);

static void expect(const char *what, u64 control, u64 gpa, u16 status, u32 reps)
{
	u64 rax = hv_call(control, gpa, 0);

	if (hv_status(rax) != status || (status == 0 && hv_reps(rax) != reps))
		rv_fail(CHECK_STATUS, "hv-badinput: %s: RAX %#lx, want status %u reps %u", what,
			rax, status, reps);
	rv_printf("hv-badinput: %-44s status %u\n", what, hv_status(rax));
}

static void check_cpuid(void)
{
	u32 a, b, c, d;

	if (!hv_present())
		rv_fail(RV_EXIT_NO_FEATURE, "hv-badinput: no Hyper-V flush hypercalls (--hyperv)");
	rv_cpuid(0x40000001u, 0, &a, &b, &c, &d);
	if (a != 0x31237648u) /* "Hv#1" */
		rv_fail(CHECK_CPUID, "hv-badinput: CPUID 0x40000001 EAX %#x, want Hv#1", a);
	rv_cpuid(0x40000003u, 0, &a, &b, &c, &d);
	if ((a & 0x60) != 0x60)
		rv_fail(CHECK_CPUID, "hv-badinput: CPUID 0x40000003 EAX %#x lacks the MSRs", a);
}

static void write_vp_index(void *arg)
{
	(void)arg;
	rv_wrmsr(HV_MSR_VP_INDEX, 5);
}

static void check_msrs(void)
{
	if (rv_rdmsr(HV_MSR_VP_INDEX) != 0)
		rv_fail(CHECK_MSR, "hv-badinput: VP index of vCPU 0 is %lu",
			rv_rdmsr(HV_MSR_VP_INDEX));
	if (rv_try(write_vp_index, NULL, NULL) != RV_VEC_GP)
		rv_fail(CHECK_MSR, "hv-badinput: writing the VP index did not #GP");
	/* The hypercall page cannot be enabled without a guest OS ID. */
	rv_wrmsr(HV_MSR_HYPERCALL, page_in_ram | 1);
	if (rv_rdmsr(HV_MSR_HYPERCALL) & 1)
		rv_fail(CHECK_MSR, "hv-badinput: hypercall page enabled without an OS ID");
}

/* A List input at @gpa: address space, flags, processor mask, then @n GVAs. */
static u64 list_input(u64 gpa, u64 flags, u64 mask, unsigned n)
{
	u64 *in = rv_phys(gpa);

	in[0] = 0;
	in[1] = flags;
	in[2] = mask;
	for (unsigned k = 0; k < n; k++)
		in[3 + k] = 0x200000ull + k * RV_PAGE_SIZE;
	return gpa;
}

/* An Ex input: address space, flags, VP set (@format, @banks), then @n GVAs. */
static u64 ex_input(u64 gpa, u64 format, u64 banks, unsigned n)
{
	u64 *in = rv_phys(gpa);
	unsigned nb = rv_popcount(banks);

	in[0] = 0;
	in[1] = 0;
	in[2] = format;
	in[3] = banks;
	for (unsigned b = 0; b < nb; b++)
		in[4 + b] = 1; /* vCPU 64b */
	for (unsigned k = 0; k < n; k++)
		in[4 + nb + k] = 0x200000ull + k * RV_PAGE_SIZE;
	return gpa;
}

static void malformed(void)
{
	u64 end_of_ram = rv_mem_end + (1ull << 40); /* far beyond RAM */

	expect("List, rep count 0", hv_control(HV_FLUSH_LIST, false, 0, 0, 0),
	       list_input(input, 0, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("List, rep start 1", hv_control(HV_FLUSH_LIST, false, 0, 2, 1),
	       list_input(input, 0, 1, 2), HV_STATUS_INVALID_INPUT, 0);
	expect("Space, rep count 1", hv_control(HV_FLUSH_SPACE, false, 0, 1, 0),
	       list_input(input, 0, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("List, variable header 1", hv_control(HV_FLUSH_LIST, false, 1, 1, 0),
	       list_input(input, 0, 1, 1), HV_STATUS_INVALID_INPUT, 0);
	expect("Space, variable header 2", hv_control(HV_FLUSH_SPACE, false, 2, 0, 0),
	       list_input(input, 0, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("SpaceEx, header 2 for 1 bank", hv_control(HV_FLUSH_SPACE_EX, false, 2, 0, 0),
	       ex_input(input, HV_SET_SPARSE, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("ListEx, header 0 for 2 banks", hv_control(HV_FLUSH_LIST_EX, false, 0, 1, 0),
	       ex_input(input, HV_SET_SPARSE, 3, 1), HV_STATUS_INVALID_INPUT, 0);
	expect("SpaceEx, VP set format 2", hv_control(HV_FLUSH_SPACE_EX, false, 1, 0, 0),
	       ex_input(input, 2, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("ListEx, rep count 0", hv_control(HV_FLUSH_LIST_EX, false, 1, 0, 0),
	       ex_input(input, HV_SET_SPARSE, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("Space, input outside RAM", hv_control(HV_FLUSH_SPACE, false, 0, 0, 0), end_of_ram,
	       HV_STATUS_INVALID_INPUT, 0);
	expect("Space, input crossing a page", hv_control(HV_FLUSH_SPACE, false, 0, 0, 0),
	       input + RV_PAGE_SIZE - 16, HV_STATUS_INVALID_INPUT, 0);
	expect("List, 600 reps crossing a page", hv_control(HV_FLUSH_LIST, false, 0, 600, 0),
	       list_input(input, 0, 1, 0), HV_STATUS_INVALID_INPUT, 0);
	expect("Space, fast (needs XMM input)", hv_control(HV_FLUSH_SPACE, true, 0, 0, 0), 0,
	       HV_STATUS_INVALID_INPUT, 0);
	expect("unknown call code 0x0001", hv_control(0x0001, false, 0, 0, 0), input,
	       HV_STATUS_INVALID_CODE, 0);
}

static void well_formed(void)
{
	expect("List of 3 to vCPU 0", hv_control(HV_FLUSH_LIST, false, 0, 3, 0),
	       list_input(input, 0, 1, 3), HV_STATUS_SUCCESS, 3);
	expect("List of 20 (flush-all), mask 0 = all", hv_control(HV_FLUSH_LIST, false, 0, 20, 0),
	       list_input(input, 0, 0, 20), HV_STATUS_SUCCESS, 20);
	expect("Space, all processors", hv_control(HV_FLUSH_SPACE, false, 0, 0, 0),
	       list_input(input, HV_FLUSH_ALL_PROCESSORS, 0, 0), HV_STATUS_SUCCESS, 0);
	expect("ListEx of 2, sparse set", hv_control(HV_FLUSH_LIST_EX, false, 1, 2, 0),
	       ex_input(input, HV_SET_SPARSE, 1, 2), HV_STATUS_SUCCESS, 2);
	expect("SpaceEx, banks past the last vCPU", hv_control(HV_FLUSH_SPACE_EX, false, 2, 0, 0),
	       ex_input(input, HV_SET_SPARSE, 1ull << 63 | 1, 0), HV_STATUS_SUCCESS, 0);
	expect("SpaceEx, format all", hv_control(HV_FLUSH_SPACE_EX, false, 0, 0, 0),
	       ex_input(input, HV_SET_ALL, 0, 0), HV_STATUS_SUCCESS, 0);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	(void)ncpus;
	if (cpu == 0) {
		page_in_ram = (u64)(uintptr_t)rv_page_alloc();
		input = (u64)(uintptr_t)rv_page_alloc();
		check_cpuid();
		check_msrs();
		/* With the guest OS ID back at 0, even a good call is refused
		 * (the stub stays in the page). */
		hv_enable(page_in_ram);
		rv_wrmsr(HV_MSR_GUEST_OS_ID, 0);
		expect("a good call without a guest OS ID",
		       hv_control(HV_FLUSH_SPACE, false, 0, 0, 0),
		       list_input(input, HV_FLUSH_ALL_PROCESSORS, 0, 0), HV_STATUS_INVALID_CODE, 0);
		rv_wrmsr(HV_MSR_GUEST_OS_ID, 0x8100000000000000ull);
		rv_wrmsr(HV_MSR_HYPERCALL, page_in_ram | 1);
		malformed();
		well_formed();
		rv_printf("hv-badinput: every malformed call refused, every good one done\n");
	}
	rv_barrier_wait(&done_point);
	return 0;
}
