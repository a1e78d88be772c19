// SPDX-License-Identifier: MIT
/* What every machine built on the CPU reports the same way: the triple-fault
 * line and the CPU's statistics. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"

const char *rv_exception_name(int vector, char *buf, size_t len)
{
	static const char *const names[32] = {
		[0] = "#DE",  [1] = "#DB",  [3] = "#BP",  [4] = "#OF",	[5] = "#BR",  [6] = "#UD",
		[7] = "#NM",  [8] = "#DF",  [10] = "#TS", [11] = "#NP", [12] = "#SS", [13] = "#GP",
		[14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC", [19] = "#XM",
	};

	if (vector >= 0 && vector < 32 && names[vector])
		return names[vector];
	snprintf(buf, len, "vector %d", vector);
	return buf;
}

void rv_cpu_triple_fault_report(const struct rv_cpu *c, uint32_t vcpu, char *buf, size_t len)
{
	char chain[96] = "", name[16];

	for (int k = 0; k < c->chain_len; k++) {
		size_t n = strlen(chain);

		snprintf(chain + n, sizeof(chain) - n, "%s%s", k ? ", " : "",
			 rv_exception_name(c->chain[k], name, sizeof(name)));
	}
	snprintf(buf, len, "vCPU %u: triple fault at RIP %#" PRIx64 ", exceptions %s", vcpu, c->rip,
		 chain);
}

void rv_cpu_stats_json(const struct rv_cpu *c, FILE *out)
{
	uint8_t b[8];

	memcpy(b, &c->ud_opcode, sizeof(b));
	fprintf(out,
		"\"instructions\": %" PRIu64 ", \"icache_hits\": %" PRIu64
		", \"icache_misses\": %" PRIu64 ", \"unknown_instructions\": %" PRIu64,
		c->instructions, c->icache_hits, c->icache_misses, c->ud_count);
	if (c->ud_count)
		fprintf(out,
			", \"last_unknown_bytes\": \"%02x %02x %02x %02x %02x %02x %02x %02x\"",
			b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}
