// SPDX-License-Identifier: MIT
/* The generated parts of docs/: each list in include/reqvisor/ as a table. */
#include <string.h>

#include "doc_tables.h"
#include "reqvisor/fault.h"
#include "reqvisor/request.h"
#include "reqvisor/vcpu.h"

static const char *flag_text(unsigned flags)
{
	static char buf[64];

	buf[0] = '\0';
	if (flags & RV_REQ_WAIT)
		strcat(buf, "WAIT");
	if (flags & RV_REQ_NO_WAKEUP)
		strcat(buf, buf[0] ? " \\| NO_WAKEUP" : "NO_WAKEUP");
	return buf[0] ? buf : "—";
}

static void write_requests(FILE *out)
{
	fprintf(out, "| bit | request | flags | wakes a halted vCPU | meaning |\n");
	fprintf(out, "|---:|---|---|---|---|\n");
#define RV_REQUEST(name, flags, meaning)                                                           \
	fprintf(out, "| %d | `%s` | %s | %s | %s |\n", RV_REQ_BIT_##name, #name, flag_text(flags), \
		((flags)&RV_REQ_NO_WAKEUP) ? "no" : "yes", meaning);
#include "reqvisor/requests.def"
#undef RV_REQUEST
}

static void write_faults(FILE *out)
{
	fprintf(out, "| point | class | what it does |\n");
	fprintf(out, "|---|---|---|\n");
#define RV_FAULT_POINT(id, name, cls, meaning)     \
	fprintf(out, "| `%s` | %s | %s |\n", name, \
		(cls) == RV_FAULT_BENIGN ? "benign" : "breaking", meaning);
#include "reqvisor/faults.def"
#undef RV_FAULT_POINT
}

static void write_stats(FILE *out)
{
	fprintf(out, "| counter | meaning |\n");
	fprintf(out, "|---|---|\n");
#define RV_STAT(name, meaning) fprintf(out, "| `%s` | %s |\n", #name, meaning);
#include "reqvisor/stats.def"
#undef RV_STAT
}

static void opcode_bytes(unsigned index, char *buf, size_t len)
{
	static const char *const map[] = { "", "0F ", "0F 38 " };

	snprintf(buf, len, "%s%02X", map[index >> 8], index & 0xff);
}

static void write_instructions(FILE *out)
{
	char op[16];

	fprintf(out, "| opcode | instruction and operand forms |\n");
	fprintf(out, "|---|---|\n");
#define RV_OP(index, handler, form)          \
	opcode_bytes(index, op, sizeof(op)); \
	fprintf(out, "| `%s` | %s |\n", op, form);
#include "cpu/optable.def"
#undef RV_OP
}

const struct doc_table doc_tables[] = {
	{ "requests.md", "requests", write_requests },
	{ "faults.md", "faults", write_faults },
	{ "stats.md", "stats", write_stats },
	{ "instructions.md", "instructions", write_instructions },
};
const unsigned nr_doc_tables = sizeof(doc_tables) / sizeof(doc_tables[0]);

const char *doc_find_block(const char *text, const char *marker, size_t *len)
{
	char open[128];

	snprintf(open, sizeof(open), "<!-- generated:%s -->\n", marker);
	const char *start = strstr(text, open);

	if (!start)
		return NULL;
	start += strlen(open);
	const char *end = strstr(start, "<!-- end generated -->");

	if (!end)
		return NULL;
	*len = (size_t)(end - start);
	return start;
}
