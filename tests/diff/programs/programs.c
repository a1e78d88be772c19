// SPDX-License-Identifier: MIT
/* Turns the generated table back into struct snippet. */
#include <string.h>

#include "programs.h"
#include "programs_table.h"

/* Room for a return address and a little more; 16-byte aligned, as a call expects. */
#define PROGRAM_RSP (SNIPPET_STACK - 64)

size_t programs_count(void)
{
	return programs_nr;
}

void programs_get(size_t i, struct snippet *out)
{
	const struct program_image *p;

	memset(out, 0, sizeof(*out));
	if (i >= programs_nr)
		return;
	p = &programs_images[i];
	out->name = p->name;
	out->code = p->code;
	out->len = p->code_len;
	out->in.gpr[RSP] = PROGRAM_RSP;
	out->in.rip = SNIPPET_CODE;
	out->in.rflags = 0x2;
	memcpy(out->data, p->data, p->data_len);
	out->undefined_flags = SNIPPET_FLAGS_DEFINED;
	out->privileged = 0;
}
