// SPDX-License-Identifier: MIT
/*
 * The Hyper-V flush hypercall parser against any control word, input GPA,
 * vCPU count and guest memory: it never reads outside what the callback
 * gives, and a call it accepts targets only vCPUs that exist and queues at
 * most a FIFO's worth of entries (a longer list becomes a flush-all).
 *
 * Input: RCX (8 bytes), the input GPA (8), the vCPU count (2), then the
 * bytes of guest memory from GPA 0x1000. RAM is 64 KiB; the rest of it
 * reads as zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hyperv/hypercall.h"

#define RAM_SIZE   0x10000u
#define WINDOW_GPA 0x1000u

struct window {
	const uint8_t *bytes;
	size_t len;
};

static int read_guest(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	const struct window *w = ctx;
	uint8_t *out = dst;

	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint64_t a = gpa + i;

		out[i] = a >= WINDOW_GPA && a - WINDOW_GPA < w->len ? w->bytes[a - WINDOW_GPA] : 0;
	}
	return 0;
}

static uint64_t take(const uint8_t **p, size_t *n, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t) * *p << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_hv_control c;
	struct rv_hv_flush *out = malloc(sizeof(*out));
	uint64_t rcx = take(&data, &size, 8), gpa = take(&data, &size, 8);
	uint32_t nr_vcpus = (uint32_t)take(&data, &size, 2) % RV_MAX_VCPUS + 1;
	struct window w = { data, size };

	rv_hv_decode_control(rcx, &c);
	uint16_t st = rv_hv_parse_flush(&c, gpa, nr_vcpus, read_guest, &w, out);

	if (st != RV_HV_STATUS_SUCCESS && st != RV_HV_STATUS_INVALID_CODE &&
	    st != RV_HV_STATUS_INVALID_INPUT)
		abort();
	if (st == RV_HV_STATUS_SUCCESS) {
		if (out->nr_entries > RV_HV_FIFO_SIZE - 1 || out->nr_listed > RV_HV_FIFO_SIZE - 1)
			abort();
		for (unsigned v = nr_vcpus; v < RV_MAX_VCPUS; v++)
			if (rv_mask_test(&out->targets, v))
				abort();
	}
	free(out);
	return 0;
}
