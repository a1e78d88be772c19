// SPDX-License-Identifier: MIT
/*
 * From crt0 to rv_main(): vCPU 0 sets up what the SDK shares (the page
 * allocator, the IDT, the per-vCPU data) while the others wait for it; then
 * every vCPU loads the IDT and enters the guest. Also exit, failure, CPUID
 * features, per-vCPU data and the barrier.
 */
#include "internal.h"

unsigned rv_ncpus;
u64 rv_mem_end;
u64 rv_boot_cr3;

static u32 sdk_ready;
static struct rv_cpu_local *cpu_locals;

static void sdk_init(unsigned ncpus, u64 mem_end)
{
	u64 size = (u64)ncpus * sizeof(struct rv_cpu_local);

	rv_ncpus = ncpus;
	rv_mem_end = mem_end;
	rv_boot_cr3 = rv_read_cr3();
	rv_page_init();
	rv_idt_init();
	cpu_locals = rv_pages_alloc((size + RV_PAGE_SIZE - 1) / RV_PAGE_SIZE);
}

void _rv_start(u64 cpu, u64 ncpus, u64 mem_end)
{
	int status;

	if (cpu == 0) {
		sdk_init(ncpus, mem_end);
		rv_store_release(&sdk_ready, 1);
	} else {
		while (!rv_load_acquire(&sdk_ready))
			rv_pause();
	}
	rv_idt_load();
	status = rv_main(cpu, ncpus);
	if (cpu == 0 || status)
		rv_exit(status);
	rv_halt_forever();
}

void rv_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

void rv_exit(u32 status)
{
	rv_outl(RV_PORT_EXIT, status);
	/* The VM stops at the write; nothing after it may run meanwhile. */
	rv_halt_forever();
}

void rv_fail(u32 code, const char *fmt, ...)
{
	va_list ap;

	rv_printf("FAIL %u (vCPU %u): ", code, rv_cpu_id());
	va_start(ap, fmt);
	rv_vprintf(fmt, ap);
	va_end(ap);
	rv_putc('\n');
	rv_exit(code);
}

bool rv_has_feature(int feature)
{
	u32 a, b, c, d;

	switch (feature) {
	case RV_FEAT_PCID:
	case RV_FEAT_X2APIC:
		rv_cpuid(1, 0, &a, &b, &c, &d);
		return c & (feature == RV_FEAT_PCID ? 1u << 17 : 1u << 21);
	case RV_FEAT_INVPCID:
		rv_cpuid(0, 0, &a, &b, &c, &d);
		if (a < 7)
			return false;
		rv_cpuid(7, 0, &a, &b, &c, &d);
		return b & (1u << 10);
	}
	return false;
}

void rv_require_feature(int feature)
{
	static const char *const names[] = {
		[RV_FEAT_PCID] = "PCID",
		[RV_FEAT_X2APIC] = "x2APIC",
		[RV_FEAT_INVPCID] = "INVPCID",
	};

	if (!rv_has_feature(feature))
		rv_fail(RV_EXIT_NO_FEATURE, "CPUID does not report %s", names[feature]);
}

unsigned rv_cpu_id(void)
{
	return (u32)rv_rdmsr(RV_MSR_X2APIC_ID);
}

struct rv_cpu_local *rv_cpu_local(void)
{
	unsigned cpu = rv_cpu_id();

	if (cpu >= rv_ncpus)
		rv_fail(RV_EXIT_TOO_MANY_CPUS, "x2APIC ID %u is not below the %u vCPUs", cpu,
			rv_ncpus);
	return &cpu_locals[cpu];
}

void rv_set_local(void *p)
{
	rv_cpu_local()->user = p;
}

void *rv_local(void)
{
	return rv_cpu_local()->user;
}

void rv_barrier_wait(struct rv_barrier *b)
{
	u32 total = b->count ? b->count : rv_ncpus;
	u32 gen = rv_load_acquire(&b->generation);

	if (rv_fetch_add(&b->waiting, 1) + 1 == total) {
		/* Reset before the release: a vCPU that leaves may come straight back. */
		rv_write_once(b->waiting, 0);
		rv_store_release(&b->generation, gen + 1);
		return;
	}
	while (rv_load_acquire(&b->generation) == gen)
		rv_pause();
}
