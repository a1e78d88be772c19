// SPDX-License-Identifier: MIT
/*
 * A vCPU's state as one line of text, for reports: the oracle's trail of
 * serviced requests, and the watchdog of `reqvisor run --watchdog`, which
 * prints every vCPU of a run that does not end. Read from another thread:
 * a snapshot, consistent enough to see where a run is stuck.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pcpu.h"
#include "reqvisor/backend.h"
#include "reqvisor/request.h"
#include "vm_impl.h"

void rv_vcpu_format_trail(const struct rv_vcpu *v, char *buf, size_t len)
{
	uint32_t next = __atomic_load_n(&v->trail_next, __ATOMIC_RELAXED);

	buf[0] = 0;
	for (uint32_t k = 1; k <= 8 && k <= next; k++) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "%s%s", k > 1 ? ", " : "",
			 rv_request_name(
				 __atomic_load_n(&v->trail[(next - k) % 8], __ATOMIC_RELAXED)));
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

static const char *run_state_name(int s)
{
	static const char *const names[] = { "runnable", "blocked", "done" };

	return s >= 0 && s < 3 ? names[s] : "?";
}

static const char *mode_name(int m)
{
	static const char *const names[] = { "outside guest mode", "in guest mode",
					     "exiting guest mode", "reading shadow tables" };

	return m >= 0 && m < 4 ? names[m] : "?";
}

static const char *phase_name(int p)
{
	static const char *const names[] = { "host", "guest", "waiting", "walking", "entering" };

	return p >= 0 && p < 5 ? names[p] : "?";
}

void rv_vcpu_describe(struct rv_vcpu *v, char *buf, size_t len)
{
	uint64_t pending = atomic_load_explicit(&v->requests, memory_order_relaxed);
	char reqs[256] = "", trail[160], extra[160] = "";
	const struct rv_backend_ops *b = v->vm->cfg.backend;

	for (unsigned nr = 0; nr < RV_NR_REQUESTS; nr++) {
		size_t n = strlen(reqs);

		if (pending >> nr & 1)
			snprintf(reqs + n, sizeof(reqs) - n, "%s%s", n ? "|" : "",
				 rv_request_name(nr));
	}
	rv_vcpu_format_trail(v, trail, sizeof(trail));
	if (b && b->describe)
		b->describe(v, extra, sizeof(extra));
	snprintf(
		buf, len,
		"vCPU %" PRIu32 ": %s, %s, phase %s; pending %s; exits %" PRIu32 " (kick %" PRIu64
		", slice %" PRIu64 ", backend %" PRIu64 "); last serviced %s%s%s",
		v->index, run_state_name(atomic_load_explicit(&v->run_state, memory_order_relaxed)),
		mode_name(atomic_load_explicit(&v->mode, memory_order_relaxed)),
		phase_name(__atomic_load_n(&v->phase, __ATOMIC_RELAXED)), reqs[0] ? reqs : "none",
		atomic_load_explicit(&v->exits, memory_order_relaxed),
		rv_counter(&v->stat[RV_STAT_exits_kick]), rv_counter(&v->stat[RV_STAT_exits_slice]),
		rv_counter(&v->stat[RV_STAT_exits_other]), trail, extra[0] ? "; " : "", extra);
}
