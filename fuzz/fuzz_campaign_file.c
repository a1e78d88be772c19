// SPDX-License-Identifier: MIT
/*
 * Campaign files against any bytes: the parser accepts or names the line
 * that is wrong, and an accepted file expands to runs whose options fit
 * their record. Large matrices are sized but not expanded, to keep each
 * input fast.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct campaign_matrix m = { .seed_lo = 1, .seed_hi = 1 };
	struct campaign_runs rs = { 0 };
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (!campaign_file_parse(&m, f, "fuzz") && m.nguests) {
		campaign_matrix_defaults(&m);
		if (campaign_matrix_size(&m) <= 256 && !campaign_matrix_expand(&m, &rs))
			for (size_t i = 0; i < rs.n; i++)
				if (strlen(rs.v[i].args) >= CAMPAIGN_ARGS ||
				    campaign_count_args(rs.v[i].args) > 64)
					abort();
	}
	fclose(f);
	campaign_runs_free(&rs);
	campaign_matrix_free(&m);
	return 0;
}
