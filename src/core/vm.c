// SPDX-License-Identifier: MIT
/* VM lifecycle and the RCU-protected vCPU set. */
#include <errno.h>
#include <stdarg.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "rcu.h"
#include "sched/pcpu.h"
#include "vm_impl.h"

__attribute__((format(printf, 3, 4))) static int config_error(char *err, size_t len,
							      const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(err, len, msg, ap);
	va_end(ap);
	return -1;
}

static int check_config(const struct rv_vm_config *c, char *err, size_t len)
{
	if (c->nr_vcpus < 1 || c->nr_vcpus > RV_MAX_VCPUS)
		return config_error(err, len, "vcpus must be 1 to 4096 (got %u)", c->nr_vcpus);
	if (c->max_vcpus && (c->max_vcpus < c->nr_vcpus || c->max_vcpus > RV_MAX_VCPUS))
		return config_error(err, len, "max vcpus must be vcpus to 4096 (got %u)",
				    c->max_vcpus);
	if (c->nr_pcpus < 1 || c->nr_pcpus > 1024)
		return config_error(err, len, "pcpus must be 1 to 1024 (got %u)", c->nr_pcpus);
	if (c->nr_nodes > c->nr_pcpus)
		return config_error(err, len, "more NUMA nodes than pcpus (%u)", c->nr_nodes);
	if (!c->backend || !c->backend->run) {
		snprintf(err, len, "no backend");
		return -1;
	}
	return 0;
}

static uint32_t host_nodes(void)
{
	if (numa_available() < 0)
		return 1;
	int n = numa_num_configured_nodes();

	return n > 0 ? (uint32_t)n : 1;
}

static int vcpu_home_node(struct rv_vm *vm, uint32_t index)
{
	return vm->pcpus[index % vm->nr_pcpus]->node;
}

static struct rv_vcpu *vcpu_create(struct rv_vm *vm, uint32_t index)
{
	int node = vcpu_home_node(vm, index);
	struct rv_vcpu *v = rv_node_zalloc(vm, node, sizeof(*v));

	if (!v)
		return NULL;
	v->index = index;
	v->node = node;
	v->vm = vm;
	v->phase = RV_PHASE_HOST;
	atomic_init(&v->run_state, RV_VCPU_RUNNABLE);
	if (vm->vendor.vcpu_create(v))
		goto fail;
	if (vm->cfg.backend->vcpu_init && vm->cfg.backend->vcpu_init(v)) {
		vm->vendor.vcpu_free(v);
		goto fail;
	}
	return v;
fail:
	rv_node_free(v);
	return NULL;
}

static void vcpu_retire_stats(struct rv_vm *vm, struct rv_vcpu *v)
{
	for (int i = 0; i < RV_NR_STATS; i++)
		vm->retired_stat[i] += v->stat[i];
	for (int i = 0; i < 64; i++) {
		vm->retired_serviced[i] += v->serviced[i];
		vm->retired_covered[i] += v->covered[i];
		vm->retired_coalesced[i] += atomic_load(&v->coalesced[i]);
	}
}

static void vcpu_free(struct rv_vm *vm, struct rv_vcpu *v)
{
	rv_vcpu_run_late(v);
	if (vm->cfg.backend->vcpu_free)
		vm->cfg.backend->vcpu_free(v);
	vm->vendor.vcpu_free(v);
	rv_node_free(v);
}

int rv_vm_add_vcpu(struct rv_vm *vm, uint32_t index)
{
	if (index >= vm->max_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&vm->set_lock);
	int rc = -EEXIST;

	if (!rv_vm_slot(vm, index)) {
		struct rv_vcpu *v = vcpu_create(vm, index);

		rc = v ? 0 : -ENOMEM;
		if (v) {
			atomic_fetch_add(&vm->nr_live, 1);
			atomic_store_explicit(&vm->slots[index], v, memory_order_release);
			if (atomic_load(&vm->started))
				rv_sched_enqueue(vm, v);
		}
	}
	pthread_mutex_unlock(&vm->set_lock);
	return rc;
}

int rv_vm_remove_vcpu(struct rv_vm *vm, uint32_t index)
{
	if (index >= vm->max_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&vm->set_lock);
	struct rv_vcpu *v = rv_vm_slot(vm, index);

	if (!v) {
		pthread_mutex_unlock(&vm->set_lock);
		return -ENOENT;
	}
	atomic_store_explicit(&vm->slots[index], NULL, memory_order_release);
	int state = atomic_load(&v->run_state);

	if (state != RV_VCPU_DONE)
		atomic_fetch_sub(&vm->nr_live, 1);
	if (state == RV_VCPU_BLOCKED)
		atomic_fetch_sub(&vm->nr_blocked, 1);
	vcpu_retire_stats(vm, v);
	pthread_mutex_unlock(&vm->set_lock);
	/* Broadcasts that found the vCPU before the slot was cleared may
	 * still touch it: free only after they have all ended. */
	rv_rcu_synchronize(vm);
	vcpu_free(vm, v);
	return 0;
}

struct rv_vcpu *rv_vm_vcpu(struct rv_vm *vm, uint32_t index)
{
	return index < vm->max_vcpus ? rv_vm_slot(vm, index) : NULL;
}

static int vm_init(struct rv_vm *vm, char *err, size_t errlen)
{
	const char *missing = NULL;

	if (rv_vendor_register(&vm->vendor, &missing)) {
		snprintf(err, errlen, "vendor '%s' lacks mandatory op %s", vm->vendor.name,
			 missing);
		return -1;
	}
	if (rv_faults_parse(&vm->faults, vm->cfg.faults, vm->cfg.seed, err, errlen))
		return -1;
	vm->slots = rv_calloc(vm->max_vcpus, sizeof(*vm->slots));
	if (!vm->slots || rv_node_arenas_create(vm) || rv_pcpus_create(vm)) {
		snprintf(err, errlen, "out of memory creating the VM");
		return -1;
	}
	for (uint32_t i = 0; i < vm->cfg.nr_vcpus; i++) {
		if (rv_vm_add_vcpu(vm, i)) {
			snprintf(err, errlen, "cannot create vCPU %u", i);
			return -1;
		}
	}
	return 0;
}

int rv_vm_create(const struct rv_vm_config *cfg, struct rv_vm **out, char *err, size_t errlen)
{
	*out = NULL;
	if (check_config(cfg, err, errlen))
		return -1;
	struct rv_vm *vm = rv_calloc(1, sizeof(*vm));

	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vm->cfg = *cfg;
	vm->cfg.slice = cfg->slice ? cfg->slice : RV_DEFAULT_SLICE;
	vm->vendor = cfg->vendor ? *cfg->vendor : rv_null_vendor;
	vm->max_vcpus = cfg->max_vcpus ? cfg->max_vcpus : cfg->nr_vcpus;
	vm->nr_pcpus = cfg->nr_pcpus;
	vm->nr_nodes = cfg->nr_nodes ? cfg->nr_nodes : host_nodes();
	if (vm->nr_nodes > vm->nr_pcpus)
		vm->nr_nodes = vm->nr_pcpus;
	vm->trace = cfg->trace && cfg->executor == RV_EXEC_DETERMINISTIC;
	vm->trace_hash = 0xcbf29ce484222325ull ^ cfg->seed;
	vm->det_rng = cfg->seed;
	pthread_mutex_init(&vm->set_lock, NULL);
	if (vm_init(vm, err, errlen)) {
		rv_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

void rv_vm_destroy(struct rv_vm *vm)
{
	if (!vm)
		return;
	/* What a fault point held may touch other vCPUs: before any is freed. */
	for (uint32_t i = 0; vm->slots && i < vm->max_vcpus; i++) {
		struct rv_vcpu *v = rv_vm_slot(vm, i);

		if (v)
			rv_vcpu_run_late(v);
	}
	for (uint32_t i = 0; vm->slots && i < vm->max_vcpus; i++) {
		struct rv_vcpu *v = rv_vm_slot(vm, i);

		if (v)
			vcpu_free(vm, v);
	}
	rv_pcpus_destroy(vm);
	free(vm->slots);
	rv_node_arenas_destroy(vm);
	pthread_mutex_destroy(&vm->set_lock);
	free(vm);
}

int rv_vm_run(struct rv_vm *vm)
{
	if (atomic_load(&vm->nr_live) == 0)
		return 0;
	pthread_mutex_lock(&vm->set_lock);
	atomic_store(&vm->started, true);
	for (uint32_t i = 0; i < vm->max_vcpus; i++) {
		struct rv_vcpu *v = rv_vm_slot(vm, i);

		if (v && atomic_load(&v->run_state) == RV_VCPU_RUNNABLE)
			rv_rq_push(vm->pcpus[i % vm->nr_pcpus], v);
	}
	pthread_mutex_unlock(&vm->set_lock);
	int rc = rv_vm_is_deterministic(vm) ? rv_exec_deterministic_run(vm)
					    : rv_exec_threads_run(vm);

	(void)rc;
	switch (atomic_load(&vm->state)) {
	case RV_VM_FINISHED:
		return 0;
	case RV_VM_HUNG:
		return -1;
	default:
		return -2;
	}
}

void rv_vm_set_state(struct rv_vm *vm, int state)
{
	int running = RV_VM_RUNNING;

	if (!atomic_compare_exchange_strong(&vm->state, &running, state))
		return;
	for (uint32_t i = 0; i < vm->nr_pcpus; i++)
		rv_pcpu_notify(vm->pcpus[i]);
}

static void end_run(struct rv_vm *vm, int state)
{
	struct rv_bcast_count c = { 0 };

	/* The state first: vCPUs that service VM_DEAD must not end the VM
	 * another way. The kicks then get the workers out of guest code. */
	rv_vm_set_state(vm, state);
	rv_broadcast(vm, RV_REQ_VM_DEAD & ~RV_REQ_WAIT, NULL, NULL, NULL, &c);
}

void rv_vm_kill(struct rv_vm *vm)
{
	end_run(vm, RV_VM_DEAD);
}

void rv_vm_stop(struct rv_vm *vm)
{
	end_run(vm, RV_VM_FINISHED);
}

void rv_vm_vcpu_counts(struct rv_vm *vm, uint32_t *live, uint32_t *halted, uint32_t *loaded)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < vm->nr_pcpus; i++)
		n += atomic_load_explicit(&vm->pcpus[i]->loaded, memory_order_relaxed);
	*live = atomic_load(&vm->nr_live);
	*halted = atomic_load(&vm->nr_blocked);
	*loaded = n;
}

const struct rv_vm_config *rv_vm_config(const struct rv_vm *vm)
{
	return &vm->cfg;
}

void *rv_vm_backend_ctx(const struct rv_vm *vm)
{
	return vm->cfg.backend_ctx;
}

uint32_t rv_vm_nr_vcpus(const struct rv_vm *vm)
{
	return vm->max_vcpus;
}

uint32_t rv_vm_nr_pcpus(const struct rv_vm *vm)
{
	return vm->nr_pcpus;
}

uint64_t rv_vm_trace_hash(const struct rv_vm *vm)
{
	return vm->trace_hash;
}

uint64_t rv_vm_trace_events(const struct rv_vm *vm)
{
	return vm->trace_events;
}
