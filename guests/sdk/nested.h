/* SPDX-License-Identifier: MIT */
/* What the VMX and SVM mini-hypervisors share (vmx.c, svm.c). */
#ifndef RV_SDK_NESTED_H
#define RV_SDK_NESTED_H

#include "rv.h"

/* GDTR (@idt false) or IDTR: the base, and the limit in *limit. */
u64 rv_read_dtr(bool idt, u16 *limit);
/* Do an intercepted IN or OUT of @size bytes for L2: returns L2's RAX after
 * it (AL and AX merge, EAX zero-extends). */
u64 rv_port_io(bool in, unsigned size, u16 port, u64 rax);
/* A second stage for L2, 4 levels of 4 KiB pages. EPT and the x86 format
 * share what matters here: 7 in the low bits of a table entry is present
 * (EPT: read, write, execute; x86: present, writable, user). */
u64 *rv_nested_pte(u64 root, u64 gpa);
/* A new root mapping all RAM to itself with @leaf_flags. */
u64 rv_nested_identity(u64 leaf_flags);
/* Hyper-V: let this vCPU's L2s make direct flush hypercalls (the VP assist
 * page's bit; the eVMCS or VMCB turns it on per L2). */
void rv_nested_allow_direct_flush(void);

#endif
