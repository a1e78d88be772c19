// SPDX-License-Identifier: MIT
/*
 * hv-shootdown: the shootdown workload (shootdown.c) with the Hyper-V flush
 * hypercalls instead of IPIs and acknowledgements: the initiator calls
 * List, a too-long List, Space, ListEx and SpaceEx with sparse VP sets, and
 * a List for all processors, in turn, and publishes the new versions when
 * the call returns. Every worker check of shootdown.c holds unchanged: after
 * the call returned, no vCPU may read a replaced version. Needs --hyperv.
 */
#define RV_SHOOTDOWN_HV 1
#include "shootdown.c"
