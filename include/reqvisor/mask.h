/* SPDX-License-Identifier: MIT */
/* A set of vCPU indices, sized for the largest VM reqvisor supports. */
#ifndef REQVISOR_MASK_H
#define REQVISOR_MASK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RV_MAX_VCPUS  4096
#define RV_MASK_WORDS (RV_MAX_VCPUS / 64)

struct rv_vcpu_mask {
	uint64_t w[RV_MASK_WORDS];
};

static inline void rv_mask_zero(struct rv_vcpu_mask *m)
{
	memset(m, 0, sizeof(*m));
}

static inline void rv_mask_set(struct rv_vcpu_mask *m, unsigned i)
{
	m->w[i / 64] |= 1ull << (i % 64);
}

static inline void rv_mask_clear(struct rv_vcpu_mask *m, unsigned i)
{
	m->w[i / 64] &= ~(1ull << (i % 64));
}

static inline bool rv_mask_test(const struct rv_vcpu_mask *m, unsigned i)
{
	return m->w[i / 64] & (1ull << (i % 64));
}

static inline unsigned rv_mask_weight(const struct rv_vcpu_mask *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < RV_MASK_WORDS; i++)
		n += __builtin_popcountll(m->w[i]);
	return n;
}

/* Iterate the set bits of @m below @limit, lowest first. */
#define rv_mask_for_each(i, m, limit)                                  \
	for (unsigned _w = 0, _n = ((limit) + 63) / 64; _w < _n; _w++) \
		for (uint64_t _b = (m)->w[_w]; _b; _b &= _b - 1)       \
			if (((i) = _w * 64 + __builtin_ctzll(_b)) < (limit))

#endif
