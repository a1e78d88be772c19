// SPDX-License-Identifier: MIT
/*
 * Guest memory access for the CPU: effective addresses, canonical checks,
 * and accesses split at page boundaries (a fault on either page is raised
 * before any byte is written).
 */
#include <string.h>

#include "exec.h"

#define PAGE_SIZE 4096ull

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

uint64_t rv_effective_address(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint64_t a = (uint64_t)i->disp;

	if (i->base == RV_RIP_REG)
		a += x->next_rip;
	else if (i->base != RV_NO_REG)
		a += c->gpr[i->base];
	if (i->index != RV_NO_REG)
		a += c->gpr[i->index] * i->scale;
	if (i->addrsize == 4)
		a = (uint32_t)a;
	/* RSP- and RBP-based operands use SS: a bad address there is #SS. */
	x->stack_seg = !i->seg && (i->base == RV_RSP || i->base == RV_RBP);
	if (i->seg == 4)
		a += c->fs_base;
	else if (i->seg == 5)
		a += c->gs_base;
	return a;
}

int rv_page_fault(struct rv_exec *x, uint64_t gva, uint32_t pf)
{
	if (pf & RV_PF_RETRY) {
		x->cpu->mmu_retry = true;
		return OP_FAULT;
	}
	/* A #PF that exits to a nested guest's hypervisor leaves CR2 alone
	 * (SDM vol. 3C §28.1; APM vol. 2 §15.12): the address goes with the
	 * exit instead. */
	if (!(x->cpu->exc_intercepts & (1u << RV_EXC_PF)))
		x->cpu->cr2 = gva;
	rv_raise(x, RV_EXC_PF, pf, true);
	x->cpu->exc.addr = gva;
	return OP_FAULT;
}

/* Translate one page's part of an access, raising #PF (or #GP for a
 * non-canonical address) on failure. */
static uint8_t *translate(struct rv_exec *x, uint64_t gva, enum rv_access kind, int *rc)
{
	unsigned slot = kind == RV_ACCESS_WRITE;
	uint64_t page = gva & ~(PAGE_SIZE - 1);
	uint32_t pf = 0;

	if (page == x->data_page[slot])
		return x->data_host[slot] + (gva & (PAGE_SIZE - 1));

	if (!canonical(gva)) {
		*rc = x->stack_seg ? rv_raise(x, RV_EXC_SS, 0, true) : rv_raise_gp0(x);
		return NULL;
	}
	uint8_t *p = x->cpu->mem.translate(x->cpu->mem.ctx, gva, kind, &pf);

	if (!p) {
		*rc = rv_page_fault(x, gva, pf);
		return NULL;
	}
	if ((slot && x->cpu->no_write_cache) ||
	    p - (gva & (PAGE_SIZE - 1)) == x->cpu->mem.unbacked_page)
		return p;
	/* A page the guest may write, it may also read. */
	x->data_page[slot] = page;
	x->data_host[slot] = p - (gva & (PAGE_SIZE - 1));
	if (slot) {
		x->data_page[0] = page;
		x->data_host[0] = x->data_host[1];
	}
	return p;
}

/*
 * Guest memory is shared by every vCPU thread, so an access is a relaxed
 * atomic: not a data race for the C memory model (other vCPUs' accesses are
 * the guest's business), and on x86 the same plain MOV, whose TSO ordering is
 * what the guest expects. Unaligned ones too: x86 makes them work, and the
 * architecture only promises atomicity for aligned ones anyway.
 */
static uint64_t load(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1:
		return __atomic_load_n(p, __ATOMIC_RELAXED);
	case 2:
		return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
	case 4:
		return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
	default:
		return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	}
}

static void store(uint8_t *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1:
		__atomic_store_n(p, (uint8_t)v, __ATOMIC_RELAXED);
		return;
	case 2:
		__atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED);
		return;
	case 4:
		__atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED);
		return;
	default:
		__atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
	}
}

/* The bytes of a page-split access, one at a time, for the same reason. */
static void load_bytes(uint8_t *dst, const uint8_t *src, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		dst[k] = __atomic_load_n(src + k, __ATOMIC_RELAXED);
}

static void store_bytes(uint8_t *dst, const uint8_t *src, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		__atomic_store_n(dst + k, src[k], __ATOMIC_RELAXED);
}

uint8_t *rv_mem_ptr(struct rv_exec *x, uint64_t gva, unsigned size, enum rv_access kind, int *rc)
{
	*rc = OP_OK;
	if ((gva & (PAGE_SIZE - 1)) + size > PAGE_SIZE)
		return NULL;
	return translate(x, gva, kind, rc);
}

/* Both pages' pointers of an access; @first gets the byte count on page 1. */
static int span(struct rv_exec *x, uint64_t gva, unsigned size, enum rv_access kind, uint8_t **p1,
		uint8_t **p2, unsigned *first)
{
	int rc = OP_OK;

	*first = (unsigned)(PAGE_SIZE - (gva & (PAGE_SIZE - 1)));
	if (*first >= size) {
		*first = size;
		*p2 = NULL;
		*p1 = translate(x, gva, kind, &rc);
		return rc;
	}
	*p1 = translate(x, gva, kind, &rc);
	if (rc)
		return rc;
	*p2 = translate(x, gva + *first, kind, &rc);
	return rc;
}

static int mem_read(struct rv_exec *x, uint64_t gva, unsigned size, enum rv_access kind,
		    uint64_t *v)
{
	uint8_t *p1, *p2, buf[8];
	unsigned first;
	int rc = OP_OK;

	if ((gva & (PAGE_SIZE - 1)) + size <= PAGE_SIZE) {
		p1 = translate(x, gva, kind, &rc);
		if (p1)
			*v = load(p1, size);
		return rc;
	}
	rc = span(x, gva, size, kind, &p1, &p2, &first);
	if (rc)
		return rc;
	load_bytes(buf, p1, first);
	if (p2)
		load_bytes(buf + first, p2, size - first);
	uint64_t val = 0;

	memcpy(&val, buf, size);
	*v = val;
	return OP_OK;
}

int rv_mem_read(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t *v)
{
	return mem_read(x, gva, size, RV_ACCESS_READ, v);
}

int rv_mem_read_rmw(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t *v)
{
	return mem_read(x, gva, size, RV_ACCESS_WRITE, v);
}

int rv_mem_write(struct rv_exec *x, uint64_t gva, unsigned size, uint64_t v)
{
	uint8_t *p1, *p2, buf[8];
	unsigned first;
	int rc = OP_OK;

	if ((gva & (PAGE_SIZE - 1)) + size <= PAGE_SIZE) {
		p1 = translate(x, gva, RV_ACCESS_WRITE, &rc);
		if (p1)
			store(p1, size, v);
		return rc;
	}
	rc = span(x, gva, size, RV_ACCESS_WRITE, &p1, &p2, &first);
	if (rc)
		return rc;
	memcpy(buf, &v, 8);
	store_bytes(p1, buf, first);
	if (p2)
		store_bytes(p2, buf + first, size - first);
	return OP_OK;
}

int rv_read_e(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t *v)
{
	if (!insn_is_mem(i)) {
		*v = reg_read(x, i, i->rm, size);
		return OP_OK;
	}
	return rv_mem_read(x, rv_effective_address(x, i), size, v);
}

int rv_read_e_rmw(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t *v)
{
	if (!insn_is_mem(i)) {
		*v = reg_read(x, i, i->rm, size);
		return OP_OK;
	}
	return rv_mem_read_rmw(x, rv_effective_address(x, i), size, v);
}

int rv_write_e(struct rv_exec *x, const struct rv_insn *i, unsigned size, uint64_t v)
{
	if (!insn_is_mem(i)) {
		reg_write(x, i, i->rm, size, v);
		return OP_OK;
	}
	return rv_mem_write(x, rv_effective_address(x, i), size, v);
}

/* Stack accesses: the new RSP is committed only once the write succeeded,
 * so a faulting push leaves RSP unchanged. */
int rv_push(struct rv_exec *x, unsigned size, uint64_t v)
{
	uint64_t rsp = x->cpu->gpr[RV_RSP] - size;
	int rc;

	x->stack_seg = true;
	rc = rv_mem_write(x, rsp, size, v);
	if (rc == OP_OK)
		x->cpu->gpr[RV_RSP] = rsp;
	return rc;
}

int rv_pop(struct rv_exec *x, unsigned size, uint64_t *v)
{
	int rc;

	x->stack_seg = true;
	rc = rv_mem_read(x, x->cpu->gpr[RV_RSP], size, v);
	if (rc == OP_OK)
		x->cpu->gpr[RV_RSP] += size;
	return rc;
}
