// SPDX-License-Identifier: MIT
/*
 * The fault-spec parser against any string: it accepts or gives a message,
 * and an accepted spec arms only points with a rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reqvisor/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rv_faults f;
	char *spec = malloc(size + 1), err[256];

	memcpy(spec, data, size);
	spec[size] = 0;
	err[0] = 0;
	if (rv_faults_parse(&f, spec, 1, err, sizeof(err))) {
		if (!err[0])
			abort();
	} else {
		for (int id = 0; id < RV_NR_FAULTS; id++)
			if ((f.armed >> id & 1) && f.rule[id].nr_hits > RV_FAULT_MAX_HITS)
				abort();
		/* Draw a few decisions from whatever was armed. */
		for (int id = 0; id < RV_NR_FAULTS; id++)
			if (f.armed >> id & 1)
				rv_fault_fire(&f, (enum rv_fault_id)id);
	}
	free(spec);
	return 0;
}
