// SPDX-License-Identifier: MIT
/*
 * The threads executor: one worker per pCPU, pinned to a host CPU, running
 * the dispatch loop until the VM stops. An idle worker sleeps on its futex;
 * rv_pcpu_notify() wakes it (pcpu.c states the protocol).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "numa_report.h"
#include "pcpu.h"

#define IDLE_CHECK_NS 20000000 /* how long an idle worker sleeps before a hang check */

/* Pin the worker to its pCPU's host CPU, and record what the kernel made of
 * it: the affinity read back must be exactly that CPU. */
static void pin(struct rv_pcpu *p, struct rv_pcpu_placement *pl)
{
	cpu_set_t set;

	pl->pin_asked = true;
	CPU_ZERO(&set);
	CPU_SET(p->host_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		pl->pin_error = errno;
		return;
	}
	CPU_ZERO(&set);
	pl->pinned = !sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) == 1 &&
		     CPU_ISSET(p->host_cpu, &set);
}

/* Where the worker runs now, for the placement report (a vDSO call). */
static void note_cpu(struct rv_pcpu_placement *pl)
{
	int cpu = sched_getcpu();

	pl->samples++;
	if (cpu >= 0 && cpu < RV_NUMA_MAX_CPUS)
		pl->cpus_seen[cpu / 64] |= 1ull << (cpu % 64);
}

static bool vm_running(struct rv_vm *vm)
{
	return atomic_load_explicit(&vm->state, memory_order_acquire) == RV_VM_RUNNING;
}

static bool all_pcpus_idle(struct rv_vm *vm)
{
	for (uint32_t i = 0; i < vm->nr_pcpus; i++)
		if (!atomic_load(&vm->pcpus[i]->idle))
			return false;
	return true;
}

/*
 * Every worker idle, no vCPU queued and every live vCPU blocked: no vCPU can
 * post the wake another one waits for. Wakes from host threads are still
 * possible, so the check only runs after a worker slept a whole period.
 */
static void check_hang(struct rv_vm *vm)
{
	if (!all_pcpus_idle(vm) || rv_sched_any_queued(vm))
		return;
	uint32_t live = atomic_load(&vm->nr_live);

	if (live && atomic_load(&vm->nr_blocked) == live)
		rv_vm_set_state(vm, RV_VM_HUNG);
}

static void idle_wait(struct rv_pcpu *p)
{
	struct rv_vm *vm = p->vm;
	struct timespec timeout = { 0, IDLE_CHECK_NS };

	atomic_store_explicit(&p->idle, 1, memory_order_seq_cst);
	uint32_t seen = atomic_load_explicit(&p->futex_word, memory_order_seq_cst);

	if (vm_running(vm) && !rv_sched_any_queued(vm)) {
		long rc = syscall(SYS_futex, &p->futex_word, FUTEX_WAIT_PRIVATE, seen, &timeout,
				  NULL, 0);

		if (rc == 0 || atomic_load(&p->futex_word) != seen) {
			/* woken */
		} else if (rv_sched_any_queued(vm)) {
			/* Work arrived and nobody woke us: a lost notify. */
			atomic_fetch_add(&vm->idle_timeouts_with_work, 1);
		} else {
			check_hang(vm);
		}
	}
	atomic_store_explicit(&p->idle, 0, memory_order_seq_cst);
}

static void *worker(void *arg)
{
	struct rv_pcpu *p = arg;
	struct rv_vm *vm = p->vm;
	struct rv_pcpu_placement *pl = rv_pcpu_placement(p);
	uint32_t steps = 0;

	pl->workers++;
	if (vm->cfg.pin)
		pin(p, pl);
	note_cpu(pl);
	while (vm_running(vm)) {
		if (!rv_pcpu_step(p)) {
			idle_wait(p);
			note_cpu(pl);
		} else if (!(++steps % 4096)) {
			note_cpu(pl);
		}
	}
	note_cpu(pl);
	return NULL;
}

int rv_exec_threads_run(struct rv_vm *vm)
{
	uint32_t started = 0;

	for (; started < vm->nr_pcpus; started++) {
		struct rv_pcpu *p = vm->pcpus[started];

		if (pthread_create(&p->thread, NULL, worker, p))
			break;
	}
	if (started < vm->nr_pcpus)
		rv_vm_set_state(vm, RV_VM_DEAD);
	for (uint32_t i = 0; i < started; i++)
		pthread_join(vm->pcpus[i]->thread, NULL);
	return 0;
}
