// SPDX-License-Identifier: MIT
/*
 * reqvisor's software CPU as the benchmark's snippet runner. Unlike the
 * differential suite's (tests/diff/cpu_ref.c) it has no instruction budget
 * to speak of, and times rv_cpu_run() alone. Guest memory is the snippet's
 * three regions in host buffers; every other address faults, so a stray
 * access ends the run instead of being measured.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_cpu.h"
#include "cpu/cpu.h"

#define STACK_SIZE 0x10000ull
#define CODE_MAP   0x2000ull /* the code and its terminator, as the other runners map it */
#define PORT_DONE  0xf4

/* Far more than any run needs (minutes), yet a runaway loop still ends. */
#define BUDGET (1ull << 34)

struct region {
	uint64_t base, size;
	uint8_t *host;
};

struct bench_soft {
	struct region code, data, stack;
	struct rv_cpu cpu;
};

static uint8_t *region_ptr(const struct region *r, uint64_t gva)
{
	return gva - r->base < r->size ? r->host + (gva - r->base) : NULL;
}

/* The data page first: it is what workload (b) translates on every access. */
static uint8_t *translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	struct bench_soft *b = ctx;
	uint8_t *p = region_ptr(&b->data, gva);

	if (!p)
		p = region_ptr(&b->stack, gva);
	if (!p)
		p = region_ptr(&b->code, gva);
	if (!p)
		*pf = (kind == RV_ACCESS_WRITE ? RV_PF_W : 0) |
		      (kind == RV_ACCESS_FETCH ? RV_PF_I : 0);
	return p;
}

/* The terminator stops the run; no workload does other I/O. */
static bool io(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *port)
{
	(void)ctx, (void)cpu;
	return !port->in && port->port == PORT_DONE;
}

static int region_init(struct region *r, uint64_t base, uint64_t size)
{
	r->base = base;
	r->size = size;
	r->host = aligned_alloc(4096, size);
	return r->host ? 0 : -1;
}

struct bench_soft *bench_soft_open(void)
{
	struct bench_soft *b = calloc(1, sizeof(*b));

	if (!b || region_init(&b->code, SNIPPET_CODE, CODE_MAP) ||
	    region_init(&b->data, SNIPPET_DATA, SNIPPET_DATA_SIZE) ||
	    region_init(&b->stack, SNIPPET_STACK - STACK_SIZE, STACK_SIZE)) {
		bench_soft_close(b);
		return NULL;
	}
	return b;
}

void bench_soft_close(struct bench_soft *b)
{
	if (!b)
		return;
	rv_cpu_destroy(&b->cpu);
	free(b->code.host);
	free(b->data.host);
	free(b->stack.host);
	free(b);
}

/* A fresh CPU, except for the decode cache: it stays warm across runs, as a
 * guest's would across time slices. */
static void load(struct bench_soft *b, const struct snippet *s)
{
	static const uint8_t out_f4[] = { 0xe6, PORT_DONE }; /* out %al, $0xf4 */
	struct rv_cpu *c = &b->cpu;
	struct rv_icache *keep = c->icache;

	memset(c, 0, sizeof(*c));
	c->icache = keep;
	rv_cpu_reset_long_mode(c);
	c->mem.ctx = b;
	c->mem.translate = translate;
	c->sys.io = io;
	c->exit_on_exception = true;
	memcpy(c->gpr, s->in.gpr, sizeof(c->gpr));
	c->rflags = (s->in.rflags & (RV_FLAGS_ARITH | RV_FLAG_DF)) | 2;
	c->rip = SNIPPET_CODE;
	memset(b->code.host, 0xcc, CODE_MAP);
	memcpy(b->code.host, s->code, s->len);
	memcpy(b->code.host + s->len, out_f4, sizeof(out_f4));
	memcpy(b->data.host, s->data, SNIPPET_DATA_SIZE);
	memset(b->stack.host, 0, STACK_SIZE);
}

static void collect(struct bench_soft *b, enum rv_cpu_exit e, struct snippet_result *r)
{
	const struct rv_cpu *c = &b->cpu;

	memcpy(r->out.gpr, c->gpr, sizeof(c->gpr));
	r->out.rflags = c->rflags;
	r->out.rip = c->rip;
	memcpy(r->data, b->data.host, SNIPPET_DATA_SIZE);
	if (e == RV_CPU_EXIT_IO && c->io.port == PORT_DONE && !c->io.in) {
		r->end = SNIPPET_END_DONE;
		r->out.rip -= sizeof(uint16_t); /* at the OUT, as the other runners report */
		return;
	}
	if (e == RV_CPU_EXIT_EXCEPTION) {
		r->end = SNIPPET_END_EXCEPTION;
		r->vector = c->exc.vector;
		r->error_code = c->exc.error_code;
		r->cr2 = c->exc.vector == RV_EXC_PF ? c->cr2 : 0;
		r->out.rip = c->fault_rip;
		snprintf(r->message, sizeof(r->message), "software CPU: exception %d at %#llx",
			 c->exc.vector, (unsigned long long)c->fault_rip);
		return;
	}
	r->end = SNIPPET_END_ERROR;
	snprintf(r->message, sizeof(r->message),
		 "software CPU: stopped with exit %d at %#llx after %llu instructions", (int)e,
		 (unsigned long long)c->rip, (unsigned long long)c->instructions);
}

void bench_soft_run(struct bench_soft *b, const struct snippet *s, struct snippet_result *r,
		    struct bench_soft_run *run)
{
	struct rv_cpu *c = &b->cpu;

	memset(r, 0, sizeof(*r));
	memset(run, 0, sizeof(*run));
	if (s->len > SNIPPET_CODE_MAX) {
		r->end = SNIPPET_END_ERROR;
		snprintf(r->message, sizeof(r->message), "software CPU: snippet too long");
		return;
	}
	load(b, s);
	uint64_t t0 = bench_tsc_begin();
	enum rv_cpu_exit e = rv_cpu_run(c, NULL, BUDGET);
	uint64_t t1 = bench_tsc_end();

	collect(b, e, r);
	run->ns = bench_sample_ns(t0, t1);
	/* The terminator retired too, but it is the runner's, not the workload's. */
	run->instructions = c->instructions - (r->end == SNIPPET_END_DONE);
	run->icache_hits = c->icache_hits;
	run->icache_misses = c->icache_misses;
}
