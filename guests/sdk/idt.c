// SPDX-License-Identifier: MIT
/*
 * The IDT, shared by every vCPU: 256 64-bit gates to the stubs in
 * vectors.S, each an interrupt gate unless the guest asks for a trap gate.
 * rv_trap_dispatch() hands a vector to its registered handler; an exception
 * without one abandons the innermost rv_try(), and anything else is
 * reported and ends the run.
 */
#include "internal.h"

#define NR_VECTORS 256
#define STUB_SIZE  16 /* RV_STUB_SIZE in vectors.S */
#define SEL_CODE   0x08
#define GATE_INTR  0x8e /* present, DPL 0, 64-bit interrupt gate */
#define GATE_TRAP  0x8f /* present, DPL 0, 64-bit trap gate */

extern const char rv_vector_stubs[];

static u64 idt[2 * NR_VECTORS] RV_ALIGNED(16);
static rv_handler_t *handlers[NR_VECTORS];

static void set_gate(unsigned vector, unsigned type)
{
	u64 stub = (u64)(uintptr_t)rv_vector_stubs + (u64)vector * STUB_SIZE;

	/* Offset 15:0, selector, IST 0, type, offset 31:16; then offset 63:32. */
	idt[2 * vector] = (stub & 0xffff) | (u64)SEL_CODE << 16 | (u64)type << 40 |
			  (stub >> 16 & 0xffff) << 48;
	idt[2 * vector + 1] = stub >> 32;
}

void rv_idt_init(void)
{
	for (unsigned v = 0; v < NR_VECTORS; v++)
		set_gate(v, GATE_INTR);
}

void rv_idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void rv_set_trap_gate(unsigned vector, bool trap)
{
	set_gate(vector & 0xff, trap ? GATE_TRAP : GATE_INTR);
}

void rv_set_handler(unsigned vector, rv_handler_t *fn)
{
	rv_write_once(handlers[vector & 0xff], fn);
}

const char *rv_vector_name(unsigned vector)
{
	/* clang-format off */
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9",
		"#TS", "#NP", "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM",
		"#VE", "#CP", "vector 22", "vector 23", "vector 24", "vector 25", "vector 26",
		"vector 27", "#HV", "#VC", "#SX", "vector 31",
	};
	/* clang-format on */

	return vector < 32 ? names[vector] : "interrupt";
}

void rv_trap_dispatch(struct rv_frame *f)
{
	rv_handler_t *fn = rv_read_once(handlers[f->vector & 0xff]);

	if (fn)
		fn(f->vector, f->error, f);
	else
		rv_trap_abandon(f->vector, f->error, f);
}

/* Make the IRETQ return from rv_try_call() with @vector, as try.S describes. */
static void recover(struct rv_try_ctx *c, unsigned vector, struct rv_frame *f)
{
	struct rv_trap_info *i = c->info;

	if (i) {
		*i = (struct rv_trap_info){
			.vector = vector,
			.error = f->error,
			.cr2 = rv_read_cr2(),
			.rip = f->rip,
			.cs = f->cs,
			.rflags = f->rflags,
			.rsp = f->rsp,
			.ss = f->ss,
			.frame = (u64)(uintptr_t)&f->rip,
		};
	}
	f->rbx = c->rbx;
	f->rbp = c->rbp;
	f->r12 = c->r12;
	f->r13 = c->r13;
	f->r14 = c->r14;
	f->r15 = c->r15;
	f->rip = *(const u64 *)(uintptr_t)c->rsp;
	f->rsp = c->rsp + 8;
	f->rflags = c->rflags;
	f->rax = vector;
}

void rv_trap_abandon(unsigned vector, u64 error, struct rv_frame *f)
{
	struct rv_try_ctx *c = vector < 32 ? rv_cpu_local()->recovery : NULL;

	if (c) {
		recover(c, vector, f);
		return;
	}
	rv_fail(RV_EXIT_EXCEPTION + vector,
		"unexpected %s (vector %u), error %#lx, at RIP %#lx, RSP %#lx, CR2 %#lx",
		rv_vector_name(vector), vector, error, f->rip, f->rsp, rv_read_cr2());
}

int rv_try(void (*fn)(void *), void *arg, struct rv_trap_info *info)
{
	struct rv_cpu_local *l = rv_cpu_local();
	struct rv_try_ctx ctx = { .info = info, .outer = l->recovery };
	long r;

	l->recovery = &ctx;
	r = rv_try_call(&ctx, fn, arg);
	l->recovery = ctx.outer;
	return (int)r;
}
