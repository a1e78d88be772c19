/* SPDX-License-Identifier: MIT */
/*
 * The synthetic guest: a deterministic script per vCPU, run by the scheduler
 * core as if it were guest code. Script text, one op per ';' or line:
 *
 *   run N              N guest steps (the IPI word is polled between steps)
 *   post REQ TARGETS   post request REQ (its flags from requests.def)
 *   wake TARGET        give TARGET one wake token and post EVENT to it
 *   halt               block until a wake token is available, then take it
 *   walk N             READING_SHADOW_PAGE_TABLES for N steps
 *   exit               stop this vCPU
 *
 * TARGETS: all | next | prev | vcpu K | random K (K distinct others).
 * TARGET: next | prev | vcpu K. The script runs `rounds` times; reaching its
 * end after the last round is an exit.
 */
#ifndef REQVISOR_SYNTHETIC_H
#define REQVISOR_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "reqvisor/backend.h"

struct rv_synthetic;

extern const struct rv_backend_ops rv_synthetic_backend;

/* The default workload of `reqvisor run --synthetic`. */
extern const char rv_synthetic_default_script[];

/* Returns NULL with a message in @err when the script does not parse. */
struct rv_synthetic *rv_synthetic_create(const char *script, uint32_t rounds, uint64_t seed,
					 char *err, size_t errlen);
/* Give vCPU @index its own script (before the VM is created). */
int rv_synthetic_set_script(struct rv_synthetic *syn, uint32_t index, const char *script, char *err,
			    size_t errlen);
void rv_synthetic_destroy(struct rv_synthetic *syn);

#endif
