/* SPDX-License-Identifier: MIT */
/*
 * The reqvisor guest SDK: what a guest written against GUEST_ABI.md needs to
 * print, exit, take exceptions and interrupts, send IPIs, synchronise its
 * vCPUs and edit its own page tables.
 *
 * A guest defines rv_main(). Every vCPU enters it once the SDK is set up
 * (start.c): the IDT is loaded, so an unexpected exception is reported and
 * ends the run instead of triple-faulting. When rv_main() returns on vCPU 0
 * the guest exits with its value; on another vCPU a nonzero value exits the
 * guest, and zero parks that vCPU.
 *
 * Guests are integer-only (-mgeneral-regs-only): no SSE, no x87.
 */
#ifndef RV_GUEST_SDK_H
#define RV_GUEST_SDK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define RV_NORETURN	 __attribute__((noreturn))
#define RV_PRINTF(a, b)	 __attribute__((format(printf, a, b)))
#define RV_ALIGNED(n)	 __attribute__((aligned(n)))
#define RV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define RV_PAGE_SIZE  4096ull
#define RV_CACHE_LINE 64

/* The guest's entry, on every vCPU: @cpu is 0 .. @ncpus - 1. */
int rv_main(unsigned cpu, unsigned ncpus);

/*
 * Exit codes of the SDK itself; guests number their own checks from 1 and
 * stay below RV_EXIT_SDK.
 */
#define RV_EXIT_SDK	      100
#define RV_EXIT_BAD_CONFIG    100 /* .rvconfig has a wrong magic, version or value */
#define RV_EXIT_NO_MEMORY     101 /* the page allocator ran into the reserved region */
#define RV_EXIT_NO_FEATURE    102 /* CPUID lacks a feature the guest needs */
#define RV_EXIT_BAD_MAPPING   103 /* a page-table helper was asked the impossible */
#define RV_EXIT_TOO_MANY_CPUS 104
#define RV_EXIT_EXCEPTION     0x100 /* + vector: an exception or interrupt nobody handles */

/* ---- Boot information (valid in rv_main) ---- */

extern unsigned rv_ncpus; /* RSI at entry */
extern u64 rv_mem_end;	  /* RDX at entry: the first reserved byte */
extern u64 rv_boot_cr3;	  /* the boot PML4, as CR3 held it */

/* ---- Ports: the console and the exit device ---- */

#define RV_PORT_CONSOLE 0xe9
#define RV_PORT_EXIT	0xf4

static inline void rv_outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void rv_outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline u8 rv_inb(u16 port)
{
	u8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* Stop the VM with @status (0: the guest passed). Never returns. */
RV_NORETURN void rv_exit(u32 status);

/* Print "FAIL <code>: <message>" and exit with @code. */
RV_NORETURN RV_PRINTF(2, 3) void rv_fail(u32 code, const char *fmt, ...);

/* ---- Console (console.c) ---- */

void rv_putc(char c);
void rv_puts(const char *s);
/* %d %i %u %x %X %p %s %c %%, flags '-' and '0', a width or '*', h l ll z. */
RV_PRINTF(1, 2) int rv_printf(const char *fmt, ...);
int rv_vprintf(const char *fmt, va_list ap);
RV_PRINTF(3, 4) int rv_snprintf(char *buf, size_t size, const char *fmt, ...);
int rv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- Library (lib.c); gcc may also call these itself ---- */

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t rv_strlen(const char *s);

/* splitmix64: a tiny deterministic generator, good enough to pick pages. */
static inline u64 rv_rand(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline unsigned rv_popcount(u64 v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* ---- Registers, CPUID, MSRs ---- */

#define RV_CR0_WP      (1ull << 16)
#define RV_CR4_PGE     (1ull << 7)
#define RV_CR4_PCIDE   (1ull << 17)
#define RV_CR3_NOFLUSH (1ull << 63)
#define RV_RFLAGS_IF   (1ull << 9)
#define RV_RFLAGS_DF   (1ull << 10)

#define RV_DEFINE_CR(n)                                                    \
	static inline u64 rv_read_cr##n(void)                              \
	{                                                                  \
		u64 v;                                                     \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));          \
		return v;                                                  \
	}                                                                  \
	static inline void rv_write_cr##n(u64 v)                           \
	{                                                                  \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
RV_DEFINE_CR(0)
RV_DEFINE_CR(2)
RV_DEFINE_CR(3)
RV_DEFINE_CR(4)
#undef RV_DEFINE_CR

/* Load CR3 with PCID @pcid; @noflush sets bit 63 (CR4.PCIDE must be on for either). */
static inline void rv_write_cr3_pcid(u64 root, u16 pcid, bool noflush)
{
	rv_write_cr3(root | (pcid & 0xfff) | (noflush ? RV_CR3_NOFLUSH : 0));
}

static inline u64 rv_read_rflags(void)
{
	u64 v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v) : : "memory");
	return v;
}

static inline void rv_cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline u64 rv_rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return (u64)hi << 32 | lo;
}

static inline void rv_wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* CPUID feature bits the ABI promises (§6). */
#define RV_FEAT_PCID	1 /* leaf 1 ECX bit 17 */
#define RV_FEAT_X2APIC	2 /* leaf 1 ECX bit 21 */
#define RV_FEAT_INVPCID 3 /* leaf 7 EBX bit 10 */
bool rv_has_feature(int feature);
/* Exit with RV_EXIT_NO_FEATURE, naming @feature, unless the CPU has it. */
void rv_require_feature(int feature);

/* ---- Interrupt flag, HLT ---- */

static inline void rv_irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void rv_irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/*
 * Sleep until an interrupt has been handled. STI's one-instruction shadow
 * makes "sti; hlt" atomic: an interrupt that became pending while IF was 0
 * wakes the HLT rather than being taken just before it. Returns with IF=1.
 */
static inline void rv_wait_for_interrupt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* Halt this vCPU for good: nothing but an NMI could wake it. */
RV_NORETURN void rv_halt_forever(void);

/* ---- TLB ---- */

static inline void rv_invlpg(u64 va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

#define RV_INVPCID_ADDRESS    0 /* one address in one PCID, not globals */
#define RV_INVPCID_CONTEXT    1 /* one PCID, not globals */
#define RV_INVPCID_ALL_GLOBAL 2 /* every PCID, globals too */
#define RV_INVPCID_ALL	      3 /* every PCID, not globals */

static inline void rv_invpcid(u64 type, u64 pcid, u64 va)
{
	struct {
		u64 pcid;
		u64 va;
	} desc = { pcid, va };

	__asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"(type) : "memory");
}

/* ---- Exceptions and interrupts (idt.c, vectors.S, try.S) ---- */

/* What the vector stubs leave on the stack: the GPRs, then the CPU's frame. */
struct rv_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error; /* error is 0 for vectors without an error code */
	u64 rip, cs, rflags, rsp, ss;
};

#define RV_VEC_DE 0
#define RV_VEC_BP 3
#define RV_VEC_UD 6
#define RV_VEC_DF 8
#define RV_VEC_GP 13
#define RV_VEC_PF 14
#define RV_VEC_AC 17

/* #PF error code bits. */
#define RV_PF_P	   (1u << 0)
#define RV_PF_W	   (1u << 1)
#define RV_PF_U	   (1u << 2)
#define RV_PF_RSVD (1u << 3)
#define RV_PF_I	   (1u << 4)

/*
 * A handler runs on the interrupted stack with IF as the gate left it
 * (cleared by an interrupt gate, kept by a trap gate). It may change *f; the
 * stub restores every register from it and IRETQs. Interrupt handlers send
 * their own EOI (rv_apic_eoi()).
 */
typedef void rv_handler_t(unsigned vector, u64 error, struct rv_frame *f);

void rv_set_handler(unsigned vector, rv_handler_t *fn);
/* Make @vector's gate a trap gate (@trap) or an interrupt gate (the default). */
void rv_set_trap_gate(unsigned vector, bool trap);
/* Load the shared IDT on this vCPU; rv_main() starts with it loaded. */
void rv_idt_load(void);
const char *rv_vector_name(unsigned vector);

/* What rv_try() saw of an exception. */
struct rv_trap_info {
	unsigned vector;
	u64 error, cr2, rip, cs, rflags, rsp, ss;
	u64 frame; /* the address of the RIP slot of the CPU's frame */
};

#define RV_NO_EXCEPTION (-1)

/*
 * Call fn(arg). An exception (vector 0-31) that no handler takes abandons
 * fn: rv_try() then returns its vector and fills *@info (which may be
 * NULL); otherwise it returns RV_NO_EXCEPTION. RFLAGS is restored either way.
 */
int rv_try(void (*fn)(void *), void *arg, struct rv_trap_info *info);

/*
 * For a handler that declines an exception: abandon the innermost rv_try()
 * if there is one (returns, and IRETQ lands in rv_try's caller), or report
 * the exception and exit.
 */
void rv_trap_abandon(unsigned vector, u64 error, struct rv_frame *f);

/* ---- Per-vCPU data ---- */

/* This vCPU's index: its x2APIC ID (GUEST_ABI §3), read from MSR 0x802. */
unsigned rv_cpu_id(void);
/* One pointer per vCPU for the guest's own use. */
void rv_set_local(void *p);
void *rv_local(void);

/* ---- x2APIC (GUEST_ABI §5) ---- */

#define RV_MSR_X2APIC_ID  0x802
#define RV_MSR_X2APIC_TPR 0x808
#define RV_MSR_X2APIC_EOI 0x80b
#define RV_MSR_X2APIC_SVR 0x80f
#define RV_MSR_X2APIC_ICR 0x830

#define RV_ICR_SELF	    (1ull << 18)
#define RV_ICR_ALL	    (2ull << 18)
#define RV_ICR_ALL_BUT_SELF (3ull << 18)

static inline void rv_apic_eoi(void)
{
	rv_wrmsr(RV_MSR_X2APIC_EOI, 0);
}

/* A fixed IPI with @vector to the vCPU whose x2APIC ID is @dest. */
void rv_send_ipi(u32 dest, u8 vector);
/* A fixed IPI with a destination shorthand: RV_ICR_SELF, _ALL, _ALL_BUT_SELF. */
void rv_send_ipi_shorthand(u64 shorthand, u8 vector);

/* ---- Atomics and ordering ---- */

#define rv_barrier()	       __asm__ volatile("" : : : "memory")
#define rv_read_once(x)	       (*(const volatile __typeof__(x) *)&(x))
#define rv_write_once(x, v)    (*(volatile __typeof__(x) *)&(x) = (v))
#define rv_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define rv_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define rv_fetch_add(p, v)     __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define rv_xchg(p, v)	       __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* Store @new at @p if it holds *@old; otherwise load what it holds into *@old. */
#define rv_cmpxchg(p, old, new) \
	__atomic_compare_exchange_n((p), (old), (new), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

static inline void rv_mfence(void)
{
	__asm__ volatile("mfence" : : : "memory");
}

static inline void rv_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

/* The time-stamp counter: the host's, or with the deterministic executor
 * its step count (GUEST_ABI notes in docs/guest-abi.md). */
static inline u64 rv_rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (u64)hi << 32 | lo;
}

typedef struct {
	u32 locked;
} rv_spinlock_t;

/* clang-format off */
#define RV_SPINLOCK_INIT { 0 }
/* clang-format on */

static inline void rv_spin_lock(rv_spinlock_t *l)
{
	while (rv_xchg(&l->locked, 1)) {
		/* Wait with plain loads so the line is not bounced by failed XCHGs. */
		while (rv_read_once(l->locked))
			rv_pause();
	}
}

static inline bool rv_spin_trylock(rv_spinlock_t *l)
{
	return !rv_xchg(&l->locked, 1);
}

static inline void rv_spin_unlock(rv_spinlock_t *l)
{
	rv_store_release(&l->locked, 0);
}

/*
 * A sense-reversing barrier for @count vCPUs (0: all of them). It can be
 * reused at once: a vCPU that leaves and comes back waits for the next
 * generation.
 */
struct rv_barrier {
	u32 waiting;
	u32 generation;
	u32 count;
};

/* clang-format off */
#define RV_BARRIER_INIT(n) { 0, 0, (n) }
/* clang-format on */

void rv_barrier_wait(struct rv_barrier *b);

/* ---- Memory and page tables (paging.c) ---- */

#define RV_PTE_P    (1ull << 0)
#define RV_PTE_W    (1ull << 1)
#define RV_PTE_U    (1ull << 2)
#define RV_PTE_PWT  (1ull << 3)
#define RV_PTE_PCD  (1ull << 4)
#define RV_PTE_A    (1ull << 5)
#define RV_PTE_D    (1ull << 6)
#define RV_PTE_PS   (1ull << 7) /* in a PDE or PDPTE: a 2 MiB or 1 GiB page */
#define RV_PTE_G    (1ull << 8)
#define RV_PTE_NX   (1ull << 63)
#define RV_PTE_ADDR 0x000ffffffffff000ull

/* Guest RAM is identity-mapped: a physical address is also a pointer. */
static inline void *rv_phys(u64 pa)
{
	return (void *)(uintptr_t)pa;
}

/* A zeroed page of free RAM (above the image, below rv_mem_end); exits if none is left. */
void *rv_page_alloc(void);
/* @n contiguous zeroed pages. */
void *rv_pages_alloc(u64 n);

/*
 * Page tables are named by the physical address of their PML4 (a "root").
 * None of these helpers invalidates the TLB: a change to a live mapping
 * needs the caller's INVLPG, INVPCID or CR3 load, as on hardware. They do
 * not lock either: one vCPU edits a given table at a time.
 */

/* A copy of every table under @root (leaves shared), e.g. of rv_boot_cr3's. */
u64 rv_pt_clone(u64 root);
/* The end of guest RAM, the reserved region included (from the boot tables). */
u64 rv_ram_size(void);
/*
 * The 4 KiB PTE for @va, creating missing tables and splitting a 2 MiB or
 * 1 GiB page on the way into 4 KiB pages with the same translation.
 */
u64 *rv_pt_pte(u64 root, u64 va);
/* Map @va to @pa with @flags (RV_PTE_P is added); returns the old PTE. */
u64 rv_pt_map(u64 root, u64 va, u64 pa, u64 flags);
/* Make @va not present; returns the old PTE. */
u64 rv_pt_unmap(u64 root, u64 va);
/* Keep @va's frame, replace its flags with @flags; returns the old PTE. */
u64 rv_pt_protect(u64 root, u64 va, u64 flags);
/* Walk without changing anything: the physical address @va maps to, or ~0. */
u64 rv_pt_translate(u64 root, u64 va);

/* ---- The configuration block the loader may fill (.rvconfig) ---- */

#define RV_CONFIG_MAGIC	  0x46435652u /* "RVCF" */
#define RV_CONFIG_VERSION 1u

struct rv_config {
	u32 magic;
	u32 version;
	u64 rounds;
	u64 pages;
	u64 seed;
	u64 reserved[4];
};

/*
 * Define the guest's configuration block with its defaults. It is volatile:
 * the loader may rewrite it before the vCPUs start, so gcc must not fold the
 * defaults into the code.
 */
#define RV_CONFIG(r, p, s)                                                                        \
	volatile const struct rv_config rv_config __attribute__((section(".rvconfig"), used)) = { \
		.magic = RV_CONFIG_MAGIC,                                                         \
		.version = RV_CONFIG_VERSION,                                                     \
		.rounds = (r),                                                                    \
		.pages = (p),                                                                     \
		.seed = (s),                                                                      \
	}

extern volatile const struct rv_config rv_config;

/*
 * Exit with RV_EXIT_BAD_CONFIG unless the block's magic and version are right.
 * Inline, so that guests without a block do not reference rv_config.
 */
static inline void rv_config_check(void)
{
	if (rv_config.magic != RV_CONFIG_MAGIC || rv_config.version != RV_CONFIG_VERSION)
		rv_fail(RV_EXIT_BAD_CONFIG, ".rvconfig: magic %#x version %u, want %#x version %u",
			rv_config.magic, rv_config.version, RV_CONFIG_MAGIC, RV_CONFIG_VERSION);
}

#endif
