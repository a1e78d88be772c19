// SPDX-License-Identifier: MIT
/*
 * Broadcasts and kicks. The ordering between a target's request word and its
 * mode is stated in include/reqvisor/request.h; this file is the poster's half.
 *
 * Per target: post the bit (seq_cst), then read the target's exit count and
 * mode. Only a target found IN_GUEST is flipped to EXITING by cmpxchg, and
 * only the winner of that cmpxchg sends the IPI, so concurrent kickers send
 * one. With WAIT, every target not OUTSIDE_GUEST (IN_GUEST, EXITING, or
 * reading shadow page tables) is waited for until its exit count moves or it
 * is OUTSIDE_GUEST. Halted and preempted targets are OUTSIDE_GUEST: they get
 * their bit and service it before their next entry, and are never waited for.
 */
#include "kick.h"
#include "rcu.h"
#include "sched/pcpu.h"

static void send_ipi(struct rv_vm *vm, struct rv_vcpu *t, struct rv_bcast_count *c)
{
	struct rv_pcpu *p = atomic_load_explicit(&t->pcpu, memory_order_acquire);

	if (RV_FAULT_HIT(&vm->faults, KICK_DROP)) {
		c->dropped++;
		return;
	}
	if (RV_FAULT_HIT(&vm->faults, KICK_DELAY)) {
		c->delayed++;
		rv_pcpu_send_ipi(p, true);
		return;
	}
	rv_pcpu_send_ipi(p, false);
}

static void post(struct rv_vcpu *t, uint32_t req)
{
	if (req & RV_REQ_NO_ACTION)
		rv_request_fence(t);
	else
		rv_make_request(t, req);
}

static void kick_target(struct rv_vm *vm, struct rv_vcpu *t, uint32_t req, struct rv_waitset *ws,
			struct rv_bcast_count *c)
{
	post(t, req);
	if (!(req & RV_REQ_NO_WAKEUP) && rv_vcpu_wake(t)) {
		c->wakes++;
		return;
	}
	/* The exit count first: a target that exits and re-enters between
	 * the two loads has serviced the bit (it was set before its entry). */
	uint32_t exits = atomic_load_explicit(&t->exits, memory_order_seq_cst);
	int mode = atomic_load_explicit(&t->mode, memory_order_seq_cst);

	if (mode == RV_OUTSIDE_GUEST_MODE) {
		c->avoided++;
		return;
	}
	bool kicked = false;

	if (mode == RV_IN_GUEST_MODE) {
		kicked = atomic_compare_exchange_strong_explicit(
			&t->mode, &mode, RV_EXITING_GUEST_MODE, memory_order_seq_cst,
			memory_order_seq_cst);
	}
	if (kicked) {
		c->kicks++;
		rv_trace(vm, RV_TRACE_KICK, t->index, 0);
		send_ipi(vm, t, c);
	} else {
		c->avoided++;
	}
	if ((req & RV_REQ_WAIT) && (kicked || mode != RV_OUTSIDE_GUEST_MODE) && ws) {
		ws->entry[ws->nr].index = t->index;
		ws->entry[ws->nr].exits = exits;
		ws->nr++;
	}
}

void rv_broadcast(struct rv_vm *vm, uint32_t req, const struct rv_vcpu_mask *mask,
		  const struct rv_vcpu *except, struct rv_waitset *ws, struct rv_bcast_count *count)
{
	unsigned i;

	rv_rcu_read_lock(vm);
	if (mask) {
		rv_mask_for_each (i, mask, vm->max_vcpus) {
			struct rv_vcpu *t = rv_vm_slot(vm, i);

			if (t && t != except)
				kick_target(vm, t, req, ws, count);
		}
	} else {
		for (i = 0; i < vm->max_vcpus; i++) {
			struct rv_vcpu *t = rv_vm_slot(vm, i);

			if (t && t != except)
				kick_target(vm, t, req, ws, count);
		}
	}
	rv_rcu_read_unlock(vm);
}

static bool target_left_guest(struct rv_vcpu *t, const struct rv_wait_entry *e)
{
	if (!t)
		return true;
	return atomic_load_explicit(&t->mode, memory_order_acquire) == RV_OUTSIDE_GUEST_MODE ||
	       atomic_load_explicit(&t->exits, memory_order_acquire) != e->exits;
}

bool rv_waitset_done(struct rv_vm *vm, struct rv_waitset *ws)
{
	rv_rcu_read_lock(vm);
	for (uint32_t i = 0; i < ws->nr;) {
		if (target_left_guest(rv_vm_slot(vm, ws->entry[i].index), &ws->entry[i]))
			ws->entry[i] = ws->entry[--ws->nr];
		else
			i++;
	}
	rv_rcu_read_unlock(vm);
	return ws->nr == 0;
}

static void count_into(uint64_t *stat, const struct rv_bcast_count *c, bool waited)
{
	rv_count(&stat[RV_STAT_broadcasts], 1);
	rv_count(&stat[RV_STAT_kicks_sent], c->kicks);
	rv_count(&stat[RV_STAT_kicks_avoided], c->avoided);
	rv_count(&stat[RV_STAT_kicks_dropped], c->dropped);
	rv_count(&stat[RV_STAT_kicks_delayed], c->delayed);
	rv_count(&stat[RV_STAT_wakes_sent], c->wakes);
	rv_count(&stat[RV_STAT_waits], waited);
}

static void count_host(struct rv_vm *vm, const struct rv_bcast_count *c, bool waited,
		       uint64_t wait_ns)
{
	uint64_t s[RV_NR_STATS] = { 0 };

	count_into(s, c, waited);
	s[RV_STAT_wait_ns] = wait_ns;
	for (int i = 0; i < RV_NR_STATS; i++)
		if (s[i])
			atomic_fetch_add_explicit(&vm->host_stat[i], s[i], memory_order_relaxed);
}

static bool host_broadcast(struct rv_vm *vm, uint32_t req, const struct rv_vcpu_mask *mask)
{
	struct rv_wait_entry entry[RV_MAX_VCPUS];
	struct rv_waitset ws = { .entry = entry };
	struct rv_bcast_count c = { 0 };
	uint64_t waited_ns = 0;

	rv_broadcast(vm, req, mask, NULL, &ws, &c);
	if (ws.nr) {
		uint64_t t0 = rv_now_ns();

		while (!rv_waitset_done(vm, &ws))
			__builtin_ia32_pause();
		waited_ns = rv_now_ns() - t0;
	}
	count_host(vm, &c, waited_ns != 0, waited_ns);
	return c.kicks != 0;
}

bool rv_make_all_vcpus_request(struct rv_vm *vm, uint32_t req)
{
	return host_broadcast(vm, req, NULL);
}

bool rv_make_vcpus_request_mask(struct rv_vm *vm, uint32_t req, const struct rv_vcpu_mask *mask)
{
	return host_broadcast(vm, req, mask);
}

bool rv_make_request_and_kick(struct rv_vcpu *vcpu, uint32_t req)
{
	struct rv_bcast_count c = { 0 };

	kick_target(vcpu->vm, vcpu, req & ~RV_REQ_WAIT, NULL, &c);
	count_host(vcpu->vm, &c, false, 0);
	return c.kicks != 0;
}

void rv_vcpu_kick(struct rv_vcpu *vcpu)
{
	rv_make_request_and_kick(vcpu, RV_REQ_NO_ACTION);
}

/* A second WAIT broadcast from the same exit may name targets already waited
 * for; keep one entry per target so the set never outgrows max_vcpus. */
static void waitset_dedupe(struct rv_waitset *ws)
{
	struct rv_vcpu_mask seen;
	uint32_t n = 0;

	rv_mask_zero(&seen);
	for (uint32_t i = 0; i < ws->nr; i++) {
		if (rv_mask_test(&seen, ws->entry[i].index))
			continue;
		rv_mask_set(&seen, ws->entry[i].index);
		ws->entry[n++] = ws->entry[i];
	}
	ws->nr = n;
}

bool rv_vcpu_make_vcpus_request_mask(struct rv_vcpu *self, uint32_t req,
				     const struct rv_vcpu_mask *mask)
{
	struct rv_pcpu *p = atomic_load_explicit(&self->pcpu, memory_order_relaxed);
	struct rv_bcast_count c = { 0 };
	bool had_targets = p->ws.nr != 0;

	rv_broadcast(self->vm, req, mask, self, &p->ws, &c);
	if (had_targets)
		waitset_dedupe(&p->ws);
	count_into(self->stat, &c, p->ws.nr != 0);
	if (p->ws.nr) {
		p->ws.start = rv_vm_is_deterministic(self->vm) ? self->vm->det_step : rv_now_ns();
		self->phase = RV_PHASE_WAIT;
	}
	return c.kicks != 0;
}
