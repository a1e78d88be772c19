/* SPDX-License-Identifier: MIT */
/*
 * long rv_try_call(struct rv_try_ctx *ctx, void (*fn)(void *), void *arg)
 *
 * Save what a recovery needs in *ctx, call fn(arg) and return -1. If fn
 * raises an exception that nobody handles, idt.c rewrites the exception
 * frame from *ctx so that IRETQ returns from this function instead, with the
 * vector in RAX: the callee-saved registers, RSP and RFLAGS as they were
 * here, RIP our return address. The layout of *ctx is struct rv_try_ctx.
 */
	.text
	.globl	rv_try_call
	.type	rv_try_call, @function
rv_try_call:
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	movq	%rsp, 48(%rdi)		/* points at our return address */
	pushfq
	popq	56(%rdi)
	subq	$8, %rsp		/* entered with RSP = 8 mod 16; call with 0 */
	movq	%rsi, %rax
	movq	%rdx, %rdi
	call	*%rax
	addq	$8, %rsp
	movq	$-1, %rax
	ret
	.size	rv_try_call, . - rv_try_call

	.section .note.GNU-stack, "", @progbits
