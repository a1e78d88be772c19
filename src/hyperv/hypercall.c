// SPDX-License-Identifier: MIT
/*
 * Decoding and validating the flush hypercalls. Every malformed form the
 * guest ABI names is rejected before anything is queued, so a bad call
 * flushes nothing: rep counts that do not suit the call, a variable header
 * on a non-Ex call or one that does not match the VP set's banks, an input
 * outside RAM or crossing a page, an unknown VP set format, and fast input
 * (the flush inputs need XMM registers, which reqvisor's CPU does not have).
 */
#include <stdbool.h>
#include <string.h>

#include "hypercall.h"

#define PAGE	     4096ull
#define SPACE_HEADER 24u /* address space, flags, processor mask */
#define EX_HEADER    32u /* address space, flags, VP set format, valid-bank mask */

void rv_hv_decode_control(uint64_t rcx, struct rv_hv_control *c)
{
	c->code = (uint16_t)rcx;
	c->fast = rcx & (1ull << 16);
	c->var_qwords = (rcx >> 17) & 0x3ff;
	c->rep_count = (rcx >> 32) & 0xfff;
	c->rep_start = (rcx >> 48) & 0xfff;
}

/* The input lies in one page of RAM: read @len bytes of it at @offset. */
static int read_input(rv_hv_read_fn read, void *ctx, uint64_t gpa, size_t total, size_t offset,
		      void *dst, size_t len)
{
	if ((gpa & (PAGE - 1)) + total > PAGE)
		return -1;
	return read(ctx, gpa + offset, dst, len);
}

static void all_vcpus(struct rv_hv_flush *out, uint32_t nr_vcpus)
{
	for (uint32_t i = 0; i < nr_vcpus; i++)
		rv_mask_set(&out->targets, i);
}

/* The rep rules: List calls take 1..4095 reps from rep 0; Space calls none. */
static bool reps_ok(const struct rv_hv_control *c, bool list)
{
	if (list)
		return c->rep_count && !c->rep_start;
	return !c->rep_count && !c->rep_start;
}

/* The GVA list: up to 15 entries are queued; a longer list flushes all. */
static int read_list(rv_hv_read_fn read, void *ctx, uint64_t gpa, size_t total, size_t at,
		     uint16_t n, struct rv_hv_flush *out)
{
	unsigned kept = n < RV_HV_FIFO_SIZE - 1 ? n : RV_HV_FIFO_SIZE - 1;

	out->reps = n;
	out->nr_listed = kept;
	out->nr_entries = n > RV_HV_FIFO_SIZE - 1 ? 0 : n;
	return read_input(read, ctx, gpa, total, at, out->entries, kept * 8u);
}

static void header_flags(struct rv_hv_flush *out, const uint64_t *hdr, bool list)
{
	out->space = !list;
	out->address_space = hdr[0];
	out->flags = hdr[1];
}

static uint16_t parse_plain(const struct rv_hv_control *c, uint64_t gpa, uint32_t nr_vcpus,
			    rv_hv_read_fn read, void *ctx, struct rv_hv_flush *out)
{
	bool list = c->code == RV_HVCALL_FLUSH_LIST;
	size_t total = SPACE_HEADER + (list ? c->rep_count * 8u : 0);
	uint64_t hdr[3];

	if (c->var_qwords || !reps_ok(c, list))
		return RV_HV_STATUS_INVALID_INPUT;
	if (read_input(read, ctx, gpa, total, 0, hdr, sizeof(hdr)))
		return RV_HV_STATUS_INVALID_INPUT;
	header_flags(out, hdr, list);
	if ((hdr[1] & RV_HV_FLUSH_ALL_PROCESSORS) || !hdr[2])
		all_vcpus(out, nr_vcpus);
	else
		out->targets.w[0] = hdr[2];
	if (list && read_list(read, ctx, gpa, total, SPACE_HEADER, c->rep_count, out))
		return RV_HV_STATUS_INVALID_INPUT;
	return RV_HV_STATUS_SUCCESS;
}

/* Sparse VP set: bank k of the valid-bank mask names vCPUs 64k..64k+63. */
static void sparse_set(uint64_t valid, const uint64_t *banks, struct rv_hv_flush *out)
{
	unsigned b = 0;

	for (uint64_t m = valid; m; m &= m - 1)
		out->targets.w[__builtin_ctzll(m)] = banks[b++];
}

static uint16_t parse_ex(const struct rv_hv_control *c, uint64_t gpa, uint32_t nr_vcpus,
			 rv_hv_read_fn read, void *ctx, struct rv_hv_flush *out)
{
	bool list = c->code == RV_HVCALL_FLUSH_LIST_EX;
	uint64_t hdr[4], banks[64];
	size_t total;

	if (!reps_ok(c, list) || c->var_qwords > 64)
		return RV_HV_STATUS_INVALID_INPUT;
	total = EX_HEADER + c->var_qwords * 8u + (list ? c->rep_count * 8u : 0);
	if (read_input(read, ctx, gpa, total, 0, hdr, sizeof(hdr)))
		return RV_HV_STATUS_INVALID_INPUT;
	header_flags(out, hdr, list);
	if ((hdr[2] != RV_HV_SET_SPARSE && hdr[2] != RV_HV_SET_ALL) ||
	    c->var_qwords != __builtin_popcountll(hdr[3]))
		return RV_HV_STATUS_INVALID_INPUT;
	if (read_input(read, ctx, gpa, total, EX_HEADER, banks, c->var_qwords * 8u))
		return RV_HV_STATUS_INVALID_INPUT;
	if ((hdr[1] & RV_HV_FLUSH_ALL_PROCESSORS) || hdr[2] == RV_HV_SET_ALL)
		all_vcpus(out, nr_vcpus);
	else
		sparse_set(hdr[3], banks, out);
	if (list &&
	    read_list(read, ctx, gpa, total, EX_HEADER + c->var_qwords * 8u, c->rep_count, out))
		return RV_HV_STATUS_INVALID_INPUT;
	return RV_HV_STATUS_SUCCESS;
}

uint16_t rv_hv_parse_flush(const struct rv_hv_control *c, uint64_t input_gpa, uint32_t nr_vcpus,
			   rv_hv_read_fn read, void *ctx, struct rv_hv_flush *out)
{
	bool ex = c->code == RV_HVCALL_FLUSH_SPACE_EX || c->code == RV_HVCALL_FLUSH_LIST_EX;

	memset(out, 0, sizeof(*out));
	if (!ex && c->code != RV_HVCALL_FLUSH_SPACE && c->code != RV_HVCALL_FLUSH_LIST)
		return RV_HV_STATUS_INVALID_CODE;
	if (c->fast)
		return RV_HV_STATUS_INVALID_INPUT;
	if (nr_vcpus > RV_MAX_VCPUS)
		nr_vcpus = RV_MAX_VCPUS;
	uint16_t status = ex ? parse_ex(c, input_gpa, nr_vcpus, read, ctx, out)
			     : parse_plain(c, input_gpa, nr_vcpus, read, ctx, out);

	if (status)
		return status;
	/* Banks past the last vCPU name nobody. */
	for (uint32_t w = 0; w < RV_MASK_WORDS; w++) {
		uint64_t first = (uint64_t)w * 64;

		if (first >= nr_vcpus)
			out->targets.w[w] = 0;
		else if (nr_vcpus - first < 64)
			out->targets.w[w] &= (1ull << (nr_vcpus - first)) - 1;
	}
	return RV_HV_STATUS_SUCCESS;
}
