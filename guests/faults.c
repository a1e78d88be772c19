// SPDX-License-Identifier: MIT
/*
 * faults: exceptions as the architecture delivers them, and a guest that
 * carries on after them.
 *
 * Each vCPU, on page tables of its own with a window of test pages at the
 * same address as every other vCPU's, checks: #PF for not-present reads and
 * writes, a write to a read-only page with CR0.WP=1 (and none with WP=0), a
 * fetch from an NX page and from a not-present one, each with CR2 and the
 * error code; #DE (a zero divisor, and a quotient too big), #UD, #GP for a
 * non-canonical address; INT3 and INT n through trap and interrupt gates
 * (IF in the handler, the pushed RIP after the instruction); the frame the
 * CPU pushes (CS, SS, RSP, RFLAGS, aligned to 16 bytes); and #PF handlers
 * that fix the PTE and return so that the instruction runs again: a
 * demand-mapped page, a read-only page made writable (without INVLPG: the
 * #PF dropped the stale entry, GUEST_ABI §7), and a REP MOVSB that faults
 * halfway and resumes. Then the guest goes on and exits 0.
 *
 * Exceptions the test expects are caught with rv_try(); the #PF handler
 * fixes the pages it was told to and declines the rest.
 */
#include "rv.h"

#define WINDOW	   0x0000018000000000ull /* 1.5 TiB: its own PML4 slot, above any RAM */
#define NPAGES	   8
#define NONCANON   0x0000800000000000ull
#define VEC_INTR   0x40 /* an interrupt gate */
#define VEC_TRAP   0x41 /* a trap gate */
#define DATA_FLAGS (RV_PTE_P | RV_PTE_W | RV_PTE_NX)
#define SEL_CODE   0x08
#define SEL_DATA   0x10

/* The window's pages. */
enum {
	PG_ABSENT,   /* never present */
	PG_RDONLY,   /* present, read-only */
	PG_NX,	     /* code bytes on a no-execute page */
	PG_DEMAND,   /* not present until the handler maps it */
	PG_RDONLY2,  /* read-only until the handler makes it writable */
	PG_COPY,     /* present: where the REP MOVSB starts */
	PG_COPY_END, /* not present: where it faults */
};

enum {
	CHECK_PF_READ = 1,
	CHECK_PF_WRITE = 2,
	CHECK_PF_WP = 3,
	CHECK_WP_OFF = 4,
	CHECK_PF_NX = 5,
	CHECK_PF_FETCH = 6,
	CHECK_EXEC = 7,
	CHECK_DE = 8,
	CHECK_DE_IDIV = 9,
	CHECK_UD = 10,
	CHECK_GP = 11,
	CHECK_INT3 = 12,
	CHECK_INT_INTR = 13,
	CHECK_INT_TRAP = 14,
	CHECK_FRAME = 15,
	CHECK_FIX_DEMAND = 16,
	CHECK_FIX_WRITE = 17,
	CHECK_FIX_REP = 18,
	CHECK_RDONLY_READ = 19,
};

struct access {
	u64 va;
	u64 value;
};

void faults_load(void *a);
void faults_store(void *a);
void faults_call(void *a);
void faults_div0(void *unused);
void faults_idiv(void *unused);
void faults_ud2(void *unused);
void faults_ud2_rsp8(void *rsp);
void faults_ud2_rsp0(void *rsp);
void faults_int3(void *unused);
void faults_int40(void *unused);
void faults_int41(void *unused);
extern const char faults_load_insn[], faults_store_insn[], faults_div0_insn[], faults_idiv_insn[],
	faults_ud2_insn[], faults_ud2_rsp8_insn[], faults_ud2_rsp0_insn[], faults_int3_next[],
	faults_int40_next[], faults_int41_next[];

/* mov $42, %eax; ret */
static const u8 code_bytes[] = { 0xb8, 42, 0, 0, 0, 0xc3 };

/* What one vCPU's handlers see; found through rv_local(). */
struct fault_cpu {
	u64 root;
	u64 frame[NPAGES];
	unsigned checks;
	/* The page the #PF handler may fix, and how; what it saw. */
	struct {
		u64 va, pte;
		unsigned count;
		u64 error, cr2, rip;
	} fix;
	/* What the last software-interrupt handler saw. */
	struct {
		unsigned count, vector;
		u64 rip, rflags_inside, rflags_frame;
	} soft;
};

static struct rv_barrier sync_point = RV_BARRIER_INIT(0);
static u32 total_checks;

static u64 page_va(unsigned p)
{
	return WINDOW + p * RV_PAGE_SIZE;
}

static u64 addr_of(const void *p)
{
	return (u64)(uintptr_t)p;
}

/* ---- Handlers ---- */

static void pf_handler(unsigned vector, u64 error, struct rv_frame *f)
{
	struct fault_cpu *fc = rv_local();
	u64 cr2 = rv_read_cr2();

	if (fc->fix.va && (cr2 & ~(RV_PAGE_SIZE - 1)) == fc->fix.va && fc->fix.count++ == 0) {
		fc->fix.error = error;
		fc->fix.cr2 = cr2;
		fc->fix.rip = f->rip;
		/* No INVLPG: delivering the #PF removed the entries for this address. */
		rv_write_once(*rv_pt_pte(fc->root, fc->fix.va), fc->fix.pte);
		return;
	}
	rv_trap_abandon(vector, error, f);
}

static void soft_handler(unsigned vector, u64 error, struct rv_frame *f)
{
	struct fault_cpu *fc = rv_local();

	(void)error;
	fc->soft.count++;
	fc->soft.vector = vector;
	fc->soft.rip = f->rip;
	fc->soft.rflags_inside = rv_read_rflags();
	fc->soft.rflags_frame = f->rflags;
}

/* ---- Checking an exception ---- */

static void check_frame(const char *what, const struct rv_trap_info *i)
{
	if (i->cs != SEL_CODE || i->ss != SEL_DATA)
		rv_fail(CHECK_FRAME, "faults: %s: frame CS %#lx SS %#lx, want %#x %#x", what, i->cs,
			i->ss, SEL_CODE, SEL_DATA);
	/* In 64-bit mode the CPU aligns RSP to 16 before it pushes SS, RSP, RFLAGS, CS, RIP. */
	if ((i->frame & 15) != 8)
		rv_fail(CHECK_FRAME, "faults: %s: RIP slot of the frame at %#lx, want 8 mod 16",
			what, i->frame);
	if (!(i->rflags & 2))
		rv_fail(CHECK_FRAME, "faults: %s: frame RFLAGS %#lx lacks the fixed bit 1", what,
			i->rflags);
}

/* Run @fn(@arg) and check that it raised exactly this exception. */
static void expect(struct fault_cpu *fc, unsigned code, const char *what, void (*fn)(void *),
		   void *arg, int vector, u64 error, u64 rip, u64 cr2)
{
	struct rv_trap_info i = { 0 };
	int got = rv_try(fn, arg, &i);

	if (got != vector)
		rv_fail(code, "faults: %s: got %s (vector %d), want %s (vector %d)", what,
			got < 0 ? "no exception" : rv_vector_name(got), got, rv_vector_name(vector),
			vector);
	if (i.error != error)
		rv_fail(code, "faults: %s: error code %#lx, want %#lx", what, i.error, error);
	if (i.rip != rip)
		rv_fail(code, "faults: %s: RIP %#lx, want %#lx", what, i.rip, rip);
	if (vector == RV_VEC_PF && i.cr2 != cr2)
		rv_fail(code, "faults: %s: CR2 %#lx, want %#lx", what, i.cr2, cr2);
	check_frame(what, &i);
	fc->checks++;
}

static void expect_none(struct fault_cpu *fc, unsigned code, const char *what, void (*fn)(void *),
			void *arg)
{
	struct rv_trap_info i = { 0 };
	int got = rv_try(fn, arg, &i);

	if (got != RV_NO_EXCEPTION)
		rv_fail(code, "faults: %s: unexpected %s, error %#lx, RIP %#lx, CR2 %#lx", what,
			rv_vector_name(got), i.error, i.rip, i.cr2);
	fc->checks++;
}

static void check_value(struct fault_cpu *fc, unsigned code, const char *what, u64 got, u64 want)
{
	if (got != want)
		rv_fail(code, "faults: %s: read %#lx, want %#lx", what, got, want);
	fc->checks++;
}

/* ---- The tests ---- */

static void page_faults(struct fault_cpu *fc)
{
	struct access a = { .va = page_va(PG_ABSENT) + 0x18 };
	struct access ro = { .va = page_va(PG_RDONLY) + 0x20, .value = 0x1234 };
	u64 *ro_frame = rv_phys(fc->frame[PG_RDONLY] + 0x20);

	expect(fc, CHECK_PF_READ, "read of a not-present page", faults_load, &a, RV_VEC_PF, 0,
	       addr_of(faults_load_insn), a.va);
	expect(fc, CHECK_PF_WRITE, "write to a not-present page", faults_store, &a, RV_VEC_PF,
	       RV_PF_W, addr_of(faults_store_insn), a.va);

	*ro_frame = 0x5eed;
	expect_none(fc, CHECK_RDONLY_READ, "read of a read-only page", faults_load, &ro);
	check_value(fc, CHECK_RDONLY_READ, "read of a read-only page", ro.value, 0x5eed);
	ro.value = 0x1234;
	expect(fc, CHECK_PF_WP, "write to a read-only page, CR0.WP=1", faults_store, &ro, RV_VEC_PF,
	       RV_PF_P | RV_PF_W, addr_of(faults_store_insn), ro.va);
	check_value(fc, CHECK_PF_WP, "a read-only page after a refused write", *ro_frame, 0x5eed);

	/* With WP=0, supervisor writes ignore R/W. */
	rv_write_cr0(rv_read_cr0() & ~RV_CR0_WP);
	expect_none(fc, CHECK_WP_OFF, "write to a read-only page, CR0.WP=0", faults_store, &ro);
	rv_write_cr0(rv_read_cr0() | RV_CR0_WP);
	check_value(fc, CHECK_WP_OFF, "the write made with CR0.WP=0", *ro_frame, 0x1234);
	ro.value = 0x5678;
	expect(fc, CHECK_PF_WP, "write to a read-only page, CR0.WP=1 again", faults_store, &ro,
	       RV_VEC_PF, RV_PF_P | RV_PF_W, addr_of(faults_store_insn), ro.va);
}

static void fetch_faults(struct fault_cpu *fc)
{
	struct access nx = { .va = page_va(PG_NX) };
	struct access absent = { .va = page_va(PG_ABSENT) };

	expect(fc, CHECK_PF_NX, "fetch from an NX page", faults_call, &nx, RV_VEC_PF,
	       RV_PF_P | RV_PF_I, nx.va, nx.va);
	expect(fc, CHECK_PF_FETCH, "fetch from a not-present page", faults_call, &absent, RV_VEC_PF,
	       RV_PF_I, absent.va, absent.va);

	/* Executable now: the old NX entry must go, so flush it. */
	rv_pt_protect(fc->root, nx.va, RV_PTE_P | RV_PTE_W);
	rv_invlpg(nx.va);
	expect_none(fc, CHECK_EXEC, "call into the page made executable", faults_call, &nx);
	check_value(fc, CHECK_EXEC, "the code on the page made executable", nx.value, 42);
}

static void other_exceptions(struct fault_cpu *fc)
{
	struct access noncanon = { .va = NONCANON };
	u64 rsp = 0;
	struct rv_trap_info i = { 0 };

	expect(fc, CHECK_DE, "DIV by zero", faults_div0, NULL, RV_VEC_DE, 0,
	       addr_of(faults_div0_insn), 0);
	expect(fc, CHECK_DE_IDIV, "IDIV of INT64_MIN by -1", faults_idiv, NULL, RV_VEC_DE, 0,
	       addr_of(faults_idiv_insn), 0);
	expect(fc, CHECK_UD, "UD2", faults_ud2, NULL, RV_VEC_UD, 0, addr_of(faults_ud2_insn), 0);
	expect(fc, CHECK_GP, "read of a non-canonical address", faults_load, &noncanon, RV_VEC_GP,
	       0, addr_of(faults_load_insn), 0);

	/* The RSP the CPU pushes is the one at the fault, aligned or not. */
	rv_try(faults_ud2_rsp8, &rsp, &i);
	if (i.vector != RV_VEC_UD || i.rip != addr_of(faults_ud2_rsp8_insn) || i.rsp != rsp)
		rv_fail(CHECK_FRAME,
			"faults: #UD with RSP 8 mod 16: vector %u RIP %#lx RSP %#lx, "
			"want RSP %#lx",
			i.vector, i.rip, i.rsp, rsp);
	check_frame("#UD with RSP 8 mod 16", &i);
	rv_try(faults_ud2_rsp0, &rsp, &i);
	if (i.vector != RV_VEC_UD || i.rip != addr_of(faults_ud2_rsp0_insn) || i.rsp != rsp)
		rv_fail(CHECK_FRAME,
			"faults: #UD with RSP 0 mod 16: vector %u RIP %#lx RSP %#lx, "
			"want RSP %#lx",
			i.vector, i.rip, i.rsp, rsp);
	check_frame("#UD with RSP 0 mod 16", &i);
	fc->checks += 2;
}

/* A software interrupt returns to the next instruction; @trap_gate says whether IF stays. */
static void soft_int(struct fault_cpu *fc, unsigned code, const char *what, void (*fn)(void *),
		     unsigned vector, const char *next, bool trap_gate)
{
	unsigned before = fc->soft.count;
	u64 if_inside;

	rv_irq_enable();
	fn(NULL);
	rv_irq_disable();
	if (fc->soft.count != before + 1 || fc->soft.vector != vector)
		rv_fail(code, "faults: %s: handler ran %u times, vector %u", what,
			fc->soft.count - before, fc->soft.vector);
	if (fc->soft.rip != addr_of(next))
		rv_fail(code, "faults: %s: pushed RIP %#lx, want the next instruction at %#lx",
			what, fc->soft.rip, addr_of(next));
	if_inside = fc->soft.rflags_inside & RV_RFLAGS_IF;
	if (!(fc->soft.rflags_frame & RV_RFLAGS_IF) || if_inside != (trap_gate ? RV_RFLAGS_IF : 0))
		rv_fail(code, "faults: %s: IF %s in the handler through a%s gate", what,
			if_inside ? "set" : "clear", trap_gate ? " trap" : "n interrupt");
	fc->checks++;
}

static void software_interrupts(struct fault_cpu *fc)
{
	soft_int(fc, CHECK_INT3, "INT3", faults_int3, RV_VEC_BP, faults_int3_next, true);
	soft_int(fc, CHECK_INT_INTR, "INT 0x40", faults_int40, VEC_INTR, faults_int40_next, false);
	soft_int(fc, CHECK_INT_TRAP, "INT 0x41", faults_int41, VEC_TRAP, faults_int41_next, true);
}

/* Arm the #PF handler to install @pte for @va's page, once. */
static void arm_fix(struct fault_cpu *fc, u64 va, u64 pte)
{
	fc->fix.count = 0;
	fc->fix.pte = pte;
	rv_write_once(fc->fix.va, va & ~(RV_PAGE_SIZE - 1));
}

static void check_fix(struct fault_cpu *fc, unsigned code, const char *what, u64 error, u64 cr2,
		      u64 rip)
{
	if (fc->fix.count != 1)
		rv_fail(code, "faults: %s: %u page faults, want exactly 1", what, fc->fix.count);
	if (fc->fix.error != error || fc->fix.cr2 != cr2 || (rip && fc->fix.rip != rip))
		rv_fail(code, "faults: %s: #PF error %#lx CR2 %#lx RIP %#lx, want %#lx %#lx %#lx",
			what, fc->fix.error, fc->fix.cr2, fc->fix.rip, error, cr2, rip);
	rv_write_once(fc->fix.va, 0);
	fc->checks++;
}

static void copy_across(void *arg)
{
	struct access *a = arg;
	u64 n = RV_PAGE_SIZE;
	void *dst = rv_phys(a->va);
	const void *src = rv_phys(a->value);

	/* One REP MOVSB from the middle of PG_COPY into PG_COPY_END. */
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	a->value = n;
}

static void fixed_faults(struct fault_cpu *fc)
{
	struct access demand = { .va = page_va(PG_DEMAND) + 8 };
	struct access rdonly = { .va = page_va(PG_RDONLY2) + 16, .value = 0xfeed };
	u64 *src = rv_page_alloc();
	struct access copy = { .va = page_va(PG_COPY) + RV_PAGE_SIZE / 2, .value = addr_of(src) };

	arm_fix(fc, demand.va, fc->frame[PG_DEMAND] | DATA_FLAGS);
	expect_none(fc, CHECK_FIX_DEMAND, "read of a page mapped on demand", faults_load, &demand);
	check_fix(fc, CHECK_FIX_DEMAND, "read of a page mapped on demand", 0, demand.va,
		  addr_of(faults_load_insn));
	check_value(fc, CHECK_FIX_DEMAND, "the page mapped on demand", demand.value,
		    *(u64 *)rv_phys(fc->frame[PG_DEMAND] + 8));

	/* Read first, so that the TLB may hold the read-only translation. */
	expect_none(fc, CHECK_FIX_WRITE, "read of a read-only page", faults_load, &rdonly);
	rdonly.value = 0xfeed;
	arm_fix(fc, rdonly.va, fc->frame[PG_RDONLY2] | DATA_FLAGS);
	expect_none(fc, CHECK_FIX_WRITE, "write to a page made writable by the handler",
		    faults_store, &rdonly);
	check_fix(fc, CHECK_FIX_WRITE, "write to a page made writable by the handler",
		  RV_PF_P | RV_PF_W, rdonly.va, addr_of(faults_store_insn));
	check_value(fc, CHECK_FIX_WRITE, "the write after the handler",
		    *(u64 *)rv_phys(fc->frame[PG_RDONLY2] + 16), 0xfeed);

	for (unsigned i = 0; i < RV_PAGE_SIZE / 8; i++)
		src[i] = 0xc0de000000000000ull | i;
	arm_fix(fc, page_va(PG_COPY_END), fc->frame[PG_COPY_END] | DATA_FLAGS);
	expect_none(fc, CHECK_FIX_REP, "REP MOVSB into a page mapped on demand", copy_across,
		    &copy);
	check_fix(fc, CHECK_FIX_REP, "REP MOVSB into a page mapped on demand", RV_PF_W,
		  page_va(PG_COPY_END), 0);
	check_value(fc, CHECK_FIX_REP, "RCX after the resumed REP MOVSB", copy.value, 0);
	for (unsigned i = 0; i < RV_PAGE_SIZE / 8; i++) {
		u64 got = *(volatile u64 *)(uintptr_t)(page_va(PG_COPY) + RV_PAGE_SIZE / 2 + 8 * i);

		if (got != src[i])
			rv_fail(CHECK_FIX_REP,
				"faults: resumed REP MOVSB: word %u is %#lx, want %#lx", i, got,
				src[i]);
	}
}

/* ---- Set-up ---- */

static void setup_shared(void)
{
	rv_set_handler(RV_VEC_PF, pf_handler);
	rv_set_handler(RV_VEC_BP, soft_handler);
	rv_set_handler(VEC_INTR, soft_handler);
	rv_set_handler(VEC_TRAP, soft_handler);
	rv_set_trap_gate(RV_VEC_BP, true);
	rv_set_trap_gate(VEC_TRAP, true);
}

static void setup_cpu(struct fault_cpu *fc)
{
	fc->root = rv_pt_clone(rv_boot_cr3);
	for (unsigned p = 0; p < NPAGES; p++) {
		fc->frame[p] = addr_of(rv_page_alloc());
		*(u64 *)rv_phys(fc->frame[p] + 8) = 0xfa000000 + p;
	}
	memcpy(rv_phys(fc->frame[PG_NX]), code_bytes, sizeof(code_bytes));

	rv_pt_unmap(fc->root, page_va(PG_ABSENT));
	rv_pt_map(fc->root, page_va(PG_RDONLY), fc->frame[PG_RDONLY], RV_PTE_P | RV_PTE_NX);
	rv_pt_map(fc->root, page_va(PG_NX), fc->frame[PG_NX], DATA_FLAGS);
	rv_pt_unmap(fc->root, page_va(PG_DEMAND));
	rv_pt_map(fc->root, page_va(PG_RDONLY2), fc->frame[PG_RDONLY2], RV_PTE_P | RV_PTE_NX);
	rv_pt_map(fc->root, page_va(PG_COPY), fc->frame[PG_COPY], DATA_FLAGS);
	rv_pt_unmap(fc->root, page_va(PG_COPY_END));
	rv_set_local(fc);
	rv_write_cr3(fc->root);
}

int rv_main(unsigned cpu, unsigned ncpus)
{
	struct fault_cpu fc = { 0 };

	if (cpu == 0)
		setup_shared();
	rv_barrier_wait(&sync_point);
	setup_cpu(&fc);
	page_faults(&fc);
	fetch_faults(&fc);
	other_exceptions(&fc);
	software_interrupts(&fc);
	fixed_faults(&fc);
	/* Still here after all of that: the guest resumed every time. */
	rv_fetch_add(&total_checks, fc.checks);
	rv_barrier_wait(&sync_point);
	if (cpu == 0)
		rv_printf("faults: %u vCPUs, %u checks: every exception as the architecture "
			  "delivers it, and the guest resumed\n",
			  ncpus, rv_load_acquire(&total_checks));
	return 0;
}
