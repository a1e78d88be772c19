// SPDX-License-Identifier: MIT
/*
 * hello: every vCPU prints its index; once all have, vCPU 0 exits 0.
 *
 * The barrier is what makes "all have printed" true: a vCPU reaches it only
 * after its line went out through port 0xE9, and vCPU 0 leaves it only when
 * every vCPU has arrived.
 */
#include "rv.h"

enum {
	CHECK_INDEX = 1, /* RDI at entry is not the x2APIC ID */
};

static struct rv_barrier all_printed = RV_BARRIER_INIT(0);

int rv_main(unsigned cpu, unsigned ncpus)
{
	unsigned apic_id = rv_cpu_id();

	if (apic_id != cpu)
		rv_fail(CHECK_INDEX, "hello: started as vCPU %u but the x2APIC ID is %u", cpu,
			apic_id);
	rv_printf("hello from vCPU %u of %u\n", cpu, ncpus);
	rv_barrier_wait(&all_printed);
	if (cpu == 0)
		rv_printf("hello: all %u vCPUs printed\n", ncpus);
	return 0;
}
