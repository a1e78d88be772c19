// SPDX-License-Identifier: MIT
/* Lazy flags: computing them from the record (see flags.h). */
#include "flags.h"

static uint64_t parity(uint64_t res)
{
	return __builtin_parity((unsigned)(res & 0xff)) ? 0 : RV_FLAG_PF;
}

bool rv_lazy_cf(const struct rv_cpu *c)
{
	uint64_t m = lf_mask(c->lf_size);

	switch (c->lf_kind) {
	case LF_ADD:
		return (c->lf_res & m) < (c->lf_dst & m);
	case LF_SUB:
		return (c->lf_dst & m) < (c->lf_src & m);
	case LF_LOGIC:
		return false;
	default: /* INC, DEC and no record: CF is in rflags */
		return c->rflags & RV_FLAG_CF;
	}
}

static bool lazy_of(const struct rv_cpu *c)
{
	unsigned sz = c->lf_size;
	uint64_t d = c->lf_dst, s = c->lf_src, r = c->lf_res;

	switch (c->lf_kind) {
	case LF_ADD:
		return lf_sign((d ^ r) & (s ^ r), sz);
	case LF_SUB:
		return lf_sign((d ^ s) & (d ^ r), sz);
	case LF_INC: /* the result is the smallest negative number */
		return (r & lf_mask(sz)) == 1ull << (sz * 8 - 1);
	case LF_DEC: /* the result is the largest positive number */
		return (r & lf_mask(sz)) == (1ull << (sz * 8 - 1)) - 1;
	default:
		return false;
	}
}

void rv_flags_materialize(struct rv_cpu *c)
{
	unsigned sz = c->lf_size;
	uint64_t r = c->lf_res & lf_mask(sz);
	uint64_t f = (r ? 0 : RV_FLAG_ZF) | (lf_sign(r, sz) ? RV_FLAG_SF : 0) | parity(r);
	uint64_t keep = RV_FLAG_CF;

	if (lazy_of(c))
		f |= RV_FLAG_OF;
	if (c->lf_kind != LF_LOGIC)
		f |= (c->lf_dst ^ c->lf_src ^ c->lf_res) & RV_FLAG_AF;
	if (c->lf_kind == LF_ADD || c->lf_kind == LF_SUB || c->lf_kind == LF_LOGIC) {
		keep = 0;
		f |= rv_lazy_cf(c) ? RV_FLAG_CF : 0;
	}
	c->rflags = (c->rflags & ~(RV_FLAGS_ARITH & ~keep)) | f;
	c->lf_kind = LF_NONE;
}

static bool cond_base(const struct rv_cpu *c, unsigned cc)
{
	unsigned sz = c->lf_size;
	uint64_t r = c->lf_res & lf_mask(sz);

	switch (cc >> 1) {
	case 0: /* O */
		return lazy_of(c);
	case 1: /* B */
		return rv_lazy_cf(c);
	case 2: /* E */
		return r == 0;
	case 3: /* BE */
		return rv_lazy_cf(c) || r == 0;
	case 4: /* S */
		return lf_sign(r, sz);
	case 5: /* P */
		return parity(r) != 0;
	case 6: /* L */
		return lf_sign(r, sz) != lazy_of(c);
	default: /* LE */
		return r == 0 || lf_sign(r, sz) != lazy_of(c);
	}
}

static bool cond_flags(uint64_t f, unsigned cc)
{
	bool cf = f & RV_FLAG_CF, zf = f & RV_FLAG_ZF, sf = f & RV_FLAG_SF;
	bool of = f & RV_FLAG_OF;

	switch (cc >> 1) {
	case 0:
		return of;
	case 1:
		return cf;
	case 2:
		return zf;
	case 3:
		return cf || zf;
	case 4:
		return sf;
	case 5:
		return f & RV_FLAG_PF;
	case 6:
		return sf != of;
	default:
		return zf || sf != of;
	}
}

bool rv_cpu_condition(const struct rv_cpu *c, unsigned cc)
{
	bool r = c->lf_kind != LF_NONE ? cond_base(c, cc) : cond_flags(c->rflags, cc);

	return (cc & 1) ? !r : r;
}
