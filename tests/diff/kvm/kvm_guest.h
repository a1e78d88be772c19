/* SPDX-License-Identifier: MIT */
/*
 * The tiny guest the KVM reference runs snippets in: its memory map, and the
 * runner's own pages (page tables, GDT, TSS, IDT, exception stubs).
 *
 * 4 MiB of RAM, identity-mapped with 4 KiB pages (present, writable,
 * supervisor, executable, not global) where a reference maps memory, and
 * not present elsewhere:
 *
 *   0x100000  SNIPPET_CODE: the snippet, then the terminator `out %al, $0xf4`
 *   0x200000  SNIPPET_DATA
 *   0x300000  the 64 KiB snippet stack, top at SNIPPET_STACK
 *   0x3f0000  the runner's pages (9), the last of them the stack the stubs run on
 *
 * Vectors 0-31 go through interrupt gates with IST1, so the exception frame
 * lands on the runner's stack whatever the snippet did to RSP (a snippet with
 * a wild RSP still reports its fault instead of triple-faulting), and the
 * snippet's stack holds only what the snippet wrote. Each stub is
 * `push $vector; out %al, $GUEST_PORT_EXCEPTION`: neither instruction writes
 * a GPR, so the GPRs at that exit are the snippet's at the fault.
 */
#ifndef RV_DIFF_KVM_GUEST_H
#define RV_DIFF_KVM_GUEST_H

#include <linux/kvm.h>
#include <stdint.h>

#define GUEST_MEM_SIZE	 0x400000ull
#define GUEST_PAGE	 0x1000ull
#define GUEST_STACK_SIZE 0x10000ull /* the snippet stack, below SNIPPET_STACK */

/* The runner's pages: [GUEST_SYS_BASE, GUEST_SYS_BASE + GUEST_SYS_SIZE). */
#define GUEST_SYS_BASE	  0x3f0000ull
#define GUEST_SYS_SIZE	  0x9000ull
#define GUEST_TABLES	  GUEST_SYS_BASE /* PML4, PDPT, PD, two PTs: one page each */
#define GUEST_TABLES_SIZE 0x5000ull
#define GUEST_IST_TOP	  (GUEST_SYS_BASE + GUEST_SYS_SIZE)

/* Ports the guest writes one byte to. */
#define GUEST_PORT_DONE	     0xf4
#define GUEST_PORT_EXCEPTION 0xf5
#define GUEST_OUT_LEN	     2 /* out %al, $imm8 is e6 ib */

/* Write the pristine runner pages into @sys, GUEST_SYS_SIZE bytes at GUEST_SYS_BASE. */
void kvm_guest_build(uint8_t *sys);

/* Set the system state of GUEST_ABI.md §3 in @sr; other fields are left alone. */
void kvm_guest_sregs(struct kvm_sregs *sr);

#endif
