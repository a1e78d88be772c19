// SPDX-License-Identifier: MIT
/*
 * The arithmetic of the integer instructions and their exact flags (Intel
 * SDM vol. 2). Flags the SDM leaves undefined get the value the common
 * hardware produces where that is simple (AF = 0 after logic ops), and
 * otherwise keep their old value; the differential corpus does not compare
 * them.
 */
#include <stdbool.h>

#include "alu.h"
#include "exec.h"

#define ARITH RV_FLAGS_ARITH

static uint64_t msb(uint64_t v, unsigned size)
{
	return sign_bit(v, size);
}

static void put(uint64_t *flags, uint64_t mask, uint64_t value)
{
	*flags = (*flags & ~mask) | (value & mask);
}

static uint64_t shift_left(uint64_t a, unsigned n, unsigned size, uint64_t *flags)
{
	unsigned bits = size * 8;
	uint64_t r = n >= bits ? 0 : (a << n) & size_mask(size);
	uint64_t cf = n > bits ? 0 : (a >> (bits - n)) & 1;

	put(flags, ARITH & ~RV_FLAG_AF,
	    szp_flags(r, size) | (cf ? RV_FLAG_CF : 0) | ((msb(r, size) ^ cf) ? RV_FLAG_OF : 0));
	return r;
}

static uint64_t shift_right(uint64_t a, unsigned n, unsigned size, bool arith, uint64_t *flags)
{
	unsigned bits = size * 8;
	int64_t sa = (int64_t)(a << (64 - bits)) >> (64 - bits);
	uint64_t r, cf;

	if (arith) {
		r = (uint64_t)(n >= bits ? sa >> (bits - 1) : sa >> n) & size_mask(size);
		cf = (uint64_t)(n > bits ? sa >> (bits - 1) : sa >> (n - 1)) & 1;
	} else {
		r = n >= bits ? 0 : a >> n;
		cf = n > bits ? 0 : (a >> (n - 1)) & 1;
	}
	uint64_t of = arith ? 0 : msb(a, size);

	put(flags, ARITH & ~RV_FLAG_AF,
	    szp_flags(r, size) | (cf ? RV_FLAG_CF : 0) | (of ? RV_FLAG_OF : 0));
	return r;
}

static uint64_t rotate(unsigned op, uint64_t a, unsigned n, unsigned size, uint64_t *flags)
{
	unsigned bits = size * 8;
	uint64_t m = size_mask(size);
	unsigned k = n % bits;
	uint64_t r =
		k ? ((op == SH_ROL ? (a << k) | (a >> (bits - k)) : (a >> k) | (a << (bits - k)))) &
				m
		  : a;
	uint64_t cf = op == SH_ROL ? r & 1 : msb(r, size);
	uint64_t of = op == SH_ROL ? msb(r, size) ^ cf : msb(r, size) ^ msb(r << 1, size);

	put(flags, RV_FLAG_CF | RV_FLAG_OF, (cf ? RV_FLAG_CF : 0) | (of ? RV_FLAG_OF : 0));
	return r;
}

/* Rotate through carry, one bit at a time over at most 64 steps. */
static uint64_t rotate_carry(unsigned op, uint64_t a, unsigned n, unsigned size, uint64_t *flags)
{
	unsigned bits = size * 8;
	unsigned k = n % (bits + 1);
	uint64_t cf = *flags & RV_FLAG_CF ? 1 : 0;
	uint64_t r = a & size_mask(size);
	uint64_t of = op == SH_RCR ? msb(r, size) ^ cf : 0;

	for (unsigned s = 0; s < k; s++) {
		uint64_t out;

		if (op == SH_RCL) {
			out = msb(r, size);
			r = ((r << 1) | cf) & size_mask(size);
		} else {
			out = r & 1;
			r = (r >> 1) | (cf << (bits - 1));
		}
		cf = out;
	}
	if (op == SH_RCL)
		of = msb(r, size) ^ cf;
	put(flags, RV_FLAG_CF | RV_FLAG_OF, (cf ? RV_FLAG_CF : 0) | (of ? RV_FLAG_OF : 0));
	return r;
}

uint64_t rv_shift(unsigned op, uint64_t a, unsigned count, unsigned size, uint64_t *flags)
{
	unsigned n = count & (size == 8 ? 63 : 31);

	a &= size_mask(size);
	if (!n)
		return a;
	switch (op) {
	case SH_ROL:
	case SH_ROR:
		return rotate(op, a, n, size, flags);
	case SH_RCL:
	case SH_RCR:
		return rotate_carry(op, a, n, size, flags);
	case SH_SHR:
		return shift_right(a, n, size, false, flags);
	case SH_SAR:
		return shift_right(a, n, size, true, flags);
	default: /* SHL, SAL */
		return shift_left(a, n, size, flags);
	}
}

uint64_t rv_shld(uint64_t dst, uint64_t src, unsigned count, unsigned size, bool left,
		 uint64_t *flags)
{
	unsigned bits = size * 8;
	unsigned n = count & (size == 8 ? 63 : 31);
	uint64_t m = size_mask(size);
	uint64_t r, cf;

	dst &= m, src &= m;
	if (!n)
		return dst;
	/* Counts above a 16-bit size are undefined; shift the 32-bit pair. */
	if (n > bits) {
		bits = 32;
		m = 0xffffffffull;
	}
	if (left) {
		r = ((dst << n) | (n == bits ? src : src >> (bits - n))) & m;
		if (n == bits)
			r = src;
		cf = (dst >> (bits - n)) & 1;
	} else {
		r = (n == bits ? src : (dst >> n) | (src << (bits - n))) & m;
		cf = (dst >> (n - 1)) & 1;
	}
	r &= size_mask(size);
	put(flags, ARITH & ~RV_FLAG_AF,
	    szp_flags(r, size) | (cf ? RV_FLAG_CF : 0) |
		    ((msb(r, size) ^ msb(dst, size)) ? RV_FLAG_OF : 0));
	return r;
}
