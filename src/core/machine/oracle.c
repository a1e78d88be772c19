// SPDX-License-Identifier: MIT
/*
 * The oracle (DESIGN §5, docs/oracle.md). A translation used from the TLB is
 * stale when a fresh walk of the guest's page tables gives another frame or
 * fewer rights. Staleness is legal until the guest completes an invalidation
 * that covers the entry; each vCPU logs its completed invalidations with the
 * logical time of the TLB, and a stale hit on an entry inserted before a
 * covering invalidation is a guest-visible violation.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "machine_impl.h"
#include "reqvisor/request.h"
#include "mmu/walk.h"
#include "sched/pcpu.h"

void rv_oracle_log(struct machine_vcpu *mv, enum rv_inval_kind kind, uint64_t addr, uint16_t pcid)
{
	struct rv_inval *i = &mv->inval[mv->inval_next++ % RV_INVAL_LOG];

	i->time = rv_machine_clock(mv);
	i->kind = kind;
	i->addr = addr & ~4095ull;
	i->pcid = pcid;
	i->ctx = mv->ctx;
}

void rv_oracle_switch_ctx(struct machine_vcpu *mv, uint64_t ctx)
{
	unsigned k = mv->ctx_next++ % RV_CTX_LOG;

	mv->ctx_log[k].time = rv_machine_clock(mv);
	mv->ctx_log[k].ctx = ctx;
	mv->ctx = ctx;
}

bool rv_oracle_ctx_at(const struct machine_vcpu *mv, uint64_t time, uint64_t *ctx)
{
	unsigned n = mv->ctx_next < RV_CTX_LOG ? mv->ctx_next : RV_CTX_LOG;

	for (unsigned k = 1; k <= n; k++) {
		unsigned at = (mv->ctx_next - k) % RV_CTX_LOG;

		if (mv->ctx_log[at].time < time) {
			*ctx = mv->ctx_log[at].ctx;
			return true;
		}
	}
	/* Before the first switch the vCPU ran L1; past the log, unknown. */
	*ctx = 0;
	return mv->ctx_next <= RV_CTX_LOG;
}

/* L1's invalidations of L2's translations, by L1's tags (SDM vol. 3C
 * §29.4.3): INVVPID by vmcs12 VPID, INVEPT by EPTP, and the VPID 0 flush of
 * a transition with VPID off, which covers L1 itself too. */
static bool covers_nested(const struct rv_inval *i, const struct rv_tlb_info *e, uint64_t ectx)
{
	uint16_t vpid = rv_ctx_vpid(ectx);
	bool l2 = ectx & RV_CTX_L2;

	switch (i->kind) {
	case RV_INVAL_ALL_CONTEXTS:
		return true;
	case RV_INVAL_VPID0:
		return !l2 || !vpid;
	case RV_INVAL_VPID_ALL:
		return l2 && vpid;
	case RV_INVAL_VPID:
		return l2 && vpid == i->pcid;
	case RV_INVAL_VPID_NONGLOBAL:
		return l2 && vpid == i->pcid && !e->fill.global;
	case RV_INVAL_VPID_ADDR:
		return l2 && vpid == i->pcid && i->addr == e->in;
	case RV_INVAL_EPT_ALL:
		return l2 && (ectx & RV_CTX_EPT);
	default: /* RV_INVAL_EPT */
		return l2 && (ectx & RV_CTX_EPT) &&
		       (ectx & RV_CTX_EPTP_MASK) == ((i->addr >> 12) & RV_CTX_EPTP_MASK);
	}
}

static bool covers(const struct rv_inval *i, const struct rv_tlb_info *e, uint64_t ectx)
{
	bool same_page = i->addr == e->in;
	bool same_pcid = i->pcid == e->tag.pcid;
	bool global = e->fill.global;

	if (i->kind >= RV_INVAL_VPID_ADDR)
		return covers_nested(i, e, ectx);
	if (i->ctx != ectx) /* the guest's own: in the context it ran */
		return false;
	switch (i->kind) {
	case RV_INVAL_ADDR: /* INVLPG */
		return same_page && (same_pcid || global);
	case RV_INVAL_ADDR_PCID: /* INVPCID 0 */
		return same_page && same_pcid && !global;
	case RV_INVAL_PCID: /* MOV CR3, INVPCID 1 */
		return same_pcid && !global;
	case RV_INVAL_NONGLOBAL: /* INVPCID 3 */
		return !global;
	case RV_INVAL_ALL_PCID: /* visible to the PCID, globals included */
		return same_pcid || global;
	default: /* INVPCID 2, CR0/CR4 changes */
		return true;
	}
}

/* The newest logged invalidation after the entry's insertion covering it. */
static const struct rv_inval *covering(const struct machine_vcpu *mv, const struct rv_tlb_info *e,
				       uint64_t ectx)
{
	unsigned n = mv->inval_next < RV_INVAL_LOG ? mv->inval_next : RV_INVAL_LOG;

	for (unsigned k = 1; k <= n; k++) {
		const struct rv_inval *i = &mv->inval[(mv->inval_next - k) % RV_INVAL_LOG];

		if (i->time <= e->fill.time)
			return NULL;
		if (covers(i, e, ectx))
			return i;
	}
	return NULL;
}

static const char *const inval_names[] = {
	[RV_INVAL_ADDR] = "INVLPG",
	[RV_INVAL_ADDR_PCID] = "INVPCID 0",
	[RV_INVAL_PCID] = "MOV CR3/INVPCID 1",
	[RV_INVAL_NONGLOBAL] = "INVPCID 3",
	[RV_INVAL_ALL] = "a flush of all",
	[RV_INVAL_ALL_PCID] = "a CR4 change",
	[RV_INVAL_HV_LIST] = "a Hyper-V list flush",
	[RV_INVAL_HV_SPACE] = "a Hyper-V space flush",
	[RV_INVAL_VPID_ADDR] = "L1's INVVPID 0 or INVLPGA",
	[RV_INVAL_VPID] = "L1's INVVPID 1 or TLB_CONTROL 3",
	[RV_INVAL_VPID_ALL] = "L1's INVVPID 2",
	[RV_INVAL_VPID_NONGLOBAL] = "L1's INVVPID 3 or TLB_CONTROL 7",
	[RV_INVAL_EPT] = "L1's INVEPT 1",
	[RV_INVAL_EPT_ALL] = "L1's INVEPT 2",
	[RV_INVAL_VPID0] = "a nested transition with VPID off",
	[RV_INVAL_ALL_CONTEXTS] = "TLB_CONTROL 1 (every ASID)",
};

/* "L1", or "L2 (VPID 3, EPTP 0x5000)" (on SVM the VPID is vmcb12's ASID). */
static void ctx_name(uint64_t ctx, char *buf, size_t len)
{
	if (!(ctx & RV_CTX_L2))
		snprintf(buf, len, "L1");
	else if (ctx & RV_CTX_EPT)
		snprintf(buf, len, "L2 (VPID %u, EPTP %#" PRIx64 ")", rv_ctx_vpid(ctx),
			 (uint64_t)((ctx & RV_CTX_EPTP_MASK) << 12));
	else
		snprintf(buf, len, "L2 (VPID %u)", rv_ctx_vpid(ctx));
}

/* Count a violation; keep the first one's report. */
__attribute__((format(printf, 2, 3))) static void record(struct rv_machine *m, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->console_lock);
	if (!m->violation[0]) {
		va_start(ap, fmt);
		vsnprintf(m->violation, sizeof(m->violation), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&m->console_lock);
	atomic_fetch_add(&m->violations, 1);
}

static uint32_t pcpu_index(const struct machine_vcpu *mv)
{
	struct rv_pcpu *p = atomic_load_explicit(&mv->vcpu->pcpu, memory_order_relaxed);

	return p ? p->index : 0;
}

/* What an invalidation named, for its report: an address, or (L1's
 * invalidations of L2's translations) the tag it covered. */
static void inval_target(const struct rv_inval *i, char *buf, size_t len)
{
	switch (i->kind) {
	case RV_INVAL_VPID_ADDR:
		snprintf(buf, len, " of %#" PRIx64 " in VPID/ASID %u", i->addr, i->pcid);
		return;
	case RV_INVAL_VPID:
	case RV_INVAL_VPID_NONGLOBAL:
		snprintf(buf, len, " of VPID/ASID %u", i->pcid);
		return;
	case RV_INVAL_EPT:
		snprintf(buf, len, " of EPTP %#" PRIx64, i->addr);
		return;
	case RV_INVAL_VPID_ALL:
	case RV_INVAL_EPT_ALL:
	case RV_INVAL_VPID0:
	case RV_INVAL_ALL_CONTEXTS:
		buf[0] = 0;
		return;
	default:
		snprintf(buf, len, " of %#" PRIx64, i->addr);
	}
}

static void report(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_info *e,
		   const struct rv_walk *fresh, bool fresh_ok, const struct rv_inval *i,
		   const char *by)
{
	char fresh_text[64], trail[160], target[64];

	if (fresh_ok)
		snprintf(fresh_text, sizeof(fresh_text), "GPA %#" PRIx64 "%s", fresh->page_gpa,
			 fresh->writable ? " writable" : " read-only");
	else
		snprintf(fresh_text, sizeof(fresh_text), "no translation (#PF)");
	rv_vcpu_format_trail(mv->vcpu, trail, sizeof(trail));
	inval_target(i, target, sizeof(target));
	record(mv->m,
	       "oracle: vCPU %u on pCPU %u used a stale translation of %#" PRIx64
	       ": cached frame %#" PRIx64 " (inserted at time %" PRIu64
	       "), page tables now give %s; %s%s%s at time %" PRIu64
	       " had covered it; last requests serviced: %s; seed %" PRIu64,
	       mv->vcpu->index, pcpu_index(mv), gva, e->fill.out,
	       e->fill.time >> RV_TIME_OWNER_BITS, fresh_text, inval_names[i->kind], target, by,
	       i->time >> RV_TIME_OWNER_BITS, trail, rv_vm_config(mv->vcpu->vm)->seed);
}

/* Check a TLB hit about to be used for @gva. */
void rv_oracle_check(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *entry,
		     const struct rv_walk_ctx *wc)
{
	struct rv_tlb_info e;
	struct rv_walk fresh;
	uint32_t pfec;

	mv->oracle_checks++;
	rv_tlb_decode(entry, &e);
	bool ok = rv_walk(wc, gva, RV_WALK_READ, &fresh, &pfec) == 0;
	uint64_t gpa = fresh.gpa;
	unsigned nested_perm = RV_TLB_R | RV_TLB_W;

	/* In L2 the page tables give L2's address: EPT12 has the last word. */
	if (ok && mv->nested.guest_mode)
		ok = rv_nested_l1_gpa(mv, fresh.gpa, RV_ACCESS_READ, true, &gpa, &nested_perm) ==
			     0 &&
		     (nested_perm & RV_TLB_R);
	uint32_t frame = ok ? rv_gpa_frame(mv->m->mem, gpa) : RV_NO_FRAME;
	bool writable = fresh.writable && (nested_perm & RV_TLB_W);
	bool same = ok && (uint64_t)frame << RV_PAGE_SHIFT == (e.fill.out & ~4095ull) &&
		    (writable || !(e.fill.perm & RV_TLB_W));

	if (same)
		return;
	mv->oracle_stale++;
	/* Only this vCPU's own walks may have made what it uses: another's
	 * translation under the same tag means the tags were not kept apart
	 * (a shared VPID not flushed at entry, an ASID reused without a flush). */
	uint32_t owner = (uint32_t)(e.fill.time & ((1u << RV_TIME_OWNER_BITS) - 1));

	if (owner != mv->vcpu->index) {
		record(mv->m,
		       "oracle: vCPU %u on pCPU %u used vCPU %u's translation of %#" PRIx64
		       " (frame %#" PRIx64 ", tag %u): its own tables give another; seed %" PRIu64,
		       mv->vcpu->index, pcpu_index(mv), owner, gva, e.fill.out, e.tag.vpid,
		       rv_vm_config(mv->vcpu->vm)->seed);
		return;
	}
	uint64_t ectx;

	if (!rv_oracle_ctx_at(mv, e.fill.time, &ectx))
		return; /* too old to say which context made it */
	if (ectx != mv->ctx) {
		char made[48], now_in[48], trail[160];

		ctx_name(ectx, made, sizeof(made));
		ctx_name(mv->ctx, now_in, sizeof(now_in));
		rv_vcpu_format_trail(mv->vcpu, trail, sizeof(trail));
		record(mv->m,
		       "oracle: vCPU %u on pCPU %u used a translation of %#" PRIx64
		       " (frame %#" PRIx64 ", inserted at time %" PRIu64
		       ") made in %s while running %s, whose tables give another; last "
		       "requests serviced: %s; seed %" PRIu64,
		       mv->vcpu->index, pcpu_index(mv), gva, e.fill.out,
		       e.fill.time >> RV_TIME_OWNER_BITS, made, now_in, trail,
		       rv_vm_config(mv->vcpu->vm)->seed);
		return;
	}
	const struct rv_inval *i = covering(mv, &e, ectx);
	struct rv_inval remote;
	uint32_t caller;
	char by[64];

	if (i) {
		report(mv, gva, &e, &fresh, ok, i, "");
		return;
	}
	if (!rv_oracle_remote_covering(mv, &e, &remote, &caller))
		return;
	/* A list entry's low 12 bits count the pages after the first. */
	unsigned more = remote.kind == RV_INVAL_HV_LIST ? (unsigned)(remote.addr & 4095) : 0;

	if (more)
		snprintf(by, sizeof(by), " and %u more pages by vCPU %u (returned)", more, caller);
	else
		snprintf(by, sizeof(by), " by vCPU %u (returned)", caller);
	remote.addr &= ~4095ull;
	report(mv, gva, &e, &fresh, ok, &remote, by);
}

/* A TLB hit on a host frame freed by a page move: its remote flush has
 * returned (the frame is freed only then), so nothing may reach it. */
void rv_oracle_host_violation(struct machine_vcpu *mv, uint64_t gva,
			      const struct rv_tlb_entry *entry)
{
	struct rv_tlb_info e;

	rv_tlb_decode(entry, &e);
	record(mv->m,
	       "oracle: host violation: vCPU %u on pCPU %u used a translation of %#" PRIx64
	       " to host frame %#" PRIx64 " (inserted at time %" PRIu64
	       "), freed by a page move after its remote flush returned; seed %" PRIu64,
	       mv->vcpu->index, pcpu_index(mv), gva, e.fill.out >> 12,
	       e.fill.time >> RV_TIME_OWNER_BITS, rv_vm_config(mv->vcpu->vm)->seed);
}
