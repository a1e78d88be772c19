/* SPDX-License-Identifier: MIT */
/*
 * rv_vmx_enter(gprs, launched, evmcs): VMLAUNCH or VMRESUME with L2's
 * registers, and the VM exit's landing point (HOST_RIP), which stores them
 * back. A VM exit loads only RSP and RIP: everything else L1 needs is on
 * its stack. With an enlightened VMCS (@evmcs not 0) HOST_RSP and HOST_RIP
 * are written to its memory, where VMWRITE cannot reach.
 */
#include "nested/evmcs.h"

	.text
	.globl rv_vmx_enter
	.type rv_vmx_enter, @function
rv_vmx_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi			/* the gprs pointer, at HOST_RSP */
	lea .Lexit(%rip), %rcx
	test %rdx, %rdx
	jz 2f
	mov %rsp, RV_EVMCS_HOST_RSP(%rdx)
	mov %rcx, RV_EVMCS_HOST_RIP(%rdx)
	jmp 3f
2:	mov $0x6c14, %eax
	vmwrite %rsp, %rax		/* HOST_RSP */
	mov $0x6c16, %eax
	vmwrite %rcx, %rax		/* HOST_RIP */
3:	mov %esi, %r11d
	mov 0x08(%rdi), %rcx
	mov 0x10(%rdi), %rdx
	mov 0x18(%rdi), %rbx
	mov 0x28(%rdi), %rbp
	mov 0x30(%rdi), %rsi
	mov 0x40(%rdi), %r8
	mov 0x48(%rdi), %r9
	mov 0x50(%rdi), %r10
	mov 0x60(%rdi), %r12
	mov 0x68(%rdi), %r13
	mov 0x70(%rdi), %r14
	mov 0x78(%rdi), %r15
	test %r11d, %r11d
	mov 0x00(%rdi), %rax
	mov 0x58(%rdi), %r11
	mov 0x38(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp .Lfail
1:	vmresume
.Lfail:
	/* Flags: CF for VMfailInvalid, ZF for VMfailValid. */
	mov $1, %eax
	mov $2, %edx
	cmovz %edx, %eax
	pop %rdi
	jmp .Lout
.Lexit:
	push %rdi
	mov 8(%rsp), %rdi
	mov %rax, 0x00(%rdi)
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
	xor %eax, %eax
.Lout:
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size rv_vmx_enter, .-rv_vmx_enter
	.section .note.GNU-stack,"",@progbits
