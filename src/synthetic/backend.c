// SPDX-License-Identifier: MIT
/*
 * The synthetic guest as a backend: "guest code" is a script interpreter
 * whose steps do a little arithmetic and poll the IPI word, exactly where the
 * software CPU will poll it at basic-block boundaries.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "reqvisor/request.h"
#include "reqvisor/synthetic.h"
#include "reqvisor/vm.h"
#include "script.h"

const char rv_synthetic_default_script[] = "run 200; post TLB_FLUSH all; "
					   "run 100; post TLB_FLUSH_CURRENT random 4; "
					   "run 100; post TLB_FLUSH_GUEST next; "
					   "run 50; walk 8; post MMU_SYNC random 2; "
					   "wake next; halt";

struct rv_synthetic {
	struct syn_program *program; /* shared by vCPUs without their own */
	struct syn_program **own;    /* per-index overrides */
	uint32_t nr_own;
	uint32_t rounds;
	uint64_t seed;
};

struct syn_vcpu {
	const struct syn_program *program;
	uint32_t pc;
	uint32_t left; /* steps left in the current run op */
	uint32_t round;
	uint32_t rounds;
	uint64_t acc;		 /* the guest's "work" */
	_Atomic uint32_t tokens; /* wake tokens */
};

struct rv_synthetic *rv_synthetic_create(const char *script, uint32_t rounds, uint64_t seed,
					 char *err, size_t errlen)
{
	struct rv_synthetic *syn = rv_calloc(1, sizeof(*syn));

	if (!syn)
		return NULL;
	syn->program = syn_compile(script, err, errlen);
	if (!syn->program) {
		free(syn);
		return NULL;
	}
	syn->rounds = rounds ? rounds : 1;
	syn->seed = seed;
	return syn;
}

int rv_synthetic_set_script(struct rv_synthetic *syn, uint32_t index, const char *script, char *err,
			    size_t errlen)
{
	if (index >= syn->nr_own) {
		struct syn_program **own = rv_realloc(syn->own, (index + 1) * sizeof(*own));

		if (!own)
			return -1;
		memset(own + syn->nr_own, 0, (index + 1 - syn->nr_own) * sizeof(*own));
		syn->own = own;
		syn->nr_own = index + 1;
	}
	struct syn_program *p = syn_compile(script, err, errlen);

	if (!p)
		return -1;
	free(syn->own[index]);
	syn->own[index] = p;
	return 0;
}

void rv_synthetic_destroy(struct rv_synthetic *syn)
{
	if (!syn)
		return;
	for (uint32_t i = 0; i < syn->nr_own; i++)
		free(syn->own[i]);
	free(syn->own);
	free(syn->program);
	free(syn);
}

static struct rv_synthetic *syn_of(struct rv_vcpu *v)
{
	return rv_vm_backend_ctx(v->vm);
}

static int syn_vcpu_init(struct rv_vcpu *v)
{
	struct rv_synthetic *syn = syn_of(v);
	struct syn_vcpu *s = rv_calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->program =
		v->index < syn->nr_own && syn->own[v->index] ? syn->own[v->index] : syn->program;
	s->acc = v->index;
	s->rounds = syn->rounds;
	v->backend_data = s;
	return 0;
}

static void syn_vcpu_free(struct rv_vcpu *v)
{
	free(v->backend_data);
	v->backend_data = NULL;
}

/* Past the last op: another round, or the vCPU is done. */
static bool end_of_round(struct syn_vcpu *s)
{
	s->pc = 0;
	return ++s->round >= s->rounds;
}

/* One step stands for a basic block: a few dozen dependent ALU operations. */
#define STEP_WORK 32

static void work(struct syn_vcpu *s)
{
	for (int i = 0; i < STEP_WORK; i++)
		s->acc = s->acc * 6364136223846793005ull + 1442695040888963407ull;
}

static enum rv_exit syn_run(struct rv_vcpu *v, const _Atomic uint32_t *ipi, uint32_t budget,
			    uint32_t *used)
{
	struct syn_vcpu *s = v->backend_data;

	for (;;) {
		if (atomic_load_explicit(ipi, memory_order_acquire))
			return RV_EXIT_KICK;
		if (s->pc == s->program->len && end_of_round(s))
			return RV_EXIT_DONE;
		const struct syn_insn *in = &s->program->insn[s->pc];

		switch (in->op) {
		case SYN_RUN:
			if (*used == budget)
				return RV_EXIT_NONE;
			if (!s->left)
				s->left = in->arg;
			work(s);
			(*used)++;
			if (!--s->left)
				s->pc++;
			break;
		case SYN_HALT:
			if (!atomic_load(&s->tokens))
				return RV_EXIT_HALT;
			atomic_fetch_sub(&s->tokens, 1);
			s->pc++;
			break;
		case SYN_EXIT:
			return RV_EXIT_DONE;
		default:
			return RV_EXIT_BACKEND;
		}
	}
}

static uint32_t pick_index(struct rv_vcpu *v, const struct syn_insn *in)
{
	uint32_t n = rv_vm_nr_vcpus(v->vm);

	switch (in->target) {
	case TGT_NEXT:
		return (v->index + 1) % n;
	case TGT_PREV:
		return (v->index + n - 1) % n;
	default:
		return in->arg % n;
	}
}

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* K distinct vCPUs other than @v, a function of (seed, vCPU, round, pc). */
static void pick_random(struct rv_vcpu *v, struct syn_vcpu *s, uint32_t k, struct rv_vcpu_mask *m)
{
	uint32_t n = rv_vm_nr_vcpus(v->vm);
	uint64_t x = mix(syn_of(v)->seed ^ ((uint64_t)v->index << 40) ^ ((uint64_t)s->round << 16) ^
			 s->pc);

	if (k > n - 1)
		k = n - 1;
	for (uint32_t got = 0; got < k;) {
		x = mix(x + 0x9e3779b97f4a7c15ull);
		uint32_t i = (uint32_t)(x % n);

		if (i != v->index && !rv_mask_test(m, i)) {
			rv_mask_set(m, i);
			got++;
		}
	}
}

static void targets(struct rv_vcpu *v, struct syn_vcpu *s, const struct syn_insn *in,
		    struct rv_vcpu_mask *m)
{
	rv_mask_zero(m);
	if (in->target == TGT_ALL) {
		for (uint32_t i = 0; i < rv_vm_nr_vcpus(v->vm); i++)
			rv_mask_set(m, i);
	} else if (in->target == TGT_RANDOM) {
		pick_random(v, s, in->arg, m);
	} else {
		rv_mask_set(m, pick_index(v, in));
	}
}

/*
 * The token lives in the target's backend data, reached outside an RCU
 * section: the synthetic guest does not support removing vCPUs while it runs
 * (the request itself goes through the RCU-safe broadcast).
 */
static void wake(struct rv_vcpu *v, const struct syn_insn *in)
{
	struct rv_vcpu *t = rv_vm_vcpu(v->vm, pick_index(v, in));
	struct rv_vcpu_mask m;

	if (!t)
		return;
	atomic_fetch_add(&((struct syn_vcpu *)t->backend_data)->tokens, 1);
	rv_mask_zero(&m);
	rv_mask_set(&m, t->index);
	rv_vcpu_make_vcpus_request_mask(v, RV_REQ_EVENT, &m);
}

/* The ops that need the host: they run outside guest mode. */
static enum rv_exit syn_handle_exit(struct rv_vcpu *v)
{
	struct syn_vcpu *s = v->backend_data;
	const struct syn_insn *in = &s->program->insn[s->pc++];
	struct rv_vcpu_mask m;

	switch (in->op) {
	case SYN_POST:
		targets(v, s, in, &m);
		rv_vcpu_make_vcpus_request_mask(v, in->req, &m);
		break;
	case SYN_WAKE:
		wake(v, in);
		break;
	case SYN_WALK:
		rv_vcpu_begin_walk(v, in->arg);
		break;
	default:
		break;
	}
	return RV_EXIT_NONE;
}

static bool syn_has_event(struct rv_vcpu *v)
{
	struct syn_vcpu *s = v->backend_data;

	return atomic_load(&s->tokens) != 0;
}

const struct rv_backend_ops rv_synthetic_backend = {
	.name = "synthetic guest",
	.vcpu_init = syn_vcpu_init,
	.vcpu_free = syn_vcpu_free,
	.run = syn_run,
	.handle_exit = syn_handle_exit,
	.has_event = syn_has_event,
};
