// SPDX-License-Identifier: MIT
/*
 * shootdown-serial: the shootdown workload (shootdown.c) with vCPU 0 leading
 * every round, so that the run is a chain of flushes whose completion time
 * is their latency; reqvisor-bench hyperv compares it with hv-shootdown-serial.
 */
#define RV_SHOOTDOWN_ONE_LEADER 1
#include "shootdown.c"
