/* SPDX-License-Identifier: MIT */
/*
 * The software x86-64 CPU: architectural state, the memory interface it
 * reaches guest memory through, and the run entry point.
 */
#ifndef RV_CPU_CPU_H
#define RV_CPU_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rv_gpr {
	RV_RAX,
	RV_RCX,
	RV_RDX,
	RV_RBX,
	RV_RSP,
	RV_RBP,
	RV_RSI,
	RV_RDI,
	RV_R8,
	RV_R9,
	RV_R10,
	RV_R11,
	RV_R12,
	RV_R13,
	RV_R14,
	RV_R15,
};

#define RV_FLAG_CF     (1ull << 0)
#define RV_FLAG_PF     (1ull << 2)
#define RV_FLAG_AF     (1ull << 4)
#define RV_FLAG_ZF     (1ull << 6)
#define RV_FLAG_SF     (1ull << 7)
#define RV_FLAG_TF     (1ull << 8)
#define RV_FLAG_IF     (1ull << 9)
#define RV_FLAG_DF     (1ull << 10)
#define RV_FLAG_OF     (1ull << 11)
#define RV_FLAGS_ARITH (RV_FLAG_CF | RV_FLAG_PF | RV_FLAG_AF | RV_FLAG_ZF | RV_FLAG_SF | RV_FLAG_OF)

enum rv_vector {
	RV_EXC_DE = 0,
	RV_EXC_DB = 1,
	RV_EXC_BP = 3,
	RV_EXC_UD = 6,
	RV_EXC_DF = 8,
	RV_EXC_SS = 12,
	RV_EXC_GP = 13,
	RV_EXC_PF = 14,
};

/* What an access is for: decides the #PF error code bits (W, I). */
enum rv_access { RV_ACCESS_READ, RV_ACCESS_WRITE, RV_ACCESS_FETCH };

#define RV_PF_P (1u << 0)
#define RV_PF_W (1u << 1)
#define RV_PF_U (1u << 2)
#define RV_PF_I (1u << 4)
/* Not a fault: the translation exits to the hypervisor and the instruction
 * runs again afterwards (an EPT violation on a page the host is moving). */
#define RV_PF_RETRY (1u << 31)

/*
 * The machine's side: translate a guest-virtual address to a host pointer
 * valid up to the end of its 4 KiB page, or return NULL with the #PF error
 * code in *pf_error.
 */
struct rv_cpu_mem {
	void *ctx;
	uint8_t *(*translate)(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf_error);
	/* The page translate() returns for addresses outside RAM, whose
	 * contents are all ones at every access: never cached, and code there
	 * is FF FF..., an undefined opcode. NULL: none. */
	const uint8_t *unbacked_page;
};

/* Why rv_cpu_run() returned. */
enum rv_cpu_exit {
	RV_CPU_EXIT_BUDGET,    /* ran its budget of instructions */
	RV_CPU_EXIT_KICK,      /* the IPI word was set (checked at block ends) */
	RV_CPU_EXIT_HLT,       /* HLT executed */
	RV_CPU_EXIT_IO,	       /* IN/OUT: see cpu->io */
	RV_CPU_EXIT_EXCEPTION, /* exception raised and cpu->exit_on_exception set */
	RV_CPU_EXIT_TRIPLE_FAULT,
	RV_CPU_EXIT_HYPERCALL, /* VMCALL / VMMCALL of the configured vendor */
	RV_CPU_EXIT_INTERRUPT, /* IF opened while sys.irq_pending said yes */
	RV_CPU_EXIT_INTERCEPT, /* an intercepted instruction retired (sys.tlb said so) */
	RV_CPU_EXIT_RETRY,     /* a translation said RV_PF_RETRY: RIP is unchanged */
	RV_CPU_EXIT_VIRT,      /* see cpu->virt: a virtualization instruction or an intercept */
};

/*
 * Virtualization instructions (VMX, SVM) and the instructions a nested
 * guest's hypervisor intercepts. The CPU reads the memory operands and hands
 * the rest to sys.virt; an intercept stops the run before the instruction
 * retires (RIP unchanged), with cpu->virt saying which and its length.
 */
enum rv_virt_insn {
	RV_VIRT_VMXON,
	RV_VIRT_VMXOFF,
	RV_VIRT_VMCLEAR,
	RV_VIRT_VMPTRLD,
	RV_VIRT_VMPTRST,
	RV_VIRT_VMREAD,
	RV_VIRT_VMWRITE,
	RV_VIRT_VMLAUNCH,
	RV_VIRT_VMRESUME,
	RV_VIRT_INVEPT,
	RV_VIRT_INVVPID,
	RV_VIRT_VMRUN,
	RV_VIRT_VMLOAD,
	RV_VIRT_VMSAVE,
	RV_VIRT_STGI,
	RV_VIRT_CLGI,
	RV_VIRT_INVLPGA,
	/* Only ever intercepts (cpu->intercepts). */
	RV_VIRT_VMCALL,
	RV_VIRT_CPUID,
	RV_VIRT_HLT,
	RV_VIRT_IO,
	RV_VIRT_RDMSR,
	RV_VIRT_WRMSR,
	RV_VIRT_INVLPG,
};

struct rv_virt_op {
	uint8_t insn; /* enum rv_virt_insn */
	uint8_t len;
	uint64_t operand; /* the m64 of VMXON/VMCLEAR/VMPTRLD; VMWRITE's value;
			     INVEPT/INVVPID's type; INVLPG's address */
	uint64_t field;	  /* VMREAD/VMWRITE: the encoding */
	uint64_t desc[2]; /* INVEPT/INVVPID: the 128-bit descriptor */
	uint64_t out;	  /* VMREAD, VMPTRST: what the instruction stores */
};

/* What sys.virt decided. The VMX outcomes set RFLAGS as the SDM's
 * VMsucceed, VMfailInvalid and VMfailValid do. */
enum rv_virt_result {
	RV_VIRT_SUCCEED,
	RV_VIRT_FAIL_INVALID,
	RV_VIRT_FAIL_VALID,
	RV_VIRT_UD,
	RV_VIRT_GP,
	RV_VIRT_EXIT, /* stop the run before it retires: the machine does it */
};

/* cpu->intercepts: what stops the run unretired with RV_CPU_EXIT_VIRT. */
#define RV_ICPT_VMCALL (1u << 0)
#define RV_ICPT_CPUID  (1u << 1)
#define RV_ICPT_HLT    (1u << 2)
#define RV_ICPT_IO     (1u << 3)
#define RV_ICPT_INVLPG (1u << 4)

struct rv_cpu_io {
	uint16_t port;
	uint8_t size; /* 1, 2, 4 */
	bool in;
	uint32_t value;
};

/* What the guest invalidates: the machine maps it onto its TLB. */
enum rv_tlb_event {
	RV_TLB_INVLPG,	/* addr */
	RV_TLB_MOV_CR3, /* the new CR3 was loaded (bit 63 already applied) */
	RV_TLB_CR4,	/* CR4 changed: addr = the old value */
	RV_TLB_CR0,	/* CR0 changed: addr = the old value */
	RV_TLB_INVPCID, /* type in pcid's bits 63:62 ... see ops_system.c */
};

struct rv_cpu;

/*
 * The machine's hooks. Every one is optional: without them I/O reads as all
 * ones and every OUT stops the run (RV_CPU_EXIT_IO), unknown MSRs fault, and
 * CPUID answers from a built-in table.
 */
struct rv_cpu_sys {
	void *ctx;
	/* Port I/O: return true to stop the run after the instruction. */
	bool (*io)(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *io);
	/* 0, or -1 for #GP. */
	int (*rdmsr)(void *ctx, struct rv_cpu *cpu, uint32_t msr, uint64_t *value);
	int (*wrmsr)(void *ctx, struct rv_cpu *cpu, uint32_t msr, uint64_t value);
	void (*cpuid)(void *ctx, struct rv_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4]);
	/* Return true when the hypervisor intercepts the instruction: the
	 * run stops right after it retires (RV_CPU_EXIT_INTERCEPT). */
	bool (*tlb)(void *ctx, struct rv_cpu *cpu, enum rv_tlb_event ev, uint64_t addr,
		    uint64_t pcid);
	/* Whether an external interrupt waits for IF (asked when IF opens). */
	bool (*irq_pending)(void *ctx, struct rv_cpu *cpu);
	/* The time-stamp counter (RDTSC, RDTSCP, MSR 0x10); none: the host's. */
	uint64_t (*tsc)(void *ctx, struct rv_cpu *cpu);
	/* Virtualization instructions; none: #UD. */
	enum rv_virt_result (*virt)(void *ctx, struct rv_cpu *cpu, struct rv_virt_op *op);
};

/* What rdmsr/wrmsr return for an MSR access a nested guest's hypervisor
 * intercepts: the run stops unretired (RV_CPU_EXIT_VIRT). */
#define RV_MSR_INTERCEPTED (-2)

struct rv_cpu_exception {
	int vector;
	uint32_t error_code;
	bool has_error_code;
	uint64_t addr; /* #PF: the linear address */
};

struct rv_icache;

struct rv_cpu {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags; /* see flags.h: the arithmetic bits may be pending */
	uint64_t lf_dst, lf_src, lf_res;
	uint8_t lf_kind, lf_size;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t fs_base, gs_base;
	struct {
		uint64_t base;
		uint16_t limit;
	} gdtr, idtr;
	uint16_t cs, ss;
	bool vendor_amd;	/* VMMCALL is the hypercall instruction, VMCALL #UD */
	bool exit_on_exception; /* hand exceptions to the caller (tests) */
	/* Translate every write afresh: shadow paging sees each write to a
	 * guest page table (the machine sets it). */
	bool no_write_cache;
	/* CR4.VMXE (Intel) or EFER.SVME (AMD) may be set: the machine offers
	 * nested virtualization. */
	bool virt_ext;
	/* A nested guest's intercepts (RV_ICPT_*), and the exceptions handed
	 * to the caller as RV_CPU_EXIT_EXCEPTION (bit = vector). */
	uint32_t intercepts;
	uint32_t exc_intercepts;
	struct rv_virt_op virt; /* the last RV_CPU_EXIT_VIRT */

	uint64_t tsc_aux;
	bool int_shadow; /* STI's one-instruction interrupt shadow */
	bool mmu_retry;	 /* a translation asked for RV_CPU_EXIT_RETRY */
	bool irq_armed;	 /* IF was opened: ask sys.irq_pending at the next boundary */

	struct rv_cpu_mem mem;
	struct rv_cpu_sys sys;
	struct rv_cpu_io io;
	struct rv_cpu_exception exc; /* the last exception raised */
	uint64_t fault_rip;	     /* RIP of the instruction that faulted */
	uint64_t instructions;	     /* retired */
	uint64_t ud_opcode;	     /* first 8 bytes of the last unknown instruction */
	uint64_t ud_count;	     /* #UDs raised for unknown instructions */
	int chain[3];		     /* the exceptions of a triple fault, in order */
	int chain_len;
	/* Decoded instructions: the CPU's own, allocated on its first run, or
	 * one lent by rv_cpu_use_icache (then not the CPU's to free). */
	struct rv_icache *icache;
	bool icache_lent;
	uint64_t icache_hits, icache_misses;
};

/* CPUID as the CPU answers it without a sys.cpuid hook (a hook may fall
 * back to it for the leaves it does not answer itself). */
void rv_cpu_builtin_cpuid(const struct rv_cpu *c, uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* Free what rv_cpu_run() allocated. */
void rv_cpu_destroy(struct rv_cpu *cpu);

/*
 * A decoded-instruction cache several CPUs may use, one at a time (the vCPUs
 * of one pCPU): an entry is used only while memory holds the bytes it was
 * decoded from, so it needs no invalidation and serves any CPU. NULL when
 * out of memory.
 */
struct rv_icache *rv_icache_create(void);
void rv_icache_destroy(struct rv_icache *ic);
/* From now on @cpu uses @ic (NULL: none, decode every time), not its own. */
void rv_cpu_use_icache(struct rv_cpu *cpu, struct rv_icache *ic);

/*
 * Run up to @budget instructions. @ipi is polled at every basic-block end
 * (taken branch, string-op iteration batch, or I/O); when it reads set the
 * CPU stops with RV_CPU_EXIT_KICK before the next instruction.
 */
enum rv_cpu_exit rv_cpu_run(struct rv_cpu *cpu, const _Atomic uint32_t *ipi, uint64_t budget);

/* Whether an external interrupt may be delivered at this boundary. */
static inline bool rv_cpu_interruptible(const struct rv_cpu *cpu)
{
	return (cpu->rflags & RV_FLAG_IF) && !cpu->int_shadow;
}

/*
 * Deliver external interrupt @vector through the IDT now (the caller checked
 * rv_cpu_interruptible()). Returns false on a triple fault (cpu->chain).
 */
bool rv_cpu_interrupt(struct rv_cpu *cpu, int vector);

/*
 * Deliver event @e (an injected one: an interrupt or exception with its
 * error code) through the IDT now. rv_cpu_deliver_event() chains a fault
 * met on the way as the SDM's class table says (#DF, then a triple fault:
 * false). rv_cpu_deliver_once() stops at such a fault: false, with the
 * fault in cpu->exc, for a hypervisor that intercepts it. Both leave
 * cpu->mmu_retry set, undelivered, when a page is being moved or a nested
 * exit is due.
 */
bool rv_cpu_deliver_event(struct rv_cpu *cpu, const struct rv_cpu_exception *e);
bool rv_cpu_deliver_once(struct rv_cpu *cpu, const struct rv_cpu_exception *e);

/* "#PF", or "vector 40" in @buf. */
const char *rv_exception_name(int vector, char *buf, size_t len);
/* "vCPU 3: triple fault at RIP 0x..., exceptions #PF, #DF". */
void rv_cpu_triple_fault_report(const struct rv_cpu *cpu, uint32_t vcpu, char *buf, size_t len);
/* The CPU's counters as JSON object members (for --stats). */
void rv_cpu_stats_json(const struct rv_cpu *cpu, FILE *out);

/* The reset state of GUEST_ABI §3, apart from RIP, RSP and the GPRs. */
void rv_cpu_reset_long_mode(struct rv_cpu *cpu);

#endif
