// SPDX-License-Identifier: MIT
/* pCPUs, their run queues, queue placement, IPIs and idle wake-ups. */
#include <linux/futex.h>
#include <numa.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "pcpu.h"

static int rq_init(struct rv_runqueue *rq, uint32_t cap)
{
	pthread_mutex_init(&rq->lock, NULL);
	rq->cap = cap;
	rq->slot = rv_calloc(cap, sizeof(*rq->slot));
	return rq->slot ? 0 : -1;
}

static int host_cpu_of(uint32_t index)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (int)(index % (uint32_t)(n > 0 ? n : 1));
}

/* Declared topology: pCPUs split evenly over the nodes, in order. On the
 * host's topology, a pCPU's node is its host CPU's. */
static int node_of(struct rv_vm *vm, uint32_t index, int host_cpu)
{
	if (vm->cfg.nr_nodes || numa_available() < 0) {
		return (int)((uint64_t)index * vm->nr_nodes / vm->nr_pcpus);
	}
	int node = numa_node_of_cpu(host_cpu);

	return node >= 0 && (uint32_t)node < vm->nr_nodes ? node : 0;
}

int rv_pcpus_create(struct rv_vm *vm)
{
	vm->pcpus = rv_calloc(vm->nr_pcpus, sizeof(*vm->pcpus));
	if (!vm->pcpus)
		return -1;
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		int cpu = host_cpu_of(i);
		int node = node_of(vm, i, cpu);
		struct rv_pcpu *p = rv_node_zalloc(vm, node, sizeof(*p));

		if (!p)
			return -1;
		vm->pcpus[i] = p;
		p->index = i;
		p->host_cpu = cpu;
		p->node = node;
		p->vm = vm;
		p->ws.entry = rv_calloc(vm->max_vcpus, sizeof(*p->ws.entry));
		if (!p->ws.entry || rq_init(&p->rq, vm->max_vcpus))
			return -1;
	}
	return 0;
}

void rv_pcpus_destroy(struct rv_vm *vm)
{
	for (uint32_t i = 0; vm->pcpus && i < vm->nr_pcpus; i++) {
		struct rv_pcpu *p = vm->pcpus[i];

		if (!p)
			continue;
		free(p->rq.slot);
		free(p->ws.entry);
		pthread_mutex_destroy(&p->rq.lock);
		rv_node_free(p);
	}
	free(vm->pcpus);
}

void rv_rq_push(struct rv_pcpu *p, struct rv_vcpu *vcpu)
{
	struct rv_runqueue *rq = &p->rq;

	pthread_mutex_lock(&rq->lock);
	uint32_t len = atomic_load_explicit(&rq->len, memory_order_relaxed);

	rq->slot[(rq->head + len) % rq->cap] = vcpu;
	atomic_store_explicit(&rq->len, len + 1, memory_order_seq_cst);
	pthread_mutex_unlock(&rq->lock);
}

static struct rv_vcpu *rq_take(struct rv_runqueue *rq, bool from_tail)
{
	if (!atomic_load_explicit(&rq->len, memory_order_relaxed))
		return NULL;
	struct rv_vcpu *v = NULL;

	pthread_mutex_lock(&rq->lock);
	uint32_t len = atomic_load_explicit(&rq->len, memory_order_relaxed);

	if (len) {
		if (from_tail) {
			v = rq->slot[(rq->head + len - 1) % rq->cap];
		} else {
			v = rq->slot[rq->head];
			rq->head = (rq->head + 1) % rq->cap;
		}
		atomic_store_explicit(&rq->len, len - 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&rq->lock);
	return v;
}

struct rv_vcpu *rv_rq_pop(struct rv_pcpu *p)
{
	return rq_take(&p->rq, false);
}

/* Steal from the tail (the vCPU queued last, whose cache is coldest), from a
 * pCPU on the same node first. */
struct rv_vcpu *rv_rq_steal(struct rv_pcpu *p)
{
	struct rv_vm *vm = p->vm;

	for (int remote = 0; remote < 2; remote++) {
		for (uint32_t k = 1; k < vm->nr_pcpus; k++) {
			struct rv_pcpu *q = vm->pcpus[(p->index + k) % vm->nr_pcpus];

			if ((q->node != p->node) != remote)
				continue;
			struct rv_vcpu *v = rq_take(&q->rq, true);

			if (v)
				return v;
		}
	}
	return NULL;
}

bool rv_sched_any_queued(struct rv_vm *vm)
{
	for (uint32_t i = 0; i < vm->nr_pcpus; i++)
		if (atomic_load_explicit(&vm->pcpus[i]->rq.len, memory_order_seq_cst))
			return true;
	return false;
}

static struct rv_pcpu *idle_pcpu(struct rv_vm *vm, int node)
{
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		struct rv_pcpu *p = vm->pcpus[i];

		if ((node < 0 || p->node == node) && atomic_load(&p->idle))
			return p;
	}
	return NULL;
}

/*
 * Where a runnable vCPU goes: its last pCPU when that one is idle, else an
 * idle pCPU of its node, else any idle pCPU, else back to its last pCPU's
 * queue (the busy owner reaches it at its next slice end, or a pCPU that
 * turns idle steals it).
 */
void rv_sched_enqueue(struct rv_vm *vm, struct rv_vcpu *vcpu)
{
	struct rv_pcpu *last =
		vcpu->last_pcpu ? vcpu->last_pcpu : vm->pcpus[vcpu->index % vm->nr_pcpus];
	struct rv_pcpu *p = last;

	if (!rv_vm_is_deterministic(vm) && !atomic_load(&last->idle)) {
		p = idle_pcpu(vm, last->node);
		if (!p)
			p = idle_pcpu(vm, -1);
		if (!p)
			p = last;
	}
	rv_trace(vm, RV_TRACE_WAKE, vcpu->index, p->index);
	rv_rq_push(p, vcpu);
	rv_pcpu_notify(p);
}

void rv_pcpu_notify(struct rv_pcpu *p)
{
	if (rv_vm_is_deterministic(p->vm))
		return;
	if (!atomic_load_explicit(&p->idle, memory_order_seq_cst))
		return;
	atomic_fetch_add_explicit(&p->futex_word, 1, memory_order_seq_cst);
	syscall(SYS_futex, &p->futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

#define KICK_DELAY_STEPS 16
#define KICK_DELAY_NS	 2000

void rv_pcpu_send_ipi(struct rv_pcpu *p, bool delayed)
{
	if (!delayed) {
		atomic_store_explicit(&p->ipi, 1, memory_order_release);
		return;
	}
	if (rv_vm_is_deterministic(p->vm)) {
		p->ipi_delay = KICK_DELAY_STEPS;
		return;
	}
	uint64_t until = rv_now_ns() + KICK_DELAY_NS;

	while (rv_now_ns() < until)
		__builtin_ia32_pause();
	atomic_store_explicit(&p->ipi, 1, memory_order_release);
}

bool rv_vcpu_wake(struct rv_vcpu *vcpu)
{
	int blocked = RV_VCPU_BLOCKED;

	if (atomic_load_explicit(&vcpu->run_state, memory_order_seq_cst) != RV_VCPU_BLOCKED)
		return false;
	if (!atomic_compare_exchange_strong(&vcpu->run_state, &blocked, RV_VCPU_RUNNABLE))
		return false;
	atomic_fetch_sub(&vcpu->vm->nr_blocked, 1);
	rv_sched_enqueue(vcpu->vm, vcpu);
	return true;
}
