// SPDX-License-Identifier: MIT
/*
 * The software CPU as a snippet reference. Memory is exactly what the native
 * reference can map in a host process: the code page, the data page and the
 * 64 KiB stack; every other address faults (not present), so page-crossing
 * cases fault in the same place on both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu_ref.h"

#define STACK_SIZE 0x10000ull
#define CODE_MAP   0x2000ull /* the snippet and its terminator, as the others map it */
#define BUDGET	   1000000

struct region {
	uint64_t base, size;
	uint8_t *host;
};

struct cpu_ref {
	struct region code, data, stack;
	struct rv_cpu cpu;
	bool amd;
};

static uint8_t *region_ptr(struct region *r, uint64_t gva)
{
	return gva - r->base < r->size ? r->host + (gva - r->base) : NULL;
}

static uint8_t *translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	struct cpu_ref *r = ctx;
	uint8_t *p = region_ptr(&r->code, gva);

	if (!p)
		p = region_ptr(&r->data, gva);
	if (!p)
		p = region_ptr(&r->stack, gva);
	if (!p)
		*pf = (kind == RV_ACCESS_WRITE ? RV_PF_W : 0) |
		      (kind == RV_ACCESS_FETCH ? RV_PF_I : 0);
	return p;
}

/* Port 0xf4 is the terminator; other ports read as all ones. */
static bool io(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *port)
{
	(void)ctx, (void)cpu;
	return !port->in && port->port == 0xf4;
}

static int region_init(struct region *r, uint64_t base, uint64_t size)
{
	r->base = base;
	r->size = size;
	r->host = aligned_alloc(4096, size);
	return r->host ? 0 : -1;
}

struct cpu_ref *cpu_ref_open(bool amd)
{
	struct cpu_ref *r = calloc(1, sizeof(*r));

	if (r)
		r->amd = amd;
	if (!r || region_init(&r->code, SNIPPET_CODE, CODE_MAP) ||
	    region_init(&r->data, SNIPPET_DATA, SNIPPET_DATA_SIZE) ||
	    region_init(&r->stack, SNIPPET_STACK - STACK_SIZE, STACK_SIZE)) {
		cpu_ref_close(r);
		return NULL;
	}
	return r;
}

void cpu_ref_close(struct cpu_ref *r)
{
	if (!r)
		return;
	rv_cpu_destroy(&r->cpu);
	free(r->code.host);
	free(r->data.host);
	free(r->stack.host);
	free(r);
}

static void load(struct cpu_ref *r, const struct snippet *s)
{
	struct rv_cpu *c = &r->cpu;
	static const uint8_t out_f4[] = { 0xe6, 0xf4 };

	struct rv_icache *keep = c->icache;

	memset(c, 0, sizeof(*c));
	c->icache = keep;
	rv_cpu_reset_long_mode(c);
	c->mem.ctx = r;
	c->mem.translate = translate;
	c->sys.io = io;
	c->exit_on_exception = true;
	c->vendor_amd = r->amd;
	memcpy(c->gpr, s->in.gpr, sizeof(c->gpr));
	c->rflags = (s->in.rflags & (RV_FLAGS_ARITH | RV_FLAG_DF)) | 2;
	c->rip = SNIPPET_CODE;
	memset(r->code.host, 0xcc, CODE_MAP);
	memcpy(r->code.host, s->code, s->len);
	memcpy(r->code.host + s->len, out_f4, sizeof(out_f4));
	memcpy(r->data.host, s->data, SNIPPET_DATA_SIZE);
	memset(r->stack.host, 0, STACK_SIZE);
}

void cpu_ref_run(struct cpu_ref *r, const struct snippet *s, struct snippet_result *res)
{
	struct rv_cpu *c = &r->cpu;

	memset(res, 0, sizeof(*res));
	if (s->len > SNIPPET_CODE_MAX) {
		res->end = SNIPPET_END_ERROR;
		strcpy(res->message, "snippet too long");
		return;
	}
	load(r, s);
	enum rv_cpu_exit e = rv_cpu_run(c, NULL, BUDGET);

	memcpy(res->out.gpr, c->gpr, sizeof(c->gpr));
	res->out.rflags = c->rflags;
	res->out.rip = c->rip;
	memcpy(res->data, r->data.host, SNIPPET_DATA_SIZE);
	switch (e) {
	case RV_CPU_EXIT_IO:
		res->end = SNIPPET_END_DONE;
		res->out.rip = c->rip - 2; /* at the terminating OUT, as the others report */
		return;
	case RV_CPU_EXIT_EXCEPTION:
		res->end = SNIPPET_END_EXCEPTION;
		res->vector = c->exc.vector;
		res->error_code = c->exc.error_code;
		res->cr2 = c->exc.vector == RV_EXC_PF ? c->cr2 : 0;
		res->out.rip = c->fault_rip;
		return;
	default:
		res->end = SNIPPET_END_ERROR;
		snprintf(res->message, sizeof(res->message), "software CPU stopped with exit %d",
			 (int)e);
	}
}
