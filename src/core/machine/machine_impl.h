/* SPDX-License-Identifier: MIT */
/* The machine's objects, shared by the files of src/core/machine. */
#ifndef RV_MACHINE_IMPL_H
#define RV_MACHINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "apic/x2apic.h"
#include "hyperv/hypercall.h"
#include "cpu/cpu.h"
#include "loader/boot.h"
#include "machine.h"
#include "mem/guest_mem.h"
#include "mmu/shadow.h"
#include "mmu/tdp.h"
#include "reqvisor/vm.h"
#include "mmu/tlb.h"
#include "nested/tlb_rules.h"
#include "reqvisor/vcpu.h"
#include "svm/asid.h"
#include "vmx/vpid.h"

#define CONSOLE_LINE 256
#define RV_INVAL_LOG 64

/* A completed guest invalidation, for the oracle. */
enum rv_inval_kind {
	RV_INVAL_ADDR,	    /* INVLPG: the address, current PCID and globals */
	RV_INVAL_ADDR_PCID, /* INVPCID 0: the address in a PCID, not globals */
	RV_INVAL_PCID,	    /* MOV CR3, INVPCID 1: a PCID's non-global entries */
	RV_INVAL_NONGLOBAL, /* INVPCID 3 */
	RV_INVAL_ALL,	    /* INVPCID 2, CR4.PGE changes, CR4.PCIDE 1 to 0 */
	RV_INVAL_ALL_PCID,  /* CR4.PAE changes, SMEP 0 to 1: a PCID, globals too */
	RV_INVAL_HV_LIST,   /* another vCPU's HvFlushVirtualAddressList(Ex) */
	RV_INVAL_HV_SPACE,  /* another vCPU's HvFlushVirtualAddressSpace(Ex) */
	/* L1's invalidations of L2's translations (nested VMX), in L1's view
	 * of the tags: @pcid holds the VPID, @addr the address or EPTP. */
	RV_INVAL_VPID_ADDR,	 /* INVVPID 0 */
	RV_INVAL_VPID,		 /* INVVPID 1 */
	RV_INVAL_VPID_ALL,	 /* INVVPID 2: every VPID but 0 */
	RV_INVAL_VPID_NONGLOBAL, /* INVVPID 3 */
	RV_INVAL_EPT,		 /* INVEPT 1: combined mappings of one EPTP */
	RV_INVAL_EPT_ALL,	 /* INVEPT 2 */
	RV_INVAL_VPID0,		 /* a VM entry or exit with VPID off: VPID 0's */
	RV_INVAL_ALL_CONTEXTS,	 /* SVM TLB_CONTROL 1: every ASID's, L1's too */
};

struct rv_inval {
	uint64_t time;
	uint64_t addr;
	uint64_t ctx; /* the context (RV_CTX_*) the guest made it in */
	uint16_t pcid;
	uint8_t kind;
};

/*
 * The oracle's translation contexts, as L1 tags translations: L1 itself (0),
 * or an L2 with its vmcs12 VPID (0 when off) and, with nested EPT, its EPTP.
 * A translation made in one context may never be used in another.
 */
#define RV_CTX_L2	  (1ull << 63)
#define RV_CTX_EPT	  (1ull << 62)
#define RV_CTX_VPID_SHIFT 40
#define RV_CTX_EPTP_MASK  0x000000ffffffffffull /* the EPTP's page number */
#define RV_CTX_LOG	  64

static inline uint16_t rv_ctx_vpid(uint64_t ctx)
{
	return (uint16_t)(ctx >> RV_CTX_VPID_SHIFT);
}

/* What both nested vendors share: whether L2 runs, and its second stage. */
struct rv_nested_vcpu {
	bool guest_mode; /* L2 runs */
	bool tdp12;	 /* L1 gives L2 a second stage: EPT12 or nested paging */
	uint64_t root12; /* its EPTP or nCR3 */
	/* A VM exit an L2 translation found (EPT violation or misconfiguration,
	 * nested page fault), made at the next exit handler. */
	bool exit_pending;
	uint32_t exit_reason;
	uint64_t exit_qual, exit_gpa, exit_gla;
	uint64_t entries, exits; /* transitions, for the stats */
	/* The event L1 injects at VM entry (VMX VM-entry interruption
	 * information, SVM EVENTINJ: one layout), pending until delivered;
	 * and the one a VM exit interrupted the delivery of, for the
	 * IDT-vectoring information (EXITINTINFO), or 0. */
	bool inject_pending;
	uint32_t inject_info;
	struct rv_cpu_exception inject;
	uint32_t vectoring_info, vectoring_error;
	/* Hyper-V direct flush for L2 (the eVMCS's or vmcb12's enlightenments
	 * with the VP assist page's direct-hypercall bit), fixed at VM entry
	 * and published for other vCPUs' flush hypercalls: RV_HV_L2_KEY(vm,
	 * vp), or 0. It outlives the VM exit: the vCPU's last L2 is a target. */
	_Atomic uint64_t hv_l2_key;
};
#define RV_HV_L2_VALID	     (1ull << 63)
#define RV_HV_L2_KEY(vm, vp) ((uint64_t)(uint32_t)(vm) << 32 | (uint32_t)(vp) | RV_HV_L2_VALID)

/* Nested VMX state of a vCPU (machine_nvmx.c). */
struct rv_nvmx_vcpu {
	bool vmxon;
	uint64_t vmxon_ptr;
	uint64_t vmcs_ptr; /* the current VMCS, or RV_NVMX_NO_VMCS */
	/* The enlightened VMCS in use (Hyper-V; src/nested/evmcs.h), or
	 * RV_NVMX_NO_VMCS: read from the VP assist page at each VMX
	 * instruction, kept from VM entry to VM exit. */
	uint64_t evmcs_ptr;
	struct rv_nvmx_tlb tlb;
	/* L2's regime, fixed at VM entry from vmcs12. */
	uint16_t vpid12;    /* 0: VPID off */
	uint64_t last_eptp; /* shadow paging: EPT12's pointer at the last entry */
	uint32_t proc;
	uint64_t msr_bitmap;
};
#define RV_NVMX_NO_VMCS UINT64_MAX

/* Nested SVM state of a vCPU (machine_nsvm.c). */
struct rv_nsvm_vcpu {
	uint64_t hsave_pa; /* MSR VM_HSAVE_PA */
	bool gif;	   /* the global interrupt flag (false: no interrupts) */
	uint64_t vmcb;	   /* vmcb12 of the L2 that runs */
	uint32_t asid12;
	uint32_t intercept1, intercept2;
	uint64_t msrpm;
	struct rv_nsvm_tlb tlb;
	/* L0's ASID of the mode that does not run: L2's while L1 runs. */
	struct rv_asid_vcpu other_asid;
	/* L1's state at VMRUN: the host save area. */
	struct {
		uint64_t cr0, cr3, cr4, efer, rflags, rip, rsp, rax, gdt, idt, fs, gs;
		uint16_t gdt_limit, idt_limit, cs, ss;
	} host;
};

/*
 * The second-stage roots L2's entries carry with TDP in L0 (above every
 * real table address): one per EPT12 pointer (EPT02), and one for an L2
 * without nested EPT, which runs over EPT01 but, as in KVM, on a root of its
 * own (so L2 has a tag of its own whenever L0 has EPT).
 */
#define RV_NESTED_ROOT_BASE  (1ull << 46)
#define RV_NESTED_PLAIN_ROOT (1ull << 47)
static inline uint64_t rv_nested_ept_root(uint64_t eptp)
{
	return RV_NESTED_ROOT_BASE + (eptp & 0x000ffffffffff000ull);
}

/*
 * An invalidation another vCPU completed on this one's behalf: a Hyper-V
 * flush hypercall, logged on each target when the caller's wait ended. Any
 * vCPU may write a slot (under its lock); the owner reads it lock-free and
 * trusts it only when its sequence is even and unchanged across the read.
 */
struct rv_remote_inval {
	atomic_flag lock;
	_Atomic uint32_t seq;
	_Atomic uint64_t time;	/* the caller's clock when the call began */
	_Atomic uint64_t addr;	/* first page; low 12 bits: pages after it */
	_Atomic uint64_t space; /* the address space (CR3) named */
	_Atomic uint32_t how;	/* RV_REMOTE_* */
	_Atomic uint32_t caller;
};

#define RV_REMOTE_SPACE	     1u /* every page (else the @addr range) */
#define RV_REMOTE_ALL_SPACES 2u /* every address space (else @space's) */
#define RV_REMOTE_NONGLOBAL  4u /* not global entries */
#define RV_REMOTE_MODE_SHIFT 8	/* the hv_mode whose entries it covers */

struct rv_machine {
	struct rv_machine_config cfg;
	struct rv_guest_mem *mem;
	struct rv_boot boot;
	struct rv_elf_info elf;
	FILE *console;
	pthread_mutex_t console_lock; /* console lines and the failure report */
	_Atomic bool exited;
	_Atomic uint32_t exit_status;
	char failure[160];
	_Atomic uint64_t unknown_ports[65536 / 64]; /* each reported once */
	struct rv_tlb **tlb;			    /* one per pCPU, made by its first vCPU */
	struct rv_icache **icache;		    /* decoded instructions, one per pCPU, as tlb */
	uint32_t nr_tlbs;
	unsigned tlb_sets, tlb_ways;
	_Atomic uint64_t tlb_time; /* the logical time of insertions */
	pthread_mutex_t tlb_lock;  /* making the array */
	_Atomic uint64_t violations;
	char violation[600]; /* the first one's report */
	/* The vendor backend (docs/vendors.md). */
	bool svm, tdp;
	struct rv_vendor_ops vendor;
	struct rv_tdp *tdp_tables;	 /* EPT (VMX) or NPT (SVM) */
	struct rv_vpid_allocator *vpids; /* VMX */
	struct rv_asid_pcpu *asid;	 /* SVM: one per pCPU, used by its thread only */
	struct rv_shadow_track track;	 /* shadow paging */
	_Atomic uint32_t *frame_gfn;	 /* host frame -> guest page, for write tracking */
	_Atomic uint64_t *freed;	 /* host frames freed by a page move (oracle) */
	pthread_mutex_t mmu_lock;	 /* host-side changes of the second stage */
	_Atomic uint64_t mmu_seq;	 /* bumped by each host-side unmap */
	_Atomic uint64_t *table_pages;	 /* guest pages a walk read entries from */
	_Atomic uint64_t pages_moved;
	_Atomic uint64_t pages_zapped;
	/* Hyper-V (--hyperv): partition-wide MSRs. */
	_Atomic uint64_t hv_guest_os_id, hv_hypercall;
};

struct machine_vcpu {
	struct rv_cpu cpu;
	struct rv_x2apic apic;
	struct rv_machine *m;
	struct rv_vcpu *vcpu;
	struct rv_tlb *tlb;  /* the TLB of the pCPU the vCPU is loaded on */
	uint16_t tag;	     /* VPID (VMX) or ASID (SVM) its entries carry now */
	uint16_t vpid;	     /* VMX: the allocated VPID, 0 when they ran out */
	uint8_t tlb_control; /* SVM: what the next VMRUN flushes */
	/* C9 (docs/requests.md): tag + 1 whose linear and combined entries a
	 * flush of this service pass removed on this pCPU; 0 none. Cleared at
	 * every entry and load. */
	uint32_t pass_flushed;
	struct rv_asid_vcpu asid;
	struct rv_shadow shadow;
	uint64_t pending_write; /* shadow: frame + 1 of the last write, not yet announced */
	int last_pcpu;
	uint64_t move_gpa; /* a page move chosen by a TLB miss: page | 1 */
	uint32_t move_old, move_node;
	uint64_t misses;
	/* Miss-path counters (reqvisor-bench vendors): lookups of guest-physical
	 * entries and their hits, walks of the guest's and the second-stage
	 * tables, misses the shadow tables served, shadow page faults. */
	uint64_t gp_lookups, gp_hits, guest_walks, tdp_walks, shadow_hits, shadow_faults;
	bool retry;	       /* interrupt delivery met a page being moved */
	bool hypercall;	       /* a VMCALL/VMMCALL waits for the exit handler */
	bool hv_retry;	       /* its input page was being moved: run it again */
	uint64_t hv_vp_assist; /* MSR 0x40000073: the VP assist page, bit 0 enable */
	uint8_t nested_stop;   /* enum rv_cpu_exit + 1: a nested transition to do */
	uint64_t hv_calls, hv_overflows;
	uint64_t oracle_hits, oracle_checks, oracle_stale;
	struct rv_inval inval[RV_INVAL_LOG];
	unsigned inval_next;
	/* Nested: the context now, and when each of the last ones began. */
	struct rv_nested_vcpu nested;
	struct rv_nvmx_vcpu nvmx;
	struct rv_nsvm_vcpu nsvm;
	uint64_t ctx;
	struct {
		uint64_t time, ctx;
	} ctx_log[RV_CTX_LOG];
	unsigned ctx_next;
	struct rv_remote_inval remote[RV_INVAL_LOG];
	_Atomic uint32_t remote_next;
	/* The flush hypercall whose caller is waiting, and when it began. */
	struct rv_hv_flush hv_pending;
	uint64_t hv_began;
	char line[CONSOLE_LINE];
	unsigned line_len;
	/* Accesses to guest-physical addresses outside RAM read and write
	 * here: no device lives there. */
	uint8_t unbacked[4096];
};

void rv_machine_cpu_hooks(struct machine_vcpu *mv);

/*
 * The logical time of TLB insertions and invalidations, with the vCPU's
 * index in its low 12 bits: times still order as the clock does, and an
 * entry tells the oracle which vCPU made it.
 */
#define RV_TIME_OWNER_BITS 12
static inline uint64_t rv_machine_clock(struct machine_vcpu *mv)
{
	return atomic_fetch_add_explicit(&mv->m->tlb_time, 1, memory_order_relaxed)
		       << RV_TIME_OWNER_BITS |
	       mv->vcpu->index;
}
uint8_t *rv_machine_translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf);
bool rv_machine_tlb_event(void *ctx, struct rv_cpu *c, enum rv_tlb_event ev, uint64_t addr,
			  uint64_t pcid);
uint16_t rv_machine_pcid(const struct rv_cpu *c);
void rv_machine_shadow_env(struct machine_vcpu *mv, struct rv_shadow_env *env);
void rv_machine_write_done(struct machine_vcpu *mv);

/* The vendor backends (machine_vmx.c, machine_svm.c, machine_vendor.c). */
extern const struct rv_vendor_ops rv_machine_vmx_ops, rv_machine_svm_ops;
int rv_machine_vendor_init(struct rv_machine *m, char *err, size_t errlen);
void rv_machine_vendor_destroy(struct rv_machine *m);
int rv_machine_vendor_vcpu_init(struct machine_vcpu *mv);
void rv_machine_vendor_vcpu_free(struct machine_vcpu *mv);
/* The pCPU's TLB for the vCPU being loaded there, made on first use. */
void rv_machine_load_tlb(struct machine_vcpu *mv, struct rv_pcpu *p);
/* The second-stage root the vCPU's entries are tagged with (0: shadow). */
uint64_t rv_machine_tag_root(const struct machine_vcpu *mv);
/* Flush everything of the vCPU's current tag (INVVPID single-context, SVM
 * TLB_CONTROL 3): linear, combined and, on SVM, its nested entries. */
void rv_machine_flush_tag(struct machine_vcpu *mv);

/* C9: a flush of the current tag's linear and combined entries ran earlier
 * in this service pass, so another is redundant (reqvisor's rules only). */
static inline bool rv_machine_tag_flushed(const struct machine_vcpu *mv)
{
	return mv->pass_flushed == mv->tag + 1u &&
	       rv_vm_config(mv->vcpu->vm)->coalesce != RV_COALESCE_KVM;
}

static inline void rv_machine_note_tag_flushed(struct machine_vcpu *mv)
{
	mv->pass_flushed = mv->tag + 1u;
}
bool rv_machine_tdp_fault_in(struct rv_machine *m, uint64_t gpa);
/* The MMU requests (shadow paging; nothing to do with TDP). */
void rv_machine_mmu_sync(struct rv_vcpu *v);
void rv_machine_load_mmu_pgd(struct rv_vcpu *v);
/* A guest flush with shadow paging first syncs the roots (KVM's
 * kvm_vcpu_flush_tlb_guest). */
void rv_machine_sync_for_guest_flush(struct machine_vcpu *mv);

/* Nested VMX (machine_nvmx.c, machine_nested_mmu.c). */
enum rv_virt_result rv_machine_virt(void *ctx, struct rv_cpu *cpu, struct rv_virt_op *op);
/* The run stopped for the nested code: a transition to do. */
void rv_machine_nested_exit(struct machine_vcpu *mv, enum rv_cpu_exit e);
bool rv_machine_nested_wants_exit(const struct machine_vcpu *mv, enum rv_cpu_exit e);
/* Each vendor's half (machine_nvmx.c, machine_nsvm.c). */
enum rv_virt_result rv_machine_nvmx_insn(struct machine_vcpu *mv, struct rv_virt_op *op);
enum rv_virt_result rv_machine_nsvm_insn(struct machine_vcpu *mv, struct rv_virt_op *op);
void rv_machine_nvmx_exit(struct machine_vcpu *mv, enum rv_cpu_exit e);
void rv_machine_nsvm_exit(struct machine_vcpu *mv, enum rv_cpu_exit e);
/* TLB_FLUSH on SVM: the ASID of the context not running too. */
void rv_machine_nsvm_flush_other_asid(struct machine_vcpu *mv);
void rv_machine_nvmx_free(struct machine_vcpu *mv);
int rv_machine_nsvm_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v);
int rv_machine_nsvm_wrmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t v);
int rv_machine_nsvm_msr_access(struct machine_vcpu *mv, uint32_t msr, bool write);
/* Both: whether L2 on this vCPU runs with Hyper-V direct flush (its VP
 * index, in *vp), and the vCPUs of the same L2 VM a set of L2 VP indexes
 * names. */
bool rv_machine_nested_hv_direct(const struct machine_vcpu *mv, uint32_t *vp);
void rv_machine_nested_hv_targets(const struct machine_vcpu *mv, struct rv_vcpu_mask *targets);
/* Both: publish L2's direct-flush identity at VM entry (@enabled: L1 asked
 * for it in the eVMCS or vmcb12), if the VP assist page allows it. */
void rv_machine_nested_set_hv_l2(struct machine_vcpu *mv, bool enabled, uint64_t vm_id,
				 uint32_t vp_id);
/* Both: L2's VMCALL/VMMCALL; true when it was a flush hypercall L0
 * handled itself (direct flush), false when it exits to L1. */
bool rv_machine_nested_l2_hypercall(struct machine_vcpu *mv);
/* @size bytes at @offset of the vCPU's VP assist page (Hyper-V, MSR
 * 0x40000073), or 0 when it is disabled or outside RAM. */
uint64_t rv_machine_hv_assist_read(struct machine_vcpu *mv, unsigned offset, unsigned size);
/* Both: the host address of the L1 page at @gpa, or NULL when it is not a
 * page of RAM. VMCS, eVMCS, VMCB and bitmap pages are read as the CPU reads
 * them: pinned (no host-side move) from their first use. */
uint8_t *rv_machine_l1_page(struct machine_vcpu *mv, uint64_t gpa);
/* @size bytes at @off of L1 page @page (reads 0 outside RAM), and the store. */
uint64_t rv_machine_l1_get(struct machine_vcpu *mv, uint64_t page, unsigned off, unsigned size);
void rv_machine_l1_put(struct machine_vcpu *mv, uint64_t page, unsigned off, unsigned size,
		       uint64_t v);
/* Both: whether an event L1 asks VM entry to inject (the layout both
 * vendors share) is one reqvisor delivers: an external interrupt, NMI
 * (vector 2) or hardware exception (vector below 32), an error code only
 * with an exception that has one; software events are refused. */
bool rv_machine_nested_event_valid(uint32_t info);
/* Both: make a valid event pending for L2's first instruction. */
void rv_machine_nested_set_inject(struct machine_vcpu *mv, uint32_t info, uint32_t error);
/* Before L2 runs: deliver the pending event. True when the run must stop
 * with *e instead (an exit to L1 or a retry). */
bool rv_machine_nested_inject(struct machine_vcpu *mv, enum rv_cpu_exit *e);
/* Both, at VM exit: the IDT-vectoring information to report (then 0). */
uint64_t rv_machine_nested_take_vectoring(struct machine_vcpu *mv, uint32_t *error);
/* Both: services the pending local flushes of the context being left
 * (fault point nvmx.skip_local_flush removes it). */
void rv_machine_nested_service_local(struct machine_vcpu *mv);
/* Both: switch the oracle's context and the Hyper-V FIFO to the new mode. */
void rv_machine_nested_switched(struct machine_vcpu *mv, uint64_t ctx);
/* The VMX capability MSRs: 0, or 1 for another MSR. */
int rv_machine_nvmx_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v);
/* In L2: RV_MSR_INTERCEPTED when L1 intercepts the access, else 1. */
int rv_machine_nvmx_msr_access(struct machine_vcpu *mv, uint32_t msr, bool write);
void rv_machine_nested_vcpu_free(struct machine_vcpu *mv);
/* The VPID L1's INVVPID flushes: vpid02, or L1's own without one (KVM's
 * nested_get_vpid02). */
static inline uint16_t rv_nvmx_l2_flush_vpid(const struct machine_vcpu *mv)
{
	return mv->nvmx.tlb.vpid02 ? mv->nvmx.tlb.vpid02 : mv->vpid;
}
/* L2's guest-physical address through EPT12 (or as it is without nested
 * EPT) to L1's: 0, or -1 with the EPT12 rights found in *perm (a violation),
 * -2 for a misconfiguration. @peek: the oracle's, no side effects. */
int rv_nested_l1_gpa(struct machine_vcpu *mv, uint64_t l2gpa, enum rv_access kind, bool peek,
		     uint64_t *l1gpa, unsigned *perm);
/* Make a VM exit pending for a failed L2 guest-physical access: an EPT
 * violation or misconfiguration (VMX), a nested page fault (SVM). */
void rv_nested_ept_exit(struct machine_vcpu *mv, int rc, uint64_t gpa, uint64_t gla,
			enum rv_access kind, unsigned perm, bool final);
/* The context entry @e was made in, or false when the log no longer says. */
bool rv_oracle_ctx_at(const struct machine_vcpu *mv, uint64_t time, uint64_t *ctx);
void rv_oracle_switch_ctx(struct machine_vcpu *mv, uint64_t ctx);

/* Host-side page moves (machine_hostmem.c). */
bool rv_machine_frame_freed(const struct rv_machine *m, uint32_t frame);
void rv_machine_note_table_page(struct rv_machine *m, uint64_t gpa);
void rv_machine_note_miss(struct machine_vcpu *mv, uint64_t gpa);
void rv_machine_start_move(struct machine_vcpu *mv);
void rv_oracle_host_violation(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *e);

struct rv_walk_ctx;
void rv_oracle_log(struct machine_vcpu *mv, enum rv_inval_kind kind, uint64_t addr, uint16_t pcid);
/* Log a flush hypercall of @caller, begun at @began, on each of its targets:
 * from the end of the caller's wait, they may use nothing it covers. */
void rv_oracle_log_hv(struct machine_vcpu *caller, const struct rv_hv_flush *f, uint64_t began);
/* The newest remote invalidation after the entry's insertion covering it. */
bool rv_oracle_remote_covering(const struct machine_vcpu *mv, const struct rv_tlb_info *e,
			       struct rv_inval *out, uint32_t *caller);
void rv_oracle_check(struct machine_vcpu *mv, uint64_t gva, const struct rv_tlb_entry *e,
		     const struct rv_walk_ctx *wc);
void rv_machine_send_ipi(void *ctx, uint32_t from, const struct rv_x2apic_ipi *ipi);
void rv_machine_hypercall(struct machine_vcpu *mv);
void rv_machine_cpuid(void *ctx, struct rv_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4]);
/* Hyper-V MSRs: 0, -1 for #GP, 1 when the MSR is not a Hyper-V one. */
int rv_machine_hv_rdmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t *v);
int rv_machine_hv_wrmsr(struct machine_vcpu *mv, uint32_t msr, uint64_t v);

#endif
