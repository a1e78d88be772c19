// SPDX-License-Identifier: MIT
/*
 * `reqvisor campaign merge` reads JSON lines that may come from anywhere:
 * the record parser against any line, and a record it accepts written back
 * and read again to the same run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct campaign_run *r = calloc(2, sizeof(*r));
	char *line = malloc(size + 1), *again = NULL;
	size_t len = 0;

	memcpy(line, data, size);
	line[size] = 0;
	if (!campaign_json_read(line, &r[0])) {
		FILE *f = open_memstream(&again, &len);

		campaign_json_write(f, &r[0], r[0].replay);
		fclose(f);
		if (campaign_json_read(again, &r[1]) || r[1].index != r[0].index ||
		    r[1].total != r[0].total || r[1].shard != r[0].shard ||
		    r[1].nshards != r[0].nshards || r[1].violations != r[0].violations ||
		    r[1].seed != r[0].seed || r[1].status != r[0].status ||
		    strcmp(r[1].guest, r[0].guest) || strcmp(r[1].args, r[0].args) ||
		    strcmp(r[1].fault, r[0].fault) || strcmp(r[1].report, r[0].report))
			abort();
		free(again);
	}
	free(line);
	free(r);
	return 0;
}
