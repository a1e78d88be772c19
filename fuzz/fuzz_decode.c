// SPDX-License-Identifier: MIT
/*
 * The instruction decoder against any bytes: it reads no byte past @avail,
 * and a decoded instruction is at most 15 bytes long and fits in @avail.
 * The bytes are copied to the end of their own buffer so that ASan sees a
 * read past @avail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/insn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_insn insn;

	if (size > 32)
		size = 32;
	for (size_t avail = size; avail + 16 > size && avail <= size; avail--) {
		uint8_t *bytes = malloc(avail ? avail : 1);

		memcpy(bytes, data, avail);
		int rc = rv_decode(bytes, (unsigned)avail, &insn);

		free(bytes);
		if (rc == 0 && (insn.len == 0 || insn.len > 15 || insn.len > avail))
			abort();
		if (rc != 0 && rc != RV_DECODE_UNKNOWN && rc != RV_DECODE_MORE &&
		    rc != RV_DECODE_TOO_LONG)
			abort();
		if (!avail)
			break;
	}
	return 0;
}
