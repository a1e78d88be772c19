/* SPDX-License-Identifier: MIT */
/*
 * Entry to and exit from a snippet running natively in user mode. While the
 * snippet runs every GPR and RFLAGS belong to it, so both paths reach the
 * shared state RIP-relative and only with instructions that leave the
 * arithmetic flags alone (mov, push/pop of memory, jmp).
 */
#include "native_ctx.h"

#define IN(n)  native_ctx + CTX_IN_GPR + (n) * 8(%rip)
#define OUT(n) native_ctx + CTX_OUT_GPR + (n) * 8(%rip)

/* A push of a callee-saved register, described for unwinders. */
#define SAVE(reg)			\
	push	%reg;			\
	.cfi_adjust_cfa_offset 8;	\
	.cfi_rel_offset %reg, 0

#define RESTORE(reg)			\
	pop	%reg;			\
	.cfi_adjust_cfa_offset -8;	\
	.cfi_restore %reg

	.text

/* void native_enter(void) */
	.globl	native_enter
	.hidden	native_enter
	.type	native_enter, @function
native_enter:
	.cfi_startproc
	SAVE(rbx)
	SAVE(rbp)
	SAVE(r12)
	SAVE(r13)
	SAVE(r14)
	SAVE(r15)
	mov	%rsp, native_ctx + CTX_HOST_RSP(%rip)
	/* RFLAGS first, while the harness stack is still ours to push on. */
	pushq	native_ctx + CTX_IN_RFLAGS(%rip)
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
	mov	IN(0), %rax
	mov	IN(1), %rcx
	mov	IN(2), %rdx
	mov	IN(3), %rbx
	mov	IN(5), %rbp
	mov	IN(6), %rsi
	mov	IN(7), %rdi
	mov	IN(8), %r8
	mov	IN(9), %r9
	mov	IN(10), %r10
	mov	IN(11), %r11
	mov	IN(12), %r12
	mov	IN(13), %r13
	mov	IN(14), %r14
	mov	IN(15), %r15
	mov	IN(4), %rsp
	/* The harness frame can no longer be found from RSP. */
	.cfi_undefined rip
	/* From here on a fault or a timer tick belongs to the snippet. */
	movq	$1, native_ctx + CTX_RUNNING(%rip)
	jmp	*native_ctx + CTX_ENTRY(%rip)
	.cfi_endproc
	.size	native_enter, . - native_enter

/*
 * Reached by the terminator's absolute jump, on the snippet's stack. No CFI:
 * nothing unwinds through here.
 */
	.globl	native_exit
	.hidden	native_exit
	.type	native_exit, @function
native_exit:
	movq	$0, native_ctx + CTX_RUNNING(%rip)
	mov	%rax, OUT(0)
	mov	%rcx, OUT(1)
	mov	%rdx, OUT(2)
	mov	%rbx, OUT(3)
	mov	%rsp, OUT(4)
	mov	%rbp, OUT(5)
	mov	%rsi, OUT(6)
	mov	%rdi, OUT(7)
	mov	%r8, OUT(8)
	mov	%r9, OUT(9)
	mov	%r10, OUT(10)
	mov	%r11, OUT(11)
	mov	%r12, OUT(12)
	mov	%r13, OUT(13)
	mov	%r14, OUT(14)
	mov	%r15, OUT(15)
	/* Back on the harness stack before pushing: the snippet's RSP may point anywhere. */
	mov	native_ctx + CTX_HOST_RSP(%rip), %rsp
	pushfq
	popq	native_ctx + CTX_OUT_RFLAGS(%rip)
	/* The C ABI wants DF clear; the snippet may have set it. */
	cld
	.size	native_exit, . - native_exit

/*
 * native_exit falls through to here; a signal handler that ends a run points
 * the interrupted context here too, with RSP = host_rsp and DF clear. Either
 * way the harness sees native_enter return.
 */
	.globl	native_resume
	.hidden	native_resume
	.type	native_resume, @function
native_resume:
	.cfi_startproc
	/* The frame native_enter built: six registers, then its return address. */
	.cfi_def_cfa_offset 56
	.cfi_offset %rbx, -16
	.cfi_offset %rbp, -24
	.cfi_offset %r12, -32
	.cfi_offset %r13, -40
	.cfi_offset %r14, -48
	.cfi_offset %r15, -56
	RESTORE(r15)
	RESTORE(r14)
	RESTORE(r13)
	RESTORE(r12)
	RESTORE(rbp)
	RESTORE(rbx)
	ret
	.cfi_endproc
	.size	native_resume, . - native_resume

	.section .note.GNU-stack, "", @progbits
