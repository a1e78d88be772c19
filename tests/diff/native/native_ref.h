/* SPDX-License-Identifier: MIT */
/*
 * The native reference: runs an unprivileged snippet on the host CPU, in this
 * process, in user mode, at the addresses snippet.h fixes.
 *
 * One reference per process (the trampolines and the signal handlers share
 * one state), and open, run and close must happen on the same thread: the
 * alternate signal stack and the loop-guard timer are per thread. While open
 * it owns SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP and SIGALRM; faults that
 * are not the snippet's go to the handlers it found at open.
 *
 * The loop guard is a timer signal; under TSan, which delays asynchronous
 * signals until the thread enters its runtime, it cannot stop a spinning
 * snippet.
 */
#ifndef RV_DIFF_NATIVE_REF_H
#define RV_DIFF_NATIVE_REF_H

#include <stddef.h>

#include "../snippet.h"

/* How long a snippet may run before it counts as stuck. */
#define NATIVE_REF_TIMEOUT_MS 2000

struct native_ref;

/*
 * Maps the code, data and stack regions at their fixed addresses (failing if
 * anything is there already) and installs the signal handlers. NULL with a
 * message in @err on failure.
 */
struct native_ref *native_ref_open(char *err, size_t errlen);

/* Unmaps the regions and puts back the signal handlers found at open. */
void native_ref_close(struct native_ref *n);

/*
 * Runs @s and fills @r. Privileged snippets are SNIPPET_END_SKIPPED. A fault
 * is SNIPPET_END_EXCEPTION with the vector, error code and CR2 the kernel
 * reports: user-mode page faults carry the U bit (4) in their error code.
 * Only the arithmetic flags and DF of s->in.rflags are loaded; r->out.rflags
 * is RFLAGS as the CPU left it (IF and bit 1 set, RF possibly set after a
 * fault).
 */
void native_ref_run(struct native_ref *n, const struct snippet *s, struct snippet_result *r);

#endif
