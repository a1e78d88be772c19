// SPDX-License-Identifier: MIT
/*
 * Exceptions: raising one aborts the instruction; delivery goes through the
 * long-mode IDT (64-bit interrupt and trap gates, same privilege). A fault
 * while delivering turns into #DF by the SDM's class table, and a fault
 * while delivering #DF is a triple fault.
 */
#include "exec.h"
#include "ops.h"

int rv_raise(struct rv_exec *x, int vector, uint32_t error_code, bool has_error_code)
{
	x->cpu->exc.vector = vector;
	x->cpu->exc.error_code = error_code;
	x->cpu->exc.has_error_code = has_error_code;
	return OP_FAULT;
}

int rv_raise_ud(struct rv_exec *x)
{
	return rv_raise(x, RV_EXC_UD, 0, false);
}

int rv_raise_gp0(struct rv_exec *x)
{
	return rv_raise(x, RV_EXC_GP, 0, true);
}

static bool contributory(int v)
{
	return v == 0 || (v >= 10 && v <= 13);
}

static bool has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

/* Push the frame and enter the handler; 0, or -1 with a new exception in
 * cpu->exc when the gate or the stack faults. */
static int enter_handler(struct rv_exec *x, const struct rv_cpu_exception *e)
{
	struct rv_cpu *c = x->cpu;
	uint64_t lo, hi, rsp = c->gpr[RV_RSP];
	unsigned off = (unsigned)e->vector * 16;
	/* A bad gate's #GP names it: index (the vector) in bits 15:3, IDT bit 1. */
	uint32_t gate_error = (uint32_t)e->vector << 3 | 2;
	int rc;

	if (off + 15 > c->idtr.limit)
		return rv_raise(x, RV_EXC_GP, gate_error, true), -1;
	if ((rc = rv_mem_read(x, c->idtr.base + off, 8, &lo)) ||
	    (rc = rv_mem_read(x, c->idtr.base + off + 8, 8, &hi)))
		return -1;
	unsigned type = (lo >> 40) & 0xf;

	if (!((lo >> 47) & 1) || (type != 0xe && type != 0xf))
		return rv_raise(x, RV_EXC_GP, gate_error, true), -1;
	uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (hi << 32);

	c->gpr[RV_RSP] &= ~0xfull;
	if ((rc = rv_push(x, 8, c->ss)) || (rc = rv_push(x, 8, rsp)) ||
	    (rc = rv_push(x, 8, rv_flags(x))) || (rc = rv_push(x, 8, c->cs)) ||
	    (rc = rv_push(x, 8, c->rip)) ||
	    (e->has_error_code && (rc = rv_push(x, 8, e->error_code)))) {
		c->gpr[RV_RSP] = rsp;
		return -1;
	}
	c->cs = (uint16_t)(lo >> 16);
	c->rflags &= ~(RV_FLAG_TF | (1ull << 14) | (1ull << 16));
	if (type == 0xe)
		c->rflags &= ~RV_FLAG_IF;
	c->rip = target;
	return 0;
}

bool rv_cpu_deliver_event(struct rv_cpu *cpu, const struct rv_cpu_exception *e)
{
	struct rv_exec x = { .cpu = cpu };
	bool ok;

	rv_exec_tlb_changed(&x);
	cpu->exc = *e;
	ok = rv_deliver(&x);
	rv_cpu_flags(cpu);
	return ok;
}

bool rv_cpu_deliver_once(struct rv_cpu *cpu, const struct rv_cpu_exception *e)
{
	struct rv_exec x = { .cpu = cpu };
	bool ok;

	rv_exec_tlb_changed(&x);
	cpu->exc = *e;
	ok = enter_handler(&x, e) == 0 || cpu->mmu_retry;
	rv_cpu_flags(cpu);
	return ok;
}

bool rv_cpu_interrupt(struct rv_cpu *cpu, int vector)
{
	struct rv_cpu_exception e = { .vector = vector };

	return rv_cpu_deliver_event(cpu, &e);
}

/* Returns false on a triple fault (cpu->chain lists the exceptions). */
bool rv_deliver(struct rv_exec *x)
{
	struct rv_cpu *c = x->cpu;
	struct rv_cpu_exception e = c->exc;

	c->chain_len = 0;
	for (;;) {
		c->chain[c->chain_len++] = e.vector;
		if (enter_handler(x, &e) == 0)
			return true;
		if (c->mmu_retry) /* not delivered; the caller exits and retries */
			return true;
		struct rv_cpu_exception next = c->exc;

		if (e.vector == RV_EXC_DF || c->chain_len == 3)
			return false;
		bool to_df = (contributory(e.vector) && contributory(next.vector)) ||
			     (e.vector == RV_EXC_PF &&
			      (next.vector == RV_EXC_PF || contributory(next.vector)));

		if (to_df) {
			next.vector = RV_EXC_DF;
			next.error_code = 0;
			next.has_error_code = true;
		}
		next.has_error_code = has_error_code(next.vector);
		e = next;
	}
}
