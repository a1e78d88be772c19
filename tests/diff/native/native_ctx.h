/* SPDX-License-Identifier: MIT */
/*
 * The state the entry/exit trampolines (native_tramp.S) share with the C side
 * of the native reference. One per process: the trampolines address it
 * RIP-relative because, while the snippet runs, no register is free to hold
 * a pointer. The offsets below are checked against the struct in native_ref.c.
 */
#ifndef RV_DIFF_NATIVE_CTX_H
#define RV_DIFF_NATIVE_CTX_H

#define CTX_IN_GPR     0   /* 16 GPRs loaded before the snippet, RSP included */
#define CTX_IN_RFLAGS  128 /* already sanitised: no TF, IF, AC, ... */
#define CTX_ENTRY      136 /* where the snippet starts */
#define CTX_OUT_GPR    144 /* 16 GPRs saved at the terminator */
#define CTX_OUT_RFLAGS 272
#define CTX_HOST_RSP   280 /* the harness stack, with the callee-saved registers on it */
#define CTX_RUNNING    288 /* 1 from just before the jump to the snippet until its exit */
#define CTX_SIZE       296

#ifndef __ASSEMBLER__
#include <stdint.h>

struct native_ctx {
	uint64_t in_gpr[16];
	uint64_t in_rflags;
	uint64_t entry;
	uint64_t out_gpr[16];
	uint64_t out_rflags;
	uint64_t host_rsp;
	uint64_t running;
};

extern struct native_ctx native_ctx __attribute__((visibility("hidden")));

/*
 * native_enter() saves the callee-saved registers and the stack pointer, loads
 * the snippet's registers and jumps to it; it returns once the snippet reaches
 * native_exit (through the terminator) or once a signal handler has pointed
 * the interrupted context at native_resume with RSP = host_rsp.
 */
void native_enter(void) __attribute__((visibility("hidden")));
void native_exit(void) __attribute__((visibility("hidden")));
void native_resume(void) __attribute__((visibility("hidden")));
#endif

#endif
