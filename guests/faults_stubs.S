/* SPDX-License-Identifier: MIT */
/*
 * The instructions faults.c makes fault, each at a global label so that the
 * test knows the RIP the exception must report. Every stub is
 * void stub(void *arg), the shape rv_try() calls; struct access is
 * { u64 va; u64 value; }.
 */
	.text

/* a->value = *(u64 *)a->va */
	.globl	faults_load, faults_load_insn
faults_load:
	movq	0(%rdi), %rsi
faults_load_insn:
	movq	(%rsi), %rax
	movq	%rax, 8(%rdi)
	ret

/* *(u64 *)a->va = a->value */
	.globl	faults_store, faults_store_insn
faults_store:
	movq	0(%rdi), %rsi
	movq	8(%rdi), %rax
faults_store_insn:
	movq	%rax, (%rsi)
	ret

/* a->value = ((u64 (*)(void))a->va)(): the fault, if any, is at a->va itself. */
	.globl	faults_call
faults_call:
	pushq	%rdi			/* also aligns RSP for the call */
	call	*0(%rdi)
	popq	%rdi
	movq	%rax, 8(%rdi)
	ret

/* 1 / 0 */
	.globl	faults_div0, faults_div0_insn
faults_div0:
	movl	$1, %eax
	xorl	%edx, %edx
	xorl	%ecx, %ecx
faults_div0_insn:
	divq	%rcx
	ret

/* INT64_MIN / -1: the quotient does not fit, also #DE. */
	.globl	faults_idiv, faults_idiv_insn
faults_idiv:
	movabsq	$0x8000000000000000, %rax
	cqto
	movq	$-1, %rcx
faults_idiv_insn:
	idivq	%rcx
	ret

	.globl	faults_ud2, faults_ud2_insn
faults_ud2:
faults_ud2_insn:
	ud2
	ret

/*
 * #UD with RSP stored at *arg first: entered with RSP = 8 mod 16 (after the
 * call), so the CPU must align RSP down before pushing its frame ...
 */
	.globl	faults_ud2_rsp8, faults_ud2_rsp8_insn
faults_ud2_rsp8:
	movq	%rsp, (%rdi)
faults_ud2_rsp8_insn:
	ud2
	ret

/* ... and here with RSP = 0 mod 16. rv_try's recovery discards the push. */
	.globl	faults_ud2_rsp0, faults_ud2_rsp0_insn
faults_ud2_rsp0:
	pushq	$0
	movq	%rsp, (%rdi)
faults_ud2_rsp0_insn:
	ud2
	popq	%rax
	ret

/* Software interrupts: traps, so the pushed RIP is the next instruction's. */
	.globl	faults_int3, faults_int3_next
faults_int3:
	int3
faults_int3_next:
	ret

	.globl	faults_int40, faults_int40_next
faults_int40:
	int	$0x40
faults_int40_next:
	ret

	.globl	faults_int41, faults_int41_next
faults_int41:
	int	$0x41
faults_int41_next:
	ret

	.section .note.GNU-stack, "", @progbits
