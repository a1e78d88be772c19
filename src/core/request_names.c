// SPDX-License-Identifier: MIT
/* The name and flags tables, expanded from the one request list. */
#include "reqvisor/request.h"

static const char *const names[RV_NR_REQUESTS] = {
#define RV_REQUEST(name, flags, meaning) [RV_REQ_BIT_##name] = #name,
#include "reqvisor/requests.def"
#undef RV_REQUEST
};

static const uint32_t flag_table[RV_NR_REQUESTS] = {
#define RV_REQUEST(name, flags, meaning) [RV_REQ_BIT_##name] = (flags),
#include "reqvisor/requests.def"
#undef RV_REQUEST
};

const char *rv_request_name(unsigned nr)
{
	return nr < RV_NR_REQUESTS ? names[nr] : "?";
}

uint32_t rv_request_flags(unsigned nr)
{
	return nr < RV_NR_REQUESTS ? flag_table[nr] : 0;
}
