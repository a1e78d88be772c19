/* SPDX-License-Identifier: MIT */
/*
 * The real-KVM reference CPU for differential tests: runs one snippet in a
 * tiny 64-bit guest on /dev/kvm and reports how it ended (see snippet.h).
 *
 * One struct kvm_ref holds one VM with one vCPU, reused for every run. It is
 * not thread-safe: one thread at a time may call kvm_ref_run on it. KVM ties a
 * VM to the process that created it, so a forked child must open its own.
 * The timeout uses signal SIGRTMIN + 3: kvm_ref_open installs its handler,
 * and kvm_ref_run unblocks it in the calling thread.
 */
#ifndef RV_DIFF_KVM_REF_H
#define RV_DIFF_KVM_REF_H

#include <stddef.h>

#include "snippet.h"

/* Longest a run may take before it ends with SNIPPET_END_ERROR. */
#define KVM_REF_TIMEOUT_MS 2000

struct kvm_ref;

/*
 * Open /dev/kvm and build the VM. On failure returns NULL with the reason in
 * @err (for example "cannot open /dev/kvm: No such file or directory"), so
 * callers can skip the KVM reference with that message.
 */
struct kvm_ref *kvm_ref_open(char *err, size_t errlen);

/*
 * Run @s from a clean machine: the memory regions of snippet.h, registers,
 * MSRs, FPU and debug registers all start afresh, whatever earlier runs did.
 * Never fails as a call. A snippet KVM has to emulate but cannot (common
 * under nested "PVM" KVM, which emulates all CPL 0 code) ends as
 * SNIPPET_END_SKIPPED; runner failures, triple faults and runs longer than
 * KVM_REF_TIMEOUT_MS end as SNIPPET_END_ERROR. Both set r->message.
 */
void kvm_ref_run(struct kvm_ref *k, const struct snippet *s, struct snippet_result *r);

void kvm_ref_close(struct kvm_ref *k);

#endif
