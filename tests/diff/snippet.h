/* SPDX-License-Identifier: MIT */
/*
 * One differential-test case: a few instructions run from a known register
 * file on each reference CPU (real KVM, the host CPU in user mode, and
 * reqvisor's software CPU), then compared field by field.
 *
 * Memory layout, the same on every reference (identity-mapped):
 *   SNIPPET_CODE   the snippet's bytes, followed by the runner's terminator
 *   SNIPPET_DATA   SNIPPET_DATA_SIZE bytes of data the snippet may touch,
 *                  initialised from snippet.data and compared afterwards
 *   SNIPPET_STACK  top of a 64 KiB stack (RSP is set from in.gpr[RSP]; the
 *                  corpus keeps it inside [SNIPPET_STACK - 64 KiB, SNIPPET_STACK))
 * The snippet must end by falling through its last byte: each runner appends
 * its own terminator (KVM and the software CPU: `out %al, $0xf4`; native: a
 * jump back to the harness), so snippets never contain one.
 */
#ifndef RV_DIFF_SNIPPET_H
#define RV_DIFF_SNIPPET_H

#include <stddef.h>
#include <stdint.h>

#define SNIPPET_CODE	  0x100000ull
#define SNIPPET_CODE_MAX  4096
#define SNIPPET_DATA	  0x200000ull
#define SNIPPET_DATA_SIZE 4096
#define SNIPPET_STACK	  0x310000ull

enum snippet_gpr {
	RAX,
	RCX,
	RDX,
	RBX,
	RSP,
	RBP,
	RSI,
	RDI,
	R8,
	R9,
	R10,
	R11,
	R12,
	R13,
	R14,
	R15,
	NR_GPRS
};

/* The RFLAGS bits the comparison looks at: CF PF AF ZF SF DF OF. */
#define SNIPPET_FLAGS_DEFINED 0xcd5ull

struct snippet_regs {
	uint64_t gpr[NR_GPRS];
	uint64_t rip;
	uint64_t rflags;
};

/* How a run ended. */
enum snippet_end {
	SNIPPET_END_DONE,      /* reached the terminator */
	SNIPPET_END_EXCEPTION, /* an exception vector was raised (see result) */
	SNIPPET_END_ERROR,     /* the runner itself failed (message in result) */
	SNIPPET_END_SKIPPED,   /* this reference cannot run this snippet */
};

struct snippet {
	const char *name;
	const uint8_t *code;
	size_t len;
	struct snippet_regs in; /* rip is ignored: execution starts at SNIPPET_CODE */
	uint8_t data[SNIPPET_DATA_SIZE];
	/* Flags whose value is architecturally undefined after this snippet
	 * (e.g. AF after a logic op, OF after a multi-bit shift): not compared. */
	uint64_t undefined_flags;
	int privileged; /* needs CPL 0: the native reference skips it */
};

struct snippet_result {
	enum snippet_end end;
	struct snippet_regs out; /* at the terminator, or at the faulting instruction */
	int vector;		 /* with SNIPPET_END_EXCEPTION */
	uint64_t error_code;	 /* for #GP, #PF, ... (0 where none) */
	uint64_t cr2;		 /* for #PF */
	uint8_t data[SNIPPET_DATA_SIZE];
	char message[160];
};

#endif
