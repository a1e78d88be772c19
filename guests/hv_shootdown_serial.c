// SPDX-License-Identifier: MIT
/*
 * hv-shootdown-serial: hv-shootdown (the flush hypercalls instead of IPIs)
 * with vCPU 0 leading every round. Needs --hyperv.
 */
#define RV_SHOOTDOWN_HV		1
#define RV_SHOOTDOWN_ONE_LEADER 1
#include "shootdown.c"
