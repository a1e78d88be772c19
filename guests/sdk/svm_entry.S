/* SPDX-License-Identifier: MIT */
/*
 * rv_svm_enter(gprs, vmcb): VMRUN with L2's registers; #VMEXIT comes back
 * right after it with L1's RSP and RAX (the host save area), so everything
 * else L1 needs is on its stack.
 */
	.text
	.globl rv_svm_enter
	.type rv_svm_enter, @function
rv_svm_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi			/* the gprs pointer */
	mov %rsi, %rax			/* the VMCB */
	mov 0x08(%rdi), %rcx
	mov 0x10(%rdi), %rdx
	mov 0x18(%rdi), %rbx
	mov 0x28(%rdi), %rbp
	mov 0x30(%rdi), %rsi
	mov 0x40(%rdi), %r8
	mov 0x48(%rdi), %r9
	mov 0x50(%rdi), %r10
	mov 0x58(%rdi), %r11
	mov 0x60(%rdi), %r12
	mov 0x68(%rdi), %r13
	mov 0x70(%rdi), %r14
	mov 0x78(%rdi), %r15
	mov 0x38(%rdi), %rdi
	vmrun %rax
	push %rdi
	mov 8(%rsp), %rdi
	mov %rcx, 0x08(%rdi)
	mov %rdx, 0x10(%rdi)
	mov %rbx, 0x18(%rdi)
	mov %rbp, 0x28(%rdi)
	mov %rsi, 0x30(%rdi)
	mov %r8, 0x40(%rdi)
	mov %r9, 0x48(%rdi)
	mov %r10, 0x50(%rdi)
	mov %r11, 0x58(%rdi)
	mov %r12, 0x60(%rdi)
	mov %r13, 0x68(%rdi)
	mov %r14, 0x70(%rdi)
	mov %r15, 0x78(%rdi)
	pop %rax
	mov %rax, 0x38(%rdi)
	pop %rdi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size rv_svm_enter, .-rv_svm_enter
	.section .note.GNU-stack,"",@progbits
