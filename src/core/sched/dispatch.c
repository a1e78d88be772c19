// SPDX-License-Identifier: MIT
/*
 * The dispatch loop, one step at a time, shared by both executors: a threads
 * worker calls rv_pcpu_step() in a loop, the deterministic executor picks a
 * pCPU from its seed and calls it once. A step services requests and tries
 * the entry, or runs guest code, or polls a broadcast's waiters.
 */
#include "../service.h"
#include "pcpu.h"

static void vcpu_load(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_pcpu *last = v->last_pcpu;

	p->cur = v;
	atomic_store_explicit(&p->loaded, 1, memory_order_relaxed);
	if (v->was_blocked) {
		v->was_blocked = 0;
		rv_count(&v->stat[RV_STAT_wakeups], 1);
	}
	if (last && last != p)
		rv_count(&v->stat[RV_STAT_migrations], 1);
	atomic_store_explicit(&v->pcpu, p, memory_order_release);
	p->vm->vendor.vcpu_load(v, p, last);
	v->slice_left = p->vm->cfg.slice;
	v->phase = RV_PHASE_HOST;
	rv_trace(p->vm, RV_TRACE_LOAD, p->index, v->index);
}

static void vcpu_put(struct rv_pcpu *p, struct rv_vcpu *v)
{
	p->vm->vendor.vcpu_put(v);
	v->last_pcpu = p;
	p->cur = NULL;
	atomic_store_explicit(&p->loaded, 0, memory_order_relaxed);
}

static struct rv_vcpu *pick(struct rv_pcpu *p)
{
	struct rv_vcpu *v = rv_rq_pop(p);

	if (!v)
		v = rv_rq_steal(p);
	if (v)
		vcpu_load(p, v);
	return v;
}

/* Every return to OUTSIDE_GUEST moves the exit count, which is what WAIT
 * broadcasts watch (request.h). */
static void leave_guest_mode(struct rv_vcpu *v)
{
	atomic_store_explicit(&v->mode, RV_OUTSIDE_GUEST_MODE, memory_order_seq_cst);
	atomic_fetch_add_explicit(&v->exits, 1, memory_order_release);
}

static bool entry_must_back_off(struct rv_vcpu *v)
{
	return atomic_load_explicit(&v->mode, memory_order_seq_cst) == RV_EXITING_GUEST_MODE ||
	       rv_request_pending(v);
}

static void try_enter(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;

	/* Clear the IPI word before announcing IN_GUEST: a kick that sees
	 * IN_GUEST stores its IPI after this clear. */
	atomic_store_explicit(&p->ipi, 0, memory_order_relaxed);
	atomic_store_explicit(&v->mode, RV_IN_GUEST_MODE, memory_order_seq_cst);
	if (!RV_FAULT_HIT(&vm->faults, ENTRY_NO_RECHECK) && entry_must_back_off(v)) {
		leave_guest_mode(v);
		rv_count(&v->stat[RV_STAT_backoffs], 1);
		rv_trace(vm, RV_TRACE_BACKOFF, v->index, 0);
		return;
	}
	v->phase = RV_PHASE_GUEST;
	rv_count(&v->stat[RV_STAT_entries], 1);
	rv_trace(vm, RV_TRACE_ENTER, v->index, p->index);
}

/* request.spurious: a benign request nobody posted (an extra flush or an
 * extra event check must never break anything). */
static void inject_spurious(struct rv_vcpu *v)
{
	static const unsigned benign[] = {
		RV_REQ_BIT_MMU_SYNC,	    RV_REQ_BIT_TLB_FLUSH, RV_REQ_BIT_TLB_FLUSH_CURRENT,
		RV_REQ_BIT_TLB_FLUSH_GUEST, RV_REQ_BIT_EVENT,	  RV_REQ_BIT_UNBLOCK,
	};
	uint64_t n = rv_counter(&v->stat[RV_STAT_spurious]) * 0x9e3779b97f4a7c15ull + v->index;

	rv_count(&v->stat[RV_STAT_spurious], 1);
	rv_make_request(v, benign[(n >> 32) % (sizeof(benign) / sizeof(benign[0]))]);
}

static void finish(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;

	rv_trace(vm, RV_TRACE_DONE, v->index, 0);
	vcpu_put(p, v);
	atomic_store(&v->run_state, RV_VCPU_DONE);
	if (atomic_fetch_sub(&vm->nr_live, 1) == 1)
		rv_vm_set_state(vm, RV_VM_FINISHED);
}

static void step_host(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;

	if (RV_FAULT_HIT(&vm->faults, REQUEST_SPURIOUS))
		inject_spurious(v);
	if (rv_request_pending(v) && !rv_service_requests(v)) {
		finish(p, v);
		return;
	}
	if (v->phase != RV_PHASE_HOST)
		return;
	if (rv_vm_is_deterministic(vm)) {
		v->phase = RV_PHASE_ENTRY;
		return;
	}
	vm->vendor.prepare_entry(v);
	try_enter(p, v);
}

static void step_entry(struct rv_pcpu *p, struct rv_vcpu *v)
{
	v->phase = RV_PHASE_HOST;
	p->vm->vendor.prepare_entry(v);
	try_enter(p, v);
}

/*
 * Halt: the vCPU leaves the pCPU first, then becomes BLOCKED, then looks for
 * a wake that raced with it. A waker flips BLOCKED to RUNNABLE with cmpxchg
 * and queues it; if the vCPU finds a wake reason itself, it does the same
 * through the same function, so exactly one party queues it.
 */
static void halt(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;
	const struct rv_backend_ops *b = vm->cfg.backend;

	rv_count(&v->stat[RV_STAT_halts], 1);
	v->was_blocked = 1;
	rv_trace(vm, RV_TRACE_HALT, v->index, 0);
	vcpu_put(p, v);
	atomic_fetch_add(&vm->nr_blocked, 1);
	atomic_store_explicit(&v->run_state, RV_VCPU_BLOCKED, memory_order_seq_cst);
	if (rv_request_pending_mask(v, rv_request_wake_mask()) || (b->has_event && b->has_event(v)))
		rv_vcpu_wake(v);
}

static void requeue(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;

	vcpu_put(p, v);
	if (RV_FAULT_HIT(&vm->faults, VCPU_MIGRATE))
		p = vm->pcpus[(p->index + 1) % vm->nr_pcpus];
	rv_rq_push(p, v);
}

static void after_exit(struct rv_pcpu *p, struct rv_vcpu *v, enum rv_exit exit)
{
	switch (exit) {
	case RV_EXIT_HALT:
		if (v->phase == RV_PHASE_WAIT) {
			v->pending_exit = exit;
			return;
		}
		halt(p, v);
		return;
	case RV_EXIT_DONE:
		if (v->phase == RV_PHASE_WAIT) {
			v->pending_exit = exit;
			return;
		}
		finish(p, v);
		return;
	default:
		return;
	}
}

static void handle_exit(struct rv_pcpu *p, struct rv_vcpu *v, enum rv_exit exit)
{
	rv_trace(p->vm, RV_TRACE_EXIT, v->index, exit);
	v->phase = RV_PHASE_HOST;
	switch (exit) {
	case RV_EXIT_KICK:
		rv_count(&v->stat[RV_STAT_exits_kick], 1);
		return;
	case RV_EXIT_SLICE:
		rv_count(&v->stat[RV_STAT_exits_slice], 1);
		requeue(p, v);
		return;
	case RV_EXIT_PREEMPT:
		rv_count(&v->stat[RV_STAT_preemptions], 1);
		requeue(p, v);
		return;
	case RV_EXIT_BACKEND:
		rv_count(&v->stat[RV_STAT_exits_other], 1);
		after_exit(p, v, p->vm->cfg.backend->handle_exit(v));
		return;
	default:
		after_exit(p, v, exit);
		return;
	}
}

static void step_guest(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;
	enum rv_exit exit = RV_EXIT_PREEMPT;

	if (!RV_FAULT_HIT(&vm->faults, VCPU_PREEMPT)) {
		uint32_t used = 0;
		uint32_t budget = rv_vm_is_deterministic(vm) ? 1 : v->slice_left;

		exit = vm->cfg.backend->run(v, &p->ipi, budget, &used);
		rv_count(&v->stat[RV_STAT_steps], used);
		v->slice_left -= used < v->slice_left ? used : v->slice_left;
		if (exit == RV_EXIT_NONE) {
			if (v->slice_left)
				return;
			exit = RV_EXIT_SLICE;
		}
	}
	leave_guest_mode(v);
	handle_exit(p, v, exit);
}

static void step_wait(struct rv_pcpu *p, struct rv_vcpu *v)
{
	struct rv_vm *vm = p->vm;

	if (!rv_waitset_done(vm, &p->ws)) {
		if (!rv_vm_is_deterministic(vm))
			__builtin_ia32_pause();
		return;
	}
	uint64_t now = rv_vm_is_deterministic(vm) ? vm->det_step : rv_now_ns();

	rv_count(&v->stat[RV_STAT_wait_ns], now - p->ws.start);
	rv_trace(vm, RV_TRACE_WAIT_DONE, v->index, 0);
	if (v->after_wait) {
		void (*done)(struct rv_vcpu *) = v->after_wait;

		v->after_wait = NULL;
		done(v);
	}
	v->phase = RV_PHASE_HOST;
	enum rv_exit pending = v->pending_exit;

	v->pending_exit = RV_EXIT_NONE;
	after_exit(p, v, pending);
}

static void step_walk(struct rv_pcpu *p, struct rv_vcpu *v)
{
	(void)p;
	if (v->walk_left && --v->walk_left)
		return;
	v->phase = RV_PHASE_HOST;
	leave_guest_mode(v);
}

void rv_vcpu_run_late(struct rv_vcpu *v)
{
	void (*fn)(struct rv_vcpu *, void *) = v->late;

	if (!fn)
		return;
	v->late = NULL;
	fn(v, v->late_arg);
}

void rv_vcpu_defer(struct rv_vcpu *v, void (*fn)(struct rv_vcpu *, void *), void *arg)
{
	if (!rv_vm_is_deterministic(v->vm) || v->late) {
		fn(v, arg);
		return;
	}
	v->late_arg = arg;
	v->late = fn;
}

bool rv_pcpu_step(struct rv_pcpu *p)
{
	struct rv_vcpu *v = p->cur;

	if (!v && !(v = pick(p)))
		return false;
	if (__builtin_expect(v->late != NULL, 0))
		rv_vcpu_run_late(v);
	switch (v->phase) {
	case RV_PHASE_GUEST:
		step_guest(p, v);
		break;
	case RV_PHASE_WAIT:
		step_wait(p, v);
		break;
	case RV_PHASE_WALK:
		step_walk(p, v);
		break;
	case RV_PHASE_ENTRY:
		step_entry(p, v);
		break;
	default:
		step_host(p, v);
		break;
	}
	return true;
}

/* Lockless shadow-page-table walk: WAIT broadcasts wait for it to end. */
void rv_vcpu_begin_walk(struct rv_vcpu *v, uint32_t steps)
{
	atomic_store_explicit(&v->mode, RV_READING_SHADOW_PAGE_TABLES, memory_order_seq_cst);
	v->walk_left = steps ? steps : 1;
	v->phase = RV_PHASE_WALK;
}
