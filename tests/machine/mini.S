/*
 * A minimal guest for tests/test_machine.c (GUEST_ABI §1-§4): every vCPU
 * prints "vcpu N" on the console (RDI = N), adds one to a shared counter with
 * LOCK, and parks in HLT; vCPU 0 waits for all RSI of them, prints "all N",
 * and exits with status 0 through port 0xf4. Every vCPU also writes port
 * 0x80, which no device answers (the statistics must name it, once).
 */
	.text
	.globl _start
_start:
	mov %rdi, %r12			/* my index */
	mov %rsi, %r13			/* number of vCPUs */
	lea msg(%rip), %rbx
1:	movb (%rbx), %al
	test %al, %al
	jz 2f
	out %al, $0xe9
	inc %rbx
	jmp 1b
2:	mov %r12, %rax
	call print_dec
	mov $'\n', %al
	out %al, $0xe9
	out %al, $0x80
	lock incq counter(%rip)
	test %r12, %r12
	jnz park
3:	pause
	cmp counter(%rip), %r13
	jne 3b
	mov $'a', %al
	out %al, $0xe9
	mov $'l', %al
	out %al, $0xe9
	out %al, $0xe9
	mov $' ', %al
	out %al, $0xe9
	mov %r13, %rax
	call print_dec
	mov $'\n', %al
	out %al, $0xe9
	xor %eax, %eax
	out %eax, $0xf4
park:
	hlt
	jmp park

/* Print RAX in decimal (clobbers RAX, RCX, RDX, R8). */
print_dec:
	mov %rsp, %r8
	mov $10, %ecx
1:	xor %edx, %edx
	div %rcx
	add $'0', %dl
	dec %rsp
	mov %dl, (%rsp)
	test %rax, %rax
	jnz 1b
2:	cmp %r8, %rsp
	je 3f
	movb (%rsp), %al
	out %al, $0xe9
	inc %rsp
	jmp 2b
3:	ret

	.data
	.balign 8
counter:
	.quad 0
msg:
	.asciz "vcpu "

	.section .note.GNU-stack, "", @progbits
