// SPDX-License-Identifier: MIT
/*
 * The native reference: a snippet runs on the host CPU in this very process.
 * The code, data and stack regions sit at the addresses snippet.h fixes; the
 * trampolines in native_tramp.S load the snippet's registers and get them
 * back at the terminator; faults and the loop guard arrive as signals whose
 * handlers take the registers from the ucontext and resume the harness.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "native_ctx.h"
#include "native_ref.h"

/* glibc 2.36 has SIGEV_THREAD_ID but not the field's usual name. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define PAGE_SIZE  4096ull
#define STACK_SIZE (64 * 1024ull)
#define STACK_BASE (SNIPPET_STACK - STACK_SIZE)

/* The terminator: jmp *0(%rip), then the absolute address of native_exit. */
#define TERM_LEN 14
/* Room for the longest snippet plus its terminator. */
#define CODE_SIZE ((SNIPPET_CODE_MAX + TERM_LEN + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
/* Filler after the terminator: a stray jump past it traps (int3). */
#define CODE_FILL 0xcc

#define ALT_STACK_SIZE (256 * 1024)

#define RFLAGS_FIXED (1ull << 1)
#define RFLAGS_TF    (1ull << 8)
#define RFLAGS_DF    (1ull << 10)
#define RFLAGS_AC    (1ull << 18)

#define VECTOR_PF 14

struct native_ctx native_ctx;

_Static_assert(offsetof(struct native_ctx, in_gpr) == CTX_IN_GPR, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, in_rflags) == CTX_IN_RFLAGS, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, entry) == CTX_ENTRY, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, out_gpr) == CTX_OUT_GPR, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, out_rflags) == CTX_OUT_RFLAGS, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, host_rsp) == CTX_HOST_RSP, "native_ctx.h");
_Static_assert(offsetof(struct native_ctx, running) == CTX_RUNNING, "native_ctx.h");
_Static_assert(sizeof(struct native_ctx) == CTX_SIZE, "native_ctx.h");
_Static_assert(NR_GPRS == 16, "the trampolines load exactly 16 GPRs");

/* The signals a snippet can raise, then the loop guard's. */
static const int caught[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGALRM };
#define NR_CAUGHT (sizeof(caught) / sizeof(caught[0]))

struct native_ref {
	timer_t timer;
	bool have_timer;
	void *alt_stack;
	bool have_alt_stack;
	stack_t old_alt_stack;
	bool have_handlers;
	struct sigaction old_act[NR_CAUGHT];
	bool have_mask;
	sigset_t old_mask;
	bool mapped_code, mapped_data, mapped_stack;
};

/* How the current run ended, as the signal handlers saw it. */
static struct {
	struct native_ref *open;
	enum snippet_end end;
	int vector;
	uint64_t error_code;
	uint64_t cr2;
	uint64_t rip;
} trap;

/* Where each snippet GPR sits in a signal's ucontext. */
static const int gpr_greg[NR_GPRS] = {
	[RAX] = REG_RAX, [RCX] = REG_RCX, [RDX] = REG_RDX, [RBX] = REG_RBX,
	[RSP] = REG_RSP, [RBP] = REG_RBP, [RSI] = REG_RSI, [RDI] = REG_RDI,
	[R8] = REG_R8,	 [R9] = REG_R9,	  [R10] = REG_R10, [R11] = REG_R11,
	[R12] = REG_R12, [R13] = REG_R13, [R14] = REG_R14, [R15] = REG_R15,
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static void *at(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

/* ---- signal handlers ---------------------------------------------------- */

static int caught_index(int sig)
{
	for (unsigned i = 0; i < NR_CAUGHT; i++)
		if (caught[i] == sig)
			return (int)i;
	return -1;
}

/*
 * A signal that is not the snippet's (a bug in the harness, or one sent with
 * kill): hand it to whoever had it before us, so it is not swallowed. It is
 * blocked until this handler returns, then delivered under the old action.
 */
static void pass_on(int sig)
{
	int i = caught_index(sig);

	if (i >= 0 && trap.open)
		sigaction(sig, &trap.open->old_act[i], NULL);
	raise(sig);
}

static void capture(const greg_t *g)
{
	for (int i = 0; i < NR_GPRS; i++)
		native_ctx.out_gpr[i] = (uint64_t)g[gpr_greg[i]];
	native_ctx.out_rflags = (uint64_t)g[REG_EFL];
	trap.rip = (uint64_t)g[REG_RIP];
	native_ctx.running = 0;
}

/* Make the interrupted context return from native_enter() instead. */
static void resume_harness(greg_t *g)
{
	g[REG_RSP] = (greg_t)native_ctx.host_rsp;
	g[REG_RIP] = (greg_t)(uintptr_t)native_resume;
	g[REG_EFL] &= ~(greg_t)(RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;

	/* si_code <= 0: sent by a process, not raised by an instruction. */
	if (!native_ctx.running || si->si_code <= 0) {
		pass_on(sig);
		return;
	}
	capture(g);
	trap.end = SNIPPET_END_EXCEPTION;
	trap.vector = (int)g[REG_TRAPNO];
	trap.error_code = (uint64_t)g[REG_ERR];
	/* The kernel's copy of CR2, the same as si_addr for a page fault. */
	trap.cr2 = trap.vector == VECTOR_PF ? (uint64_t)g[REG_CR2] : 0;
	resume_harness(g);
}

/*
 * The loop guard fires every NATIVE_REF_TIMEOUT_MS while a run is armed. Only
 * a tick that lands inside the snippet's code ends the run; one that lands
 * in the trampolines or in C is ignored, and the next tick decides.
 */
static void on_timer(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	uint64_t rip = (uint64_t)g[REG_RIP];

	if (si->si_code != SI_TIMER || si->si_value.sival_ptr != &trap)
		return;
	if (!native_ctx.running || rip - SNIPPET_CODE >= CODE_SIZE)
		return;
	capture(g);
	trap.end = SNIPPET_END_ERROR;
	resume_harness(g);
}

/* ---- open and close ----------------------------------------------------- */

static int map_fixed(uint64_t addr, size_t len, int prot, const char *what, char *err,
		     size_t errlen)
{
	void *p =
		mmap(at(addr), len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return fail(err, errlen,
			    "native_ref: cannot map the %s region at %#" PRIx64 ": %s%s", what,
			    addr, strerror(errno),
			    errno == EEXIST ? " (something is already mapped there)" : "");
	if (p != at(addr)) {
		/* Kernels before 4.17 take MAP_FIXED_NOREPLACE as a mere hint. */
		munmap(p, len);
		return fail(err, errlen,
			    "native_ref: the %s region landed at %p, not %#" PRIx64
			    " (no MAP_FIXED_NOREPLACE?)",
			    what, p, addr);
	}
	return 0;
}

/* The page after the data page must fault: page-crossing cases rely on it. */
static int check_unmapped(uint64_t addr, char *err, size_t errlen)
{
	if (map_fixed(addr, PAGE_SIZE, PROT_NONE, "guard", err, errlen))
		return fail(err, errlen, "native_ref: the page at %#" PRIx64 " must stay unmapped",
			    addr);
	munmap(at(addr), PAGE_SIZE);
	return 0;
}

static int map_regions(struct native_ref *n, char *err, size_t errlen)
{
	if (map_fixed(SNIPPET_CODE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, "code", err,
		      errlen))
		return -1;
	n->mapped_code = true;
	if (map_fixed(SNIPPET_DATA, SNIPPET_DATA_SIZE, PROT_READ | PROT_WRITE, "data", err, errlen))
		return -1;
	n->mapped_data = true;
	if (map_fixed(STACK_BASE, STACK_SIZE, PROT_READ | PROT_WRITE, "stack", err, errlen))
		return -1;
	n->mapped_stack = true;
	return check_unmapped(SNIPPET_DATA + SNIPPET_DATA_SIZE, err, errlen);
}

static int install_handlers(struct native_ref *n, char *err, size_t errlen)
{
	stack_t ss = { .ss_size = ALT_STACK_SIZE };
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigset_t unblock;

	/* The handlers must not run on the snippet's stack: RSP is its own. */
	n->alt_stack = malloc(ALT_STACK_SIZE);
	if (!n->alt_stack)
		return fail(err, errlen, "native_ref: out of memory");
	ss.ss_sp = n->alt_stack;
	if (sigaltstack(&ss, &n->old_alt_stack))
		return fail(err, errlen, "native_ref: sigaltstack: %s", strerror(errno));
	n->have_alt_stack = true;

	/* Nothing may nest: a tick inside a fault handler would see its context. */
	sigfillset(&sa.sa_mask);
	for (unsigned i = 0; i < NR_CAUGHT; i++) {
		sa.sa_sigaction = caught[i] == SIGALRM ? on_timer : on_fault;
		if (sigaction(caught[i], &sa, &n->old_act[i]))
			return fail(err, errlen, "native_ref: sigaction(%d): %s", caught[i],
				    strerror(errno));
	}
	n->have_handlers = true;

	/* A blocked fault signal would kill the process instead of reaching us. */
	sigemptyset(&unblock);
	for (unsigned i = 0; i < NR_CAUGHT; i++)
		sigaddset(&unblock, caught[i]);
	if (pthread_sigmask(SIG_UNBLOCK, &unblock, &n->old_mask))
		return fail(err, errlen, "native_ref: cannot unblock the fault signals");
	n->have_mask = true;
	return 0;
}

static int create_timer(struct native_ref *n, char *err, size_t errlen)
{
	struct sigevent ev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGALRM,
		.sigev_value.sival_ptr = &trap,
	};

	/* To this thread, which runs the snippets, not to any thread. */
	ev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &n->timer))
		return fail(err, errlen, "native_ref: timer_create: %s", strerror(errno));
	n->have_timer = true;
	return 0;
}

struct native_ref *native_ref_open(char *err, size_t errlen)
{
	struct native_ref *n;

	if (trap.open) {
		fail(err, errlen, "native_ref: already open (one per process)");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		fail(err, errlen, "native_ref: out of memory");
		return NULL;
	}
	trap.open = n;
	if (map_regions(n, err, errlen) || install_handlers(n, err, errlen) ||
	    create_timer(n, err, errlen)) {
		native_ref_close(n);
		return NULL;
	}
	return n;
}

void native_ref_close(struct native_ref *n)
{
	if (!n)
		return;
	if (n->have_timer)
		timer_delete(n->timer);
	if (n->have_mask)
		pthread_sigmask(SIG_SETMASK, &n->old_mask, NULL);
	for (unsigned i = 0; n->have_handlers && i < NR_CAUGHT; i++)
		sigaction(caught[i], &n->old_act[i], NULL);
	if (n->have_alt_stack)
		sigaltstack(&n->old_alt_stack, NULL);
	free(n->alt_stack);
	if (n->mapped_stack)
		munmap(at(STACK_BASE), STACK_SIZE);
	if (n->mapped_data)
		munmap(at(SNIPPET_DATA), SNIPPET_DATA_SIZE);
	if (n->mapped_code)
		munmap(at(SNIPPET_CODE), CODE_SIZE);
	trap.open = NULL;
	free(n);
}

/* ---- running ------------------------------------------------------------ */

/* Arms the loop guard for @ms (periodic, see on_timer), or disarms it with 0. */
static int arm(struct native_ref *n, long ms)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = ms % 1000 * 1000000;
	its.it_interval = its.it_value;
	return timer_settime(n->timer, 0, &its, NULL);
}

static void load(const struct snippet *s)
{
	uint8_t *code = at(SNIPPET_CODE);
	uint64_t exit_addr = (uint64_t)(uintptr_t)native_exit;
	static const uint8_t jmp_rip_ind[] = { 0xff, 0x25, 0x00, 0x00, 0x00, 0x00 };

	memset(code, CODE_FILL, CODE_SIZE);
	memcpy(code, s->code, s->len);
	memcpy(code + s->len, jmp_rip_ind, sizeof(jmp_rip_ind));
	memcpy(code + s->len + sizeof(jmp_rip_ind), &exit_addr, sizeof(exit_addr));
	memcpy(at(SNIPPET_DATA), s->data, SNIPPET_DATA_SIZE);
	/* Stale stack contents from the previous run must not leak into this one. */
	memset(at(STACK_BASE), 0, STACK_SIZE);

	memcpy(native_ctx.in_gpr, s->in.gpr, sizeof(native_ctx.in_gpr));
	native_ctx.in_rflags = (s->in.rflags & SNIPPET_FLAGS_DEFINED) | RFLAGS_FIXED;
	native_ctx.entry = SNIPPET_CODE;
	native_ctx.running = 0;
	trap.end = SNIPPET_END_DONE;
	trap.vector = 0;
	trap.error_code = 0;
	trap.cr2 = 0;
	trap.rip = SNIPPET_CODE + s->len;
}

static void collect(const struct snippet *s, struct snippet_result *r)
{
	r->end = trap.end;
	memcpy(r->out.gpr, native_ctx.out_gpr, sizeof(r->out.gpr));
	r->out.rflags = native_ctx.out_rflags;
	r->out.rip = trap.rip;
	memcpy(r->data, at(SNIPPET_DATA), SNIPPET_DATA_SIZE);
	if (trap.end == SNIPPET_END_EXCEPTION) {
		r->vector = trap.vector;
		r->error_code = trap.error_code;
		r->cr2 = trap.cr2;
	} else if (trap.end == SNIPPET_END_ERROR) {
		snprintf(r->message, sizeof(r->message),
			 "native: %s still running after %d ms (rip %#" PRIx64 "), stopped",
			 s->name ? s->name : "snippet", NATIVE_REF_TIMEOUT_MS, trap.rip);
	}
}

static void run_error(struct snippet_result *r, const char *why)
{
	r->end = SNIPPET_END_ERROR;
	snprintf(r->message, sizeof(r->message), "native: %s", why);
}

void native_ref_run(struct native_ref *n, const struct snippet *s, struct snippet_result *r)
{
	memset(r, 0, sizeof(*r));
	if (s->privileged) {
		r->end = SNIPPET_END_SKIPPED;
		snprintf(r->message, sizeof(r->message), "native: privileged, needs CPL 0");
		return;
	}
	if (s->len > SNIPPET_CODE_MAX || (s->len && !s->code)) {
		run_error(r, "bad snippet length or code");
		return;
	}
	load(s);
	if (arm(n, NATIVE_REF_TIMEOUT_MS)) {
		run_error(r, "cannot arm the loop-guard timer");
		return;
	}
	native_enter();
	arm(n, 0);
	collect(s, r);
}
