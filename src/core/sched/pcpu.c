// SPDX-License-Identifier: MIT
/* pCPUs, their run queues, queue placement, IPIs and idle wake-ups. */
#include <limits.h>
#include <linux/futex.h>
#include <numa.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "numa_report.h"
#include "pcpu.h"

static int rq_init(struct rv_runqueue *rq, uint32_t cap)
{
	pthread_mutex_init(&rq->lock, NULL);
	rq->cap = cap;
	rq->slot = rv_calloc(cap, sizeof(*rq->slot));
	return rq->slot ? 0 : -1;
}

/* The pCPU and its placement record, allocated together on its node. */
struct pcpu_box {
	struct rv_pcpu pcpu; /* first: rv_node_free() takes its address */
	struct rv_pcpu_placement place;
};

struct rv_pcpu_placement *rv_pcpu_placement(struct rv_pcpu *p)
{
	return &((struct pcpu_box *)p)->place;
}

/* pCPUs are spread evenly over the VM's nodes, in order, whether the nodes
 * were declared or are the host's. */
static int node_of(struct rv_vm *vm, uint32_t index)
{
	return (int)((uint64_t)index * vm->nr_nodes / vm->nr_pcpus);
}

/*
 * The host CPUs a pCPU of host node @host may be pinned to: the node's CPUs
 * that this process may run on (libnuma's numa_all_cpus_ptr, read when the
 * process started, so a thread that pinned itself since does not narrow it).
 * A node with none of them (a memory-only node, or outside the cpuset) gets
 * every allowed CPU, and *on_node says so. Without libnuma: every online CPU.
 */
static uint32_t node_cpus(int host, int *cpus, uint32_t max, bool *on_node)
{
	uint32_t n = 0;

	*on_node = false;
	if (host >= 0 && numa_available() >= 0) {
		struct bitmask *bm = numa_allocate_cpumask();

		if (bm && !numa_node_to_cpus(host, bm))
			for (unsigned c = 0; c < bm->size && n < max; c++)
				if (numa_bitmask_isbitset(bm, c) &&
				    numa_bitmask_isbitset(numa_all_cpus_ptr, c))
					cpus[n++] = (int)c;
		if (bm)
			numa_free_cpumask(bm);
		*on_node = n > 0;
		if (!n)
			for (unsigned c = 0; c < numa_all_cpus_ptr->size && n < max; c++)
				if (numa_bitmask_isbitset(numa_all_cpus_ptr, c))
					cpus[n++] = (int)c;
	}
	if (!n) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);

		for (long c = 0; c < (online > 0 ? online : 1) && n < max; c++)
			cpus[n++] = (int)c;
	}
	return n;
}

/*
 * pCPU i on VM node n: its host node is rv_host_node_of(n), and its host CPU
 * the k-th (round robin) of that host node's CPUs, k counting the pCPUs
 * placed on the same host node before it. On a one-node host a declared
 * topology takes this same path: every VM node maps to host node 0.
 */
int rv_pcpus_create(struct rv_vm *vm)
{
	int cpus[RV_NUMA_MAX_CPUS];
	int listed = INT_MIN; /* the host node whose CPUs cpus[] holds */
	uint32_t nr_cpus = 0;
	uint32_t placed[RV_NUMA_MAX_CPUS + 1] = { 0 }; /* pCPUs so far per host node + 1 */
	bool on_node = false;

	vm->pcpus = rv_calloc(vm->nr_pcpus, sizeof(*vm->pcpus));
	if (!vm->pcpus)
		return -1;
	for (uint32_t i = 0; i < vm->nr_pcpus; i++) {
		int node = node_of(vm, i), host = rv_host_node_of((uint32_t)node);
		struct pcpu_box *b = rv_node_zalloc(vm, node, sizeof(*b));
		struct rv_pcpu *p = b ? &b->pcpu : NULL;

		if (!p)
			return -1;
		if (host != listed) {
			nr_cpus = node_cpus(host, cpus, RV_NUMA_MAX_CPUS, &on_node);
			listed = host;
		}
		vm->pcpus[i] = p;
		p->index = i;
		p->host_cpu = cpus[placed[(host + 1) % (RV_NUMA_MAX_CPUS + 1)]++ % nr_cpus];
		p->node = node;
		p->vm = vm;
		b->place.host_node = host;
		b->place.cpu_on_node = on_node;
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
