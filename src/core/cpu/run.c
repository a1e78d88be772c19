// SPDX-License-Identifier: MIT
/*
 * The instruction loop: fetch (across a page boundary when needed), decode,
 * execute through the opcode table, retire. The IPI word is polled at every
 * block end (a taken branch, a batch of a repeated string op, port I/O, an
 * exception delivered), which is where the software CPU sees kicks.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "exec.h"
#include "ops.h"

/* The opcodes LOCK may prefix (the handlers also require a memory
 * destination and a writing form; anything else is #UD). */
static bool lockable(unsigned op)
{
	switch (op) {
	case 0x00:
	case 0x01:
	case 0x08:
	case 0x09:
	case 0x10:
	case 0x11:
	case 0x18:
	case 0x19:
	case 0x20:
	case 0x21:
	case 0x28:
	case 0x29:
	case 0x30:
	case 0x31:
	case 0x80:
	case 0x81:
	case 0x83:
	case 0x86:
	case 0x87:
	case 0xf6:
	case 0xf7:
	case 0xfe:
	case 0xff:
	case MAP_0F + 0xab:
	case MAP_0F + 0xb3:
	case MAP_0F + 0xbb:
	case MAP_0F + 0xba:
	case MAP_0F + 0xb0:
	case MAP_0F + 0xb1:
	case MAP_0F + 0xc0:
	case MAP_0F + 0xc1:
	case MAP_0F + 0xc7:
		return true;
	default:
		return false;
	}
}

/*
 * The decoded-instruction cache: direct-mapped by the host address of the
 * instruction's first byte. An entry keeps the 16 bytes it was decoded from
 * and is used only while memory still holds them, so code that rewrites
 * itself (or another vCPU's code) is re-decoded at its next fetch without
 * any invalidation protocol. Instructions within 16 bytes of a page end are
 * not cached.
 */
#define ICACHE_ENTRIES 2048

struct rv_icache_entry {
	const uint8_t *host;
	uint64_t bytes[2];
	rv_op_handler handler; /* resolved once: the table, and LOCK's validity */
	struct rv_insn insn;
};

struct rv_icache {
	struct rv_icache_entry e[ICACHE_ENTRIES];
};

static struct rv_icache_entry *icache_slot(struct rv_cpu *c, const uint8_t *p)
{
	uintptr_t h = (uintptr_t)p;

	return &c->icache->e[(h ^ (h >> 11)) & (ICACHE_ENTRIES - 1)];
}

static void load16(const uint8_t *p, uint64_t w[2])
{
	memcpy(w, p, 16);
}

static int fetch_slow(struct rv_exec *x, const uint8_t *p, unsigned avail, struct rv_insn *i);

static int op_lock_ud(struct rv_exec *x, const struct rv_insn *i)
{
	(void)i;
	return rv_raise_ud(x);
}

/* Name what is missing: the bytes at RIP (fetched a moment ago, so the
 * translation cannot fail now). */
static void record_unknown(struct rv_cpu *c, const uint8_t *p, unsigned avail)
{
	c->ud_opcode = 0;
	memcpy(&c->ud_opcode, p, avail < 8 ? avail : 8);
	c->ud_count++;
}

static int op_unknown(struct rv_exec *x, const struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint32_t pf = 0;
	const uint8_t *p = c->mem.translate(c->mem.ctx, c->rip, RV_ACCESS_FETCH, &pf);

	(void)i;
	if (p)
		record_unknown(c, p, 4096 - (unsigned)(c->rip & 4095));
	return rv_raise_ud(x);
}

static rv_op_handler resolve(const struct rv_insn *i)
{
	rv_op_handler h = rv_op_table[i->op];

	if (!h)
		return op_unknown;
	return i->lock && !lockable(i->op) ? op_lock_ud : h;
}

/* Returns the decoded instruction at RIP and its handler, from the cache
 * when it can. */
static int fetch(struct rv_exec *x, struct rv_insn *scratch, const struct rv_insn **out,
		 rv_op_handler *handler)
{
	struct rv_cpu *c = x->cpu;
	uint64_t rip = c->rip;
	unsigned avail = 4096 - (unsigned)(rip & 4095);
	const uint8_t *p;

	if ((rip & ~4095ull) == x->fetch_page) {
		p = x->fetch_host + (rip & 4095);
	} else {
		uint32_t pf = 0;

		p = c->mem.translate(c->mem.ctx, rip, RV_ACCESS_FETCH, &pf);
		if (!p)
			return rv_page_fault(x, rip, pf);
		if (p - (rip & 4095) == c->mem.unbacked_page)
			return rv_raise_ud(x);
		x->fetch_page = rip & ~4095ull;
		x->fetch_host = p - (rip & 4095);
	}
	if (avail < 16 || !c->icache) {
		int rc = fetch_slow(x, p, avail, scratch);

		*out = scratch;
		*handler = rc ? NULL : resolve(scratch);
		return rc;
	}
	struct rv_icache_entry *e = icache_slot(c, p);
	uint64_t w[2];

	load16(p, w);
	*out = &e->insn;
	if (e->host == p && e->bytes[0] == w[0] && e->bytes[1] == w[1]) {
		c->icache_hits++;
		*handler = e->handler;
		return OP_OK;
	}
	c->icache_misses++;
	int rc = fetch_slow(x, p, avail, &e->insn);

	e->host = rc == OP_OK ? p : NULL;
	e->handler = *handler = rc ? NULL : resolve(&e->insn);
	e->bytes[0] = w[0];
	e->bytes[1] = w[1];
	return rc;
}

static int fetch_slow(struct rv_exec *x, const uint8_t *p, unsigned avail, struct rv_insn *i)
{
	struct rv_cpu *c = x->cpu;
	uint64_t rip = c->rip;
	uint8_t buf[RV_INSN_MAX_LEN];
	uint32_t pf = 0;
	int rc = rv_decode(p, avail, i);

	if (rc == RV_DECODE_MORE) {
		/* The instruction runs into the next page. */
		uint8_t *q = c->mem.translate(c->mem.ctx, rip + avail, RV_ACCESS_FETCH, &pf);

		if (!q)
			return rv_page_fault(x, rip + avail, pf);
		memcpy(buf, p, avail);
		memcpy(buf + avail, q, RV_INSN_MAX_LEN - avail);
		rc = rv_decode(buf, RV_INSN_MAX_LEN, i);
		p = buf;
	}
	if (rc == RV_DECODE_TOO_LONG)
		return rv_raise_gp0(x);
	if (rc) {
		record_unknown(c, p, p == buf ? RV_INSN_MAX_LEN : avail);
		return rv_raise_ud(x);
	}
	return OP_OK;
}

static bool kicked(const _Atomic uint32_t *ipi)
{
	return ipi && atomic_load_explicit(ipi, memory_order_acquire);
}

static enum rv_cpu_exit run_loop(struct rv_cpu *c, const _Atomic uint32_t *ipi, uint64_t budget)
{
	struct rv_exec x = { .cpu = c };
	struct rv_insn scratch;

	rv_exec_tlb_changed(&x); /* nothing cached from an earlier run */
	const struct rv_insn *i = &scratch;
	rv_op_handler handler = NULL;

	if (!c->icache && !c->icache_lent)
		c->icache = rv_icache_create(); /* without it: decode every time */
	for (uint64_t n = 0; n < budget; n++) {
		/* An instruction boundary: IF may have opened under a pending
		 * interrupt (STI's shadow holds it back one instruction). */
		if (c->irq_armed && !c->int_shadow) {
			c->irq_armed = false;
			if ((c->rflags & RV_FLAG_IF) && c->sys.irq_pending &&
			    c->sys.irq_pending(c->sys.ctx, c))
				return RV_CPU_EXIT_INTERRUPT;
		}
		int rc = fetch(&x, &scratch, &i, &handler);

		c->int_shadow = false;
		if (rc == OP_OK) {
			x.next_rip = c->rip + i->len;
			x.stack_seg = false;
			rc = handler(&x, i);
		}
		switch (rc) {
		case OP_OK:
			c->rip = x.next_rip;
			c->instructions++;
			continue;
		case OP_BRANCH:
			c->rip = x.next_rip;
			c->instructions++;
			if (kicked(ipi))
				return RV_CPU_EXIT_KICK;
			continue;
		case OP_EXIT:
			c->rip = x.next_rip;
			c->instructions++;
			return x.stop;
		case OP_STOP:
			return x.stop;
		default: /* OP_FAULT */
			if (c->mmu_retry) {
				c->mmu_retry = false;
				return RV_CPU_EXIT_RETRY;
			}
			c->fault_rip = c->rip;
			if (c->exit_on_exception || (c->exc_intercepts >> (c->exc.vector & 31) & 1))
				return RV_CPU_EXIT_EXCEPTION;
			if (!rv_deliver(&x))
				return RV_CPU_EXIT_TRIPLE_FAULT;
			if (c->mmu_retry) { /* the fault comes again on the re-run */
				c->mmu_retry = false;
				return RV_CPU_EXIT_RETRY;
			}
			if (kicked(ipi))
				return RV_CPU_EXIT_KICK;
		}
	}
	return RV_CPU_EXIT_BUDGET;
}

/* Callers see exact RFLAGS: nothing stays pending across runs. */
enum rv_cpu_exit rv_cpu_run(struct rv_cpu *c, const _Atomic uint32_t *ipi, uint64_t budget)
{
	enum rv_cpu_exit e = run_loop(c, ipi, budget);

	rv_cpu_flags(c);
	return e;
}

void rv_cpu_reset_long_mode(struct rv_cpu *c)
{
	c->cr0 = 0x80050033;
	c->cr4 = 0xa0;
	c->efer = 0xd00;
	c->rflags = 0x2;
	c->lf_kind = LF_NONE;
	c->cs = 0x08;
	c->ss = 0x10;
	c->idtr.base = 0;
	c->idtr.limit = 0;
}

struct rv_icache *rv_icache_create(void)
{
	return rv_calloc(1, sizeof(struct rv_icache));
}

void rv_icache_destroy(struct rv_icache *ic)
{
	free(ic);
}

void rv_cpu_use_icache(struct rv_cpu *c, struct rv_icache *ic)
{
	if (!c->icache_lent)
		rv_icache_destroy(c->icache);
	c->icache = ic;
	c->icache_lent = true;
}

void rv_cpu_destroy(struct rv_cpu *c)
{
	if (!c->icache_lent)
		rv_icache_destroy(c->icache);
	c->icache = NULL;
}
