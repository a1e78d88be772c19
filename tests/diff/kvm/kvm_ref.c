// SPDX-License-Identifier: MIT
/*
 * The real-KVM reference CPU for differential tests.
 *
 * One VM with one vCPU serves every run (kvm_guest.h has the guest's memory
 * map). A run loads the snippet, its data and a zeroed stack, sets every
 * register, enters the guest, and reads the result back at one of two port
 * writes: the terminator after the snippet, or an exception stub.
 *
 * Between runs, every page the guest wrote (KVM's dirty log) goes back to its
 * pristine contents, and registers, MSRs, FPU, debug registers and pending
 * events are set from a snapshot, so no run can see what an earlier one did.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm_guest.h"
#include "kvm_ref.h"

/* glibc 2.36 has SIGEV_THREAD_ID but not the field's documented name. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define NR_PAGES (GUEST_MEM_SIZE / GUEST_PAGE)

/* RFLAGS bits a snippet may start with: all but VM (illegal in long mode) and reserved. */
#define RFLAGS_SETTABLE 0x3d7fd5ull
#define RFLAGS_FIXED	0x2ull

/* MSRs a privileged snippet could change and a later one observe. */
static const uint32_t reset_msrs[] = {
	0xc0000102, /* KERNEL_GS_BASE */
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* SFMASK */
	0x00000174, /* SYSENTER_CS */
	0x00000175, /* SYSENTER_ESP */
	0x00000176, /* SYSENTER_EIP */
	0xc0000103, /* TSC_AUX */
	0x00000277, /* PAT */
};
#define NR_RESET_MSRS (sizeof(reset_msrs) / sizeof(reset_msrs[0]))

struct kvm_ref {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	struct kvm_userspace_memory_region slot;
	size_t code_len; /* bytes at SNIPPET_CODE the last run wrote */
	timer_t timer;
	pid_t timer_tid; /* the thread the timer signals; 0 while there is no timer */
	struct kvm_sregs sregs;
	struct kvm_debugregs debugregs;
	struct kvm_vcpu_events events;
	struct kvm_msrs *msrs;
	uint64_t dirty[NR_PAGES / 64];
	uint8_t sys[GUEST_SYS_SIZE]; /* the runner's pages, pristine */
};

/*
 * The timeout: a per-thread POSIX timer sends this signal to the thread in
 * KVM_RUN. The handler sets immediate_exit too, so a signal that lands just
 * before KVM_RUN is entered still stops it (the race KVM's API documents).
 */
#define TIMER_SIGNAL (SIGRTMIN + 3)

static __thread struct kvm_run *running;
static __thread volatile sig_atomic_t timed_out;

static void on_timer(int sig)
{
	(void)sig;
	timed_out = 1;
	if (running)
		running->immediate_exit = 1;
}

/* Format a message into @err; returns -1 so callers can `return fail(...)`. */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 2, 3))) static void set_error(struct snippet_result *r,
							    const char *fmt, ...)
{
	va_list ap;

	r->end = SNIPPET_END_ERROR;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Without a CPUID table the vCPU advertises no features at all, not even long
 * mode or NX, and KVM checks some guest state against what it advertises.
 */
static int set_cpuid(struct kvm_ref *k)
{
	struct kvm_cpuid2 *c;
	int ret;

	for (unsigned n = 64;; n *= 2) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -1;
		c->nent = n;
		ret = ioctl(k->kvm, KVM_GET_SUPPORTED_CPUID, c);
		if (ret == 0 || errno != E2BIG || n >= 4096)
			break;
		free(c);
	}
	if (ret == 0)
		ret = ioctl(k->vcpu, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

/*
 * Snapshot those of reset_msrs this KVM lets us read: each is tried at the end
 * of the list so far, and kept if the whole list reads back.
 */
static int snapshot_msrs(struct kvm_ref *k)
{
	k->msrs = calloc(1, sizeof(*k->msrs) + NR_RESET_MSRS * sizeof(k->msrs->entries[0]));
	if (!k->msrs)
		return -1;
	for (size_t i = 0; i < NR_RESET_MSRS; i++) {
		uint32_t n = k->msrs->nmsrs;

		k->msrs->entries[n].index = reset_msrs[i];
		k->msrs->nmsrs = n + 1;
		if (ioctl(k->vcpu, KVM_GET_MSRS, k->msrs) != (int)n + 1)
			k->msrs->nmsrs = n;
	}
	return 0;
}

/* The vCPU's state right after creation, with our system state on top. */
static int snapshot_state(struct kvm_ref *k)
{
	if (ioctl(k->vcpu, KVM_GET_SREGS, &k->sregs) < 0 ||
	    ioctl(k->vcpu, KVM_GET_DEBUGREGS, &k->debugregs) < 0 ||
	    ioctl(k->vcpu, KVM_GET_VCPU_EVENTS, &k->events) < 0)
		return -1;
	kvm_guest_sregs(&k->sregs);
	/* Make KVM_SET_VCPU_EVENTS also clear NMI-pending and the interrupt shadow. */
	k->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	return snapshot_msrs(k);
}

static int map_memory(struct kvm_ref *k)
{
	k->slot.slot = 0;
	k->slot.flags = KVM_MEM_LOG_DIRTY_PAGES;
	k->slot.guest_phys_addr = 0;
	k->slot.memory_size = GUEST_MEM_SIZE;
	k->slot.userspace_addr = (uintptr_t)k->mem;
	return ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &k->slot);
}

static int open_vm(struct kvm_ref *k, char *err, size_t errlen)
{
	int size;

	k->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->kvm < 0)
		return fail(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
	if (ioctl(k->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail(err, errlen, "/dev/kvm: unexpected KVM API version");
	if (ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		return fail(err, errlen, "/dev/kvm: no KVM_CAP_IMMEDIATE_EXIT");
	k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
	if (k->vm < 0)
		return fail(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
	/* Only VMX needs this (for real mode); harmless elsewhere. */
	ioctl(k->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	k->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (k->mem == MAP_FAILED) {
		k->mem = NULL;
		return fail(err, errlen, "guest memory: %s", strerror(errno));
	}
	if (map_memory(k) < 0)
		return fail(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

	k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
	if (k->vcpu < 0)
		return fail(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
	size = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*k->run))
		return fail(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	k->run_size = size;
	k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		return fail(err, errlen, "mapping kvm_run: %s", strerror(errno));
	}
	if (set_cpuid(k) < 0)
		return fail(err, errlen, "setting the guest's CPUID: %s", strerror(errno));
	if (snapshot_state(k) < 0)
		return fail(err, errlen, "reading the vCPU's initial state: %s", strerror(errno));
	return 0;
}

struct kvm_ref *kvm_ref_open(char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = on_timer };
	struct kvm_ref *k = calloc(1, sizeof(*k));

	if (!k) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	k->kvm = k->vm = k->vcpu = -1;
	if (open_vm(k, err, errlen) < 0) {
		kvm_ref_close(k);
		return NULL;
	}
	kvm_guest_build(k->sys);
	memcpy(k->mem + GUEST_SYS_BASE, k->sys, GUEST_SYS_SIZE);

	sigemptyset(&sa.sa_mask);
	if (sigaction(TIMER_SIGNAL, &sa, NULL) < 0) {
		fail(err, errlen, "sigaction: %s", strerror(errno));
		kvm_ref_close(k);
		return NULL;
	}
	return k;
}

void kvm_ref_close(struct kvm_ref *k)
{
	if (!k)
		return;
	if (k->timer_tid)
		timer_delete(k->timer);
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->vcpu >= 0)
		close(k->vcpu);
	if (k->vm >= 0)
		close(k->vm);
	if (k->kvm >= 0)
		close(k->kvm);
	if (k->mem)
		munmap(k->mem, GUEST_MEM_SIZE);
	free(k->msrs);
	free(k);
}

/*
 * Put every page the guest wrote back as it was before the first run. If the
 * guest wrote its own page tables, KVM does not see the host restore them: a
 * shadow MMU, or the guest TLB, may still hold what the snippet's tables
 * said. Re-adding the memory slot makes KVM drop both.
 */
static int restore_dirty_pages(struct kvm_ref *k)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = k->dirty };
	bool tables = false;

	if (ioctl(k->vm, KVM_GET_DIRTY_LOG, &log) < 0)
		return -1;
	for (uint64_t i = 0; i < NR_PAGES; i++) {
		uint64_t gpa = i * GUEST_PAGE;

		if (!(k->dirty[i / 64] & 1ull << (i % 64)))
			continue;
		if (gpa - GUEST_SYS_BASE < GUEST_SYS_SIZE)
			memcpy(k->mem + gpa, k->sys + (gpa - GUEST_SYS_BASE), GUEST_PAGE);
		else
			memset(k->mem + gpa, 0, GUEST_PAGE);
		tables |= gpa - GUEST_TABLES < GUEST_TABLES_SIZE;
	}
	if (!tables)
		return 0;
	k->slot.memory_size = 0;
	if (ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &k->slot) < 0)
		return -1;
	return map_memory(k);
}

static void load_memory(struct kvm_ref *k, const struct snippet *s)
{
	/* out %al, $GUEST_PORT_DONE */
	static const uint8_t terminator[GUEST_OUT_LEN] = { 0xe6, GUEST_PORT_DONE };
	uint8_t *code = k->mem + SNIPPET_CODE;

	memset(code, 0, k->code_len);
	if (s->len)
		memcpy(code, s->code, s->len);
	memcpy(code + s->len, terminator, sizeof(terminator));
	k->code_len = s->len + sizeof(terminator);

	memcpy(k->mem + SNIPPET_DATA, s->data, SNIPPET_DATA_SIZE);
	memset(k->mem + SNIPPET_STACK - GUEST_STACK_SIZE, 0, GUEST_STACK_SIZE);
}

static void regs_to_kvm(const struct snippet_regs *in, struct kvm_regs *kr)
{
	*kr = (struct kvm_regs){
		.rax = in->gpr[RAX],
		.rcx = in->gpr[RCX],
		.rdx = in->gpr[RDX],
		.rbx = in->gpr[RBX],
		.rsp = in->gpr[RSP],
		.rbp = in->gpr[RBP],
		.rsi = in->gpr[RSI],
		.rdi = in->gpr[RDI],
		.r8 = in->gpr[R8],
		.r9 = in->gpr[R9],
		.r10 = in->gpr[R10],
		.r11 = in->gpr[R11],
		.r12 = in->gpr[R12],
		.r13 = in->gpr[R13],
		.r14 = in->gpr[R14],
		.r15 = in->gpr[R15],
		.rip = SNIPPET_CODE,
		.rflags = (in->rflags & RFLAGS_SETTABLE) | RFLAGS_FIXED,
	};
}

static void regs_from_kvm(const struct kvm_regs *kr, struct snippet_regs *out)
{
	const uint64_t gpr[NR_GPRS] = {
		[RAX] = kr->rax, [RCX] = kr->rcx, [RDX] = kr->rdx, [RBX] = kr->rbx,
		[RSP] = kr->rsp, [RBP] = kr->rbp, [RSI] = kr->rsi, [RDI] = kr->rdi,
		[R8] = kr->r8,	 [R9] = kr->r9,	  [R10] = kr->r10, [R11] = kr->r11,
		[R12] = kr->r12, [R13] = kr->r13, [R14] = kr->r14, [R15] = kr->r15,
	};

	memcpy(out->gpr, gpr, sizeof(gpr));
	out->rip = kr->rip;
	out->rflags = kr->rflags;
}

static int reset_vcpu(struct kvm_ref *k, const struct snippet *s)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 }; /* FNINIT's, and the reset MXCSR */
	struct kvm_regs regs;

	regs_to_kvm(&s->in, &regs);
	if (ioctl(k->vcpu, KVM_SET_SREGS, &k->sregs) < 0 ||
	    ioctl(k->vcpu, KVM_SET_REGS, &regs) < 0 || ioctl(k->vcpu, KVM_SET_FPU, &fpu) < 0 ||
	    ioctl(k->vcpu, KVM_SET_DEBUGREGS, &k->debugregs) < 0 ||
	    ioctl(k->vcpu, KVM_SET_VCPU_EVENTS, &k->events) < 0)
		return -1;
	if (k->msrs->nmsrs && ioctl(k->vcpu, KVM_SET_MSRS, k->msrs) != (int)k->msrs->nmsrs)
		return -1;
	return 0;
}

/* Arm (@ms > 0) or disarm the calling thread's timeout, making its timer if needed. */
static int arm_timer(struct kvm_ref *k, long ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 },
	};
	pid_t tid = gettid();

	if (k->timer_tid != tid) {
		struct sigevent sev = {
			.sigev_notify = SIGEV_THREAD_ID,
			.sigev_signo = TIMER_SIGNAL,
		};

		if (k->timer_tid)
			timer_delete(k->timer);
		k->timer_tid = 0;
		sev.sigev_notify_thread_id = tid;
		if (timer_create(CLOCK_MONOTONIC, &sev, &k->timer) < 0)
			return -1;
		k->timer_tid = tid;
	}
	return timer_settime(k->timer, 0, &its, NULL);
}

/* KVM_RUN until a real exit; false (message in @r) on a timeout or a failure. */
static bool enter_guest(struct kvm_ref *k, struct snippet_result *r)
{
	sigset_t ours;
	int ret, saved;

	/* The signal is ours, and a thread that blocked it would never time out. */
	sigemptyset(&ours);
	sigaddset(&ours, TIMER_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
	timed_out = 0;
	running = k->run;
	if (arm_timer(k, KVM_REF_TIMEOUT_MS) < 0) {
		running = NULL;
		set_error(r, "arming the run timer: %s", strerror(errno));
		return false;
	}
	do {
		ret = ioctl(k->vcpu, KVM_RUN, 0);
	} while (ret < 0 && errno == EINTR && !timed_out);
	saved = errno;
	arm_timer(k, 0);
	running = NULL;
	k->run->immediate_exit = 0;

	if (ret == 0)
		return true;
	if (timed_out)
		set_error(r, "no terminator after %d ms (an endless loop?)", KVM_REF_TIMEOUT_MS);
	else
		set_error(r, "KVM_RUN: %s", strerror(saved));
	return false;
}

/*
 * KVM may finish an `out` (move RIP past it) only on the next KVM_RUN: its
 * hardware fast path does, PVM's emulator finishes at once. Enter once with
 * immediate_exit so it is done before we read the state and load the next
 * run's; a completion left pending would skip the next snippet's first
 * instruction whenever it sits where the `out` was.
 */
static int complete_io(struct kvm_ref *k)
{
	int ret;

	k->run->immediate_exit = 1;
	ret = ioctl(k->vcpu, KVM_RUN, 0);
	k->run->immediate_exit = 0;
	return ret < 0 && errno == EINTR ? 0 : -1;
}

static void finish_done(const struct kvm_regs *regs, const struct snippet *s,
			struct snippet_result *r)
{
	uint64_t out_rip = regs->rip - GUEST_OUT_LEN;

	if (out_rip != SNIPPET_CODE + s->len) {
		set_error(r, "out to port %#x at %#llx, not at the terminator", GUEST_PORT_DONE,
			  (unsigned long long)out_rip);
		return;
	}
	r->end = SNIPPET_END_DONE;
	regs_from_kvm(regs, &r->out);
	r->out.rip = out_rip;
}

/*
 * The stub ran on the IST stack: its RSP points at [vector, error code (if
 * the CPU pushed one), RIP, CS, RFLAGS, RSP, SS]. How deep that is says
 * whether there is an error code, so no table of error-code vectors can go
 * wrong. RIP, RFLAGS and RSP come from the frame, the other GPRs are live.
 */
static void finish_exception(struct kvm_ref *k, const struct kvm_regs *regs,
			     struct snippet_result *r)
{
	uint64_t depth = GUEST_IST_TOP - regs->rsp;
	struct kvm_sregs sregs;
	const uint8_t *f;
	bool has_error;

	if (depth != 6 * 8 && depth != 7 * 8) {
		set_error(r, "exception stub at %#llx ran with rsp %#llx, not on its stack",
			  (unsigned long long)regs->rip, (unsigned long long)regs->rsp);
		return;
	}
	if (ioctl(k->vcpu, KVM_GET_SREGS, &sregs) < 0) {
		set_error(r, "KVM_GET_SREGS: %s", strerror(errno));
		return;
	}
	f = k->mem + regs->rsp;
	has_error = depth == 7 * 8;
	regs_from_kvm(regs, &r->out);
	r->end = SNIPPET_END_EXCEPTION;
	r->vector = get64(f);
	r->error_code = has_error ? get64(f + 8) : 0;
	f += has_error ? 16 : 8;
	r->out.rip = get64(f);
	r->out.rflags = get64(f + 16);
	r->out.gpr[RSP] = get64(f + 24);
	r->cr2 = sregs.cr2;
}

static void finish_io(struct kvm_ref *k, const struct snippet *s, struct snippet_result *r)
{
	struct kvm_run *run = k->run;
	bool out1 = run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 1;
	unsigned port = run->io.port;
	struct kvm_regs regs;

	if (complete_io(k) < 0 || ioctl(k->vcpu, KVM_GET_REGS, &regs) < 0) {
		set_error(r, "completing port I/O: %s", strerror(errno));
		return;
	}
	if (out1 && port == GUEST_PORT_DONE)
		finish_done(&regs, s, r);
	else if (out1 && port == GUEST_PORT_EXCEPTION)
		finish_exception(k, &regs, r);
	else
		set_error(r, "unexpected %s of %u byte(s) at port %#x, next rip %#llx",
			  run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size, port,
			  (unsigned long long)regs.rip);
}

/*
 * KVM had to emulate an instruction and its emulator does not know it. Under
 * PVM every CPL 0 instruction is emulated, and the emulator lacks x87, SSE,
 * POPCNT, CMPXCHG16B, INT n and more: a limit of this reference, not a
 * result, so the snippet counts as skipped.
 */
static void emulation_failed(struct kvm_ref *k, struct snippet_result *r)
{
	const struct kvm_run *run = k->run;
	struct kvm_regs regs = { 0 };
	char bytes[3 * 8 + 1] = "";
	unsigned n = 0;

	ioctl(k->vcpu, KVM_GET_REGS, &regs);
	if (run->emulation_failure.ndata >= 3 &&
	    run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)
		n = run->emulation_failure.insn_size < 8 ? run->emulation_failure.insn_size : 8;
	for (unsigned i = 0; i < n; i++)
		snprintf(bytes + 3 * i, 4, " %02x", run->emulation_failure.insn_bytes[i]);
	r->end = SNIPPET_END_SKIPPED;
	snprintf(r->message, sizeof(r->message),
		 "KVM cannot emulate the instruction at %#llx (bytes%s)",
		 (unsigned long long)regs.rip, n ? bytes : " unknown");
}

static void internal_error(struct kvm_ref *k, struct snippet_result *r)
{
	const struct kvm_run *run = k->run;
	const __u64 *d = run->internal.data;
	unsigned n = run->internal.ndata;

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		emulation_failed(k, r);
		return;
	}
	set_error(r, "KVM internal error, suberror %u, data %#llx %#llx %#llx %#llx",
		  run->internal.suberror, (unsigned long long)(n > 0 ? d[0] : 0),
		  (unsigned long long)(n > 1 ? d[1] : 0), (unsigned long long)(n > 2 ? d[2] : 0),
		  (unsigned long long)(n > 3 ? d[3] : 0));
}

static void finish(struct kvm_ref *k, const struct snippet *s, struct snippet_result *r)
{
	struct kvm_run *run = k->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		finish_io(k, s, r);
		return;
	case KVM_EXIT_SHUTDOWN:
		set_error(r, "triple fault (KVM_EXIT_SHUTDOWN)");
		return;
	case KVM_EXIT_HLT:
		set_error(r, "hlt with no interrupt source");
		return;
	case KVM_EXIT_MMIO:
		set_error(r, "access to unbacked guest-physical address %#llx",
			  (unsigned long long)run->mmio.phys_addr);
		return;
	case KVM_EXIT_FAIL_ENTRY:
		set_error(r, "VM entry failed, hardware reason %#llx",
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(k, r);
		return;
	default:
		set_error(r, "unexpected KVM exit reason %u", run->exit_reason);
		return;
	}
}

void kvm_ref_run(struct kvm_ref *k, const struct snippet *s, struct snippet_result *r)
{
	memset(r, 0, sizeof(*r));
	if (s->len > SNIPPET_CODE_MAX) {
		set_error(r, "snippet is %zu bytes, more than %d", s->len, SNIPPET_CODE_MAX);
		return;
	}
	if (restore_dirty_pages(k) < 0) {
		set_error(r, "resetting guest memory: %s", strerror(errno));
		return;
	}
	load_memory(k, s);
	if (reset_vcpu(k, s) < 0) {
		set_error(r, "resetting the vCPU: %s", strerror(errno));
		return;
	}
	if (enter_guest(k, r))
		finish(k, s, r);
	memcpy(r->data, k->mem + SNIPPET_DATA, SNIPPET_DATA_SIZE);
}
