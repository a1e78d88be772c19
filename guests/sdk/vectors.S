/* SPDX-License-Identifier: MIT */
/*
 * The 256 IDT entry stubs and the common path to C.
 *
 * Stub N is at rv_vector_stubs + N * RV_STUB_SIZE. For a vector without a
 * CPU error code it pushes a zero in its place, so every frame has the same
 * layout (struct rv_frame in rv.h): the 15 GPRs, the vector, the error code,
 * then what the CPU pushed (RIP, CS, RFLAGS, RSP, SS).
 *
 * The C handler may rewrite any of that; the exit path restores every
 * register from the frame, so rv_try's recovery (a new RIP, RSP, RFLAGS and
 * callee-saved registers) is just a frame edit.
 */
#define RV_STUB_SIZE 16

	.text
	.p2align 4
	.globl	rv_vector_stubs
rv_vector_stubs:
	.set	vec, 0
	.rept	256
	/* .org also fails the build ("moving .org backwards") if a stub outgrew its slot. */
	.org	rv_vector_stubs + vec * RV_STUB_SIZE, 0xcc
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC and #SX push an error code. */
	.if	!(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq	$0
	.endif
	pushq	$vec
	jmp	rv_trap_common
	.set	vec, vec + 1
	.endr
	.org	rv_vector_stubs + 256 * RV_STUB_SIZE, 0xcc

rv_trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi		/* struct rv_frame * */
	/*
	 * The CPU aligns RSP to 16 before pushing its frame in 64-bit mode, which
	 * would leave the call aligned, but do not depend on it: RBX (saved
	 * above, restored below from the frame) keeps the frame's address.
	 */
	movq	%rsp, %rbx
	andq	$-16, %rsp
	cld				/* the interrupted code may have had DF=1 */
	call	rv_trap_dispatch
	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp		/* the vector and the error code */
	iretq

	.section .note.GNU-stack, "", @progbits
