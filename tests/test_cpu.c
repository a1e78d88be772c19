// SPDX-License-Identifier: MIT
/*
 * The software CPU beyond what the differential corpus can show: exception
 * delivery through the IDT (frames, #DF, triple faults), INT n and IRETQ,
 * self-modifying code, LOCK atomicity between two CPUs on two host threads,
 * kicks, budgets and unsupported opcodes. Expected values come from the
 * Intel SDM (vol. 3A ch. 6: interrupt and exception handling).
 */
#include <pthread.h>
#include <string.h>

#include "cpu/cpu.h"
#include "helpers.h"
#include "reqvisor/flat_guest.h"
#include "reqvisor/request.h"

#define MEM_SIZE  0x100000ull
#define IDT	  0x1000ull
#define CODE	  0x2000ull
#define HANDLERS  0x3000ull
#define DATA	  0x8000ull
#define STACK_TOP 0xf000ull

extern const uint8_t snip_de[], snip_de_end[], handler_record[], handler_record_end[];
extern const uint8_t snip_pf[], snip_pf_end[], snip_int[], snip_int_end[];
extern const uint8_t handler_iret[], handler_iret_end[], snip_smc[], snip_smc_end[];
extern const uint8_t snip_lock[], snip_lock_end[], snip_spin[], snip_spin_end[];
extern const uint8_t snip_sse[], snip_sse_end[], snip_sti[], snip_sti_end[], snip_sti_window[];
extern const uint8_t snip_de_div[], snip_pf_store[];
extern const uint8_t snip_vmx[], snip_vmx_end[], snip_vmx_launch[], snip_cpuid[], snip_cpuid_end[];

#define DIV_OFFSET ((uint64_t)(snip_de_div - snip_de))

static uint8_t *mem;

static uint8_t *translate(void *ctx, uint64_t gva, enum rv_access kind, uint32_t *pf)
{
	uint8_t *m = ctx;

	if (gva < MEM_SIZE)
		return m + gva;
	*pf = (kind == RV_ACCESS_WRITE ? RV_PF_W : 0) | (kind == RV_ACCESS_FETCH ? RV_PF_I : 0);
	return NULL;
}

static bool stop_at_f4(void *ctx, struct rv_cpu *cpu, struct rv_cpu_io *io)
{
	(void)ctx, (void)cpu;
	return !io->in && io->port == 0xf4;
}

static void put(uint64_t gpa, const uint8_t *from, const uint8_t *to)
{
	memcpy(mem + gpa, from, (size_t)(to - from));
}

static uint64_t q(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, 8);
	return v;
}

/* A 64-bit gate: type 0xe interrupt, 0xf trap; selector 0x08. */
static void gate(unsigned vector, uint64_t target, unsigned type)
{
	uint64_t lo = (target & 0xffff) | (0x08ull << 16) | ((uint64_t)type << 40) | (1ull << 47) |
		      ((target >> 16 & 0xffff) << 48);
	uint64_t hi = target >> 32;

	memcpy(mem + IDT + vector * 16, &lo, 8);
	memcpy(mem + IDT + vector * 16 + 8, &hi, 8);
}

static void cpu_init(struct rv_cpu *c, uint8_t *m, uint64_t rsp)
{
	memset(c, 0, sizeof(*c));
	rv_cpu_reset_long_mode(c);
	c->mem.ctx = m;
	c->mem.translate = translate;
	c->sys.io = stop_at_f4;
	c->rip = CODE;
	c->gpr[RV_RSP] = rsp;
	c->idtr.base = IDT;
	c->idtr.limit = 256 * 16 - 1;
}

static struct rv_cpu cpu;

static void setup(void)
{
	mem = calloc(1, MEM_SIZE);
	cpu_init(&cpu, mem, STACK_TOP);
}

static void teardown(void)
{
	rv_cpu_destroy(&cpu);
	free(mem);
}

START_TEST(divide_error_is_delivered_with_its_frame)
{
	put(CODE, snip_de, snip_de_end);
	put(HANDLERS, handler_record, handler_record_end);
	gate(0, HANDLERS, 0xe);
	cpu.rflags |= RV_FLAG_IF;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_IO);
	uint64_t rsp = q(DATA);

	/* Five qwords, no error code, from a 16-byte aligned stack. */
	ck_assert_uint_eq(rsp, STACK_TOP - 40);
	ck_assert_uint_eq(q(rsp), CODE + DIV_OFFSET);
	ck_assert_uint_eq(q(rsp + 8), 0x08);
	ck_assert_uint_eq(q(rsp + 16) & (RV_FLAG_IF | RV_FLAG_ZF), RV_FLAG_IF | RV_FLAG_ZF);
	ck_assert_uint_eq(q(rsp + 24), STACK_TOP);
	ck_assert_uint_eq(q(rsp + 32), 0x10);
	/* An interrupt gate clears IF; the dividend is untouched. */
	ck_assert(!(cpu.rflags & RV_FLAG_IF));
	ck_assert_uint_eq(cpu.gpr[RV_RAX], 0x1234);
}
END_TEST

START_TEST(page_fault_pushes_its_error_code_and_sets_cr2)
{
	put(CODE, snip_pf, snip_pf_end);
	put(HANDLERS, handler_record, handler_record_end);
	gate(14, HANDLERS, 0xe);
	cpu.gpr[RV_RSP] = STACK_TOP - 8; /* unaligned: delivery aligns it */
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_IO);
	uint64_t rsp = q(DATA);

	ck_assert_uint_eq(rsp, STACK_TOP - 16 - 48);
	ck_assert_uint_eq(q(rsp), RV_PF_W); /* not present, write, supervisor */
	ck_assert_uint_eq(q(rsp + 8), CODE + (uint64_t)(snip_pf_store - snip_pf));
	ck_assert_uint_eq(q(rsp + 32), STACK_TOP - 8);
	ck_assert_uint_eq(cpu.cr2, 0x400008);
}
END_TEST

START_TEST(fault_delivering_a_page_fault_becomes_a_double_fault)
{
	put(CODE, snip_pf, snip_pf_end);
	put(HANDLERS, handler_record, handler_record_end);
	gate(8, HANDLERS, 0xe); /* vector 14 has no gate: #GP while delivering #PF */
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_IO);
	ck_assert_uint_eq(q(q(DATA)), 0); /* #DF's error code */
	ck_assert_int_eq(cpu.chain_len, 2);
	ck_assert_int_eq(cpu.chain[0], RV_EXC_PF);
	ck_assert_int_eq(cpu.chain[1], RV_EXC_DF);
}
END_TEST

START_TEST(exception_with_no_idt_is_a_triple_fault)
{
	put(CODE, snip_de, snip_de_end);
	cpu.idtr.limit = 0;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_TRIPLE_FAULT);
	ck_assert_int_eq(cpu.chain_len, 2);
	ck_assert_int_eq(cpu.chain[0], RV_EXC_DE);
	ck_assert_int_eq(cpu.chain[1], RV_EXC_DF);
	ck_assert_uint_eq(cpu.rip, CODE + DIV_OFFSET);
}
END_TEST

START_TEST(int_n_and_iretq_round_trip_and_int3_is_a_trap)
{
	put(CODE, snip_int, snip_int_end);
	put(HANDLERS, handler_iret, handler_iret_end);
	put(HANDLERS + 0x100, handler_record, handler_record_end);
	gate(0x40, HANDLERS, 0xf);
	gate(3, HANDLERS + 0x100, 0xe);
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_IO);
	ck_assert_uint_eq(cpu.gpr[RV_RAX], 111);
	/* #BP is a trap: the frame holds the address after INT3. */
	ck_assert_uint_eq(q(q(DATA)), CODE + (uint64_t)(snip_int_end - snip_int) - 2);
}
END_TEST

START_TEST(self_modifying_code_runs_its_new_bytes)
{
	put(CODE, snip_smc, snip_smc_end);
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 1000), RV_CPU_EXIT_IO);
	ck_assert_uint_eq(cpu.gpr[RV_RBX], 1 + 2 + 2);
	ck_assert_uint_gt(cpu.icache_misses, 0);
}
END_TEST

struct lock_thread {
	struct rv_cpu cpu;
	enum rv_cpu_exit exit;
};

static void *run_lock(void *arg)
{
	struct lock_thread *t = arg;

	t->exit = rv_cpu_run(&t->cpu, NULL, 10000000);
	return NULL;
}

START_TEST(locked_increments_from_two_cpus_are_atomic)
{
	struct lock_thread t[2];
	pthread_t th[2];
	unsigned long n = test_scale("RV_STRESS_LOCK", 200000);

	put(CODE, snip_lock, snip_lock_end);
	for (int k = 0; k < 2; k++) {
		cpu_init(&t[k].cpu, mem, STACK_TOP - 0x1000 * (uint64_t)k);
		t[k].cpu.gpr[RV_RCX] = n;
		pthread_create(&th[k], NULL, run_lock, &t[k]);
	}
	for (int k = 0; k < 2; k++) {
		pthread_join(th[k], NULL);
		ck_assert_int_eq(t[k].exit, RV_CPU_EXIT_IO);
		rv_cpu_destroy(&t[k].cpu);
	}
	ck_assert_uint_eq(__atomic_load_n((uint64_t *)(mem + DATA), __ATOMIC_RELAXED), 2 * n);
}
END_TEST

START_TEST(kick_stops_at_the_next_block_end_and_budget_bounds_a_run)
{
	_Atomic uint32_t ipi = 1;

	put(CODE, snip_spin, snip_spin_end);
	ck_assert_int_eq(rv_cpu_run(&cpu, &ipi, 1000), RV_CPU_EXIT_KICK);
	ck_assert_uint_eq(cpu.instructions, 2); /* inc, then the taken jmp */
	atomic_store(&ipi, 0);
	ck_assert_int_eq(rv_cpu_run(&cpu, &ipi, 1000), RV_CPU_EXIT_BUDGET);
	ck_assert_uint_eq(cpu.instructions, 1002);
	ck_assert_uint_eq(cpu.gpr[RV_RAX], 501);
}
END_TEST

START_TEST(unsupported_opcode_is_ud_and_named)
{
	put(CODE, snip_sse, snip_sse_end);
	cpu.exit_on_exception = true;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 10), RV_CPU_EXIT_EXCEPTION);
	ck_assert_int_eq(cpu.exc.vector, RV_EXC_UD);
	ck_assert_uint_eq(cpu.fault_rip, CODE);
	/* 0F 28 is MOVAPS: the statistics can name it. */
	ck_assert_uint_eq(cpu.ud_opcode & 0xffff, 0x280f);
}
END_TEST

/* Four vCPUs of CPU code under the scheduler: LOCK increments of one
 * counter, while the host broadcasts flushes that kick them. */
struct sched_run {
	struct rv_flat_guest guest;
	struct rv_vm *vm;
	_Atomic int running;
};

static struct sched_run *sched_setup(enum rv_executor exec, uint64_t seed, unsigned long n)
{
	struct sched_run *r = calloc(1, sizeof(*r));
	struct rv_vm_config cfg = test_config(4, 2, exec, seed);
	char err[128];

	r->guest.mem = mem;
	r->guest.size = MEM_SIZE;
	r->guest.entry = CODE;
	r->guest.stack_top = STACK_TOP;
	r->guest.stack_size = 0x1000;
	r->guest.gpr[RV_RCX] = n;
	put(CODE, snip_lock, snip_lock_end);
	cfg.backend = &rv_flat_guest_backend;
	cfg.backend_ctx = &r->guest;
	cfg.slice = 500;
	ck_assert_int_eq(rv_vm_create(&cfg, &r->vm, err, sizeof(err)), 0);
	return r;
}

static void *flusher(void *arg)
{
	struct sched_run *r = arg;

	while (atomic_load(&r->running))
		rv_make_all_vcpus_request(r->vm, RV_REQ_TLB_FLUSH);
	return NULL;
}

START_TEST(cpu_code_runs_under_the_threads_executor_with_kicks)
{
	unsigned long n = test_scale("RV_STRESS_LOCK", 200000);
	struct sched_run *r = sched_setup(RV_EXEC_THREADS, 1, n);
	pthread_t f;

	atomic_store(&r->running, 1);
	pthread_create(&f, NULL, flusher, r);
	ck_assert_int_eq(rv_vm_run(r->vm), 0);
	atomic_store(&r->running, 0);
	pthread_join(f, NULL);
	ck_assert_uint_eq(q(DATA), 4 * n);
	ck_assert_uint_eq(atomic_load(&r->guest.triple_faults), 0);
	/* Every vCPU retired its 3n + 2 instructions, across slices. */
	ck_assert_uint_eq(rv_vm_stat(r->vm, RV_STAT_steps), 4 * (3 * n + 2));
	ck_assert_uint_gt(rv_vm_stat(r->vm, RV_STAT_exits_slice), 0);
	ck_assert_uint_gt(rv_vm_requests_serviced(r->vm, RV_REQ_BIT_TLB_FLUSH), 0);
	fprintf(stderr, "cpu under threads: %llu kicks sent, %llu kick exits, %llu flushes\n",
		(unsigned long long)rv_vm_stat(r->vm, RV_STAT_kicks_sent),
		(unsigned long long)rv_vm_stat(r->vm, RV_STAT_exits_kick),
		(unsigned long long)rv_vm_stat(r->vm, RV_STAT_flush_all));
	rv_vm_destroy(r->vm);
	free(r);
}
END_TEST

static uint64_t det_hash(uint64_t seed)
{
	struct sched_run *r;
	uint64_t h;

	memset(mem + DATA, 0, 8);
	r = sched_setup(RV_EXEC_DETERMINISTIC, seed, 2000);
	ck_assert_int_eq(rv_vm_run(r->vm), 0);
	ck_assert_uint_eq(q(DATA), 4 * 2000);
	h = rv_vm_trace_hash(r->vm);
	rv_vm_destroy(r->vm);
	free(r);
	return h;
}

START_TEST(cpu_code_replays_under_the_deterministic_executor)
{
	uint64_t a = det_hash(5);

	ck_assert_uint_eq(det_hash(5), a);
	ck_assert_uint_ne(det_hash(6), a);
}
END_TEST

START_TEST(unknown_instruction_is_named_in_the_statistics)
{
	struct rv_flat_guest g = { .mem = mem, .size = MEM_SIZE, .entry = CODE };
	struct rv_vm_config cfg = test_config(1, 1, RV_EXEC_DETERMINISTIC, 1);
	struct rv_vm *vm;
	char err[128], *json = NULL;
	size_t len = 0;

	put(CODE, snip_sse, snip_sse_end);
	g.stack_top = STACK_TOP;
	cfg.backend = &rv_flat_guest_backend;
	cfg.backend_ctx = &g;
	ck_assert_int_eq(rv_vm_create(&cfg, &vm, err, sizeof(err)), 0);
	/* No IDT: the #UD cannot be delivered, so the VM stops with a report. */
	ck_assert_int_eq(rv_vm_run(vm), -2);
	ck_assert_uint_eq(atomic_load(&g.triple_faults), 1);
	/* #UD is benign: the #GP from the missing IDT is delivered serially, and
	 * only its own failure makes the #DF (SDM vol. 3A, table 6-5). */
	ck_assert_str_eq(g.failure, "vCPU 0: triple fault at RIP 0x2000, exceptions #UD, #GP, #DF");
	FILE *out = open_memstream(&json, &len);

	rv_vm_stats_json(vm, out);
	fclose(out);
	ck_assert_ptr_nonnull(strstr(json, "\"unknown_instructions\": 1"));
	ck_assert_ptr_nonnull(strstr(json, "\"last_unknown_bytes\": \"0f 28 c8"));
	free(json);
	rv_vm_destroy(vm);
}
END_TEST

static bool always_pending(void *ctx, struct rv_cpu *c)
{
	(void)ctx, (void)c;
	return true;
}

START_TEST(sti_opens_the_window_after_one_instruction_and_interrupts_deliver)
{
	put(CODE, snip_sti, snip_sti_end);
	put(HANDLERS, handler_iret, handler_iret_end);
	gate(0x40, HANDLERS, 0xe);
	cpu.sys.irq_pending = always_pending;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_INTERRUPT);
	ck_assert_uint_eq(cpu.rip, CODE + (uint64_t)(snip_sti_window - snip_sti));
	ck_assert(rv_cpu_interruptible(&cpu));
	ck_assert(rv_cpu_interrupt(&cpu, 0x40));
	ck_assert_uint_eq(cpu.rip, HANDLERS);
	ck_assert(!(cpu.rflags & RV_FLAG_IF)); /* an interrupt gate */
	cpu.sys.irq_pending = NULL;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_IO);
	ck_assert_uint_eq(cpu.gpr[RV_RAX], 1 + 100 + 1); /* handler, then the inc */
}
END_TEST

/* A machine that answers VMX instructions: what it was asked, in order. */
static struct rv_virt_op virt_seen[8];
static unsigned virt_count;

static enum rv_virt_result fake_virt(void *ctx, struct rv_cpu *c, struct rv_virt_op *op)
{
	(void)ctx, (void)c;
	virt_seen[virt_count++ % 8] = *op;
	switch (op->insn) {
	case RV_VIRT_VMREAD:
		op->out = 0xabcd;
		return RV_VIRT_SUCCEED;
	case RV_VIRT_VMWRITE:
		return RV_VIRT_FAIL_VALID;
	case RV_VIRT_VMPTRST:
		op->out = 0x5000;
		return RV_VIRT_SUCCEED;
	case RV_VIRT_VMLAUNCH:
		return RV_VIRT_EXIT;
	default:
		return RV_VIRT_SUCCEED;
	}
}

/* The CPU reads and writes the operands (registers and memory), sets the
 * flags of VMsucceed and VMfailValid, and stops unretired at an exit. */
START_TEST(vmx_instructions_reach_the_machine_with_their_operands)
{
	put(CODE, snip_vmx, snip_vmx_end);
	memcpy(mem + DATA + 0x20, (uint64_t[]){ 0x1234506eull, 0 }, 16);
	cpu.sys.virt = fake_virt;
	virt_count = 0;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_VIRT);
	ck_assert_uint_eq(cpu.rip, CODE + (uint64_t)(snip_vmx_launch - snip_vmx));
	ck_assert_uint_eq(cpu.virt.insn, RV_VIRT_VMLAUNCH);
	ck_assert_uint_eq(cpu.virt.len, 3);
	ck_assert_uint_eq(virt_count, 6);
	ck_assert_uint_eq(virt_seen[0].insn, RV_VIRT_VMREAD);
	ck_assert_uint_eq(virt_seen[0].field, 0x4002);
	ck_assert_uint_eq(q(DATA), 0xabcd);
	ck_assert_uint_eq(q(DATA + 8) & (RV_FLAG_CF | RV_FLAG_ZF), 0);
	ck_assert_uint_eq(virt_seen[1].insn, RV_VIRT_VMWRITE);
	ck_assert_uint_eq(virt_seen[1].operand, 0x7777);
	ck_assert_uint_eq(q(DATA + 16) & (RV_FLAG_CF | RV_FLAG_ZF), RV_FLAG_ZF);
	ck_assert_uint_eq(q(DATA + 0x18), 0x5000);
	ck_assert_uint_eq(virt_seen[3].insn, RV_VIRT_INVEPT);
	ck_assert_uint_eq(virt_seen[3].operand, 2);
	ck_assert_uint_eq(virt_seen[3].desc[0], 0x1234506e);
	ck_assert_uint_eq(q(DATA + 0x30), 0xabcd); /* VMREAD to memory */
}
END_TEST

/* Without a machine that offers VMX, the instructions are #UD. */
START_TEST(vmx_instructions_are_ud_without_the_hook)
{
	put(CODE, snip_vmx, snip_vmx_end);
	cpu.exit_on_exception = true;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_EXCEPTION);
	ck_assert_int_eq(cpu.exc.vector, RV_EXC_UD);
	ck_assert_uint_eq(cpu.rip, CODE + 7); /* mov $0x4002,%rcx is 7 bytes */
}
END_TEST

/* A nested guest's intercepted instruction stops the run before it retires;
 * an intercepted #PF leaves CR2 alone. */
START_TEST(an_intercept_stops_the_run_unretired)
{
	put(CODE, snip_cpuid, snip_cpuid_end);
	cpu.intercepts = RV_ICPT_CPUID;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_VIRT);
	ck_assert_uint_eq(cpu.rip, CODE);
	ck_assert_uint_eq(cpu.virt.insn, RV_VIRT_CPUID);
	ck_assert_uint_eq(cpu.virt.len, 2);
	ck_assert_uint_eq(cpu.instructions, 0);
	put(CODE, snip_pf, snip_pf_end);
	cpu.intercepts = 0;
	cpu.exc_intercepts = 1u << RV_EXC_PF;
	cpu.cr2 = 0x77;
	ck_assert_int_eq(rv_cpu_run(&cpu, NULL, 100), RV_CPU_EXIT_EXCEPTION);
	ck_assert_int_eq(cpu.exc.vector, RV_EXC_PF);
	ck_assert_uint_eq(cpu.exc.addr, 0x400008);
	ck_assert_uint_eq(cpu.cr2, 0x77);
}
END_TEST

static Suite *cpu_suite(void)
{
	Suite *s = suite_create("cpu");
	TCase *tc = tcase_create("exceptions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, divide_error_is_delivered_with_its_frame);
	tcase_add_test(tc, page_fault_pushes_its_error_code_and_sets_cr2);
	tcase_add_test(tc, vmx_instructions_reach_the_machine_with_their_operands);
	tcase_add_test(tc, vmx_instructions_are_ud_without_the_hook);
	tcase_add_test(tc, an_intercept_stops_the_run_unretired);
	tcase_add_test(tc, fault_delivering_a_page_fault_becomes_a_double_fault);
	tcase_add_test(tc, exception_with_no_idt_is_a_triple_fault);
	tcase_add_test(tc, int_n_and_iretq_round_trip_and_int3_is_a_trap);
	tcase_add_test(tc, self_modifying_code_runs_its_new_bytes);
	tcase_add_test(tc, locked_increments_from_two_cpus_are_atomic);
	tcase_add_test(tc, kick_stops_at_the_next_block_end_and_budget_bounds_a_run);
	tcase_add_test(tc, unsupported_opcode_is_ud_and_named);
	tcase_add_test(tc, sti_opens_the_window_after_one_instruction_and_interrupts_deliver);
	suite_add_tcase(s, tc);
	tc = tcase_create("scheduler");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cpu_code_runs_under_the_threads_executor_with_kicks);
	tcase_add_test(tc, cpu_code_replays_under_the_deterministic_executor);
	tcase_add_test(tc, unknown_instruction_is_named_in_the_statistics);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cpu_suite());
}
