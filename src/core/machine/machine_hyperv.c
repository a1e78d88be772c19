// SPDX-License-Identifier: MIT
/*
 * The Hyper-V enlightenments the machine offers with --hyperv (GUEST_ABI §6,
 * §8; docs/hyperv.md): the CPUID leaves 0x40000000-0x40000005, the guest OS
 * ID, hypercall-page and VP-index MSRs, and the dispatch of the flush
 * hypercalls, which src/hyperv decodes and queues.
 */
#include <string.h>

#include "hyperv/flush.h"
#include "machine_impl.h"
#include "nested/evmcs.h"
#include "reqvisor/vm.h"
#include "sched/pcpu.h"

#define HV_MSR_GUEST_OS_ID  0x40000000u
#define HV_MSR_HYPERCALL    0x40000001u
#define HV_MSR_VP_INDEX	    0x40000002u
#define HV_MSR_VP_ASSIST    0x40000073u
#define HV_HYPERCALL_ENABLE 1ull
#define HV_VP_ASSIST_ENABLE 1ull

/* CPUID 0x40000003 EAX: AccessHypercallMsrs (5), AccessVpIndex (6). */
#define HV_FEATURES (1u << 5 | 1u << 6)
/* CPUID 0x40000004 EAX: remote TLB flush (2), extended processor masks (11). */
#define HV_RECOMMEND (1u << 2 | 1u << 11)
/* ... and with --nested on VMX: the enlightened VMCS (14). */
#define HV_RECOMMEND_EVMCS (1u << 14)
/* CPUID 0x4000000A EAX (nested features): the eVMCS versions, lowest in
 * 7:0 and highest in 15:8; direct virtual flush (17). */
#define HV_NESTED_EVMCS_VERSIONS (RV_EVMCS_VERSION | RV_EVMCS_VERSION << 8)
#define HV_NESTED_DIRECT_FLUSH	 (1u << 17)

static void put_sig(uint32_t r[4], const char sig[12])
{
	memcpy(&r[1], sig, 4);
	memcpy(&r[2], sig + 4, 4);
	memcpy(&r[3], sig + 8, 4);
}

void rv_machine_cpuid(void *ctx, struct rv_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	struct machine_vcpu *mv = ctx;

	uint32_t max = mv->m->cfg.nested ? 0x4000000au : 0x40000005u;

	if (!mv->m->cfg.hyperv || leaf < 0x40000000u || leaf > max) {
		rv_cpu_builtin_cpuid(cpu, leaf, sub, r);
		/* --nested: VMX (leaf 1 ECX bit 5) or SVM (0x80000001 ECX bit 2). */
		if (mv->m->cfg.nested && leaf == 1 && !mv->m->svm)
			r[2] |= 1u << 5;
		if (mv->m->cfg.nested && leaf == 0x80000001u && mv->m->svm)
			r[2] |= 1u << 2;
		if (mv->m->cfg.nested && mv->m->svm && leaf == 0x80000000u)
			r[0] = 0x8000000au;
		if (mv->m->cfg.nested && mv->m->svm && leaf == 0x8000000au) {
			/* SVM revision 1, the ASIDs, nested paging (0), NRIP
			 * save (3), flush by ASID (6) */
			r[0] = 1;
			r[1] = mv->m->cfg.asids ? mv->m->cfg.asids : 32768;
			r[3] = (1u << 0) | (1u << 3) | (1u << 6);
		}
		return;
	}
	r[0] = r[1] = r[2] = r[3] = 0;
	switch (leaf) {
	case 0x40000000u:
		r[0] = max;
		put_sig(r, "Microsoft Hv");
		return;
	case 0x40000001u:
		memcpy(&r[0], "Hv#1", 4);
		return;
	case 0x40000003u:
		r[0] = HV_FEATURES;
		return;
	case 0x40000004u:
		r[0] = HV_RECOMMEND | (mv->m->cfg.nested && !mv->m->svm ? HV_RECOMMEND_EVMCS : 0);
		r[1] = 0xffffffffu; /* never notify about long spinlock waits */
		return;
	case 0x40000005u:
		r[0] = RV_MAX_VCPUS; /* virtual processors */
		r[1] = RV_MAX_VCPUS; /* logical processors */
		return;
	case 0x4000000au: /* only with --nested */
		r[0] = HV_NESTED_DIRECT_FLUSH | (mv->m->svm ? 0 : HV_NESTED_EVMCS_VERSIONS);
		return;
	default: /* 0x40000002: no version information; 6-9: nothing offered */
		return;
	}
}

int rv_machine_hv_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v)
{
	struct rv_machine *m = mv->m;

	switch (msr) {
		uint32_t vp;
	case HV_MSR_GUEST_OS_ID:
		*v = atomic_load(&m->hv_guest_os_id);
		return 0;
	case HV_MSR_HYPERCALL:
		*v = atomic_load(&m->hv_hypercall);
		return 0;
	case HV_MSR_VP_INDEX: /* an L2 with direct flush: its own (eVMCS, vmcb12) */
		if (!rv_machine_nested_hv_direct(mv, &vp))
			vp = mv->vcpu->index;
		*v = vp;
		return 0;
	case HV_MSR_VP_ASSIST:
		*v = mv->hv_vp_assist;
		return 0;
	default:
		return 1; /* not ours */
	}
}

/* The stub the guest calls: the vendor's hypercall instruction, then RET. */
static int write_stub(struct rv_machine *m, uint64_t gpa)
{
	static const uint8_t vmcall[4] = { 0x0f, 0x01, 0xc1, 0xc3 };
	static const uint8_t vmmcall[4] = { 0x0f, 0x01, 0xd9, 0xc3 };
	const uint8_t *stub = m->cfg.vendor_amd ? vmmcall : vmcall;
	uint8_t *p;

	if (gpa >= rv_guest_mem_size(m->mem) || !(p = rv_gpa_hva(m->mem, gpa)))
		return -1;
	for (unsigned i = 0; i < 4; i++)
		__atomic_store_n(p + i, stub[i], __ATOMIC_RELAXED);
	return 0;
}

/* 0, -1 for #GP, 1 when @msr is not a Hyper-V MSR. */
int rv_machine_hv_wrmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t v)
{
	struct rv_machine *m = mv->m;

	switch (msr) {
	case HV_MSR_GUEST_OS_ID:
		atomic_store(&m->hv_guest_os_id, v);
		if (!v) /* no OS, no hypercalls */
			atomic_fetch_and(&m->hv_hypercall, ~HV_HYPERCALL_ENABLE);
		return 0;
	case HV_MSR_HYPERCALL:
		/* The TLFS: enabling needs a guest OS ID first. */
		if (!atomic_load(&m->hv_guest_os_id))
			v &= ~HV_HYPERCALL_ENABLE;
		if ((v & HV_HYPERCALL_ENABLE) && write_stub(m, v & ~4095ull))
			return -1;
		atomic_store(&m->hv_hypercall, v);
		return 0;
	case HV_MSR_VP_INDEX: /* read-only */
		return -1;
	case HV_MSR_VP_ASSIST: /* bits 11:1 are reserved */
		if (v & 0xffeull)
			return -1;
		/* As in KVM, a page that is not guest memory is refused. */
		if ((v & 1) && (v & ~4095ull) >= rv_guest_mem_size(m->mem))
			return -1;
		mv->hv_vp_assist = v;
		return 0;
	default:
		return 1;
	}
}

uint64_t rv_machine_hv_assist_read(struct machine_vcpu *mv, unsigned offset, unsigned size)
{
	if (!(mv->hv_vp_assist & HV_VP_ASSIST_ENABLE))
		return 0;
	return rv_machine_l1_get(mv, mv->hv_vp_assist & ~4095ull, offset, size);
}

/* An L2 caller's input address is L2's: through nested paging first. */
static int input_gpa(struct machine_vcpu *mv, uint64_t gpa, uint64_t *out)
{
	unsigned perm;

	if (!mv->nested.guest_mode) {
		*out = gpa;
		return 0;
	}
	if (rv_nested_l1_gpa(mv, gpa, RV_ACCESS_READ, true, out, &perm) || !(perm & RV_TLB_R))
		return -1;
	return 0;
}

/* The input through the memslots, a relaxed load a byte (other vCPUs may
 * write it meanwhile: the guest's business, not a host data race). */
static int read_guest(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	struct machine_vcpu *mv = ctx;
	struct rv_guest_mem *mem = mv->m->mem;
	uint64_t page = 1, base = 0; /* the last page translated */
	uint8_t *d = dst;

	for (size_t i = 0; i < len; i++) {
		uint64_t a;

		if (((gpa + i) & ~4095ull) != page) {
			page = (gpa + i) & ~4095ull;
			if (input_gpa(mv, page, &base))
				return -1;
		}
		a = base + ((gpa + i) & 4095);
		if (a >= rv_guest_mem_size(mem))
			return -1;

		if (rv_gpa_frame(mem, a) == RV_NO_FRAME) {
			mv->hv_retry = true; /* the page is being moved */
			return -1;
		}
		d[i] = __atomic_load_n(rv_gpa_hva(mem, a), __ATOMIC_RELAXED);
	}
	return 0;
}

static void log_pending(struct rv_vcpu *v)
{
	struct machine_vcpu *mv = v->backend_data;

	rv_oracle_log_hv(mv, &mv->hv_pending, mv->hv_began);
}

/* The oracle learns of the call when the guest does: when it returns, after
 * the wait for the kicked targets (and at once if none was kicked). */
static void log_when_returned(struct machine_vcpu *mv, const struct rv_hv_flush *f, uint64_t began)
{
	struct rv_vcpu *v = mv->vcpu;
	struct rv_pcpu *p = atomic_load_explicit(&v->pcpu, memory_order_relaxed);

	if (!p->ws.nr) {
		rv_oracle_log_hv(mv, f, began);
		return;
	}
	mv->hv_pending = *f;
	mv->hv_began = began;
	v->after_wait = log_pending;
}

/* VMCALL / VMMCALL from the exit handler: RAX gets the result. */
void rv_machine_hypercall(struct machine_vcpu *mv)
{
	struct rv_cpu *c = &mv->cpu;
	struct rv_hv_control ctl;
	struct rv_hv_flush f;
	uint64_t began;
	uint16_t status;

	if (!mv->m->cfg.hyperv || !atomic_load(&mv->m->hv_guest_os_id)) {
		c->gpr[RV_RAX] = rv_hv_result(RV_HV_STATUS_INVALID_CODE, 0);
		return;
	}
	rv_hv_decode_control(c->gpr[RV_RCX], &ctl);
	mv->hv_retry = false;
	began = mv->m->cfg.oracle != RV_ORACLE_OFF ? rv_machine_clock(mv) : 0;
	status = rv_hv_parse_flush(&ctl, c->gpr[RV_RDX], rv_vm_nr_vcpus(mv->vcpu->vm), read_guest,
				   mv, &f);
	if (mv->hv_retry) { /* run the call again once the page is back */
		c->rip -= 3;
		c->instructions--;
		return;
	}
	if (status) {
		c->gpr[RV_RAX] = rv_hv_result(status, 0);
		return;
	}
	if (mv->nested.guest_mode) /* L2's VP indexes, in the caller's L2 VM */
		rv_machine_nested_hv_targets(mv, &f.targets);
	mv->hv_calls++;
	mv->hv_overflows += rv_hv_flush_post(mv->vcpu, &f);
	c->gpr[RV_RAX] = rv_hv_result(RV_HV_STATUS_SUCCESS, f.reps);
	if (mv->m->cfg.oracle != RV_ORACLE_OFF)
		log_when_returned(mv, &f, began);
}
